"""A test helper: aotc's host signal handler installed for a while, every disposition put back after,
so that tests can send the process real signals as a guest's kill would."""

from __future__ import annotations

import ctypes
from collections.abc import Iterator
from contextlib import contextmanager

from aotc.exec.codebuf import CodeBuffer
from aotc.exec.hostsig import NSIG, UNCATCHABLE, HostSignals

_libc = ctypes.CDLL(None, use_errno=True)
SYS_RT_SIGACTION = 13


@contextmanager
def installed_host_signals() -> Iterator[tuple[HostSignals, CodeBuffer]]:
    """HostSignals in a code buffer of its own, catching every signal until the block ends."""
    saved = [(ctypes.c_uint64 * 4)() for _ in range(NSIG + 1)]
    for signo in range(1, NSIG + 1):
        if signo not in UNCATCHABLE:
            _libc.syscall(SYS_RT_SIGACTION, signo, None, ctypes.byref(saved[signo]), 8)
    buf = CodeBuffer(1 << 16)
    host = HostSignals(buf)
    host.install()
    try:
        yield host, buf
    finally:
        for signo in range(1, NSIG + 1):
            if signo not in UNCATCHABLE:
                _libc.syscall(SYS_RT_SIGACTION, signo, ctypes.byref(saved[signo]), None, 8)
