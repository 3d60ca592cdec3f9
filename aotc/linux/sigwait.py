"""Syscalls that wait for signals (pause, sigsuspend, rt_sigsuspend, rt_sigtimedwait), the interval
timers that send them (alarm, setitimer, getitimer) and sigqueue's rt_sigqueueinfo.

Timers are the host's: the kernel sends aotc the SIGALRM, SIGVTALRM or SIGPROF, and it reaches the
guest like any other signal (ITIMER_VIRTUAL and ITIMER_PROF count aotc's CPU time, translation
included). Waiting is the host's pause or ppoll through the interruptible syscall, so a signal that
arrives at any moment ends the wait.
"""

from __future__ import annotations

import ctypes
import errno
import struct
import time
from typing import TYPE_CHECKING

from aotc.linux import host, structs
from aotc.linux.blocking import host_call
from aotc.linux.errors import SyscallError
from aotc.linux.interrupt import Interrupted, Restart
from aotc.linux.signals import UNBLOCKABLE

if TYPE_CHECKING:
    from aotc.linux.user import LinuxUser

NS = 1_000_000_000
ITIMERVAL32 = struct.Struct("<4i")       # i386 struct itimerval: two timevals of 32-bit longs
SIGINFO_SIZE = 128
SIGQUEUE_HEAD = struct.Struct("<iiiIII")  # signo, errno, code, pid, uid, sigval: the fields sigqueue sets


def _wait(k: LinuxUser, timeout_ns: int | None = None) -> None:
    """Sleep on the host until a signal arrives or `timeout_ns` passes (forever if None)."""
    if timeout_ns is None:
        k.host.syscall(host.SYS_PAUSE)
        return
    ts = (ctypes.c_int64 * 2)(*divmod(max(timeout_ns, 0), NS))
    k.host.syscall(host.SYS_PPOLL, 0, 0, ctypes.addressof(ts), 0, 8)


def sys_pause(k: LinuxUser) -> int:
    """Wait for a signal that runs a handler (ignored ones do not end it); EINTR."""
    while not k.handler_ready():
        _wait(k)
    raise Interrupted(Restart.NOHAND)


def _suspend(k: LinuxUser, mask: int) -> int:
    """Wait with `mask` blocked for a signal whose handler then runs; the handler's frame saves the
    mask from before, which its sigreturn restores."""
    old = k.signals.blocked
    k.saved_mask = old
    k.signals.set_blocked(mask & ~UNBLOCKABLE)
    while not k.handler_ready():
        _wait(k)
    raise Interrupted(Restart.NOHAND)


def sys_rt_sigsuspend(k: LinuxUser, mask: int, sigsetsize: int) -> int:
    if sigsetsize != 8:
        raise SyscallError(errno.EINVAL)
    return _suspend(k, structs.U64.unpack(k.get(mask, 8))[0])


def sys_sigsuspend(k: LinuxUser, unused1: int, unused2: int, mask: int) -> int:
    """The old sigsuspend: a 32-bit mask for the first 32 signals, the others unblocked."""
    return _suspend(k, mask)


def _timedwait(k: LinuxUser, set_ptr: int, info: int, timeout: int, sigsetsize: int,
               layout: struct.Struct) -> int:
    """Take a pending signal of the set, waiting for one up to the timeout (EAGAIN after it); EINTR
    if a signal outside the set runs a handler meanwhile."""
    if sigsetsize != 8:
        raise SyscallError(errno.EINVAL)
    wanted = structs.U64.unpack(k.get(set_ptr, 8))[0] & ~UNBLOCKABLE
    deadline = None
    if timeout:
        sec, nsec = layout.unpack(k.get(timeout, layout.size))
        if not 0 <= nsec < NS or sec < 0:
            raise SyscallError(errno.EINVAL)
        deadline = time.monotonic_ns() + sec * NS + nsec
    while True:
        k.take_host_signals()
        got = k.signals.take(wanted)
        if got is not None:
            if info:
                k.put(info, got.pack())
            return got.signo
        if k.signals.handler_ready():
            raise SyscallError(errno.EINTR)
        left = None if deadline is None else deadline - time.monotonic_ns()
        if left is not None and left <= 0:
            raise SyscallError(errno.EAGAIN)
        _wait(k, left)


def sys_rt_sigtimedwait(k: LinuxUser, set_ptr: int, info: int, timeout: int, sigsetsize: int) -> int:
    return _timedwait(k, set_ptr, info, timeout, sigsetsize, structs.TIMESPEC32)


def sys_rt_sigtimedwait64(k: LinuxUser, set_ptr: int, info: int, timeout: int, sigsetsize: int) -> int:
    return _timedwait(k, set_ptr, info, timeout, sigsetsize, structs.TIMESPEC64)


def sys_alarm(k: LinuxUser, seconds: int) -> int:
    return host_call(k, host.SYS_ALARM, seconds)


def _itimerval(values: tuple[int, ...]) -> ctypes.Array:
    return (ctypes.c_int64 * 4)(*values)


def sys_setitimer(k: LinuxUser, which: int, new: int, old: int) -> int:
    value = _itimerval(ITIMERVAL32.unpack(k.get(new, ITIMERVAL32.size)) if new else (0, 0, 0, 0))
    previous = _itimerval((0, 0, 0, 0))
    if old and not k.mem.check(old, ITIMERVAL32.size, write=True):
        raise SyscallError(errno.EFAULT)
    host_call(k, host.SYS_SETITIMER, which, ctypes.addressof(value), ctypes.addressof(previous))
    if old:
        k.put(old, ITIMERVAL32.pack(*(max(min(v, 0x7FFFFFFF), -(1 << 31)) for v in previous)))
    return 0


def sys_getitimer(k: LinuxUser, which: int, cur: int) -> int:
    value = _itimerval((0, 0, 0, 0))
    host_call(k, host.SYS_GETITIMER, which, ctypes.addressof(value))
    k.put(cur, ITIMERVAL32.pack(*(max(min(v, 0x7FFFFFFF), -(1 << 31)) for v in value)))
    return 0


def _host_siginfo(k: LinuxUser, uinfo: int) -> ctypes.Array:
    """A guest siginfo for rt_sigqueueinfo as the host's (its pid, uid and sigval at x86-64 offsets)."""
    signo, err, code, pid, uid, value = SIGQUEUE_HEAD.unpack(k.get(uinfo, SIGQUEUE_HEAD.size))
    raw = struct.pack("<iii4xIIQ", signo, err, code, pid, uid, value).ljust(SIGINFO_SIZE, b"\0")
    return (ctypes.c_uint8 * SIGINFO_SIZE).from_buffer_copy(raw)


def sys_rt_sigqueueinfo(k: LinuxUser, pid: int, signo: int, uinfo: int) -> int:
    info = _host_siginfo(k, uinfo)
    return host_call(k, host.SYS_RT_SIGQUEUEINFO, structs.s32(pid), signo, ctypes.addressof(info))


def sys_rt_tgsigqueueinfo(k: LinuxUser, tgid: int, tid: int, signo: int, uinfo: int) -> int:
    info = _host_siginfo(k, uinfo)
    return host_call(k, host.SYS_RT_TGSIGQUEUEINFO, structs.s32(tgid), structs.s32(tid), signo,
                 ctypes.addressof(info))
