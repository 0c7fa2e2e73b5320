"""How far the student's process is sandboxed on this machine, and what to say when it is less.

``--sandbox`` (the same keyword in Python) chooses: ``auto`` (the default) sandboxes as far as
the kernel allows and says once, in one line, what is not protected and the safe route;
``require`` refuses to grade unless everything is protected (Landlock ABI 6 or later and the
seccomp filter); ``off`` runs the student's files without the sandbox, and says so. The level
is decided here, in the grader's process, once per grading; the student's process applies that
level exactly or does not run the student's file (``runner``), so the level recorded in every
result is the one that held. What each level protects: ``sandbox``.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

from npsae.exercises import sandbox as kernel

#: The choices of ``--sandbox`` and the default.
MODES = ("auto", "require", "off")
SANDBOX = "auto"
#: Where to grade files that this machine cannot confine.
SAFE_ROUTE = "grade untrusted files on Gradescope or in a container"


class SandboxUnavailable(ValueError):
    """``--sandbox require`` on a machine that cannot confine a student's file completely."""


@dataclasses.dataclass(frozen=True)
class Protection:
    """The sandbox of the student's processes: the ``mode`` asked for, the Landlock ABI
    applied (0: none) and whether the seccomp filter is on."""

    mode: str
    landlock_abi: int
    seccomp: bool

    @property
    def complete(self) -> bool:
        return self.landlock_abi >= kernel.SCOPE_ABI and self.seccomp

    def missing(self) -> list[str]:
        """What a student's file can still reach, in the instructor's words."""
        if not self.landlock_abi:
            where = "files" if self.mode == "off" else _platform()
            gaps = [f"{where}: a student's file can read, change and delete whatever you can"]
        elif self.landlock_abi < kernel.TRUNCATE_ABI:
            gaps = ["truncate(): a student's file can empty any file you can write"]
        else:
            gaps = []
        # The seccomp filter refuses every socket; Landlock alone, TCP only.
        if not self.seccomp:
            tcp = self.landlock_abi >= kernel.TCP_ABI
            gaps.append("UDP and Unix sockets" if tcp else "network connections and sockets")
        if self.landlock_abi < kernel.SCOPE_ABI:
            gaps.append("signals to your other processes")
        return gaps

    def note(self) -> str | None:
        """The one line that says what is not protected and the safe route; None when all is."""
        if self.complete:
            return None
        why = "sandbox off" if self.mode == "off" else "not sandboxed here"
        return f"{why}: {'; '.join(self.missing())}. To be safe, {SAFE_ROUTE}."

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "landlock_abi": self.landlock_abi,
            "seccomp": self.seccomp,
            "complete": self.complete,
            "not_protected": self.missing(),
        }


def protection(mode: str = SANDBOX) -> Protection:
    """The sandbox this machine gives a student's process under ``mode``. ValueError for an
    unknown mode; SandboxUnavailable for ``require`` on a machine that cannot give it all."""
    if mode not in MODES:
        raise ValueError(f"--sandbox must be one of {', '.join(MODES)}, not {mode!r}")
    if mode == "off":
        return Protection(mode, 0, False)
    found = Protection(mode, kernel.landlock_abi(), kernel.seccomp_available())
    if mode == "require" and not found.complete:
        raise SandboxUnavailable(f"--sandbox require: {found.note()}")
    return found


def _platform() -> str:
    if sys.platform.startswith("linux"):
        return "no Landlock here (Linux 5.13 or later has it, unless a container hides it)"
    name = {"darwin": "macOS", "win32": "Windows"}.get(sys.platform, sys.platform)
    return f"no kernel sandbox on {name}"
