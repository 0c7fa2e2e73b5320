"""The tutorials: notebooks in sync with their scripts, each executed in a real Jupyter kernel in
its quick mode (saving sound PNG figures), the numbers tutorial 06 promises, and
``npsae tutorials DIR``.

Each notebook runs once per test session (the ``run_notebook`` fixture of conftest.py), from a
temporary copy of the tutorials, with its figures going to a temporary folder; the tests that
look at a notebook's output, and the documentation site's build (test_docs.py), share that run.
"""

import configparser
import fnmatch
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from matplotlib.image import imread
from tex_maths import ENGINES, math_spans, render

from npsae.cli import main
from npsae.cli.tutorials import tutorial_files, tutorials_folder

REPO = Path(__file__).resolve().parent.parent
TUTORIALS = REPO / "npsae" / "tutorials"
SCRIPTS = sorted(TUTORIALS.glob("[0-9][0-9]_*.py"))
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _load_tool(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sync = _load_tool("sync_notebooks")
seeds_tool = _load_tool("check_tutorial_seeds")


def test_tutorials_are_found():
    assert len(SCRIPTS) >= 9, [s.name for s in SCRIPTS]
    assert tutorials_folder().resolve() == TUTORIALS.resolve()


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_notebook_is_in_sync_with_its_script(script):
    notebook = script.with_suffix(".ipynb")
    assert notebook.exists(), f"{notebook.name} is missing: run python tools/sync_notebooks.py"
    assert notebook.read_text(encoding="utf-8") == sync.render(script), (
        f"{notebook.name} is out of date with {script.name}: run python tools/sync_notebooks.py"
    )
    nb = nbformat.read(notebook, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)
    assert any(c.cell_type == "markdown" for c in nb.cells)


def test_no_notebook_without_a_script():
    orphans = {p.stem for p in TUTORIALS.glob("*.ipynb")} - {s.stem for s in SCRIPTS}
    assert not orphans, f"notebooks without a script: {sorted(orphans)}"


def test_the_sync_tool_reports_a_stale_notebook(tmp_path):
    script = tmp_path / SCRIPTS[0].name
    script.write_text(SCRIPTS[0].read_text(encoding="utf-8"), encoding="utf-8")
    assert sync.out_of_date(tmp_path) == [script.with_suffix(".ipynb")]  # missing
    script.with_suffix(".ipynb").write_text(sync.render(script), encoding="utf-8")
    assert sync.out_of_date(tmp_path) == []
    script.write_text(script.read_text(encoding="utf-8") + "\n# %%\nprint(1)\n", encoding="utf-8")
    assert sync.out_of_date(tmp_path) == [script.with_suffix(".ipynb")]  # edited script


def test_the_seed_tool_runs_each_tutorial_on_each_seed(tmp_path, capsys):
    """tools/check_tutorial_seeds.py: one subprocess per tutorial and seed, NPSAE_TUTORIAL_SEED
    set, a figure folder given, and a table that shows which claim broke on which seed."""
    (tmp_path / "01_steady.py").write_text(
        "import os, sys\n"
        "assert os.path.isdir(sys.argv[1]) and 'NPSAE_TUTORIAL_FULL' not in os.environ\n"
        "print('seed', os.environ['NPSAE_TUTORIAL_SEED'])\n",
        encoding="utf-8",
    )
    (tmp_path / "02_fragile.py").write_text(
        "import os\nassert os.environ['NPSAE_TUTORIAL_SEED'] != '2', 'the claim fails on seed 2'\n",
        encoding="utf-8",
    )
    found = seeds_tool.scripts(tmp_path)
    assert [s.name for s in seeds_tool.choose(["02", "01_steady"], found)] == [
        "02_fragile.py",
        "01_steady.py",
    ]
    with pytest.raises(ValueError, match="no tutorial '9'"):
        seeds_tool.choose(["9"], found)
    passed, seconds, output = seeds_tool.run(found[0], 5, timeout=60)
    assert passed and seconds > 0 and output.strip() == "seed 5"

    status = seeds_tool.main(["--folder", str(tmp_path), "--seeds", "1", "2"])
    out = capsys.readouterr().out
    assert status == 1
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:3]}
    assert rows["01_steady"][1::3] == ["pass", "pass"]
    assert rows["02_fragile"][1::3] == ["pass", "FAIL"]
    assert "---- 02_fragile, seed 2 ----" in out and "the claim fails on seed 2" in out
    assert seeds_tool.main(["--folder", str(tmp_path), "01", "--seeds", "3"]) == 0


# ---- executing the notebooks --------------------------------------------------------------


