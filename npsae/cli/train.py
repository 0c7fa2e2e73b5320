"""``npsae train``: train a sparse autoencoder, report the test-set reconstruction error, and
(with ``--out``) keep a run directory with checkpoints, history and figures.

The defaults reproduce the Keras tutorial the package grew from: MNIST's training split,
784 -> 64 ReLU -> 784 sigmoid, mse + KL sparsity (rho 0.05, beta 0.1), Adam with lr 1e-3,
batches of 256, 50 shuffled epochs, the test split as validation data.

The model's options are ``npsae.config.ModelConfig``'s, each spelled as its keyword
(``--n-hidden``, ``--hidden``, ...), with its choices and its checks; a value neither given nor
set by ``--preset`` (the Keras tutorial's without one) is the model's default.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from pathlib import Path
from typing import TYPE_CHECKING

from npsae.cli import common
from npsae.cli.common import UsageError
from npsae.config import CHOICES, OPTIONS, ConfigError, ModelConfig
from npsae.penalties import SETTINGS, SPARSITY, users
from npsae.presets import PRESETS

if TYPE_CHECKING:
    from npsae.checkpoint import Checkpoint
    from npsae.model import SparseAutoencoder

DATASETS = ("mnist", "fashion-mnist", "bars")

# The model's options this command has, by their keywords (``npsae.config.ModelConfig``'s
# fields): all but n_in, which the data sets, and dtype, float32 for training.
NOT_OPTIONS = ("n_in", "dtype")
MODEL_OPTIONS = tuple(name for name in OPTIONS if name not in NOT_OPTIONS)
# The training settings a preset sets besides the model.
TRAINING_OPTIONS = ("lr", "epochs", "batch_size", "dataset")
# Without --preset, the Keras tutorial's settings.
DEFAULT_PRESET = "keras"
# The model's own defaults, for what a preset leaves unset.
MODEL_DEFAULTS = {f.name: f.default for f in dataclasses.fields(ModelConfig)}


def _default(name: str) -> str:
    """``(default VALUE)`` for --help: the Keras tutorial's value, else the model's default."""
    keras = PRESETS[DEFAULT_PRESET]
    if name in TRAINING_OPTIONS:
        value = getattr(keras, name)
    else:
        value = keras.model.get(name, MODEL_DEFAULTS[name])
    if value is None:
        value = "none"
    return f"(default {value:g})" if isinstance(value, float) else f"(default {value})"


# Options that describe a run: with --resume they come from its checkpoint, so giving them is
# an error, not silently ignored.
RUN_OPTIONS = ("preset", "dataset", *MODEL_OPTIONS, "lr", "batch_size", "limit")


@dataclasses.dataclass
class _Plan:
    """What the checked arguments ask for."""

    settings: dict  # of _settings (for a resumed run: dataset, limit, epochs, batch_size)
    out: str | None  # the run directory, if any
    root: str | None  # the data root a resumed run recorded
    checkpoint: Checkpoint | None = None  # the run to resume
    config: ModelConfig | None = None  # the new run's model


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train",
        help="train a sparse autoencoder and report its test reconstruction error",
        description="Train a sparse autoencoder with Adam, print one line per epoch, then the "
        "reconstruction error on the test split. Defaults reproduce the Keras tutorial: MNIST, "
        "784 -> 64 ReLU -> 784 sigmoid, mse + KL (rho 0.05, beta 0.1), Adam lr 1e-3, batch "
        "256, 50 epochs. --preset ufldl switches to Ng's UFLDL exercise: 196 sigmoid units, "
        "sse reconstruction (half the squared error per image), KL rho 0.1, beta 3, weight "
        "decay 3e-3, UFLDL's initialisation and Adam lr 3e-3 (UFLDL used L-BFGS). Options given "
        "explicitly override the preset's values.",
    )
    p.add_argument(
        "--dataset",
        metavar="NAME|PATH",
        help="mnist (default), fashion-mnist, bars (8x8 bars images, input width 64), or a "
        "folder of IDX files named as MNIST's (train-images-idx3-ubyte[.gz], ...)",
    )
    p.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        help="start from a named setting of npsae.presets (ufldl: Ng's exercise; ksparse-mnist: "
        "Makhzani & Frey's k-sparse autoencoder; bars-VARIANT: one recipe per sparsity variant "
        "on the bars problem)",
    )
    p.add_argument("--epochs", type=int, help=f"passes over the training set {_default('epochs')}")
    p.add_argument(
        "--n-hidden", type=int, metavar="UNITS", help=f"hidden units {_default('n_hidden')}"
    )
    p.add_argument(
        "--hidden",
        action=HiddenActivation,
        metavar="{" + ",".join(CHOICES["hidden"]) + "}",
        help=f"hidden activation {_default('hidden')}",
    )
    common.add_renamed(p, "--activation", "--hidden")
    p.add_argument(
        "--output", choices=CHOICES["output"], help=f"output activation {_default('output')}"
    )
    p.add_argument(
        "--recon",
        choices=CHOICES["recon"],
        help=f"reconstruction loss: mean, or half-sum per sample {_default('recon')}",
    )
    p.add_argument(
        "--sparsity",
        choices=SPARSITY_CHOICES,
        help=f"sparsity: {SPARSITY_HELP} {_default('sparsity')}",
    )
    p.add_argument(
        "--k",
        type=int,
        help=f"{SETTINGS['k'].help} (--sparsity {'|'.join(users('k'))})",
    )
    p.add_argument(
        "--k-schedule",
        type=_k_schedule,
        metavar="START:EPOCHS",
        help="Makhzani & Frey's schedule: keep START units at first, down to --k linearly over "
        "the first EPOCHS epochs (topk, batchtopk)",
    )
    p.add_argument(
        "--encode-k",
        type=int,
        metavar="K",
        help="units TopK's encode keeps at inference (Makhzani & Frey's alpha k; default --k)",
    )
    p.add_argument(
        "--init",
        choices=CHOICES["init"],
        help="initial weights: Keras' or UFLDL's uniform range, or tied (unit-norm decoder rows, "
        f"encoder their transpose) {_default('init')}",
    )
    add_architecture_options(p)
    p.add_argument(
        "--unit-norm-decoder",
        action="store_const",
        const=True,
        help="keep every decoder row at unit length (a common companion of L1)",
    )
    for name in ("rho", "beta"):
        p.add_argument(
            common.flag(name), type=float, help=f"{SETTINGS[name].help} {_default(name)}"
        )
    p.add_argument(
        "--weight-decay",
        type=float,
        metavar="LAMBDA",
        help=f"L2 penalty {_default('weight_decay')}",
    )
    p.add_argument("--lr", type=float, help=f"Adam's learning rate {_default('lr')}")
    p.add_argument("--batch-size", type=int, help=f"samples per step {_default('batch_size')}")
    p.add_argument(
        "--seed", type=int, help=f"seeds the weights and the batch order {_default('seed')}"
    )
    p.add_argument(
        "--backend",
        choices=CHOICES["backend"],
        help=f"numba (fast) or numpy (readable) {_default('backend')}",
    )
    p.add_argument("--limit", type=int, metavar="N", help="use only the first N training samples")
    p.add_argument("--data-root", metavar="DIR", help="data root (default: as npsae data finds it)")
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--out",
        metavar="RUN_DIR",
        help="keep config.json, history.csv, the checkpoint model.npz and figures in RUN_DIR",
    )
    where.add_argument(
        "--resume",
        metavar="RUN_DIR",
        help="continue the run in RUN_DIR (to --epochs, default its own number); the model, "
        "data and training settings come from its checkpoint",
    )
    p.add_argument(
        "--quiet", action="store_true", help="print only the final results, not each epoch"
    )
    add_penalty_options(p)
    p.set_defaults(func=common.guarded("train", run))


def _k_schedule(text: str) -> tuple[int, int]:
    """START:EPOCHS as a pair of ints; the model checks them against --k and --n-hidden."""
    start, sep, epochs = text.partition(":")
    try:
        if not sep:
            raise ValueError
        return int(start), int(epochs)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not START:EPOCHS (two integers, e.g. 100:5)"
        ) from None


# --sparsity's choices: the model's own list, and "none" for None; its help, each penalty's
# summary (npsae.penalties).
SPARSITY_CHOICES = (*(name for name in CHOICES["sparsity"] if name), "none")
SPARSITY_HELP = ", ".join(cls.summary for name, cls in SPARSITY.items() if name) + ", or none"


def add_penalty_options(p: argparse.ArgumentParser) -> None:
    """``--NAME`` for each penalty setting (``npsae.penalties.SETTINGS``) that ``p`` has no
    option for yet, with the setting's help and default: a new penalty's settings reach the
    command line without a line here."""
    for name, setting in SETTINGS.items():
        flag = common.flag(name)
        if flag not in p._option_string_actions:
            default = "none" if setting.default is None else f"{setting.default:g}"
            p.add_argument(
                flag,
                type=setting.type,
                metavar=setting.metavar,
                help=f"{setting.help} (default {default}; {', '.join(users(name))})",
            )


class HiddenActivation(argparse.Action):
    """``--hidden ACTIVATION``, as the keyword ``hidden``. Until the next release a number,
    ``--hidden N``, is still read as this command's former spelling of ``--n-hidden N``: no
    activation is a number, so the two cannot be confused."""

    def __call__(self, parser: argparse.ArgumentParser, namespace, value, option_string=None):
        if value in CHOICES["hidden"]:
            namespace.hidden = value
            return
        try:
            units = int(value)
        except ValueError:
            choices = ", ".join(CHOICES["hidden"])
            raise argparse.ArgumentError(
                self, f"invalid choice: {value!r} (choose from {choices})"
            ) from None
        common.renamed(parser, namespace, "--hidden", "--n-hidden N", "n_hidden", " N (units)")
        namespace.n_hidden = units


def add_architecture_options(p: argparse.ArgumentParser, jumprelu: float | None = None) -> None:
    """The options of JumpReLU, AuxK and the pre-encoder bias (shared with ``gradcheck``);
    ``jumprelu``, if given, is this command's default for --bandwidth and --theta-init."""
    default = f"{MODEL_DEFAULTS['bandwidth']:g}" if jumprelu is None else f"{jumprelu:g} here"
    p.add_argument(
        "--bandwidth",
        type=float,
        default=jumprelu,
        metavar="EPS",
        help=f"JumpReLU's kernel bandwidth, > 0 ({default})",
    )
    p.add_argument(
        "--theta-init",
        type=float,
        default=jumprelu,
        metavar="THETA",
        help=f"the value JumpReLU's thresholds start at, > 0 ({default})",
    )
    p.add_argument(
        "--pre-bias",
        action="store_const",
        const=True,
        help="encode X - b2 (the decoder's bias centres the input; needs --output linear)",
    )
    p.add_argument(
        "--aux-k",
        type=int,
        metavar="K_AUX",
        help="add AuxK's dead-unit loss with the K_AUX largest dead units (topk, batchtopk)",
    )
    alpha = MODEL_DEFAULTS["aux_alpha"]
    p.add_argument("--aux-alpha", type=float, metavar="ALPHA", help=f"AuxK's weight ({alpha:g})")
    p.add_argument(
        "--dead-after",
        type=int,
        metavar="N",
        help="AuxK counts a unit dead after N training samples without firing "
        f"({MODEL_DEFAULTS['dead_after']})",
    )


