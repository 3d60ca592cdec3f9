"""What a file system and a file's extended attributes tell: statfs and fstatfs (the i386 struct statfs
and struct statfs64), and the xattr family (get, set, list, remove; by path, by path without following
a symlink, by fd), each run as the host's own syscall on guest buffers.
"""

from __future__ import annotations

import ctypes
import errno
import struct
from typing import TYPE_CHECKING

from aotc.linux.blocking import host_call
from aotc.linux.errors import SyscallError

if TYPE_CHECKING:
    from aotc.linux.user import LinuxUser

HOST_STATFS = struct.Struct("<qqQQQQQiiqqq32x")   # x86-64 struct statfs, 120 bytes
STATFS = struct.Struct("<IIIIIIIiiIII16x")       # i386 struct statfs, 64 bytes
STATFS64 = struct.Struct("<IIQQQQQiiIII16x")     # i386 struct statfs64 (packed), 84 bytes
XATTR_SIZE_MAX = XATTR_LIST_MAX = 65536
XATTR_NAME_MAX = 255

# x86-64 host syscall numbers
SYS_STATFS, SYS_FSTATFS = 137, 138
SYS_SETXATTR, SYS_GETXATTR, SYS_LISTXATTR, SYS_REMOVEXATTR = 188, 191, 194, 197  # then l*, f*


# -- statfs ----------------------------------------------------------------------------------------

def _host_statfs(k: LinuxUser, path: int | None, fd: int | None) -> tuple[int, ...]:
    buf = ctypes.create_string_buffer(HOST_STATFS.size)
    if path is not None:
        name = ctypes.create_string_buffer(k.path(path))
        host_call(k, SYS_STATFS, ctypes.addressof(name), ctypes.addressof(buf))
    else:
        host_call(k, SYS_FSTATFS, k.fd(fd), ctypes.addressof(buf))
    return HOST_STATFS.unpack(buf.raw)


def _put_statfs64(k: LinuxUser, buf: int, st: tuple[int, ...]) -> int:
    ftype, bsize, blocks, bfree, bavail, files, ffree, fsid0, fsid1, namelen, frsize, flags = st
    k.put(buf, STATFS64.pack(ftype & 0xFFFFFFFF, bsize & 0xFFFFFFFF, blocks, bfree, bavail, files, ffree,
                             fsid0, fsid1, namelen & 0xFFFFFFFF, frsize & 0xFFFFFFFF, flags & 0xFFFFFFFF))
    return 0


def _put_statfs(k: LinuxUser, buf: int, st: tuple[int, ...]) -> int:
    """The 32-bit struct statfs: EOVERFLOW for counts beyond 32 bits, as the i386 kernel's
    do_statfs_native (but for file counts of -1: unknown)."""
    ftype, bsize, blocks, bfree, bavail, files, ffree, fsid0, fsid1, namelen, frsize, flags = st
    wide = 0xFFFFFFFF00000000
    if (blocks | bfree | bavail | bsize | frsize) & wide or any(
            n != 0xFFFFFFFFFFFFFFFF and n & wide for n in (files, ffree)):
        raise SyscallError(errno.EOVERFLOW)
    m = 0xFFFFFFFF
    k.put(buf, STATFS.pack(ftype & m, bsize, blocks, bfree, bavail, files & m, ffree & m, fsid0, fsid1,
                           namelen & m, frsize, flags & m))
    return 0


def sys_statfs(k: LinuxUser, path: int, buf: int) -> int:
    return _put_statfs(k, buf, _host_statfs(k, path, None))


def sys_fstatfs(k: LinuxUser, fd: int, buf: int) -> int:
    return _put_statfs(k, buf, _host_statfs(k, None, fd))


def sys_statfs64(k: LinuxUser, path: int, size: int, buf: int) -> int:
    if size != STATFS64.size:
        raise SyscallError(errno.EINVAL)
    return _put_statfs64(k, buf, _host_statfs(k, path, None))


def sys_fstatfs64(k: LinuxUser, fd: int, size: int, buf: int) -> int:
    if size != STATFS64.size:
        raise SyscallError(errno.EINVAL)
    return _put_statfs64(k, buf, _host_statfs(k, None, fd))


