"""What a tutorial's text points at must be there: every image its Markdown shows (the saved
figures of full-length runs). Read from the scripts, without running them (tests/test_tutorials.py
runs them, their closing assertion cells, and checks their citations against their references).
"""

import re
from pathlib import Path

import pytest

TUTORIALS = Path(__file__).resolve().parent.parent / "npsae" / "tutorials"
SCRIPTS = sorted(TUTORIALS.glob("[0-9][0-9]_*.py"))


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_every_image_the_text_shows_exists(script):
    shown = re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", script.read_text(encoding="utf-8"))
    missing = [path for path in shown if not (TUTORIALS / path).is_file()]
    assert not missing, f"{script.name} shows images that are not in {TUTORIALS}: {missing}"
