"""What an interrupted syscall needs below LinuxUser: the host interface (raw interruptible syscalls,
the signals the host handler took, a signal's default action) and how an interrupted call ends (the
kernel's -ERESTART* codes). aotc.linux.blocking runs blocking syscalls with them.
"""

from __future__ import annotations

import ctypes
import enum
import os
import signal
from typing import Protocol


class Restart(enum.Enum):
    """How an interrupted syscall ends when a handler runs (the kernel's -ERESTART* codes)."""

    SYS = "ERESTARTSYS"          # restarted after the handler under SA_RESTART, else EINTR
    NOINTR = "ERESTARTNOINTR"    # always restarted
    NOHAND = "ERESTARTNOHAND"    # EINTR (pause, sigsuspend, poll, select)
    BLOCK = "ERESTART_RESTARTBLOCK"   # EINTR with the time left (nanosleep)


NOT_STARTED = 512
"""-NOT_STARTED is what Host.syscall returns when a signal came before the call entered the kernel:
nothing was done, so after the handler the call runs again, whatever SA_RESTART says (the kernel
would have delivered that signal before the syscall). The kernel's ERESTARTSYS number, which no
syscall ever returns to user space."""


class Interrupted(Exception):
    """A blocking syscall was interrupted by a signal whose guest handler is about to run."""

    def __init__(self, kind: Restart) -> None:
        super().__init__(kind.value)
        self.kind = kind


class Host(Protocol):
    """What linux-user needs of the host below it: interruptible raw syscalls and the signals taken."""

    def syscall(self, nr: int, *args: int) -> int:
        """A raw x86-64 syscall: its result, or -errno; -EINTR when a signal interrupted it in the
        kernel, -NOT_STARTED when one arrived before it got there."""

    def take(self) -> list[bytes]:
        """The host siginfos of the signals that arrived since the last call."""

    def default_action(self, signo: int) -> None:
        """Let the host kernel apply signo's default action to aotc (a stop, for job control)."""


class LibcHost:
    """A Host without a signal handler of its own (unit tests): syscalls through libc, no signals."""

    def __init__(self) -> None:
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._libc.syscall.restype = ctypes.c_long

    def syscall(self, nr: int, *args: int) -> int:
        result = self._libc.syscall(ctypes.c_long(nr), *(ctypes.c_long(a) for a in args))
        return -ctypes.get_errno() if result == -1 else result

    def take(self) -> list[bytes]:
        return []

    def default_action(self, signo: int) -> None:
        previous = signal.signal(signo, signal.SIG_DFL)
        os.kill(os.getpid(), signo)
        signal.signal(signo, previous)
