"""The README's table of how the code is laid out names every module of the package."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "npsae"


def test_the_readme_layout_names_every_module():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    layout = readme[readme.index("## How the code is laid out") :]
    # The package's own modules by path; the exercises' by name in their table; the command's
    # modules are one per sub-command (the row npsae/cli/), apart from what they share.
    wanted = [f"`npsae/{p.name}`" for p in PACKAGE.glob("*.py") if p.name[:2] != "__"]
    wanted += [f"`{p.name}`" for p in (PACKAGE / "exercises").glob("*.py") if p.name[:2] != "__"]
    wanted += ["`npsae/cli/common.py`", "`npsae/cli/__init__.py`", "`npsae/tutorials/`"]
    missing = [name for name in wanted if name not in layout]
    assert not missing, f"README.md's layout table lacks {', '.join(missing)}"
