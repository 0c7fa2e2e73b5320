"""Confine the student's process with the Linux kernel's own sandboxes, Landlock and seccomp.

The runner calls ``confine`` after it has loaded what it needs and before it imports the
student's file. From then on the process, and every process it starts, may:

- read (and execute) the Python installation, its site-packages, the shared libraries already
  mapped and the folders they came from (``read_only_paths``), and ``READ_ONLY``;
- read the student's own folder;
- read and write its exchange folder (its results, and ``$TMPDIR``), and ``DEVICES``;

and nothing else (Landlock, ABI 1 and up: file rights, and no ptrace of a process outside the
sandbox; 2: links and renames across folders; 3: truncation; 5: device ioctls). Landlock ABI 4
refuses every TCP bind and connect; ABI 6 refuses signals and abstract Unix sockets to
processes outside the student's own sandbox. Both Landlock and seccomp confine the calling
thread only: ``confine`` refuses to run in a process that has started another.
A seccomp filter refuses ``socket()`` of every family (UDP, raw and path-named Unix sockets are
not Landlock's), io_uring (which makes sockets without ``socket()``), ``memfd_create`` (files in
memory, outside every folder), and system calls of another architecture. When the grader runs
as root (Gradescope's container, a server), the kernel applies no process limit to uid 0: the
process gives its real uid to ``nobody``, keeps root's effective uid for its files, drops every
capability, and the seccomp filter refuses changing uids back, so that the runner's
``RLIMIT_NPROC`` holds.

Why a module of its own over the three Landlock system calls and ``prctl`` rather than a
binding from the package index: ``landlock`` (MIT, 1.0.0.dev5, alpha, last release 2025-05)
covers file-system rights only, no TCP (ABI 4) nor scoping (ABI 6); ``landlockpy`` (0BSD,
0.2.0, 2026-09) knows ABI 1 to 11 but is a young 0.x release from one vendor; neither does
seccomp, and ``pyseccomp`` (2021) needs libseccomp's shared library installed. The student's
process must run with the standard library and NumPy alone (this file is copied next to the
job, like ``wire``); a small module of ctypes over documented kernel interfaces
(``include/uapi/linux/landlock.h``, ``seccomp.h``) adds no dependency on either side, covers
ABI 1 to 7, and asks each kernel only for the rights its ABI knows.

This file imports only the standard library: the student's process loads it by path, without
npsae.
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys
import sysconfig

#: The Landlock ABIs that restrict truncate(), refuse TCP, scope signals and abstract sockets.
TRUNCATE_ABI, TCP_ABI, SCOPE_ABI = 3, 4, 6
#: Files a Python process reads as it runs, readable by every user anyway.
READ_ONLY = ("/etc/ld.so.cache", "/dev/zero", "/dev/urandom", "/dev/random")
#: Files it may also write.
DEVICES = ("/dev/null",)


class SandboxError(Exception):
    """The sandbox asked for could not be set up; the message says which step failed."""


# Landlock: system call numbers (one set for every architecture: added after the tables were
# unified), the ruleset attribute's fields and the access rights, each with the ABI that
# brought it.
_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_EXECUTE, _WRITE_FILE, _READ_FILE, _READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_REMOVE_DIR, _REMOVE_FILE, _MAKE_DIR, _MAKE_REG = 1 << 4, 1 << 5, 1 << 7, 1 << 8
_REFER, _TRUNCATE, _IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_FS_BY_ABI = {1: (1 << 13) - 1, 2: _REFER, 3: _TRUNCATE, 5: _IOCTL_DEV}
_NET_TCP = (1 << 0) | (1 << 1)  # BIND_TCP, CONNECT_TCP
_SCOPES = (1 << 0) | (1 << 1)  # ABSTRACT_UNIX_SOCKET, SIGNAL
# The rights that a rule on a file (not a folder) may hold.
_FILE_RIGHTS = _EXECUTE | _WRITE_FILE | _READ_FILE | _TRUNCATE | _IOCTL_DEV

_SYSTEM = _READ_FILE | _READ_DIR | _EXECUTE
_STUDENT = _READ_FILE | _READ_DIR
_EXCHANGE = _STUDENT | _WRITE_FILE | _MAKE_REG | _REMOVE_FILE | _MAKE_DIR | _REMOVE_DIR | _TRUNCATE
_DEVICE = _READ_FILE | _WRITE_FILE | _TRUNCATE | _IOCTL_DEV

# prctl options and seccomp's classic BPF.
_PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP, _PR_GET_SECCOMP = 38, 22, 21
_SECCOMP_MODE_FILTER = 2
_RET_ALLOW, _RET_ERRNO, _RET_KILL_PROCESS = 0x7FFF0000, 0x00050000, 0x80000000
_LD_ABS_W, _JEQ_K, _JGE_K, _RET_K = 0x20, 0x15, 0x35, 0x06
_EPERM = 1
# Per architecture: its audit id, the x32 bit (x86_64's second ABI), and the calls refused.
_SYSCALLS = {
    "x86_64": (
        0xC000003E,
        0x40000000,
        {
            "socket": 41,
            "memfd_create": 319,
            "setuid": 105,
            "setreuid": 113,
            "setresuid": 117,
            "setfsuid": 122,
        },
    ),
    "aarch64": (
        0xC00000B7,
        None,
        {
            "socket": 198,
            "memfd_create": 279,
            "setreuid": 145,
            "setuid": 146,
            "setresuid": 147,
            "setfsuid": 151,
        },
    ),
}
_IO_URING = (425, 426, 427)  # io_uring_setup, _enter, _register: the same on both
_NOBODY = 65534


class _RulesetAttr(ctypes.Structure):
    _fields_ = (("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64))


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = (("allowed", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


class _SockFilter(ctypes.Structure):
    _fields_ = (
        ("code", ctypes.c_uint16),
        ("jt", ctypes.c_uint8),
        ("jf", ctypes.c_uint8),
        ("k", ctypes.c_uint32),
    )


class _SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter)))


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    libc.prctl.argtypes = [ctypes.c_int] + [ctypes.c_ulong] * 4
    return libc


def landlock_abi() -> int:
    """The Landlock ABI version this kernel offers; 0 without Landlock (or not on Linux)."""
    if not sys.platform.startswith("linux"):
        return 0
    version = _libc().syscall(
        ctypes.c_long(_CREATE_RULESET),
        None,
        ctypes.c_size_t(0),
        ctypes.c_uint32(_CREATE_RULESET_VERSION),
    )
    return max(0, int(version))


def seccomp_available() -> bool:
    """Whether this process can install the seccomp filter (Linux, on an architecture whose
    system call numbers this module knows, with seccomp in the kernel)."""
    if not sys.platform.startswith("linux") or platform.machine() not in _SYSCALLS:
        return False
    return _libc().prctl(_PR_GET_SECCOMP, 0, 0, 0, 0) >= 0


def read_only_paths() -> list[str]:
    """What the student's process may read and execute: the interpreter's folders, NumPy's
    site-packages, each shared library's folder and each other file mapped now."""
    paths = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    numpy = sys.modules.get("numpy")
    if numpy is not None and getattr(numpy, "__file__", None):
        paths.add(os.path.dirname(os.path.dirname(numpy.__file__)))
    try:
        with open("/proc/self/maps") as maps:
            mapped = {line.split(maxsplit=5)[5].strip() for line in maps if "/" in line}
    except OSError:
        mapped = set()
    for path in mapped:
        if path.startswith("/"):
            # A library may load its neighbours later (a NumPy extension imported lazily).
            paths.add(os.path.dirname(path) if ".so" in os.path.basename(path) else path)
    return sorted(p for p in (*paths, *READ_ONLY) if os.path.exists(p))


