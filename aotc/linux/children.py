"""Waiting for child processes: wait4 and waitpid, as the host's wait4 (interrupted by signals as the
kernel's is: restarted under SA_RESTART, else EINTR)."""

from __future__ import annotations

import ctypes
import struct
from typing import TYPE_CHECKING

from aotc.linux import host, structs
from aotc.linux.blocking import blocking
from aotc.linux.interrupt import Restart
from aotc.linux.structs import s32

if TYPE_CHECKING:
    from aotc.linux.user import LinuxUser

HOST_RUSAGE = struct.Struct("<4q14q")     # x86-64 struct rusage: two timevals, fourteen longs


def sys_wait4(k: LinuxUser, pid: int, status: int, options: int, rusage: int) -> int:
    """wait4; the exit status is an int on both, the rusage is converted to i386 longs."""
    host_status = ctypes.c_int(0)
    host_rusage = (ctypes.c_uint8 * HOST_RUSAGE.size)()
    child = blocking(k, Restart.SYS, host.SYS_WAIT4, s32(pid), ctypes.addressof(host_status), options,
                     ctypes.addressof(host_rusage) if rusage else 0)
    if child and status:
        k.put(status, structs.U32.pack(host_status.value & 0xFFFFFFFF))
    if child and rusage:
        values = HOST_RUSAGE.unpack(bytes(host_rusage))
        k.put(rusage, structs.RUSAGE.pack(*(max(min(v, 0x7FFFFFFF), -(1 << 31)) for v in values)))
    return child


def sys_waitpid(k: LinuxUser, pid: int, status: int, options: int) -> int:
    return sys_wait4(k, pid, status, options, 0)