def run(args: argparse.Namespace) -> int:
    return _execute(_plan(args), args)


# --------------------------------------------------------------------------- checking


def _settings(args: argparse.Namespace) -> dict:
    """The values to use: explicit options, else the preset's (the Keras tutorial's without
    --preset); a model option neither sets is left out, for ModelConfig's default."""
    preset = PRESETS[args.preset or DEFAULT_PRESET]
    settings = {**preset.model, **{name: getattr(preset, name) for name in TRAINING_OPTIONS}}
    for name in (*MODEL_OPTIONS, *TRAINING_OPTIONS):
        if getattr(args, name, None) is not None:
            settings[name] = getattr(args, name)
    if settings.get("sparsity") == "none":
        settings["sparsity"] = None
    settings["limit"] = args.limit
    return settings


def _model_options(settings: dict) -> dict:
    """The ``ModelConfig`` options among the settings."""
    return {name: settings[name] for name in MODEL_OPTIONS if name in settings}


def _check(settings: dict, args: argparse.Namespace) -> None:
    """The training settings the model and the optimiser do not check themselves."""
    for name in ("epochs", "batch_size"):
        common.positive_int(name, settings[name])
    if settings["limit"] is not None:
        common.positive_int("limit", settings["limit"], "must be a positive number of images")
    from npsae.optim import Adam

    try:
        Adam(lr=settings["lr"])
    except ValueError as err:
        raise common.config_error(err, args) from err