def test_the_kernel_is_this_python(kernels, tmp_path):
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("import sys; print(sys.executable)")]
    )
    nb.metadata.kernelspec = sync.KERNELSPEC
    kernels.execute(nb, tmp_path)
    assert Path(nb.cells[0].outputs[0]["text"].strip()).resolve() == Path(sys.executable).resolve()


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_notebook_executes_and_saves_figures(script, run_notebook, record_property):
    # An error in any cell raises CellExecutionError (with the cell and traceback) here.
    result = run_notebook(script.stem)
    record_property("seconds", round(result.seconds, 1))
    pngs = sorted(result.figures.glob("*.png"))
    assert pngs, f"{script.stem} saved no PNG in {result.figures}\n{result.text}"
    for png in pngs:
        assert png.read_bytes()[:8] == PNG_SIGNATURE, f"{png.name} is not a PNG file"
        pixels = imread(png)
        assert pixels.ndim == 3 and min(pixels.shape[:2]) >= 50, f"{png.name}: {pixels.shape}"
        rgb = pixels[..., :3]
        assert np.ptp(rgb) > 0.1, f"{png.name} is blank: one colour everywhere"
        # Something beyond the background colour covers a fair part of the image.
        background = np.median(rgb.reshape(-1, 3), axis=0)
        drawn = np.mean(np.abs(rgb - background).max(axis=-1) > 0.05)
        assert drawn > 0.01, f"{png.name} is nearly blank ({drawn:.1%} of pixels drawn)"
    # Every figure the notebook saved is also shown inline, under the cell that drew it.
    shown = sum(
        "image/png" in out.get("data", {})
        for cell in result.nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
    )
    assert shown >= len(pngs), f"{script.stem}: {len(pngs)} figures saved, {shown} shown"


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_sentences_built_from_the_run_typeset(script, run_notebook):
    """The Markdown a notebook shows from its run's numbers (``_common.say``) typesets like its
    cells' text: every maths span parses in MathJax and KaTeX (see test_tutorial_maths.py)."""
    shown = [
        out["data"]["text/markdown"]
        for cell in run_notebook(script.stem).nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if "text/markdown" in out.get("data", {})
    ]
    spans = [span for text in shown for span in math_spans(text)]
    results = render(spans) if spans else []
    errors = [
        f"{engine}: {result[engine]}: {span.tex}"
        for span, result in zip(spans, results, strict=True)
        for engine in ENGINES
        if result[engine] is not None
    ]
    assert not errors, "\n".join(errors)


def test_keras_article_beats_both_baselines(run_notebook):
    """Tutorial 06's quick run reconstructs the test set better than the two trivial predictors."""
    text = run_notebook("06_keras_article").text
    found = {
        name: float(value)
        for name, value in re.findall(
            r"^test mse, (model|mean image|all black) *: *([0-9.]+)", text, re.M
        )
    }
    assert set(found) == {"model", "mean image", "all black"}, text
    assert found["model"] < found["mean image"] < found["all black"], found


@pytest.mark.parametrize("stem", ["05_optimisers", "06_keras_article"])
def test_notebook_ends_by_checking_the_claims_of_its_text(run_notebook, stem):
    """The closing cell asserts what the text says, on the three seeds the quick run used; a claim
    that stops holding fails the cell (and the executing test) before this line is printed."""
    text = run_notebook(stem).text
    assert "every claim of this notebook holds on seeds (0, 1, 2)" in text, text[-2000:]


# ---- npsae tutorials DIR ---------------------------------------------------------------------


def test_package_data_ships_every_tutorial_file():
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    patterns = config["options.package_data"]["npsae"].split()
    for relative in tutorial_files():
        path = f"tutorials/{relative.as_posix()}"
        assert any(fnmatch.fnmatch(path, p) for p in patterns), f"{path} is not package data"
    names = {p.as_posix() for p in tutorial_files()}
    assert {"_common.py", "README.md"} <= names
    assert {s.name for s in SCRIPTS} | {s.with_suffix(".ipynb").name for s in SCRIPTS} <= names


def test_tutorials_command_copies_keeps_and_forces(tmp_path, capsys):
    dest = tmp_path / "course"
    assert main(["tutorials", str(dest)]) == 0
    out = capsys.readouterr().out
    for relative in tutorial_files():
        assert (dest / relative).read_bytes() == (TUTORIALS / relative).read_bytes()
    assert f"jupyter lab {dest}" in out and "Colab" in out and "VS Code" in out

    mine = dest / "03_losses.ipynb"
    mine.write_text("my notes", encoding="utf-8")
    assert main(["tutorials", str(dest)]) == 0
    out = capsys.readouterr().out
    assert mine.read_text(encoding="utf-8") == "my notes"  # the student's change survives
    assert f"kept  {mine}" in out and "--force" in out
    assert f"0 written, {len(tutorial_files()) - 1} already up to date, 1 kept" in out

    assert main(["tutorials", str(dest), "--force"]) == 0
    assert mine.read_bytes() == (TUTORIALS / "03_losses.ipynb").read_bytes()
    assert f"wrote {mine}" in capsys.readouterr().out


