"""How the package's layers depend on one another: the library never imports the command line,
and the command line starts without Numba (and without matplotlib)."""

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "npsae"


def imported_modules(path: Path) -> set[str]:
    """Every module an ``import`` or ``from ... import`` of the file names, at any depth."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_the_library_never_imports_the_command_line():
    # The command line, its entry point and the tutorials (scripts that show the command) may.
    outside = [
        p
        for p in PACKAGE.rglob("*.py")
        if not p.is_relative_to(PACKAGE / "cli")
        and not p.is_relative_to(PACKAGE / "tutorials")
        and p != PACKAGE / "__main__.py"
    ]
    assert len(outside) > 30  # the walk found the package
    offenders = {
        str(p.relative_to(PACKAGE.parent)): sorted(
            name
            for name in imported_modules(p)
            if name == "npsae.cli" or name.startswith("npsae.cli.")
        )
        for p in outside
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_import_check_sees_an_import_inside_a_function(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from npsae.cli.data import X\n    from npsae import cli\n")
    assert {"npsae.cli.data", "npsae.cli"} <= imported_modules(module)


def run_python(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=120, check=True
    )


def test_import_npsae_cli_loads_neither_numba_nor_matplotlib():
    check = (
        "import sys, npsae.cli\n"
        "parser = npsae.cli.build_parser()\n"  # every sub-command's module registered
        "heavy = sorted(m for m in ('numba', 'matplotlib') if m in sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    run_python("-c", check)


def test_npsae_help_imports_no_numba():
    result = run_python("-X", "importtime", "-m", "npsae", "--help")
    assert "usage: npsae" in result.stdout
    # -X importtime lists on stderr every module imported: "import time: self | total | name".
    modules = {line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines() if "|" in line}
    assert {"npsae.cli", "npsae.model"} <= modules  # the listing is what it seems
    assert not {m for m in modules if m.split(".")[0] in ("numba", "matplotlib")}


def test_the_lazy_names_of_npsae_resolve_and_a_wrong_one_is_an_attribute_error():
    import npsae

    for name in npsae.__all__:
        assert getattr(npsae, name) is not None
    from npsae.training import fit

    assert npsae.fit is fit
    try:
        npsae.no_such_name  # noqa: B018
    except AttributeError as err:
        assert "no_such_name" in str(err)
    else:
        raise AssertionError("no AttributeError")


def test_submodules_resolve_as_attributes_after_a_plain_import():
    # As numpy.linalg after `import numpy`: a user who reads `npsae.gradcheck.gradient_check`
    # in the docs can type it after `import npsae`, in a fresh interpreter.
    check = (
        "import sys, npsae\n"
        "assert 'npsae.gradcheck' not in sys.modules\n"
        "found = npsae.gradcheck.gradient_check\n"
        "from npsae.gradcheck import gradient_check\n"
        "assert found is gradient_check\n"
        "assert npsae.penalties.__name__ == 'npsae.penalties'\n"
        "try:\n"
        "    npsae.no_such_module\n"
        "except AttributeError as err:\n"
        "    assert 'no_such_module' in str(err)\n"
        "else:\n"
        "    raise AssertionError('no AttributeError')\n"
    )
    run_python("-c", check)


def type_checking_imports(path: Path) -> dict[str, str]:
    """``{name: module}`` of the ``from MODULE import NAME as NAME`` in the file's top-level
    ``if TYPE_CHECKING:`` block; AssertionError for an import there not re-exported as itself."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    (block,) = [
        node
        for node in tree.body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    ]
    names = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom), ast.unparse(node)
        for alias in node.names:
            # "import X as X" is what marks X re-exported for mypy and pyright (PEP 484).
            assert alias.asname == alias.name, ast.unparse(node)
            names[alias.name] = node.module
    return names


def test_type_checkers_see_every_lazy_name_from_its_module():
    import npsae

    assert type_checking_imports(PACKAGE / "__init__.py") == npsae._EXPORTS
    assert set(npsae.__all__) == {"__version__", *npsae._EXPORTS}


def test_import_npsae_imports_none_of_the_modules_behind_its_names():
    check = (
        "import sys, npsae\n"
        "loaded = sorted(set(npsae._EXPORTS.values()) & set(sys.modules))\n"
        "assert not loaded and 'numba' not in sys.modules, loaded\n"
        "npsae.fit\n"
        "assert 'npsae.training' in sys.modules\n"  # the check above can see a module load
    )
    run_python("-c", check)