def _check_memory(settings: dict, config: ModelConfig, args: argparse.Namespace) -> None:
    from npsae._memory import model_bytes

    n_samples, n_in = _data_shape(settings["dataset"])
    # A step works on at most the whole (limited) training set, whatever --batch-size says.
    rows = min(settings["batch_size"], settings["limit"] or n_samples, n_samples)
    model = model_bytes(n_in, config.n_hidden, 0)
    needed = model_bytes(n_in, config.n_hidden, rows)
    if model >= needed - model:
        units = config.n_hidden
        common.fits_in_memory("n_hidden", units, needed, "a model of this many units", args)
    else:
        common.fits_in_memory("batch_size", settings["batch_size"], needed, "batches this large")


def _data_shape(dataset: str) -> tuple[int, int]:
    """(training images, values per image) of a checked --dataset: bars and MNIST's are known;
    a folder of IDX files' come from its training images' header (MNIST's if unreadable:
    loading will say what is wrong)."""
    from npsae.datasets import BARS_SAMPLES, FILES, find_idx_file
    from npsae.idx import read_idx_header

    if dataset == "bars":
        return BARS_SAMPLES["train"], 64
    mnist = (60_000, 784)
    if dataset in DATASETS:
        return mnist
    try:
        _, shape, _ = read_idx_header(find_idx_file(dataset, FILES["train"][0]))
    except (OSError, ValueError):
        return mnist
    return shape[0], math.prod(shape[1:])


