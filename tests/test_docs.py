"""The documentation site: built with warnings as errors from the notebooks this session
executed (conftest.py's ``run_notebook``, so no notebook runs twice), then opened in headless
Chromium from the files, offline: maths typeset, images loaded, the API and command-line pages
generated, the search working, and no request to any other host."""

import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlparse

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
TUTORIALS = REPO / "npsae" / "tutorials"
STEMS = sorted(p.stem for p in TUTORIALS.glob("[0-9][0-9]_*.py"))
# Seconds a page has to load and typeset its maths; generous for a busy 2-core machine.
PAGE_TIMEOUT = 120


def _ignore_built(folder: str, names: list[str]) -> set[str]:
    """What copytree leaves out of docs/: earlier builds and conf.py's copy of the tutorials."""
    if Path(folder) == DOCS:
        return {"_build"} & set(names)
    if Path(folder) == DOCS / "tutorials":
        return set(names) - {"index.md"}
    return set()


@pytest.fixture(scope="module")
def site(tmp_path_factory, run_notebook) -> Path:
    """The built site's folder. The build reads a copy of what docs/ takes from the repository,
    the tutorials' notebooks replaced by this session's executed ones, and executes nothing."""
    root = tmp_path_factory.mktemp("repo")
    shutil.copytree(DOCS, root / "docs", ignore=_ignore_built)
    shutil.copytree(
        TUTORIALS, root / "npsae" / "tutorials", ignore=shutil.ignore_patterns("figures")
    )
    (root / "bench").mkdir()
    for path in [REPO / "bench" / "README.md", *(REPO / "bench").glob("*.png")]:
        shutil.copy(path, root / "bench")
    for stem in STEMS:
        nbformat.write(run_notebook(stem).nb, root / "npsae" / "tutorials" / f"{stem}.ipynb")
    out = root / "html"
    build = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html"]
        + ["-D", "nb_execution_mode=off", str(root / "docs"), str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    # -W makes Sphinx's warnings fail the build; sphinx-argparse's docutils messages (a help
    # text that is bad reStructuredText) reach stderr only, so stderr must be empty too.
    assert build.returncode == 0 and not build.stderr.strip(), build.stderr[-5000:]
    return out


def test_every_page_is_built(site):
    pages = {p.relative_to(site).as_posix() for p in site.rglob("*.html")}
    wanted = {
        "index.html",
        "getting-started.html",
        "tutorials/index.html",
        "exercises.html",
        "instructors.html",
        "adding-an-exercise.html",
        "cli.html",
        "api/index.html",
        "benchmarks.html",
        "references.html",
        "search.html",
    }
    wanted |= {f"tutorials/{stem}.html" for stem in STEMS}
    wanted |= {f"{p.stem}.html" for p in DOCS.glob("*.md")}  # every page, however it was added
    assert wanted <= pages, sorted(wanted - pages)


class _Resources(HTMLParser):
    """The URLs a page loads: scripts, stylesheets and other links, images, frames."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        attribute = {"script": "src", "link": "href", "img": "src", "iframe": "src"}.get(tag)
        if attribute and attrs.get(attribute):
            self.urls.append(attrs[attribute])
        if tag == "img" and attrs.get("srcset"):
            self.urls += [part.split()[0] for part in attrs["srcset"].split(",")]


def test_no_page_loads_anything_from_another_host(site):
    remote = []
    for page in site.rglob("*.html"):
        parser = _Resources()
        parser.feed(page.read_text(encoding="utf-8"))
        remote += [f"{page.relative_to(site)}: {u}" for u in parser.urls if urlparse(u).netloc]
    assert not remote, "\n".join(remote)


def test_the_command_line_reference_is_generated_from_the_parsers(site):
    from test_cli_vocabulary import options, sub_parsers

    from npsae.cli import build_parser

    text = (site / "cli.html").read_text(encoding="utf-8")
    for path, parser in sub_parsers(build_parser()):
        for option, _ in options(parser):
            assert option in text, f"npsae {' '.join(path)} {option} is not on cli.html"


def test_mathjax_is_bundled_with_its_licence(site):
    assert (site / "_static" / "mathjax" / "tex-svg-full.js").stat().st_size > 1_000_000
    assert "Apache License" in (site / "_static" / "mathjax" / "LICENSE").read_text()


# ---- in the browser -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium, the system's: Playwright drives it but cannot download its own here."""
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    assert executable, "Chromium is not installed: apt-get install chromium"
    with sync_playwright() as playwright:
        # --no-sandbox: Chromium's own sandbox refuses to start as root (CI runs as root).
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser, site):
    """open_page(relative, query="") loads a built page from its file. Every request the pages
    make must stay on file:// (or be inline data), and no script may fail."""
    context = browser.new_context()
    requests: list[str] = []
    errors: list[str] = []
    context.on("request", lambda request: requests.append(request.url))

    def open_(relative: str, query: str = ""):
        page = context.new_page()
        page.set_default_timeout(PAGE_TIMEOUT * 1000)
        page.on("pageerror", lambda error: errors.append(f"{relative}: {error}"))
        page.goto((site / relative).as_uri() + query, wait_until="load")
        return page

    yield open_
    context.close()
    elsewhere = [u for u in requests if urlparse(u).scheme not in ("file", "data", "blob")]
    assert not elsewhere, elsewhere
    assert not errors, errors


