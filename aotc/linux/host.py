"""Host libc calls Python's os module lacks or answers without an errno (statx, faccessat, getdents64)."""

from __future__ import annotations

import ctypes
import os

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.faccessat.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_int]
_libc.faccessat.restype = ctypes.c_int

# x86-64 host syscall numbers
SYS_READ, SYS_WRITE, SYS_PREAD64, SYS_PWRITE64, SYS_READV, SYS_WRITEV = 0, 1, 17, 18, 19, 20
SYS_PAUSE, SYS_NANOSLEEP, SYS_GETITIMER, SYS_ALARM, SYS_SETITIMER = 34, 35, 36, 37, 38
SYS_KILL, SYS_TKILL, SYS_TGKILL, SYS_CLOCK_NANOSLEEP, SYS_PPOLL = 62, 200, 234, 230, 271
SYS_RT_SIGQUEUEINFO, SYS_RT_TGSIGQUEUEINFO = 129, 297
SYS_CLOSE_RANGE, SYS_WAIT4 = 436, 61
SYS_GETDENTS64 = 217
SYS_SENDFILE, SYS_COPY_FILE_RANGE, SYS_FCNTL = 40, 326, 72
SYS_STATX = 332
SYS_FACCESSAT2 = 439
STATX_SIZE = 256


def _check(result: int) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return result


def statx(dirfd: int, path: bytes, flags: int, mask: int) -> bytes:
    """The host's struct statx (the same layout on every architecture)."""
    buf = ctypes.create_string_buffer(STATX_SIZE)
    _check(_libc.syscall(ctypes.c_long(SYS_STATX), ctypes.c_int(dirfd), ctypes.c_char_p(path),
                         ctypes.c_int(flags), ctypes.c_uint(mask), buf))
    return buf.raw


def faccessat(dirfd: int, path: bytes, mode: int, flags: int) -> None:
    """faccessat2 when flags are given (the kernel's own faccessat has none), else faccessat."""
    if flags:
        _check(_libc.syscall(ctypes.c_long(SYS_FACCESSAT2), ctypes.c_int(dirfd), ctypes.c_char_p(path),
                             ctypes.c_int(mode), ctypes.c_int(flags)))
    else:
        _check(_libc.faccessat(dirfd, path, mode, 0))


def getdents64(fd: int, host_buf: int, count: int) -> int:
    """Directory entries straight into `host_buf` (struct linux_dirent64 is arch-independent)."""
    return _check(_libc.syscall(ctypes.c_long(SYS_GETDENTS64), ctypes.c_int(fd), ctypes.c_void_p(host_buf),
                                ctypes.c_uint(count)))