def _check_dataset(name: str) -> None:
    from npsae.datasets import FILES, find_idx_file

    if name in DATASETS:
        return
    folder = Path(name)
    if not folder.is_dir():
        raise UsageError(
            f"--dataset {name}: neither {', '.join(DATASETS)} nor an existing folder of IDX files"
        )
    missing = [n for n in FILES["train"] if find_idx_file(folder, n) is None]
    if missing:
        raise UsageError(
            f"--dataset {name}: the folder lacks {' and '.join(missing)} (gzipped or not)"
        )


def _plan(args: argparse.Namespace) -> _Plan:
    """Check every argument and build the model (or read the checkpoint); no data yet."""
    if args.resume is not None:
        return _plan_resume(args)
    settings = _settings(args)
    _check(settings, args)
    _check_dataset(settings["dataset"])
    n_in = _data_shape(settings["dataset"])[1]
    try:
        config = ModelConfig(n_in, dtype="float32", **_model_options(settings))
    except ConfigError as err:
        raise common.config_error(err, args) from err
    _check_memory(settings, config, args)
    if args.out is not None:
        _check_out(Path(args.out))
    return _Plan(settings, args.out, None, config=config)


def _check_out(out: Path) -> None:
    from npsae.checkpoint import CHECKPOINT_FILE, check_run_dir

    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder")
    if (out / CHECKPOINT_FILE).exists():
        raise UsageError(
            f"--out {out}: holds a run already; continue it with --resume {out}, "
            "or choose another folder"
        )
    try:
        check_run_dir(out)
    except ValueError as err:
        raise UsageError(f"--out {err}") from err


