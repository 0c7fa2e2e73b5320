"""Optional dependencies: import one, or say which extra of npsae installs it."""

from __future__ import annotations

import importlib
from types import ModuleType


class MissingExtraError(ImportError):
    """An optional dependency is not installed; the message names the extra and the pip command."""


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module``, or raise ``MissingExtraError`` saying that ``purpose`` needs it and
    that ``pip install 'npsae[extra]'`` installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        package = module.split(".")[0]
        raise MissingExtraError(
            f"{purpose} needs the package {package!r}, which is not installed; it comes with "
            f"npsae's optional extra [{extra}]: pip install 'npsae[{extra}]'"
        ) from err
