"""Path and metadata syscalls: the stat family (i386 stat64, statx), access, the working directory,
mkdir/rmdir/unlink/rename, readlink and getdents64.
"""

from __future__ import annotations

import errno
import os
import re
import struct
from typing import TYPE_CHECKING

from aotc.linux import host, structs
from aotc.linux.dircookies import DirCookies
from aotc.linux.errors import SyscallError
from aotc.linux.fileio import AT_FDCWD, dirfd
from aotc.linux.structs import s32

if TYPE_CHECKING:
    from aotc.linux.user import LinuxUser

AT_SYMLINK_NOFOLLOW = 0x100
AT_REMOVEDIR = 0x200
AT_EACCESS = 0x200
AT_EMPTY_PATH = 0x1000
DIRENT_OFF = struct.Struct("<q")
DIRENT_RECLEN = struct.Struct("<H")
DIRENT_NAME = 19
FD_DIR = re.compile(rb"^/proc/(?P<pid>\d+)(?:/task/\d+)?/fd(?:info)?$")
STAT_FLAGS = AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | 0x800   # 0x800: AT_NO_AUTOMOUNT


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


def _lists_own_fds(k: LinuxUser, fd: int) -> bool:
    """Whether directory fd is this process's /proc fd or fdinfo directory (where aotc's own
    descriptors would show)."""
    try:
        target = os.readlink(f"/proc/self/fd/{fd}".encode())
    except OSError:
        return False
    m = FD_DIR.match(target)
    return m is not None and int(m["pid"]) == k.pid


def sys_getdents64(k: LinuxUser, fd: int, dirp: int, count: int) -> int:
    """Directory entries, with each d_off replaced by a 31-bit cookie (see DirCookies), and none for
    aotc's own descriptors in /proc/self/fd and /proc/self/fdinfo."""
    fd = k.fd(fd)
    _check_buf(k, dirp, count)
    cookies = k.dir_cookies.get(fd)
    if cookies is None:
        cookies = k.dir_cookies[fd] = DirCookies(_lists_own_fds(k, fd))
    while True:
        n = host.getdents64(fd, k.mem.host_addr(dirp), count)
        raw = k.mem.read(dirp, n)
        out = bytearray()
        pos = 0
        while pos < n:
            reclen = DIRENT_RECLEN.unpack_from(raw, pos + 16)[0] or n - pos
            entry = bytearray(raw[pos:pos + reclen])
            name = bytes(entry[DIRENT_NAME:]).split(b"\0", 1)[0]
            if not (cookies.hides_fds and name.isdigit() and int(name) >= k.fd_limit):
                DIRENT_OFF.pack_into(entry, 8, cookies.cookie(DIRENT_OFF.unpack_from(entry, 8)[0]))
                out += entry
            pos += reclen
        if out or n == 0:
            break
    k.put(dirp, bytes(out))
    return len(out)
