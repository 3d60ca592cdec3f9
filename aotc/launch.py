"""How aotc starts (and re-starts) itself: in Python's isolated mode, so that a guest's PYTHON* variables
never reach aotc's own interpreter; with the environment it was given, which is the guest's; and knowing
which signals its parent left ignored."""

from __future__ import annotations

import os
import signal
import sys

SIGIGN_VAR = "AOTC_SIGIGN"
# Python's start-up sets these two to SIG_IGN itself, so in our own mask they say nothing of the parent
_PYTHON_IGNORES = (1 << (signal.SIGPIPE - 1)) | (1 << (signal.SIGXFSZ - 1))


def aotc_argv() -> list[str]:
    """The command that re-executes aotc (a guest's execve of an i386 program does): this interpreter in
    isolated mode (-I), which ignores every PYTHON* variable, since the environment is the guest's."""
    return [sys.executable, "-I", "-m", "aotc"]


def restore_given_environ() -> None:
    """Make os.environ again what this process was started with (/proc/self/environ), for the guest:
    under a C locale Python's start-up sets LC_CTYPE=C.UTF-8 in it (PEP 538), even in isolated mode."""
    given: dict[bytes, bytes] = {}
    with open("/proc/self/environ", "rb") as environ:
        for entry in environ.read().split(b"\0"):
            name, eq, value = entry.partition(b"=")
            if eq:
                given.setdefault(name, value)     # the first of duplicates, as Python takes it
    for name, value in list(os.environb.items()):
        if name not in given:
            del os.environb[name]
        elif given[name] != value:
            os.environb[name] = given[name]


def inherited_ignored() -> int:
    """The signals (bit n-1 for signal n, as in /proc) that were ignored when aotc was started, which a
    guest inherits as across execve: the launcher's record in $AOTC_SIGIGN, removed from the environment
    so the guest never sees it; without one (`python -m aotc`), this process's own, less SIGPIPE and
    SIGXFSZ, which Python ignores itself."""
    recorded = os.environ.pop(SIGIGN_VAR, "")
    try:
        return int(recorded, 16)
    except ValueError:
        return _own_ignored() & ~_PYTHON_IGNORES


def _own_ignored() -> int:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("SigIgn:"))
    return int(line.split()[1], 16)