def _build_model(config: ModelConfig) -> SparseAutoencoder:
    from npsae.model import SparseAutoencoder

    return SparseAutoencoder.from_config(config)


def _plan_resume(args: argparse.Namespace) -> _Plan:
    given = [name for name in RUN_OPTIONS if getattr(args, name, None) is not None]
    if given:
        flags = ", ".join(common.flag(name, args) for name in given)
        raise UsageError(
            f"--resume continues the run as it was configured; drop {flags} (only --epochs, "
            "--data-root and --quiet apply), or start a new run with --out"
        )
    from npsae.checkpoint import read_checkpoint
    from npsae.training import resume_settings

    try:
        ckpt = read_checkpoint(args.resume)
    except (OSError, ValueError) as err:
        raise UsageError(f"--resume {args.resume}: {err}") from err
    try:
        epochs = resume_settings(ckpt, args.resume, args.epochs)["epochs"]
    except ConfigError as err:
        raise common.config_error(err, args) from err
    except ValueError as err:
        raise UsageError(f"--resume {err}") from err
    dataset = ckpt.training.get("dataset")
    if not isinstance(dataset, dict) or "name" not in dataset:
        raise UsageError(
            f"--resume {args.resume}: the run does not record its data set (it was not started "
            "by npsae train); resume it from Python with npsae.training.resume"
        )
    settings = {
        "dataset": dataset["name"],
        "limit": dataset.get("limit"),
        "epochs": epochs,
        "batch_size": ckpt.training["batch_size"],
    }
    if dataset["name"] not in DATASETS:
        settings["dataset"] = dataset.get("path", "")
        _check_dataset(settings["dataset"])
    return _Plan(settings, args.resume, dataset.get("root"), ckpt)


# --------------------------------------------------------------------------- the work


def _load(settings: dict, root: str | None, quiet: bool):
    """(train images, test images or None, test labels or None, a JSON description)."""
    from npsae import datasets

    name, limit = settings["dataset"], settings["limit"]
    if name == "bars":
        X, _ = datasets.bars_split("train")
        X_test, _ = datasets.bars_split("test")
        y_test = None
        description = {"name": "bars"}
    elif name in DATASETS:
        load = {"root": root, "kind": name, "progress": not quiet}
        X, _ = datasets.load_mnist("train", **load)
        X_test, y_test = datasets.load_mnist("test", **load)
        description = {"name": name, "root": str(datasets.data_root(root).resolve())}
    else:
        X, _ = datasets.load_idx_folder(name, "train")
        test_files = [datasets.find_idx_file(name, n) for n in datasets.FILES["test"]]
        X_test, y_test = datasets.load_idx_folder(name, "test") if all(test_files) else (None, None)
        description = {"name": "idx", "path": str(Path(name).resolve())}
    for images, split in ((X, "train"), (X_test, "test")):
        if images is not None and images.dtype.kind != "f" and images.dtype != "uint8":
            raise ValueError(f"{name}: {split} images are {images.dtype}; need uint8 or float")
    if limit is not None:
        X = X[:limit]
    description["limit"] = limit
    return X, X_test, y_test, description


def _bars_features():
    """The 16 true bars of the 8 x 8 bars problem, (16, 64)."""
    from npsae.datasets import make_bars

    return make_bars(1)[1]