# -- extended attributes ---------------------------------------------------------------------------

class _Target:
    """The first argument of an xattr call, as the host call takes it: a path buffer or an fd."""

    def __init__(self, k: LinuxUser, how: int, arg: int) -> None:
        self.how = how  # 0 by path, 1 by path without following a symlink, 2 by fd
        self.name = None if how == 2 else ctypes.create_string_buffer(k.path(arg))
        self.value = k.fd(arg) if how == 2 else ctypes.addressof(self.name)


def _name(k: LinuxUser, name: int) -> ctypes.Array:
    try:
        raw = k.mem.read_cstring(name, XATTR_NAME_MAX + 1)
    except OverflowError:
        raise SyscallError(errno.ERANGE) from None
    if not raw:
        raise SyscallError(errno.ERANGE)
    return ctypes.create_string_buffer(raw)


def _buffer(k: LinuxUser, addr: int, size: int, write: bool) -> int:
    return k.mem.host_buffer(addr, size, write=write) if size else 0


def _getxattr(k: LinuxUser, how: int, arg: int, name: int, value: int, size: int) -> int:
    target, attr = _Target(k, how, arg), _name(k, name)
    size = min(size, XATTR_SIZE_MAX)
    return host_call(k, SYS_GETXATTR + how, target.value, ctypes.addressof(attr),
                     _buffer(k, value, size, True), size)


def _setxattr(k: LinuxUser, how: int, arg: int, name: int, value: int, size: int, flags: int) -> int:
    target, attr = _Target(k, how, arg), _name(k, name)
    if size > XATTR_SIZE_MAX:
        raise SyscallError(errno.E2BIG)
    return host_call(k, SYS_SETXATTR + how, target.value, ctypes.addressof(attr),
                     _buffer(k, value, size, False), size, flags)


def _listxattr(k: LinuxUser, how: int, arg: int, out: int, size: int) -> int:
    target = _Target(k, how, arg)
    size = min(size, XATTR_LIST_MAX)
    return host_call(k, SYS_LISTXATTR + how, target.value, _buffer(k, out, size, True), size)


def _removexattr(k: LinuxUser, how: int, arg: int, name: int) -> int:
    target, attr = _Target(k, how, arg), _name(k, name)
    return host_call(k, SYS_REMOVEXATTR + how, target.value, ctypes.addressof(attr))


def sys_getxattr(k: LinuxUser, path: int, name: int, value: int, size: int) -> int:
    return _getxattr(k, 0, path, name, value, size)


def sys_lgetxattr(k: LinuxUser, path: int, name: int, value: int, size: int) -> int:
    return _getxattr(k, 1, path, name, value, size)


def sys_fgetxattr(k: LinuxUser, fd: int, name: int, value: int, size: int) -> int:
    return _getxattr(k, 2, fd, name, value, size)


def sys_setxattr(k: LinuxUser, path: int, name: int, value: int, size: int, flags: int) -> int:
    return _setxattr(k, 0, path, name, value, size, flags)


def sys_lsetxattr(k: LinuxUser, path: int, name: int, value: int, size: int, flags: int) -> int:
    return _setxattr(k, 1, path, name, value, size, flags)


def sys_fsetxattr(k: LinuxUser, fd: int, name: int, value: int, size: int, flags: int) -> int:
    return _setxattr(k, 2, fd, name, value, size, flags)


def sys_listxattr(k: LinuxUser, path: int, out: int, size: int) -> int:
    return _listxattr(k, 0, path, out, size)


def sys_llistxattr(k: LinuxUser, path: int, out: int, size: int) -> int:
    return _listxattr(k, 1, path, out, size)


def sys_flistxattr(k: LinuxUser, fd: int, out: int, size: int) -> int:
    return _listxattr(k, 2, fd, out, size)


def sys_removexattr(k: LinuxUser, path: int, name: int) -> int:
    return _removexattr(k, 0, path, name)


def sys_lremovexattr(k: LinuxUser, path: int, name: int) -> int:
    return _removexattr(k, 1, path, name)


def sys_fremovexattr(k: LinuxUser, fd: int, name: int) -> int:
    return _removexattr(k, 2, fd, name)
