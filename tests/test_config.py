"""``npsae.config.ModelConfig``: one frozen, checked configuration, its JSON round-trip, and the
files written before it existed."""

import dataclasses
import inspect
import json

import numpy as np
import pytest

from npsae import __version__, presets
from npsae._fileio import load_npz, save_npz
from npsae.config import CHOICES, ConfigError, ModelConfig
from npsae.model import SparseAutoencoder
from npsae.optim import Adam
from npsae.penalties import SPARSITY
from npsae.training import fit, resume

# Settings of every kind: each sparsity variant, AuxK, the pre-encoder bias, float64.
VARIETY = [
    {},
    dict(hidden="relu", sparsity="l1", beta=0.05, unit_norm_decoder=True, weight_decay=1e-3),
    dict(hidden="relu", output="linear", recon="sse", sparsity="topk", k=2, init="ufldl"),
    dict(hidden="relu", output="linear", sparsity="batchtopk", k=2, aux_k=2, dead_after=32,
         pre_bias=True, aux_alpha=0.125),
    dict(hidden="relu", sparsity="jumprelu", bandwidth=0.5, theta_init=0.5, seed=4),
    dict(sparsity=None, dtype=np.float64, backend="numpy"),
]  # fmt: skip


def test_the_defaults_are_the_models_and_the_values_keep_their_json_types():
    config = ModelConfig(8, 3)
    assert SparseAutoencoder(8, 3).config == config
    assert config.hidden == "sigmoid" and config.sparsity == "kl" and config.dtype == "float32"
    c = ModelConfig(
        np.int64(8), 3, rho=np.float32(0.25), dtype=np.float64, beta=1, seed=np.int32(2)
    )
    assert type(c.n_in) is int and type(c.seed) is int and c.dtype == "float64"
    assert type(c.rho) is float and type(c.beta) is float and c.rho == 0.25
    assert json.loads(json.dumps(c.to_dict())) == c.to_dict()


def test_the_models_signature_lists_every_option_with_its_default():
    parameters = inspect.signature(SparseAutoencoder).parameters
    assert list(parameters) == [f.name for f in dataclasses.fields(ModelConfig)]
    assert parameters["rho"].default == 0.05 and parameters["sparsity"].default == "kl"
    by_position = SparseAutoencoder(8, 3, "relu", "linear", "sse", "l1", 0.05, 0.2)
    assert by_position.config == ModelConfig(
        n_in=8, n_hidden=3, hidden="relu", output="linear", recon="sse", sparsity="l1", beta=0.2
    )


