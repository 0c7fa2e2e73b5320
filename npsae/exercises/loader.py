"""Import a student's function from a file, by path, leaving ``sys.modules`` as it was.

A student's file may import a sibling (``from sigmoid import sigmoid``), so its folder is on
``sys.path`` while it runs; afterwards the folder leaves ``sys.path`` and every module loaded from
it leaves ``sys.modules``, so that grading again after an edit sees the new code. A sibling kept
under the name its stub was handed out with, ``exNN_NAME.py`` (``older_files``), is imported as
``NAME`` too: a class midway through a course that changed keeps its files.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import itertools
import re
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

_counter = itertools.count()


def older_files(folder: Path, name: str) -> list[Path]:
    """The files of exercise ``name`` in ``folder`` under a handed-out stub's older name,
    ``exNN_NAME.py`` (whatever the number: numbers change when a course does), sorted."""
    older = re.compile(rf"ex\d+_{re.escape(name)}\.py")
    try:
        return sorted(p for p in folder.iterdir() if older.fullmatch(p.name) and p.is_file())
    except OSError:  # no folder, or one that cannot be read: no file
        return []


class _OlderNames(importlib.abc.MetaPathFinder):
    """Finds ``import NAME`` in ``folder``'s only ``exNN_NAME.py`` when no module NAME exists
    (it comes last on ``sys.meta_path``)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def find_spec(self, fullname: str, path=None, target=None):
        found = older_files(self.folder, fullname) if path is None else []
        if len(found) != 1:
            return None
        return importlib.util.spec_from_file_location(fullname, found[0])


class LoadError(Exception):
    """The student's file could not provide the function; the message says why, for the student."""


def load_function(path: str | Path, name: str) -> Callable:
    """The function ``name`` defined by the Python file at ``path``.

    Raises LoadError for a missing file, an error while importing it (a syntax error, a failed
    import, an exception at top level: the message gives the line), or a missing function.
    """
    path = Path(path).resolve()
    if not path.is_file():
        raise LoadError(f"{path.name} not found in {path.parent}")
    module_name = f"_npsae_exercise_{next(_counter)}_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    folder = str(path.parent)
    before = set(sys.modules)
    sys.path.insert(0, folder)
    older_names = _OlderNames(path.parent)
    sys.meta_path.append(older_names)
    # The module is registered while it runs, as an import would (dataclasses, pickling and
    # typing look it up there), and removed with whatever siblings it imported.
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as err:  # the student's file may raise anything at import time
        raise LoadError(_describe(err, path)) from err
    finally:
        sys.path.remove(folder)
        sys.meta_path.remove(older_names)
        for added in set(sys.modules) - before:
            if added == module_name or _is_inside(sys.modules[added], path.parent):
                del sys.modules[added]
    fn = getattr(module, name, None)
    if not callable(fn):
        raise LoadError(f"{path.name} defines no function {name}()")
    return fn


def _is_inside(module, folder: Path) -> bool:
    file = getattr(module, "__file__", None)
    return file is not None and folder in Path(file).resolve().parents


def _describe(err: Exception, path: Path) -> str:
    """``err`` as the student needs it: what, and where in their file."""
    if isinstance(err, SyntaxError):
        where = f"{Path(err.filename or path).name}, line {err.lineno}"
        return f"cannot import {path.name}: {type(err).__name__} at {where}: {err.msg}"
    lines = [
        f"{Path(f.filename).name}, line {f.lineno}"
        for f in traceback.extract_tb(err.__traceback__)
        if Path(f.filename).resolve().parent == path.parent
    ]
    where = f" at {lines[-1]}" if lines else ""
    return f"cannot import {path.name}: {type(err).__name__}{where}: {err}"