def confine(
    abi: int, seccomp: bool, student: str, exchange: str, read: list[str] | None = None
) -> None:
    """Confine this process (and its future children) for good: Landlock at ``abi`` (0: none)
    over ``read`` (default ``read_only_paths()``), the ``student`` folder (read) and the
    ``exchange`` folder (read and write); the seccomp filter if ``seccomp``. SandboxError when
    a step fails: the caller must then not run the student's code."""
    if not (abi or seccomp):
        return
    # Both confine the calling thread only: a thread started before would stay free.
    threads = len(os.listdir("/proc/self/task"))
    if threads != 1:
        raise SandboxError(f"{threads} threads are running: the sandbox confines one")
    libc = _libc()
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise SandboxError(f"prctl(PR_SET_NO_NEW_PRIVS): {_errno()}")
    if abi:
        rules = [(p, _SYSTEM) for p in (read_only_paths() if read is None else read)]
        rules += [(student, _STUDENT), (exchange, _EXCHANGE)]
        rules += [(p, _DEVICE) for p in DEVICES if os.path.exists(p)]
        _landlock(libc, abi, rules)
    if seccomp:
        _seccomp(libc, drop_root=os.getuid() == 0)


def _errno() -> str:
    number = ctypes.get_errno()
    return f"{os.strerror(number)} (errno {number})"


