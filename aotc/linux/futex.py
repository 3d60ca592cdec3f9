"""futex and futex_time64: the host's futex on the host address of the guest word.

Guest address `a` is host address `base + a`, and the host pages carry the guest's protection, so the
host kernel answers exactly as the i386 kernel would: EINVAL for a misaligned word, EFAULT for one the
guest may not read (and for a private FUTEX_WAKE, which touches no memory, no error at all), EAGAIN
when the word does not hold `val`. Waits and wakes are therefore host waits and wakes on the same
word, which is what guest threads (issue 15) need: a wake from one guest thread finds a waiter of
another at native cost. What differs is the 4th argument of the waiting ops, a timespec pointer
(old_timespec32 for futex, __kernel_timespec for futex_time64) converted to the host's, and the
addresses, rebased. A relative FUTEX_WAIT timeout becomes an absolute CLOCK_MONOTONIC deadline
(FUTEX_WAIT_BITSET with every bit, as the kernel runs FUTEX_WAIT), so a wait restarted after a signal
the guest ignores keeps its deadline, as the kernel's futex_wait_restart does.
"""

from __future__ import annotations

import ctypes
import errno
import struct
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aotc.linux import structs
from aotc.linux.blocking import blocking, host_call
from aotc.linux.errors import SyscallError
from aotc.linux.interrupt import Restart

if TYPE_CHECKING:
    from aotc.linux.user import LinuxUser

SYS_FUTEX = 202                       # x86-64
FUTEX_PRIVATE_FLAG = 128
FUTEX_CLOCK_REALTIME = 256
FUTEX_CMD_MASK = ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME)
FUTEX_WAIT, FUTEX_WAIT_BITSET = 0, 9
FUTEX_BITSET_MATCH_ANY = 0xFFFFFFFF
NS = 1_000_000_000
KTIME_SEC_MAX = (1 << 63) // NS       # past this the kernel's ktime saturates anyway


@dataclass(frozen=True)
class FutexOp:
    """How one futex command uses its arguments.

    `timeout`: the 4th argument is a timespec pointer ("rel" relative, "abs" an absolute deadline,
    "" not a pointer but the number val2); `uaddr2`: it names a second word; `writes`: which words
    the kernel may store to ("1" uaddr, "2" uaddr2), so translated code there is dropped first;
    `restart`: how a signal ends it, as the kernel's -ERESTART code (None: it never blocks), without
    and with a timeout.
    """

    name: str
    timeout: str = ""
    uaddr2: bool = False
    writes: str = ""
    restart: tuple[Restart, Restart] | None = None


_WAIT = (Restart.SYS, Restart.BLOCK)          # futex_wait: ERESTARTSYS, or restart_block with a timeout
_PI = (Restart.NOINTR, Restart.NOINTR)        # futex_lock_pi, futex_wait_requeue_pi: ERESTARTNOINTR

FUTEX_OPS = {
    0: FutexOp("FUTEX_WAIT", timeout="rel", restart=_WAIT),
    1: FutexOp("FUTEX_WAKE"),
    3: FutexOp("FUTEX_REQUEUE", uaddr2=True),
    4: FutexOp("FUTEX_CMP_REQUEUE", uaddr2=True),
    5: FutexOp("FUTEX_WAKE_OP", uaddr2=True, writes="2"),
    6: FutexOp("FUTEX_LOCK_PI", timeout="abs", writes="1", restart=_PI),
    7: FutexOp("FUTEX_UNLOCK_PI", writes="1"),
    8: FutexOp("FUTEX_TRYLOCK_PI", writes="1"),
    9: FutexOp("FUTEX_WAIT_BITSET", timeout="abs", restart=_WAIT),
    10: FutexOp("FUTEX_WAKE_BITSET"),
    11: FutexOp("FUTEX_WAIT_REQUEUE_PI", timeout="abs", uaddr2=True, writes="2", restart=_PI),
    12: FutexOp("FUTEX_CMP_REQUEUE_PI", uaddr2=True, writes="2"),
    13: FutexOp("FUTEX_LOCK_PI2", timeout="abs", writes="1", restart=_PI),
}
"""Every futex command the kernel has (FUTEX_FD, 2, is gone: ENOSYS, as for unknown ones)."""


def _timespec(k: LinuxUser, addr: int, layout: struct.Struct) -> tuple[int, int]:
    """A guest timespec as the host's (seconds, nanoseconds), read as the kernel reads it: 32-bit
    fields sign-extended; of a 64-bit tv_nsec only the low half counts (compat's get_timespec64)."""
    sec, nsec = layout.unpack(k.get(addr, layout.size))
    if layout is structs.TIMESPEC64:
        nsec &= 0xFFFFFFFF
    else:
        nsec = structs.s32(nsec)
    return sec, nsec


def _deadline(sec: int, nsec: int) -> tuple[int, int]:
    """A relative FUTEX_WAIT timeout as the absolute CLOCK_MONOTONIC deadline the kernel makes of it
    (EINVAL for an invalid timespec, checked before the time is added)."""
    if sec < 0 or not 0 <= nsec < NS:
        raise SyscallError(errno.EINVAL)
    now_sec, now_nsec = divmod(time.clock_gettime_ns(time.CLOCK_MONOTONIC), NS)
    carry, nsec = divmod(now_nsec + nsec, NS)
    return min(now_sec + sec + carry, KTIME_SEC_MAX), nsec


def _futex(k: LinuxUser, uaddr: int, op: int, val: int, utime: int, uaddr2: int, val3: int,
           layout: struct.Struct) -> int:
    """futex(2) for either timespec layout; see the module docstring."""
    spec = FUTEX_OPS.get(op & FUTEX_CMD_MASK)
    if spec is None:
        raise SyscallError(errno.ENOSYS)
    ts = None                         # the host timespec: kept alive until the call returns
    if spec.timeout and utime:
        sec, nsec = _timespec(k, utime, layout)
        if spec.timeout == "rel" and not op & FUTEX_CLOCK_REALTIME:
            op, val3 = (op & ~FUTEX_CMD_MASK) | FUTEX_WAIT_BITSET, FUTEX_BITSET_MATCH_ANY
            sec, nsec = _deadline(sec, nsec)
        ts = (ctypes.c_int64 * 2)(sec, nsec)
    arg4 = ctypes.addressof(ts) if ts is not None else 0 if spec.timeout else utime
    host2 = k.mem.host_addr(uaddr2) if spec.uaddr2 else 0
    for which, addr in (("1", uaddr), ("2", uaddr2)):
        if which in spec.writes and k.mem.check(addr & ~3, 4, write=True):
            k.mem.notify_written(addr & ~3, 4)
    args = (k.mem.host_addr(uaddr), op, val, arg4, host2, val3)
    if spec.restart is None:
        return host_call(k, SYS_FUTEX, *args)
    return blocking(k, spec.restart[bool(utime)], SYS_FUTEX, *args)


def sys_futex(k: LinuxUser, uaddr: int, op: int, val: int, utime: int, uaddr2: int, val3: int) -> int:
    """futex (240): timeouts are struct old_timespec32."""
    return _futex(k, uaddr, op, val, utime, uaddr2, val3, structs.TIMESPEC32)


def sys_futex_time64(k: LinuxUser, uaddr: int, op: int, val: int, utime: int, uaddr2: int,
                     val3: int) -> int:
    """futex_time64 (422): timeouts are struct __kernel_timespec."""
    return _futex(k, uaddr, op, val, utime, uaddr2, val3, structs.TIMESPEC64)