# What is left of maths that MathJax did not typeset: $...$, $$...$$, \(...\), \[...\].
RAW_MATHS = re.compile(r"\$[^$\s][^$]*\$|\\\(|\\\[")


def _typeset(page) -> dict:
    """Wait for MathJax to finish; return the typeset formulas, its error nodes, and the text
    outside code, preformatted blocks and formulas, where no raw maths may remain."""
    page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise")
    page.evaluate("MathJax.startup.promise")
    return page.evaluate(
        """() => {
            const main = document.querySelector('main') || document.body;
            const clone = main.cloneNode(true);
            clone.querySelectorAll('pre, code, mjx-container, script, style')
                .forEach(e => e.remove());
            return {
                formulas: main.querySelectorAll('mjx-container').length,
                errors: [...main.querySelectorAll('mjx-merror, [data-mjx-error]')]
                    .map(e => e.getAttribute('data-mjx-error') || e.textContent),
                text: clone.innerText,
            };
        }"""
    )


def _images(page) -> list[dict]:
    """Every image of the page, once loaded: its address and natural width."""
    page.wait_for_function("[...document.images].every(i => i.complete)")
    return page.evaluate(
        "[...document.images].map(i => ({src: i.currentSrc || i.src, width: i.naturalWidth}))"
    )


@pytest.mark.parametrize("stem", STEMS)
def test_a_tutorial_shows_its_maths_typeset_and_its_figures(open_page, stem):
    page = open_page(f"tutorials/{stem}.html")
    maths = _typeset(page)
    assert maths["formulas"] > 0, f"{stem}: no formula typeset"
    assert not maths["errors"], f"{stem}: MathJax errors {maths['errors']}"
    raw = RAW_MATHS.findall(maths["text"])
    assert not raw, f"{stem}: maths left as TeX: {raw[:5]}"
    images = _images(page)
    # The notebook's figures, shown inline under the cells that drew them.
    assert sum(i["src"].startswith("file:") and "_images" in i["src"] for i in images) >= 1, images
    assert all(i["width"] > 0 for i in images), [i for i in images if not i["width"]]


def test_the_landing_and_benchmark_pages_show_their_figures(open_page):
    for relative in ("index.html", "benchmarks.html"):
        images = _images(open_page(relative))
        assert any("_images" in i["src"] for i in images), (relative, images)
        assert all(i["width"] > 0 for i in images), (relative, images)


def test_the_api_page_of_the_model_lists_its_training_methods(open_page):
    page = open_page("api/model.html")
    methods = page.eval_on_selector_all(
        "dl.py.class dl.py.method > dt[id]", "nodes => nodes.map(n => n.id)"
    )
    model = [m.rsplit(".", 1)[1] for m in methods if ".SparseAutoencoder." in m]
    # What fit calls on the model at every step, each documented from its docstring.
    assert {"loss_and_grads", "forward_backward", "update_statistics"} <= set(model), model
    training = open_page("api/training.html")
    for function in ("npsae.training.fit", "npsae.training.resume"):
        assert training.locator(f"dt[id='{function}']").count() == 1, function
    gradcheck = open_page("api/gradcheck.html")
    assert gradcheck.locator("dt[id='npsae.gradcheck.gradient_check']").count() == 1


def test_the_search_finds_the_gradient_check_offline(open_page):
    page = open_page("search.html", "?q=gradient+check")
    page.wait_for_selector("#search-results ul.search li")
    found = page.eval_on_selector_all(
        "#search-results ul.search li a", "links => links.map(a => a.href)"
    )
    pages = {urlparse(href).path.rsplit("/", 1)[-1] for href in found}
    assert {"04_backprop_gradcheck.html", "gradcheck.html"} <= pages, pages


# ---- how the site is built -----------------------------------------------------------------


def test_one_command_builds_the_site_and_read_the_docs_runs_the_same():
    import configparser

    import yaml

    command = 'python -m pip install ".[docs]" && python -m sphinx -W --keep-going -b html docs '
    for page in (REPO / "README.md", DOCS / "about-this-site.md"):
        assert command in page.read_text(encoding="utf-8"), page.name
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    assert "sphinx" in config["options.extras_require"]["docs"]
    rtd = yaml.safe_load((REPO / ".readthedocs.yaml").read_text(encoding="utf-8"))
    assert rtd["version"] == 2
    assert (REPO / rtd["sphinx"]["configuration"]).resolve() == DOCS / "conf.py"
    assert rtd["sphinx"]["fail_on_warning"] is True
    assert rtd["python"]["install"] == [
        {"method": "pip", "path": ".", "extra_requirements": ["docs"]}
    ]


def test_the_getting_started_python_runs(mnist_root, tmp_path, monkeypatch):
    import warnings

    text = (DOCS / "getting-started.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) == 1, "getting-started.md should hold one Python block"
    monkeypatch.setenv("NPSAE_DATA", str(mnist_root))
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the KL-with-ReLU caveat, which models.md explains
        exec(compile(blocks[0], "getting-started.md", "exec"), namespace)
    assert namespace["H"].shape == (256, 64)
    assert len(namespace["history"]["loss"]) == 2


def test_the_readme_is_a_short_front_door_whose_links_lead_somewhere():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(readme.encode()) < 8192, "the README is the front door: the manual is docs/"
    links = re.findall(r"\]\(([^)#]+)\)", readme)
    assert {"docs/getting-started.md", "docs/instructors.md", "docs/layout.md"} <= set(links)
    broken = [link for link in links if not (REPO / link).is_file()]
    assert not broken, broken