def test_it_is_frozen_and_reads_as_a_mapping():
    config = ModelConfig(8, 3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.rho = 0.5
    with pytest.raises(TypeError):
        config["rho"] = 0.5
    assert config["recon"] == "mse" and dict(config) == config.to_dict() == config
    assert list(config) == [f.name for f in dataclasses.fields(ModelConfig)]
    with pytest.raises(KeyError):
        config["colour"]
    assert hash(config) == hash(ModelConfig(8, 3)) and len({config, ModelConfig(8, 3)}) == 1
    changed = config.replace(rho=0.1)
    assert changed.rho == 0.1 and config.rho == 0.05  # a new config; the old one is unchanged
    with pytest.raises(ConfigError, match="rho=2"):
        config.replace(rho=2)


@pytest.mark.parametrize("options", VARIETY)
def test_json_round_trip(options):
    config = ModelConfig(10, 4, **options)
    text = json.dumps(config.to_dict())
    assert ModelConfig.from_dict(json.loads(text)) == config
    model = SparseAutoencoder.from_config(config)
    assert model.config == config and SparseAutoencoder(10, 4, **options).config == config


@pytest.mark.parametrize(
    ("options", "option", "rule"),
    [
        (dict(n_hidden=0), "n_hidden", "must be a positive integer"),
        (dict(hidden="tanh"), "hidden", "is not known; choose one of sigmoid, relu"),
        (dict(sparsity="l2"), "sparsity", "is not known; choose one of None, kl, l1"),
        (dict(rho=1.0), "rho", "a target mean activation lies in (0, 1)"),
        (dict(beta=-1.0), "beta", "must be a finite number >= 0"),
        (dict(weight_decay=float("inf")), "weight_decay", "must be a finite number >= 0"),
        (dict(aux_alpha=float("nan")), "aux_alpha", "must be a finite number >= 0"),
        (dict(bandwidth=0.0), "bandwidth", "must be a finite number > 0"),
        (dict(theta_init=-1.0), "theta_init", "must be a finite number > 0"),
        (dict(seed=-1), "seed", "must be an integer >= 0"),
        (dict(seed=1.5), "seed", "must be an integer >= 0"),
        (dict(dead_after=0), "dead_after", "must be a positive number of samples"),
        (dict(pre_bias="yes"), "pre_bias", "must be True or False"),
        (dict(rho="0.1"), "rho", "must be a number"),
        (dict(dtype="int8"), "dtype", "is not known; choose one of float32, float64"),
    ],
)
def test_each_bad_value_names_its_option(options, option, rule):
    with pytest.raises(ConfigError) as info:
        ModelConfig(**{"n_in": 8, "n_hidden": 3, **options})
    err = info.value
    assert err.option == option and rule in err.rule
    assert err.value == options[option] or err.value != err.value  # NaN is not equal to itself
    assert isinstance(err, ValueError) and option in str(err)


def test_a_rule_between_options_names_them_all():
    with pytest.raises(ConfigError, match="aux_k \\(AuxK\\) needs sparsity='topk'") as info:
        ModelConfig(8, 3, hidden="relu", sparsity="l1", aux_k=2)
    assert info.value.option is None


def test_from_dict_refuses_unknown_keys_and_bad_values_naming_the_file():
    good = ModelConfig(8, 3).to_dict()
    with pytest.raises(ConfigError, match=r"^run/config.json: unknown config fields \['colour'\]"):
        ModelConfig.from_dict({**good, "colour": "red"}, source="run/config.json")
    with pytest.raises(ConfigError, match=r"^m.npz: invalid config \(rho=3.0 must lie") as info:
        ModelConfig.from_dict({**good, "rho": 3.0}, source="m.npz")
    assert info.value.option == "rho"
    with pytest.raises(ConfigError, match="^m.npz: the config lacks n_hidden"):
        ModelConfig.from_dict({"n_in": 8}, source="m.npz")
    with pytest.raises(ConfigError, match="^m.npz: the config must be a JSON object, got list"):
        ModelConfig.from_dict([1, 2], source="m.npz")
    with pytest.raises(ConfigError, match="^unknown config fields"):
        ModelConfig.from_dict({**good, "colour": "red"})


def test_the_choice_lists_are_the_penalties_and_the_command_lines():
    from npsae.cli import build_parser

    assert CHOICES["sparsity"] == tuple(SPARSITY)
    commands = build_parser()._subparsers._group_actions[0].choices
    for command in ("train", "gradcheck"):
        actions = {a.dest: a for a in commands[command]._actions}
        for option in ("output", "recon", "backend"):
            assert tuple(actions[option].choices) == CHOICES[option], (command, option)
        sparsity = tuple(None if c == "none" else c for c in actions["sparsity"].choices)
        assert sorted(sparsity, key=str) == sorted(CHOICES["sparsity"], key=str)
    assert (
        tuple(commands["gradcheck"]._option_string_actions["--hidden"].choices)
        == (CHOICES["hidden"])
    )
    assert tuple(commands["train"]._option_string_actions["--init"].choices) == CHOICES["init"]


@pytest.mark.parametrize("name", sorted(presets.PRESETS))
def test_every_preset_is_a_valid_config(name):
    preset = presets.get(name)
    config = preset.config(64)
    assert {k: config[k] for k in preset.model} == {
        k: (float(v) if isinstance(v, float) else v) for k, v in preset.model.items()
    }
    assert presets.build(name, 64, seed=3).config == config.replace(seed=3)


# --------------------------------------------------------------------------- older files


def config_as_before(n_in, n_hidden, hidden="sigmoid", output="sigmoid", recon="mse",
                     sparsity="kl", rho=0.05, beta=0.1, weight_decay=0.0, dtype=np.float32,
                     backend="numba", seed=0, init="glorot", k=None, unit_norm_decoder=False,
                     bandwidth=1e-3, theta_init=1e-3, pre_bias=False, aux_k=None,
                     aux_alpha=1 / 32, dead_after=10_000):  # fmt: skip
    """The config dict npsae wrote into every .npz and config.json before ModelConfig (its
    constructor built it by hand, as here, from commit d7f4f8a's ``SparseAutoencoder``)."""
    return {
        "n_in": int(n_in),
        "n_hidden": int(n_hidden),
        "hidden": hidden,
        "output": output,
        "recon": recon,
        "sparsity": sparsity,
        "rho": float(rho),
        "beta": float(beta),
        "weight_decay": float(weight_decay),
        "dtype": np.dtype(dtype).name,
        "backend": backend,
        "seed": int(seed),
        "init": init,
        "k": None if k is None else int(k),
        "unit_norm_decoder": bool(unit_norm_decoder),
        "bandwidth": float(bandwidth),
        "theta_init": float(theta_init),
        "pre_bias": bool(pre_bias),
        "aux_k": None if aux_k is None else int(aux_k),
        "aux_alpha": float(aux_alpha),
        "dead_after": int(dead_after),
    }


#: The settings each penalty reads (issue 29: a file records only those of its own penalty).
K_SETTINGS = {"k", "aux_k", "aux_alpha", "dead_after"}
PENALTY_SETTINGS = {
    "kl": {"rho", "beta"}, "l1": {"beta"}, "l1-decoder": {"beta"}, "topk": K_SETTINGS,
    "batchtopk": K_SETTINGS, "jumprelu": {"beta", "bandwidth", "theta_init"},
}  # fmt: skip
EVERY_SETTING = set().union(*PENALTY_SETTINGS.values())


def only_what_applies(config: dict) -> dict:
    """``config`` less the penalty settings its sparsity does not read."""
    keep = PENALTY_SETTINGS.get(config["sparsity"], set())
    return {k: v for k, v in config.items() if k not in EVERY_SETTING or k in keep}


def write_as_before(path, config: dict, arrays: dict) -> None:
    """An .npz as npsae wrote it before ModelConfig: the arrays and the JSON 'meta' entry."""
    meta = {"format": 1, "npsae_version": __version__, "config": config}
    save_npz(path, {**arrays, "meta": np.array(json.dumps(meta))})


@pytest.mark.parametrize("options", VARIETY)
def test_files_are_written_exactly_as_before(tmp_path, options):
    model = SparseAutoencoder(10, 4, **options)
    model.save(tmp_path / "new.npz")
    old = {**model.params, **{f"buffer/{k}": v for k, v in model.buffers.items()}}
    write_as_before(tmp_path / "old.npz", config_as_before(10, 4, **options), old)
    new, before = load_npz(tmp_path / "new.npz"), load_npz(tmp_path / "old.npz")
    written = json.loads(str(before["meta"]))
    written["config"] = only_what_applies(written["config"])
    assert str(new["meta"]) == json.dumps(written)  # the same JSON, less what does not apply
    loaded = SparseAutoencoder.load(tmp_path / "old.npz")
    assert loaded.config == model.config
    assert all(np.array_equal(loaded.params[k], model.params[k]) for k in model.params)


def test_a_file_from_before_an_option_existed_loads_with_its_default(tmp_path):
    model = SparseAutoencoder(6, 3, seed=1)
    config = config_as_before(6, 3, seed=1)
    for newer in ("pre_bias", "aux_k", "aux_alpha", "dead_after", "bandwidth", "theta_init"):
        del config[newer]
    write_as_before(tmp_path / "m.npz", config, model.params)
    loaded = SparseAutoencoder.load(tmp_path / "m.npz")
    assert loaded.config == model.config


@pytest.mark.parametrize("options", VARIETY[2:5], ids=["topk", "batchtopk-auxk", "jumprelu"])
def test_a_run_folder_written_before_resumes_bit_exactly(tmp_path, options):
    """A run folder whose config.json and checkpoint hold the config as npsae wrote it before
    ModelConfig resumes to the same bits as an uninterrupted run."""
    X = np.random.default_rng(2).random((96, 10)).astype(np.float32)
    settings = dict(batch_size=16, verbose=0)
    straight = SparseAutoencoder(10, 4, **options)
    fit(straight, X, 4, optimizer=Adam(1e-2), run_dir=tmp_path / "straight", **settings)
    fit(SparseAutoencoder(10, 4, **options), X, 2, optimizer=Adam(1e-2), run_dir=tmp_path / "cut",
        **settings)  # fmt: skip
    # Rewrite the interrupted run's files with the config as the code before wrote it.
    cut = tmp_path / "cut"
    arrays = load_npz(cut / "model.npz")
    meta = json.loads(str(arrays.pop("meta")))
    write_as_before(cut / "model.npz", config_as_before(10, 4, **options), arrays)
    recorded = json.loads((cut / "config.json").read_text())
    assert (
        recorded["model"] == meta["config"] == only_what_applies(config_as_before(10, 4, **options))
    )
    recorded["model"] = config_as_before(10, 4, **options)
    (cut / "config.json").write_text(json.dumps(recorded, indent=2) + "\n")
    resumed, history = resume(cut, X, epochs=4, verbose=0)
    assert len(history) == 4
    for k in straight.params:
        assert np.array_equal(resumed.params[k], straight.params[k]), k
    for k in straight.buffers:
        assert np.array_equal(resumed.buffers[k], straight.buffers[k]), k