def test_tutorials_command_refuses_a_file_as_folder(tmp_path, capsys):
    target = tmp_path / "notes.txt"
    target.write_text("not a folder", encoding="utf-8")
    assert main(["tutorials", str(target)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"npsae tutorials: error: {target} exists and is not a folder"
    assert target.read_text(encoding="utf-8") == "not a folder"


def test_scripts_take_the_figure_folder_and_full_from_the_command_line(tmp_path):
    """Run as scripts, the tutorials read FIGURE_FOLDER and --full from argv, else from the
    environment, else use figures/ beside them in quick mode (as _common says)."""
    (tmp_path / "_common.py").write_bytes((TUTORIALS / "_common.py").read_bytes())
    probe = tmp_path / "probe.py"
    # One interpreter, _common imported afresh for each command line and environment.
    probe.write_text(
        "import importlib, json, os, sys\n"
        "import _common\n"
        "for argv, env in json.loads(sys.argv[1]):\n"
        "    sys.argv = ['tutorial.py', *argv]\n"
        "    for k in ('NPSAE_TUTORIAL_FIGURES', 'NPSAE_TUTORIAL_FULL'):\n"
        "        os.environ.pop(k, None)\n"
        "    os.environ.update(env)\n"
        "    importlib.reload(_common)\n"
        "    print(_common.OUT, _common.FULL)\n",
        encoding="utf-8",
    )
    runs = [
        ([], {}),
        (["out", "--full"], {}),
        ([], {"NPSAE_TUTORIAL_FIGURES": "env-out", "NPSAE_TUTORIAL_FULL": "1"}),
        (["argv-out"], {"NPSAE_TUTORIAL_FIGURES": "env-out", "NPSAE_TUTORIAL_FULL": "0"}),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("NPSAE_TUTORIAL")}
    proc = subprocess.run(
        [sys.executable, str(probe), json.dumps(runs)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stdout.splitlines() == [
        f"{tmp_path / 'figures'} False",
        "out True",
        "env-out True",
        "argv-out False",
    ]


# ---- sources -------------------------------------------------------------------------------

# A citation in the text: (Ng 2011), (Glorot & Bengio 2010), (LeCun et al. 1998), (CS231n), or
# several in one pair of brackets, separated by semicolons.
CITATION = re.compile(r"^(?:[A-Z][\w'-]+(?: & [A-Z][\w'-]+| et al\.)? \d{4}|CS231n)$")
ENTRY = re.compile(r"^- \[(?P<key>[^\]]+)\] ", re.M)


def citations(markdown: str) -> set[str]:
    """The sources cited in ``markdown``: each (Author Year) group, wrapped lines joined."""
    text = " ".join(markdown.split())
    return {
        part.strip()
        for group in re.findall(r"\(([^()]*)\)", text)
        for part in group.split(";")
        if CITATION.match(part.strip())
    }


def reference_entries(markdown: str) -> dict[str, str]:
    """key -> entry (whitespace collapsed) of the "- [Key] ..." items of a References section."""
    starts = list(ENTRY.finditer(markdown))
    ends = [m.start() for m in starts[1:]] + [len(markdown)]
    return {
        m.group("key"): " ".join(markdown[m.start() : end].split())
        for m, end in zip(starts, ends, strict=True)
    }


def readme_references() -> dict[str, str]:
    text = (TUTORIALS / "README.md").read_text(encoding="utf-8")
    assert text.count("\n## References\n") == 1, (
        "the tutorials' README needs one References section"
    )
    return reference_entries(text.split("\n## References\n")[1].split("\n## ")[0])


def test_citations_are_found():
    text = "as (Ng 2011; CS231n) says, and (LeCun et\nal. 1998); not (m, 784) nor (see 03)."
    assert citations(text) == {"Ng 2011", "CS231n", "LeCun et al. 1998"}
    assert citations("(Glorot & Bengio 2010), (Földiák 1990)") == {
        "Glorot & Bengio 2010",
        "Földiák 1990",
    }


def test_readme_lists_the_sources_once_each():
    entries = readme_references()
    assert len(entries) >= 10, entries
    assert all(citations(f"({key})") == {key} for key in entries), "a key not cited as (Key)"


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_notebook_cites_what_its_references_list(script):
    """Each source cited in a notebook's text is listed in its closing References cell, each one
    listed is cited, and each entry reads word for word as in the README's list."""
    nb = nbformat.read(script.with_suffix(".ipynb"), as_version=4)
    markdown = [c.source for c in nb.cells if c.cell_type == "markdown"]
    references = [s for s in markdown if s.startswith("## References")]
    text = "\n".join(s for s in markdown if not s.startswith("## References"))
    cited = citations(text)
    if not cited:
        assert not references, f"{script.stem} lists references but cites none"
        return
    assert len(references) == 1, (
        f"{script.stem} cites {sorted(cited)}: it needs one References cell"
    )
    assert nb.cells[-1].source == references[0], f"{script.stem}: References is not the last cell"
    listed = reference_entries(references[0])
    known = readme_references()
    assert not cited - set(known), (
        f"{script.stem} cites sources the README lacks: {cited - set(known)}"
    )
    assert set(listed) == cited, (
        f"{script.stem}: cited but not listed {sorted(cited - set(listed))}, "
        f"listed but not cited {sorted(set(listed) - cited)}"
    )
    for key, entry in listed.items():
        assert entry == known[key], f"{script.stem}: [{key}] differs from the README's entry"
