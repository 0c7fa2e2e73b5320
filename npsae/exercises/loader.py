"""Import a student's function from a file, by path, leaving ``sys.modules`` as it was.

A student's file may import a sibling (``from sigmoid import sigmoid``), so its folder is on
``sys.path`` while it runs; afterwards the folder leaves ``sys.path`` and every module loaded from
it leaves ``sys.modules``, so that grading again after an edit sees the new code.
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

_counter = itertools.count()


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
    # The module is registered while it runs, as an import would (dataclasses, pickling and
    # typing look it up there), and removed with whatever siblings it imported.
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as err:  # the student's file may raise anything at import time
        raise LoadError(_describe(err, path)) from err
    finally:
        sys.path.remove(folder)
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
