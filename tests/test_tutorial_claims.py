"""What a tutorial's text points at must be there: every image its Markdown shows (the saved
figures of full-length runs), and, in a tutorial with a references section, an entry for every
source its text cites and a citation for every entry. Read from the scripts, without running them
(tests/test_tutorials.py runs them and their closing assertion cells).
"""

import re
from pathlib import Path

import pytest

TUTORIALS = Path(__file__).resolve().parent.parent / "npsae" / "tutorials"
SCRIPTS = sorted(TUTORIALS.glob("[0-9][0-9]_*.py"))
WITH_REFERENCES = [s for s in SCRIPTS if "\n# ## References\n" in s.read_text(encoding="utf-8")]
# A citation in the text: (Ng 2011), (Kingma & Ba 2015; ...), (LeCun et al. 1998), or the same
# with the year in brackets after the names: Glorot & Bengio (2010).
NAMES = r"[A-Z][\w-]+(?: et al\.| & [A-Z][\w-]+)?"
CITATION = re.compile(rf"\(({NAMES}) (\d{{4}})[;)]|({NAMES}) \((\d{{4}})\)")
ENTRY = re.compile(r"^# - \[([^\]]+) (\d{4})\] ", re.M)


def split_references(script: Path) -> tuple[str, str]:
    """The script's text before its references section, and the section itself."""
    text = script.read_text(encoding="utf-8")
    start = text.index("\n# ## References\n")
    end = text.find("\n# %%", start)
    return text[:start] + (text[end:] if end >= 0 else ""), text[start : end if end >= 0 else None]


@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_every_image_the_text_shows_exists(script):
    shown = re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", script.read_text(encoding="utf-8"))
    missing = [path for path in shown if not (TUTORIALS / path).is_file()]
    assert not missing, f"{script.name} shows images that are not in {TUTORIALS}: {missing}"


def test_some_tutorials_have_a_references_section():
    assert {"05_optimisers.py", "06_keras_article.py"} <= {s.name for s in WITH_REFERENCES}


@pytest.mark.parametrize("script", WITH_REFERENCES, ids=[s.stem for s in WITH_REFERENCES])
def test_references_list_exactly_the_sources_the_text_cites(script):
    body, references = split_references(script)
    listed = set(ENTRY.findall(references))
    assert listed, f"{script.name}: a references section with no entry"
    cited = {(m[0] or m[2], m[1] or m[3]) for m in CITATION.findall(body)}
    assert cited - listed == set(), f"{script.name} cites sources it does not list"
    assert listed - cited == set(), f"{script.name} lists sources its text never cites"


def test_the_citation_pattern_reads_each_form():
    text = "(Ng 2011), (Kingma & Ba 2015; note), (LeCun et al. 1998) and Glorot & Bengio (2010)"
    found = {(m[0] or m[2], m[1] or m[3]) for m in CITATION.findall(text)}
    assert found == {
        ("Ng", "2011"),
        ("Kingma & Ba", "2015"),
        ("LeCun et al.", "1998"),
        ("Glorot & Bengio", "2010"),
    }
    assert CITATION.findall("(tutorial 03) and (784 -> 64)") == []