def _landlock(libc: ctypes.CDLL, abi: int, rules: list[tuple[str, int]]) -> None:
    handled = sum(rights for since, rights in _FS_BY_ABI.items() if abi >= since)
    attr = _RulesetAttr(
        fs=handled, net=_NET_TCP if abi >= TCP_ABI else 0, scoped=_SCOPES if abi >= SCOPE_ABI else 0
    )
    size = 8 if abi < TCP_ABI else 16 if abi < SCOPE_ABI else 24
    ruleset = libc.syscall(
        ctypes.c_long(_CREATE_RULESET),
        ctypes.byref(attr),
        ctypes.c_size_t(size),
        ctypes.c_uint32(0),
    )
    if ruleset < 0:
        raise SandboxError(f"landlock_create_ruleset (ABI {abi}): {_errno()}")
    try:
        for path, rights in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError as err:
                raise SandboxError(f"cannot open {path} for a Landlock rule: {err}") from None
            try:
                if not os.path.isdir(path):
                    rights &= _FILE_RIGHTS
                rule = _PathBeneath(allowed=rights & handled, parent_fd=fd)
                done = libc.syscall(
                    ctypes.c_long(_ADD_RULE),
                    ctypes.c_int(ruleset),
                    ctypes.c_int(_RULE_PATH_BENEATH),
                    ctypes.byref(rule),
                    ctypes.c_uint32(0),
                )
                if done != 0:
                    raise SandboxError(f"landlock_add_rule({path}): {_errno()}")
            finally:
                os.close(fd)
        if libc.syscall(ctypes.c_long(_RESTRICT_SELF), ctypes.c_int(ruleset), ctypes.c_uint32(0)):
            raise SandboxError(f"landlock_restrict_self: {_errno()}")
    finally:
        os.close(ruleset)


def _seccomp(libc: ctypes.CDLL, drop_root: bool) -> None:
    arch, x32, numbers = _SYSCALLS[platform.machine()]
    refused = [numbers["socket"], numbers["memfd_create"], *_IO_URING]
    if drop_root and _drop_root(libc):
        refused += [numbers[n] for n in ("setuid", "setreuid", "setresuid", "setfsuid")]
    program = [
        (_LD_ABS_W, 0, 0, 4),  # the architecture
        (_JEQ_K, 1, 0, arch),
        (_RET_K, 0, 0, _RET_KILL_PROCESS),
        (_LD_ABS_W, 0, 0, 0),  # the system call's number
    ]
    if x32 is not None:
        program += [(_JGE_K, 0, 1, x32), (_RET_K, 0, 0, _RET_KILL_PROCESS)]
    for number in refused:
        program += [(_JEQ_K, 0, 1, number), (_RET_K, 0, 0, _RET_ERRNO | _EPERM)]
    program.append((_RET_K, 0, 0, _RET_ALLOW))
    filters = (_SockFilter * len(program))(*(_SockFilter(*op) for op in program))
    fprog = _SockFprog(len(program), filters)
    if libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.addressof(fprog), 0, 0) != 0:
        raise SandboxError(f"prctl(PR_SET_SECCOMP): {_errno()}")


def _drop_root(libc: ctypes.CDLL) -> bool:
    """Give the real uid to ``nobody`` (it decides ``RLIMIT_NPROC``; root's effective uid keeps
    the grader's files) and drop every capability. Best effort, on top of the sandbox: where a
    container forbids it, the process limit does not hold for root, as without the sandbox.
    Returns whether the uid changed (the caller must then refuse changing it back)."""
    try:
        os.setresuid(_NOBODY, 0, 0)
    except OSError:
        return False
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    libc.capset(header, (ctypes.c_uint32 * 6)())  # none effective, permitted or inheritable
    return True