def _execute(plan: _Plan, args: argparse.Namespace) -> int:
    import numpy as np

    from npsae import training
    from npsae.datasets import DatasetError, as_float
    from npsae.history import diagnose
    from npsae.idx import IDXFormatError
    from npsae.optim import Adam

    quiet = args.quiet
    settings = plan.settings
    root = args.data_root if args.data_root is not None else plan.root
    try:
        X, X_test, y_test, description = _load(settings, root, quiet)
    except (DatasetError, IDXFormatError, OSError, ValueError) as err:
        common.data_error("train", err)
        return 1
    verbose = 0 if quiet else 1
    try:
        # fit's warnings about the model (KL with ReLU units) are notes, given as it starts.
        with common.warnings_as_notes("train"):
            if plan.checkpoint is None:
                model = _build_model(plan.config.replace(n_in=int(np.prod(X.shape[1:]))))
                optimizer = Adam(lr=settings["lr"])
                history = training.fit(
                    model,
                    X,
                    settings["epochs"],
                    batch_size=settings["batch_size"],
                    optimizer=optimizer,
                    seed=model.config.seed,  # the order's seed is the weights'
                    validation=X_test,
                    verbose=verbose,
                    run_dir=plan.out,
                    dataset=description,
                )
            else:
                optimizer = plan.checkpoint.optimizer
                model, history = training.resume(
                    plan.out,
                    X,
                    settings["epochs"],
                    validation=X_test,
                    verbose=verbose,
                    checkpoint=plan.checkpoint,
                )
    # ValueError: data that does not fit the model or the checkpoint; OSError: the run
    # directory became unwritable (a full disk, say) during training.
    except (training.TrainingDiverged, ValueError, OSError) as err:
        common.error("train", err)
        return 1
    del X  # the training set is done with: free its memory before the summary and figures
    if len(history):
        last = history.rows[-1]
        seconds = history["seconds"]
        print(
            f"trained {len(history)} epochs: final loss {last['loss']:.4g} "
            f"(recon {last['recon']:.4g}, sparsity {last['sparsity']:.4g}), "
            f"{np.mean(seconds):.2f} s per epoch"
        )
    if X_test is not None:
        _print_test_results(model, X_test, settings, history.last_validation)
    if plan.out is not None and X_test is not None:
        from npsae.report import FIGURE_SAMPLES, save_figures

        n = min(FIGURE_SAMPLES, len(X_test))
        labels = None if y_test is None else y_test[:n]
        # Images of a folder of IDX files need not be square: pass their shape on.
        shape = X_test.shape[1:] if X_test.ndim == 3 else None
        sample = as_float(X_test[:n], model.dtype)
        try:
            figures = save_figures(plan.out, model, sample, labels, history, shape=shape)
        except OSError as err:
            common.error("train", f"the figures could not be saved: {err}")
            return 1
        if not quiet:
            for path in figures.values():
                print(f"figure: {path}")
    for warning in diagnose(history, getattr(optimizer, "lr", None), model.config):
        common.warning("train", warning)
    return 0


def _print_test_results(
    model: SparseAutoencoder, X_test, settings: dict, test: dict | None = None
) -> None:
    """The test-set summary; ``test``, the measures of the last epoch's validation pass (the
    test set, in the same batches), saves measuring again."""
    from npsae import metrics
    from npsae.evaluation import measure

    if test is None:
        test = measure(model, X_test, settings["batch_size"])
    print(
        f"test set ({len(X_test)} images): recon ({model.config['recon']}) "
        f"{test['recon']:.4g}, mse {test['mse']:.4g}, variance explained {test['fve']:.3f}, "
        f"L0 {test['l0']:.1f}, dead units {test['dead_fraction']:.0%}"
    )
    if settings["dataset"] == "bars":
        W2, bars = model.params["W2"], _bars_features()
        print(
            f"bars recovered: {metrics.features_recovered(bars, W2)} of {len(bars)} "
            f"(mean max cosine similarity {metrics.mmcs(bars, W2):.3f})"
        )
