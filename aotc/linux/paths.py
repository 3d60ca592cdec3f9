"""Path and metadata syscalls: the stat family (i386 stat64, statx), access, the working directory,
mkdir/rmdir/unlink/rename, readlink and getdents64.
"""

from __future__ import annotations

import errno
import os
import struct
from typing import TYPE_CHECKING

from aotc.linux import host, structs
from aotc.linux.errors import SyscallError
from aotc.linux.fileio import AT_FDCWD, dirfd, s32

if TYPE_CHECKING:
    from aotc.linux.user import LinuxUser

AT_SYMLINK_NOFOLLOW = 0x100
AT_REMOVEDIR = 0x200
AT_EACCESS = 0x200
AT_EMPTY_PATH = 0x1000
DIRENT_OFF = struct.Struct("<q")
DIRENT_RECLEN = struct.Struct("<H")
STAT_FLAGS = AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | 0x800   # 0x800: AT_NO_AUTOMOUNT


class DirCookies:
    """Directory offsets as 31-bit cookies, for one directory fd.

    A 64-bit host process gets 64-bit ext4 hash offsets where an i386 process gets 32-bit ones, and
    i386 glibc's readdir fails with EOVERFLOW on an offset that does not fit: the guest sees cookies,
    and lseek on the fd turns a cookie back into the host offset.
    """

    def __init__(self) -> None:
        self.to_host: dict[int, int] = {}
        self.to_guest: dict[int, int] = {}

    def cookie(self, host_off: int) -> int:
        if host_off not in self.to_guest:
            cookie = len(self.to_host) + 1
            self.to_guest[host_off] = cookie
            self.to_host[cookie] = host_off
        return self.to_guest[host_off]

    def host_offset(self, cookie: int) -> int:
        return self.to_host.get(cookie, cookie)


def _put_stat(k: LinuxUser, buf: int, st: os.stat_result) -> int:
    k.put(buf, structs.pack_stat64(st))
    return 0


def _check_buf(k: LinuxUser, buf: int, size: int) -> None:
    if not k.mem.check(buf, size, write=True):
        raise SyscallError(errno.EFAULT)


def sys_stat64(k: LinuxUser, path: int, buf: int) -> int:
    return _put_stat(k, buf, os.stat(k.path(path)))


def sys_lstat64(k: LinuxUser, path: int, buf: int) -> int:
    return _put_stat(k, buf, os.stat(k.path(path), follow_symlinks=False))


def sys_fstat64(k: LinuxUser, fd: int, buf: int) -> int:
    return _put_stat(k, buf, os.stat(k.fd(fd)))


def sys_fstatat64(k: LinuxUser, fd: int, path: int, buf: int, flags: int) -> int:
    if flags & ~STAT_FLAGS:
        raise SyscallError(errno.EINVAL)
    if flags & AT_EMPTY_PATH and k.mem.read_cstring(path, 4096) == b"":
        st = os.stat(k.fd(fd)) if s32(fd) != AT_FDCWD else os.stat(".")
    else:
        st = os.stat(k.path(path), dir_fd=dirfd(k, fd), follow_symlinks=not flags & AT_SYMLINK_NOFOLLOW)
    return _put_stat(k, buf, st)


def sys_statx(k: LinuxUser, fd: int, path: int, flags: int, mask: int, buf: int) -> int:
    _check_buf(k, buf, host.STATX_SIZE)
    name = k.mem.read_cstring(path, 4096)
    if name or not flags & AT_EMPTY_PATH:
        name = k.path(path)
    host_dirfd = AT_FDCWD if s32(fd) == AT_FDCWD else k.fd(fd)
    k.put(buf, host.statx(host_dirfd, name, flags, mask))
    return 0


def _access(k: LinuxUser, fd: int, path: int, mode: int, flags: int) -> int:
    if mode & ~7 or flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        raise SyscallError(errno.EINVAL)
    host_dirfd = AT_FDCWD if s32(fd) == AT_FDCWD else k.fd(fd)
    host.faccessat(host_dirfd, k.path(path), mode, flags)
    return 0


