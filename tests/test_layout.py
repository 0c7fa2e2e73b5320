"""The documentation's page of how the code is laid out (docs/layout.md, linked from the README's
short layout table) names every module of the package."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "npsae"


def test_the_layout_page_names_every_module():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "](docs/layout.md)" in readme[readme.index("## How the code is laid out") :]
    layout = (ROOT / "docs" / "layout.md").read_text(encoding="utf-8")
    # The package's own modules by path; the exercises' by name in their table; the command's
    # modules are one per sub-command (the row npsae/cli/), apart from what they share.
    wanted = [f"`npsae/{p.name}`" for p in PACKAGE.glob("*.py") if p.name[:2] != "__"]
    wanted += [f"`{p.name}`" for p in (PACKAGE / "exercises").glob("*.py") if p.name[:2] != "__"]
    wanted += ["`npsae/cli/common.py`", "`npsae/cli/__init__.py`", "`npsae/tutorials/`"]
    missing = [name for name in wanted if name not in layout]
    assert not missing, f"docs/layout.md's tables lack {', '.join(missing)}"


def test_no_script_shadows_a_standard_library_module():
    # `python bench/x.py` puts bench/ first on sys.path: a bench/profile.py was imported by
    # cProfile in place of the standard library's, and broke every library that profiles.
    import sys

    scripts = [*(ROOT / "bench").glob("*.py"), *(ROOT / "tools").glob("*.py")]
    shadowing = [p.name for p in scripts if p.stem in sys.stdlib_module_names]
    assert not shadowing, f"these scripts shadow standard-library modules: {shadowing}"
