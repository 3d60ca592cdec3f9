"""File metadata syscalls: modes (chmod), owners (chown, the 16-bit and the 32-bit ids), timestamps
(utime, utimes, utimensat with 32-bit and 64-bit times), hard and symbolic links, renameat2, and the
supplementary groups a process may give a file (getgroups).

Each runs as the host's own syscall where the kernel's rules have corners Python's os module smooths
over (utimensat's NULL path and UTIME_OMIT, link's not following symlinks, renameat2's flags).
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct
from typing import TYPE_CHECKING

from aotc.linux import structs
from aotc.linux.blocking import host_call
from aotc.linux.errors import SyscallError
from aotc.linux.fileio import AT_FDCWD, dirfd
from aotc.linux.structs import s32

if TYPE_CHECKING:
    from aotc.linux.user import LinuxUser

AT_SYMLINK_NOFOLLOW = 0x100
AT_SYMLINK_FOLLOW = 0x400
AT_EMPTY_PATH = 0x1000
UTIMBUF = struct.Struct("<ii")                 # struct utimbuf: actime, modtime (i386 time_t)
HOST_TIMESPECS = struct.Struct("<qqqq")        # two x86-64 struct timespec
OVERFLOW_ID16 = 65534                          # /proc/sys/kernel/overflowuid and overflowgid

# x86-64 host syscall numbers
SYS_LINKAT, SYS_SYMLINKAT, SYS_UTIMENSAT, SYS_RENAMEAT2 = 265, 266, 280, 316


def _host_fd(k: LinuxUser, fd: int) -> int:
    """A *at() directory fd for a host syscall: AT_FDCWD stays itself."""
    return AT_FDCWD if s32(fd) == AT_FDCWD else k.fd(fd)


def _at_path(k: LinuxUser, path: int, flags: int) -> bytes:
    """A *at() path argument; the empty path only with AT_EMPTY_PATH (else ENOENT)."""
    if flags & AT_EMPTY_PATH and k.mem.read_cstring(path, 4096) == b"":
        return b""
    return k.path(path)


# -- modes -----------------------------------------------------------------------------------------

def sys_chmod(k: LinuxUser, path: int, mode: int) -> int:
    os.chmod(k.path(path), mode & 0o7777)
    return 0


def sys_fchmod(k: LinuxUser, fd: int, mode: int) -> int:
    os.chmod(k.fd(fd), mode & 0o7777)
    return 0


def sys_fchmodat(k: LinuxUser, fd: int, path: int, mode: int) -> int:
    os.chmod(k.path(path), mode & 0o7777, dir_fd=dirfd(k, fd))
    return 0


# -- owners ----------------------------------------------------------------------------------------

def _id32(v: int) -> int:
    return -1 if v == 0xFFFFFFFF else v


def _id16(v: int) -> int:
    v &= 0xFFFF
    return -1 if v == 0xFFFF else v


def sys_chown32(k: LinuxUser, path: int, uid: int, gid: int) -> int:
    os.chown(k.path(path), _id32(uid), _id32(gid))
    return 0


def sys_lchown32(k: LinuxUser, path: int, uid: int, gid: int) -> int:
    os.chown(k.path(path), _id32(uid), _id32(gid), follow_symlinks=False)
    return 0


def sys_fchown32(k: LinuxUser, fd: int, uid: int, gid: int) -> int:
    os.chown(k.fd(fd), _id32(uid), _id32(gid))
    return 0


def sys_chown16(k: LinuxUser, path: int, uid: int, gid: int) -> int:
    os.chown(k.path(path), _id16(uid), _id16(gid))
    return 0


def sys_lchown16(k: LinuxUser, path: int, uid: int, gid: int) -> int:
    os.chown(k.path(path), _id16(uid), _id16(gid), follow_symlinks=False)
    return 0


def sys_fchown16(k: LinuxUser, fd: int, uid: int, gid: int) -> int:
    os.chown(k.fd(fd), _id16(uid), _id16(gid))
    return 0


def sys_fchownat(k: LinuxUser, fd: int, path: int, uid: int, gid: int, flags: int) -> int:
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        raise SyscallError(errno.EINVAL)
    name = _at_path(k, path, flags)
    if name == b"":
        os.chown(k.fd(fd) if s32(fd) != AT_FDCWD else ".", _id32(uid), _id32(gid))
    else:
        os.chown(name, _id32(uid), _id32(gid), dir_fd=dirfd(k, fd),
                 follow_symlinks=not flags & AT_SYMLINK_NOFOLLOW)
    return 0


def _getgroups(k: LinuxUser, size: int, out: int, item: str, limit: int) -> int:
    groups = os.getgroups()
    if s32(size) < 0:
        raise SyscallError(errno.EINVAL)
    if size == 0:
        return len(groups)
    if size < len(groups):
        raise SyscallError(errno.EINVAL)
    k.put(out, struct.pack(f"<{len(groups)}{item}", *(g if g <= limit else OVERFLOW_ID16 for g in groups)))
    return len(groups)


def sys_getgroups32(k: LinuxUser, size: int, out: int) -> int:
    return _getgroups(k, size, out, "I", 0xFFFFFFFF)


def sys_getgroups16(k: LinuxUser, size: int, out: int) -> int:
    return _getgroups(k, size, out, "H", 0xFFFF)


# -- timestamps ------------------------------------------------------------------------------------

def _utimensat(k: LinuxUser, fd: int, path: bytes | None, times: tuple[int, int, int, int] | None,
               flags: int) -> int:
    """The host's utimensat: `path` None is the kernel's NULL path (the fd itself), `times` None now."""
    name = None if path is None else ctypes.create_string_buffer(path)
    ts = None if times is None else ctypes.create_string_buffer(HOST_TIMESPECS.pack(*times))
    host_call(k, SYS_UTIMENSAT, fd, 0 if name is None else ctypes.addressof(name),
              0 if ts is None else ctypes.addressof(ts), flags)
    return 0


def _utimensat_guest(k: LinuxUser, fd: int, path: int, times: int, flags: int, layout: struct.Struct) -> int:
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        raise SyscallError(errno.EINVAL)
    values = None
    if times:
        raw = k.get(times, 2 * layout.size)
        values = (*layout.unpack_from(raw, 0), *layout.unpack_from(raw, layout.size))
    if path == 0:  # the kernel's futimens: the fd itself (EFAULT for AT_FDCWD, EINVAL with flags)
        return _utimensat(k, _host_fd(k, fd), None, values, flags)
    return _utimensat(k, _host_fd(k, fd), _at_path(k, path, flags), values, flags)


def sys_utimensat(k: LinuxUser, fd: int, path: int, times: int, flags: int) -> int:
    return _utimensat_guest(k, fd, path, times, flags, structs.TIMESPEC32)


def sys_utimensat_time64(k: LinuxUser, fd: int, path: int, times: int, flags: int) -> int:
    return _utimensat_guest(k, fd, path, times, flags, structs.TIMESPEC64)


def _timevals(k: LinuxUser, times: int) -> tuple[int, int, int, int] | None:
    if not times:
        return None
    raw = k.get(times, 2 * structs.TIMEVAL.size)
    a_sec, a_usec = structs.TIMEVAL.unpack_from(raw, 0)
    m_sec, m_usec = structs.TIMEVAL.unpack_from(raw, structs.TIMEVAL.size)
    if not (0 <= a_usec < 1_000_000 and 0 <= m_usec < 1_000_000):
        raise SyscallError(errno.EINVAL)
    return a_sec, a_usec * 1000, m_sec, m_usec * 1000


def sys_utimes(k: LinuxUser, path: int, times: int) -> int:
    return _utimensat(k, AT_FDCWD, k.path(path), _timevals(k, times), 0)


def sys_futimesat(k: LinuxUser, fd: int, path: int, times: int) -> int:
    return _utimensat(k, _host_fd(k, fd), k.path(path), _timevals(k, times), 0)


def sys_utime(k: LinuxUser, path: int, times: int) -> int:
    values = None
    if times:
        atime, mtime = UTIMBUF.unpack(k.get(times, UTIMBUF.size))
        values = (atime, 0, mtime, 0)
    return _utimensat(k, AT_FDCWD, k.path(path), values, 0)


# -- links and renames -----------------------------------------------------------------------------

def _linkat(k: LinuxUser, oldfd: int, old: int, newfd: int, new: int, flags: int) -> int:
    if flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH):
        raise SyscallError(errno.EINVAL)
    source = ctypes.create_string_buffer(_at_path(k, old, flags))
    target = ctypes.create_string_buffer(k.path(new))
    host_call(k, SYS_LINKAT, _host_fd(k, oldfd), ctypes.addressof(source), _host_fd(k, newfd),
              ctypes.addressof(target), flags)
    return 0


def sys_link(k: LinuxUser, old: int, new: int) -> int:
    return _linkat(k, AT_FDCWD, old, AT_FDCWD, new, 0)  # link(2) never follows a symlink


def sys_linkat(k: LinuxUser, oldfd: int, old: int, newfd: int, new: int, flags: int) -> int:
    return _linkat(k, oldfd, old, newfd, new, flags)


def _symlinkat(k: LinuxUser, target: int, newfd: int, new: int) -> int:
    """A symlink holding the guest's target string as given: a link's content is never a path looked
    up now, so it is not redirected into the sysroot."""
    try:
        content = k.mem.read_cstring(target, 4096)
    except OverflowError:
        raise SyscallError(errno.ENAMETOOLONG) from None
    if not content:
        raise SyscallError(errno.ENOENT)
    os.symlink(content, k.path(new), dir_fd=dirfd(k, newfd))
    return 0


def sys_symlink(k: LinuxUser, target: int, new: int) -> int:
    return _symlinkat(k, target, AT_FDCWD, new)


def sys_symlinkat(k: LinuxUser, target: int, newfd: int, new: int) -> int:
    return _symlinkat(k, target, newfd, new)


def sys_renameat2(k: LinuxUser, oldfd: int, old: int, newfd: int, new: int, flags: int) -> int:
    source = ctypes.create_string_buffer(k.path(old))
    target = ctypes.create_string_buffer(k.path(new))
    host_call(k, SYS_RENAMEAT2, _host_fd(k, oldfd), ctypes.addressof(source), _host_fd(k, newfd),
              ctypes.addressof(target), flags)
    return 0