def sys_access(k: LinuxUser, path: int, mode: int) -> int:
    return _access(k, AT_FDCWD & 0xFFFFFFFF, path, mode, 0)


def sys_faccessat(k: LinuxUser, fd: int, path: int, mode: int) -> int:
    return _access(k, fd, path, mode, 0)


def sys_faccessat2(k: LinuxUser, fd: int, path: int, mode: int, flags: int) -> int:
    return _access(k, fd, path, mode, flags)


def sys_getcwd(k: LinuxUser, buf: int, size: int) -> int:
    cwd = os.getcwdb() + b"\0"
    if len(cwd) > size:
        raise SyscallError(errno.ERANGE)
    k.put(buf, cwd)
    return len(cwd)


def sys_chdir(k: LinuxUser, path: int) -> int:
    os.chdir(k.path(path))
    return 0


def sys_fchdir(k: LinuxUser, fd: int) -> int:
    os.fchdir(k.fd(fd))
    return 0


def sys_mkdir(k: LinuxUser, path: int, mode: int) -> int:
    os.mkdir(k.path(path), mode & 0o7777)
    return 0


def sys_mkdirat(k: LinuxUser, fd: int, path: int, mode: int) -> int:
    os.mkdir(k.path(path), mode & 0o7777, dir_fd=dirfd(k, fd))
    return 0


def sys_rmdir(k: LinuxUser, path: int) -> int:
    os.rmdir(k.path(path))
    return 0


def sys_unlink(k: LinuxUser, path: int) -> int:
    os.unlink(k.path(path))
    return 0


def sys_unlinkat(k: LinuxUser, fd: int, path: int, flags: int) -> int:
    if flags & ~AT_REMOVEDIR:
        raise SyscallError(errno.EINVAL)
    remove = os.rmdir if flags & AT_REMOVEDIR else os.unlink
    remove(k.path(path), dir_fd=dirfd(k, fd))
    return 0


def sys_rename(k: LinuxUser, old: int, new: int) -> int:
    os.rename(k.path(old), k.path(new))
    return 0


def sys_renameat(k: LinuxUser, oldfd: int, old: int, newfd: int, new: int) -> int:
    os.rename(k.path(old), k.path(new), src_dir_fd=dirfd(k, oldfd), dst_dir_fd=dirfd(k, newfd))
    return 0


def _readlink(k: LinuxUser, fd: int | None, path: int, buf: int, size: int) -> int:
    if s32(size) <= 0:
        raise SyscallError(errno.EINVAL)
    name = k.mem.read_cstring(path, 4096)
    if name in (b"/proc/self/exe", f"/proc/{k.pid}/exe".encode()):
        target = os.fsencode(k.program.exe_path)
    else:
        target = os.readlink(k.path(path), dir_fd=fd)
    target = target[:size]
    k.put(buf, target)
    return len(target)


def sys_readlink(k: LinuxUser, path: int, buf: int, size: int) -> int:
    return _readlink(k, None, path, buf, size)


def sys_readlinkat(k: LinuxUser, fd: int, path: int, buf: int, size: int) -> int:
    return _readlink(k, dirfd(k, fd), path, buf, size)


def sys_getdents64(k: LinuxUser, fd: int, dirp: int, count: int) -> int:
    """Directory entries, with each d_off replaced by a 31-bit cookie (see DirCookies)."""
    fd = k.fd(fd)
    _check_buf(k, dirp, count)
    n = host.getdents64(fd, k.mem.host_addr(dirp), count)
    raw = bytearray(k.mem.read(dirp, n))
    cookies = k.dir_cookies.setdefault(fd, DirCookies())
    pos = 0
    while pos < n:
        off = DIRENT_OFF.unpack_from(raw, pos + 8)[0]
        DIRENT_OFF.pack_into(raw, pos + 8, cookies.cookie(off))
        pos += DIRENT_RECLEN.unpack_from(raw, pos + 16)[0] or n
    k.put(dirp, bytes(raw))
    return n
