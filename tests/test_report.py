"""npsae.report and ``npsae report``: figures saved from a model, and the HTML run report."""

import argparse
import base64
import json
from html.parser import HTMLParser

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from npsae import report  # noqa: E402
from npsae.cli import report as report_cli  # noqa: E402
from npsae.datasets import make_bars  # noqa: E402
from npsae.model import SparseAutoencoder  # noqa: E402
from npsae.optim import Adam  # noqa: E402
from npsae.training import fit  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ALL_FIGURES = {
    "reconstructions",
    "encoder_filters",
    "decoder_filters",
    "rho_hat",
    "codes",
    "activation_density",
    "features",
    "history",
}
VOID = {"meta", "img", "br", "hr", "link", "input", "source", "col", "wbr", "area", "base"}


class Page(HTMLParser):
    """Checks that tags nest and close, and collects images, tables, ids and text."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.doctype = None
        self.tags: list[str] = []
        self.images: list[dict] = []
        self.ids: list[str] = []
        self.rows: dict[str, str] = {}
        self.notes: list[str] = []
        self._cell: list[str] | None = None
        self._row: list[str] = []
        self._in_note = False
        self.feed(text)
        self.close()
        if self.stack:
            self.errors.append(f"never closed: {self.stack}")

    def handle_decl(self, decl):
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag == "img":
            self.images.append(attrs)
        if tag in ("th", "td"):
            self._cell = []
        if tag == "tr":
            self._row = []
        if tag == "p" and attrs.get("class") == "note":
            self._in_note = True
            self.notes.append("")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag in VOID:
            self.errors.append(f"end tag for void element {tag}")
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()
        if tag in ("th", "td"):
            self._row.append("".join(self._cell))
            self._cell = None
        if tag == "tr" and len(self._row) == 2:
            self.rows[self._row[0]] = self._row[1]
        if tag == "p":
            self._in_note = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._in_note:
            self.notes[-1] += data


def run_report(*argv):
    parser = argparse.ArgumentParser(prog="npsae")
    report_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["report", *map(str, argv)])
    return args.func(args)


def make_run(run_dir, dataset="bars", epochs=2):
    """A tiny run directory on the bars problem, trained as fit() writes one."""
    X, _ = make_bars(300, seed=0)
    model = SparseAutoencoder(64, 12, hidden="sigmoid", rho=0.1, beta=0.5, backend="numpy")
    X_val, _ = make_bars(100, seed=1)
    fit(
        model,
        X,
        epochs,
        batch_size=100,
        optimizer=Adam(lr=0.01),
        validation=X_val,
        verbose=0,
        run_dir=run_dir,
        dataset=dataset,
    )
    return model


@pytest.fixture(scope="module")
def bars_run(tmp_path_factory):
    """(run_dir, model, the parsed report.html) of a run recording dataset="bars"."""
    run_dir = tmp_path_factory.mktemp("bars_run")
    model = make_run(run_dir)
    path = report.write_report(run_dir, samples=500)
    assert path == run_dir / "report.html"
    return run_dir, model, Page(path.read_text(encoding="utf-8"))


def decoded_pngs(page: Page) -> list[bytes]:
    prefix = "data:image/png;base64,"
    assert all(img["src"].startswith(prefix) for img in page.images)
    return [base64.b64decode(img["src"][len(prefix) :], validate=True) for img in page.images]


# --------------------------------------------------------------------------- the report


def test_report_is_well_formed_self_contained_html5(bars_run):
    run_dir, _, page = bars_run
    assert page.errors == []
    assert page.doctype.lower() == "doctype html"
    assert page.tags[:3] == ["html", "head", "meta"]
    text = (run_dir / "report.html").read_text(encoding="utf-8")
    for external in ("http:", "https:", "<link", "<script", "url("):
        assert external not in text
    assert not list(run_dir.glob("*.tmp")) and not list(run_dir.glob(".*.tmp"))


def test_report_embeds_every_figure_as_a_png(bars_run):
    _, _, page = bars_run
    assert set(page.ids) == ALL_FIGURES
    pngs = decoded_pngs(page)
    assert len(pngs) == len(ALL_FIGURES)
    assert all(png.startswith(PNG_SIGNATURE) and len(png) > 1000 for png in pngs)
    assert all(img.get("alt") for img in page.images)


def test_report_tables_hold_the_config_and_final_metrics(bars_run):
    run_dir, model, page = bars_run
    config = json.loads((run_dir / "config.json").read_text())
    assert config["training"]["dataset"] == "bars"
    rows = page.rows
    assert rows["n_in"] == "64" and rows["n_hidden"] == "12"
    assert rows["hidden"] == "sigmoid" and rows["sparsity"] == "kl"
    assert rows["rho"] == "0.1" and rows["beta"] == "0.5"
    assert rows["epochs"] == "2" and rows["batch_size"] == "100"
    assert rows["optimizer.lr"] == "0.01" and rows["dataset"] == "bars"
    assert rows["last epoch: epoch"] == "2"
    history = (run_dir / "history.csv").read_text().splitlines()
    last = dict(zip(history[0].split(","), history[-1].split(","), strict=True))
    assert float(rows["last epoch: loss"]) == pytest.approx(float(last["loss"]), rel=1e-5)
    # The bars test split: 2000 images drawn with seed 1, as `npsae train` draws them.
    X_test, _ = make_bars(2000, seed=1)
    assert rows["test: samples"] == "2000"
    recon = model.loss(X_test)["recon"]
    assert float(rows["test: reconstruction error (mse)"]) == pytest.approx(recon, rel=1e-4)
    assert -1 < float(rows["test: fraction of variance explained"]) <= 1


def test_report_without_test_data_shows_filters_and_history_and_says_why(tmp_path):
    run_dir = tmp_path / "run"
    model = make_run(run_dir, dataset={"name": "idx", "path": "/no/such/<b>folder</b>&"}, epochs=1)
    text = report.write_report(run_dir).read_text(encoding="utf-8")
    page = Page(text)
    assert page.errors == [] and "b" not in page.tags
    assert page.rows["dataset.path"] == "/no/such/<b>folder</b>&"
    assert "&lt;b&gt;folder&lt;/b&gt;&amp;" in text
    assert "has no test split" in page.notes[0]
    assert set(page.ids) == {"encoder_filters", "decoder_filters", "history"}
    assert all(png.startswith(PNG_SIGNATURE) for png in decoded_pngs(page))
    # fit() without dataset= records none.
    config = json.loads((run_dir / "config.json").read_text())
    config["training"]["dataset"] = None
    (run_dir / "config.json").write_text(json.dumps(config))
    page = Page(report.write_report(run_dir).read_text(encoding="utf-8"))
    assert "does not record its data set" in page.notes[0] and len(page.images) == 3
    # Given the data, the same run gets every figure.
    X_test, _ = make_bars(60, seed=1)
    labels = np.arange(60) % 3
    page = Page(report.write_report(run_dir, X=X_test, labels=labels).read_text())
    assert page.errors == [] and page.notes == []
    assert set(page.ids) == ALL_FIGURES and page.rows["test: samples"] == "60"
    recon = model.loss(X_test)["recon"]
    assert float(page.rows["test: reconstruction error (mse)"]) == pytest.approx(recon, rel=1e-4)
    with pytest.raises(ValueError, match=r"labels must have shape \(60,\)"):
        report.write_report(run_dir, samples=10, X=X_test, labels=labels[:59])


# --------------------------------------------------------------------------- save_figures


def test_save_figures_writes_one_png_per_figure(tmp_path, bars_run):
    _, model, _ = bars_run
    X, _ = make_bars(40, seed=2)
    history = {"loss": [2.0, 1.0], "recon": [1.5, 0.8], "val_loss": [np.nan, np.nan]}
    paths = report.save_figures(
        tmp_path / "figs", model, X, labels=np.arange(40) % 4, history=history
    )
    assert set(paths) == ALL_FIGURES
    for name, path in paths.items():
        assert path == tmp_path / "figs" / f"{name}.png"
        assert path.read_bytes().startswith(PNG_SIGNATURE)
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == sorted(
        f"{name}.png" for name in ALL_FIGURES
    )


def test_model_figures_of_images_and_bad_arguments(bars_run):
    _, model, _ = bars_run
    X, _ = make_bars(20, seed=3)
    figures = report.model_figures(model, X.reshape(20, 8, 8))
    assert set(figures) == ALL_FIGURES - {"history"}
    image = figures["encoder_filters"].axes[0].images[0].get_array()
    assert image.shape == (3 * 9 - 1, 4 * 9 - 1)  # 12 units of 8x8 in 3 rows of 4
    with pytest.raises(ValueError, match="labels must have shape"):
        report.model_figures(model, X, labels=np.zeros(19))
    with pytest.raises(ValueError, match="does not hold the model's 64 inputs"):
        report.model_figures(model, X, shape=(7, 7))
    with pytest.raises(ValueError, match=r"X must have shape \(m, 64\)"):
        report.model_figures(model, np.zeros((5, 63)))
    one_unit = SparseAutoencoder(64, 1, backend="numpy")
    assert "codes" not in report.model_figures(one_unit, X)


# --------------------------------------------------------------------------- the command


def test_report_command_writes_the_report(tmp_path, capsys):
    # As `npsae train` writes it: the data set recorded as a dict, here without validation data.
    run_dir = tmp_path / "run"
    X, _ = make_bars(100, seed=0)
    model = SparseAutoencoder(64, 3, sparsity="l1", hidden="relu", backend="numpy")
    fit(model, X, 1, batch_size=50, verbose=0, run_dir=run_dir, dataset={"name": "bars"})
    assert run_report(run_dir, "--samples", 100) == 0
    out = capsys.readouterr().out
    assert out == f"report: {run_dir / 'report.html'}\n"
    page = Page((run_dir / "report.html").read_text(encoding="utf-8"))
    assert page.errors == [] and set(page.ids) == ALL_FIGURES
    assert page.rows["dataset.name"] == "bars" and page.rows["sparsity"] == "l1"
    assert not any(key.startswith("last epoch: val") for key in page.rows)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: None, "no such folder"),
        (lambda d: d.mkdir(), "config.json: missing"),
        (lambda d: (d.mkdir(), (d / "config.json").write_text("{oops")), "not valid JSON"),
        (lambda d: (d.mkdir(), (d / "config.json").write_text("[1]")), "no 'model' settings"),
        (
            lambda d: (d.mkdir(), (d / "config.json").write_text('{"model": {}}')),
            "model.npz: missing",
        ),
        (
            lambda d: (
                d.mkdir(),
                (d / "config.json").write_text('{"model": {}}'),
                (d / "model.npz").write_bytes(b"not a zip"),
            ),
            "not a readable npsae .npz file",
        ),
    ],
)
def test_report_command_on_a_bad_run_dir_fails_cleanly(tmp_path, capsys, make, message):
    run_dir = tmp_path / "run"
    make(run_dir)
    assert run_report(run_dir) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("npsae report: error: ") and message in err
    assert "Traceback" not in err
    assert not (run_dir / "report.html").exists()


def test_report_command_without_the_data_files(tmp_path, capsys):
    run_dir = tmp_path / "run"
    make_run(run_dir, dataset={"name": "mnist", "root": str(tmp_path / "nowhere")}, epochs=1)
    # The report never downloads: missing files are an error that says where they were sought.
    assert run_report(run_dir) == 1
    err = capsys.readouterr().err
    assert "npsae report: error:" in err and "nowhere" in err
    assert "t10k-images-idx3-ubyte" in err


def test_report_command_refuses_a_bad_sample_count(tmp_path, capsys):
    assert run_report(tmp_path, "--samples", 0) == 2
    assert "--samples 0: must be >= 1" in capsys.readouterr().err


# --------------------------------------------------------------------------- issue 16


def test_report_command_on_a_file_says_it_is_a_file(tmp_path, capsys):
    path = tmp_path / "model.npz"
    path.write_bytes(b"")
    assert run_report(path) == 1
    assert capsys.readouterr().err == (
        f"npsae report: error: {path}: a file, not a folder; give the run directory of "
        "`npsae train --out`\n"
    )


def test_report_warns_of_a_run_that_ended_badly_with_the_likely_cause(tmp_path):
    from npsae.history import History

    run_dir = tmp_path / "run"
    make_run(run_dir, epochs=2)
    history = History.read_csv(run_dir / "history.csv")
    first, last = history.rows
    # What --lr 100 leaves: most units dead and a loss above the first epoch's.
    History([first, last | {"loss": first["loss"] * 2, "dead_fraction": 0.75}]).to_csv(
        run_dir / "history.csv"
    )
    page = Page(report.write_report(run_dir, samples=50).read_text(encoding="utf-8"))
    assert page.errors == [] and len(page.notes) == 2
    assert page.notes[0].startswith("Warning: 75% of the hidden units never fired")
    assert page.notes[1].startswith("Warning: the loss rose over the run, from")
    assert all("lr=0.01 is probably too high" in note for note in page.notes)


# --------------------------------------------------------------------------- issue 18


def test_feature_page_shows_live_units_with_their_top_inputs():
    from npsae import plotting

    rng = np.random.default_rng(0)
    X = rng.random((50, 16))
    H = np.zeros((50, 4))
    H[:40, 2] = np.arange(40)  # unit 2 fires on 39 inputs, most on input 39
    H[[7, 3], 0] = [2.0, 1.0]  # unit 0 fires on 2; unit 1 and unit 3 are dead
    W2 = rng.normal(size=(4, 16))
    fig = plotting.feature_page(H, X, W2, shape=(4, 4), top=3)
    # Two panels per live unit, the most frequent first; the dead ones are left out.
    assert len(fig.axes) == 4
    labels = [ax.get_ylabel() for ax in fig.axes[::2]]
    assert labels == ["unit 2\n78.0%", "unit 0\n4.0%"]
    top = fig.axes[1].images[0].get_array()
    np.testing.assert_allclose(top[:4, :4], X[39].reshape(4, 4))  # the strongest input first
    # Unit 0 fires on two inputs only: the third tile stays empty rather than show a silent one.
    assert np.isnan(np.asarray(fig.axes[3].images[0].get_array(), dtype=float)[:, -4:]).all()
    chosen = plotting.feature_page(H, X, W2, shape=(4, 4), units=[1], top=2)
    assert chosen.axes[0].get_ylabel() == "unit 1\n0.0%"
    with pytest.raises(ValueError, match="units \\[9\\] do not exist"):
        plotting.feature_page(H, X, W2, shape=(4, 4), units=[9])
    with pytest.raises(ValueError, match="every unit is dead"):
        plotting.feature_page(np.zeros((50, 4)), X, W2, shape=(4, 4))
    with pytest.raises(ValueError, match="W2 must have shape \\(4, 16\\)"):
        plotting.feature_page(H, X, W2[:, :8], shape=(4, 4))


def test_report_probe_on_mnist(mnist_root, tmp_path, capsys):
    from npsae.datasets import load_mnist

    X, y = load_mnist("train", root=mnist_root)
    run_dir = tmp_path / "run"
    model = SparseAutoencoder(784, 16, hidden="relu", output="linear", sparsity="topk", k=4)
    fit(model, X[:1000], 1, verbose=0, run_dir=run_dir,
        dataset={"name": "mnist", "root": str(mnist_root)})  # fmt: skip
    # The probe trains on 1000 images here to stay quick; `npsae report --probe` takes 10000.
    report.write_report(run_dir, samples=300, probe=True, train=(X[:1000], y[:1000]))
    page = Page((run_dir / "report.html").read_text(encoding="utf-8"))
    codes = float(page.rows["linear probe accuracy: codes"])
    pixels = float(page.rows["linear probe accuracy: raw pixels"])
    assert 0.3 < codes < pixels <= 1  # 16 codes after one epoch keep less than 784 pixels
    assert pixels > 0.8 and page.rows["linear probe: training samples"] == "1000"
    assert "features" in page.ids


def test_report_probe_needs_labels(bars_run, capsys):
    run_dir, _, _ = bars_run
    assert run_report(run_dir, "--probe") == 1
    err = capsys.readouterr().err
    assert err.startswith("npsae report: error: the linear probe needs labelled")


def test_report_encodes_the_test_set_once_besides_its_figures(tmp_path, monkeypatch):
    from npsae import reference

    make_run(tmp_path)
    X_test, _ = make_bars(700, seed=1)
    encoded = []
    encode = reference.encode  # the report reads the model with the NumPy backend

    def counting(params, X, *args, **kwargs):
        encoded.append(len(X))
        return encode(params, X, *args, **kwargs)

    monkeypatch.setattr(reference, "encode", counting)
    report.write_report(tmp_path, samples=300, X=X_test)
    by_report = sum(encoded)
    encoded.clear()
    model = SparseAutoencoder.load(tmp_path / "model.npz", backend="numpy")
    report.model_figures(model, X_test[:300], None, None)
    assert by_report - sum(encoded) == len(X_test)  # the metrics: each test sample once


def test_report_of_a_run_whose_history_has_the_old_column_name(tmp_path):
    make_run(tmp_path)
    path = tmp_path / "history.csv"
    new = path.read_text(encoding="utf-8")
    path.write_text(new.replace(",mean_rho_hat,", ",mean_activation,", 1), encoding="utf-8")
    page = Page(report.write_report(tmp_path, samples=200).read_text(encoding="utf-8"))
    header, *rows = (line.split(",") for line in new.splitlines())
    last = dict(zip(header, rows[-1], strict=True))
    assert float(page.rows["last epoch: mean_rho_hat"]) == pytest.approx(
        float(last["mean_rho_hat"]), rel=1e-5
    )
    assert "history" in page.ids
