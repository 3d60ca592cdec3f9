"""Time syscalls: time, gettimeofday, clock_gettime/getres (32- and 64-bit time), the sleeps."""

from __future__ import annotations

import ctypes
import errno
import struct
import time
from typing import TYPE_CHECKING

from aotc.linux import host, structs
from aotc.linux.errors import SyscallError
from aotc.linux.interrupt import NOT_STARTED, Interrupted, Restart

if TYPE_CHECKING:
    from aotc.linux.user import LinuxUser

NS = 1_000_000_000
TIMER_ABSTIME = 1


def _clock_ns(clock: int) -> int:
    try:
        return time.clock_gettime_ns(clock)
    except OSError:
        raise SyscallError(errno.EINVAL) from None


def _wrap32(sec: int) -> int:
    """Seconds as an i386 signed 32-bit time_t (wraps in 2038, as it does on i386)."""
    return ((sec + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def _put_timespec(k: LinuxUser, addr: int, ns: int, layout: struct.Struct) -> None:
    sec, nsec = divmod(ns, NS)
    if layout is structs.TIMESPEC32:
        sec = _wrap32(sec)
    k.put(addr, layout.pack(sec, nsec))


def _get_timespec(k: LinuxUser, addr: int, layout: struct.Struct) -> int:
    sec, nsec = layout.unpack(k.get(addr, layout.size))
    if not 0 <= nsec < NS or sec < 0:
        raise SyscallError(errno.EINVAL)
    return sec * NS + nsec


def sys_time(k: LinuxUser, tloc: int) -> int:
    now = time.time_ns() // NS
    if tloc:
        k.put(tloc, structs.U32.pack(now & 0xFFFFFFFF))
    return now


def sys_gettimeofday(k: LinuxUser, tv: int, tz: int) -> int:
    if tv:
        sec, nsec = divmod(time.time_ns(), NS)
        k.put(tv, structs.TIMEVAL.pack(_wrap32(sec), nsec // 1000))
    if tz:
        k.put(tz, structs.TIMEZONE.pack(0, 0))
    return 0


def sys_clock_gettime(k: LinuxUser, clock: int, ts: int) -> int:
    _put_timespec(k, ts, _clock_ns(clock), structs.TIMESPEC32)
    return 0


def sys_clock_gettime64(k: LinuxUser, clock: int, ts: int) -> int:
    _put_timespec(k, ts, _clock_ns(clock), structs.TIMESPEC64)
    return 0


def _getres(k: LinuxUser, clock: int, ts: int, layout: struct.Struct) -> int:
    try:
        res = time.clock_getres(clock)
    except OSError:
        raise SyscallError(errno.EINVAL) from None
    if ts:
        _put_timespec(k, ts, round(res * NS), layout)
    return 0


def sys_clock_getres(k: LinuxUser, clock: int, ts: int) -> int:
    return _getres(k, clock, ts, structs.TIMESPEC32)


def sys_clock_getres64(k: LinuxUser, clock: int, ts: int) -> int:
    return _getres(k, clock, ts, structs.TIMESPEC64)


def _sleep(k: LinuxUser, clock: int | None, flags: int, req: int, rem: int, layout: struct.Struct) -> int:
    """nanosleep (clock None) or clock_nanosleep on the host: a signal the guest ignores does not cut
    the sleep short; one with a handler ends it with EINTR and, for a relative sleep, the time left."""
    ts = (ctypes.c_int64 * 2)(*divmod(_get_timespec(k, req, layout), NS))
    left = (ctypes.c_int64 * 2)()
    call = (host.SYS_NANOSLEEP,) if clock is None else (host.SYS_CLOCK_NANOSLEEP, structs.s32(clock), flags)
    while True:
        result = k.host.syscall(*call, ctypes.addressof(ts), ctypes.addressof(left))
        if result == 0:
            return 0
        if result == -NOT_STARTED:
            if k.handler_ready():
                raise Interrupted(Restart.NOINTR)     # the sleep never started: it runs after
            continue
        if result != -errno.EINTR:
            raise SyscallError(-result)
        relative = not flags & TIMER_ABSTIME
        if k.handler_ready():
            if rem and relative:
                _put_timespec(k, rem, left[0] * NS + left[1], layout)
            raise Interrupted(Restart.BLOCK)
        if relative:
            ts[0], ts[1] = left[0], left[1]


def sys_nanosleep(k: LinuxUser, req: int, rem: int) -> int:
    return _sleep(k, None, 0, req, rem, structs.TIMESPEC32)


def sys_clock_nanosleep(k: LinuxUser, clock: int, flags: int, req: int, rem: int) -> int:
    return _sleep(k, clock, flags, req, rem, structs.TIMESPEC32)


def sys_clock_nanosleep64(k: LinuxUser, clock: int, flags: int, req: int, rem: int) -> int:
    return _sleep(k, clock, flags, req, rem, structs.TIMESPEC64)
