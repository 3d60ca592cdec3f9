"""A host (x86-64) siginfo_t as the i386 guest's, by the kernel's own siginfo layouts.

On x86-64 the union starts at byte 16 and longs and pointers are 8 bytes; on i386 it starts at byte 12
and they are 4. Which fields the union holds depends on the signal and si_code (the kernel's
siginfo_layout): a signal sent by a process or a timer carries pid, uid and a sigval (or timer id,
overrun and sigval); SIGCHLD from the kernel carries pid, uid, status and two clock_t times; SIGPOLL
carries band and fd; a fault carries the address.
"""

from __future__ import annotations

import signal
import struct

from aotc.linux.sigframe import SigInfo

_HEAD = struct.Struct("<iii")
_UNION = 16
SI_USER, SI_KERNEL = 0, 0x80
_FAULTS = frozenset(int(s) for s in (signal.SIGSEGV, signal.SIGBUS, signal.SIGFPE, signal.SIGILL,
                                      signal.SIGTRAP))
# layout -> the (host offset in the union, size) of each field, in i386 order (each becomes one word)
_LAYOUTS: dict[str, tuple[tuple[int, int], ...]] = {
    "kill": ((0, 4), (4, 4), (8, 4)),             # pid, uid, sigval (or tid, overrun, sigval)
    "chld": ((0, 4), (4, 4), (8, 4), (16, 8), (24, 8)),   # pid, uid, status, utime, stime
    "poll": ((0, 8), (8, 4)),                     # band, fd
    "fault": ((0, 8),),                           # addr
}


def _layout(signo: int, code: int) -> str:
    """The kernel's siginfo_layout, for the layouts an i386 guest can tell apart."""
    if not SI_USER < code < SI_KERNEL:
        return "kill"
    if signo in _FAULTS:
        return "fault"
    if signo == signal.SIGCHLD:
        return "chld"
    if signo == signal.SIGPOLL:
        return "poll"
    return "kill"


def from_host(raw: bytes) -> SigInfo:
    """The guest's view of a siginfo the host kernel gave aotc (128 bytes, x86-64 layout)."""
    signo, errno, code = _HEAD.unpack_from(raw)
    words = tuple(int.from_bytes(raw[_UNION + off:_UNION + off + size], "little") & 0xFFFFFFFF
                  for off, size in _LAYOUTS[_layout(signo, code)])
    return SigInfo(signo, code, words, errno)
