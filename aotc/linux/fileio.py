"""File-descriptor syscalls: read/write and their vector and positional forms, open/close, seek,
dup, pipe, fcntl, ioctl, sync and truncate. Guest fds are host fds; i386 open flags equal the host's.
"""

from __future__ import annotations

import errno
import fcntl
import os
import termios
from typing import TYPE_CHECKING

from aotc.linux import structs
from aotc.linux.errors import SyscallError

if TYPE_CHECKING:
    from aotc.linux.user import LinuxUser

AT_FDCWD = -100
O_CLOEXEC = 0o2000000
O_CREAT_TRUNC_WRONLY = os.O_CREAT | os.O_TRUNC | os.O_WRONLY
IOV_MAX = 1024
MAX_RW = 0x7FFFF000            # Linux's MAX_RW_COUNT
F_DUPFD_CLOEXEC = 1030
FCNTL_PASSTHROUGH = (fcntl.F_GETFD, fcntl.F_SETFD, fcntl.F_GETFL, fcntl.F_SETFL)

# ioctls passed to the host with the size of their argument (i386 and x86-64 layouts are the same).
IOCTL_OUT = {termios.TCGETS: 36, termios.TIOCGWINSZ: 8, termios.TIOCGPGRP: 4, termios.FIONREAD: 4}
IOCTL_IN = {termios.TCSETS: 36, termios.TCSETSW: 36, termios.TCSETSF: 36, termios.TIOCSWINSZ: 8}


def s32(v: int) -> int:
    return v - (1 << 32) if v & 0x80000000 else v


def dirfd(k: LinuxUser, fd: int) -> int | None:
    """A *at() directory fd argument: None for AT_FDCWD."""
    return None if s32(fd) == AT_FDCWD else k.fd(fd)


# -- read and write ------------------------------------------------------------------------------

def sys_read(k: LinuxUser, fd: int, buf: int, count: int) -> int:
    fd = k.fd(fd)
    count = min(count, MAX_RW)
    if count == 0:
        return len(os.read(fd, 0))
    n = os.readv(fd, [k.mem.view(buf, count, write=True)])
    return n


def sys_write(k: LinuxUser, fd: int, buf: int, count: int) -> int:
    fd = k.fd(fd)
    return os.write(fd, k.mem.view(buf, min(count, MAX_RW), write=False))


def sys_pread64(k: LinuxUser, fd: int, buf: int, count: int, lo: int, hi: int) -> int:
    fd = k.fd(fd)
    count = min(count, MAX_RW)
    n = os.preadv(fd, [k.mem.view(buf, count, write=True)], _offset64(lo, hi)) if count else 0
    return n


def sys_pwrite64(k: LinuxUser, fd: int, buf: int, count: int, lo: int, hi: int) -> int:
    fd = k.fd(fd)
    return os.pwrite(fd, k.mem.view(buf, min(count, MAX_RW), write=False), _offset64(lo, hi))


def _offset64(lo: int, hi: int) -> int:
    off = (hi << 32) | lo
    if off >= 1 << 63:
        raise SyscallError(errno.EINVAL)
    return off


def _iovecs(k: LinuxUser, iov: int, iovcnt: int) -> list[tuple[int, int]]:
    if iovcnt > IOV_MAX:
        raise SyscallError(errno.EINVAL)
    raw = k.get(iov, iovcnt * structs.IOVEC.size)
    vecs = [structs.IOVEC.unpack_from(raw, i * structs.IOVEC.size) for i in range(iovcnt)]
    if sum(length for _, length in vecs) > 0x7FFFFFFF:
        raise SyscallError(errno.EINVAL)
    return vecs


def sys_readv(k: LinuxUser, fd: int, iov: int, iovcnt: int) -> int:
    fd = k.fd(fd)
    vecs = [(base, length) for base, length in _iovecs(k, iov, iovcnt) if length]
    if not vecs:
        return 0
    return os.readv(fd, [k.mem.view(base, length, write=True) for base, length in vecs])


def sys_writev(k: LinuxUser, fd: int, iov: int, iovcnt: int) -> int:
    fd = k.fd(fd)
    vecs = [(base, length) for base, length in _iovecs(k, iov, iovcnt) if length]
    if not vecs:
        return 0
    return os.writev(fd, [k.mem.view(base, length, write=False) for base, length in vecs])


# -- open, close, seek ---------------------------------------------------------------------------

def _open(k: LinuxUser, dir_fd: int | None, path: int, flags: int, mode: int) -> int:
    fd = os.open(k.path(path), flags & 0xFFFFFFFF, mode & 0o7777, dir_fd=dir_fd)
    if not flags & O_CLOEXEC:
        os.set_inheritable(fd, True)      # os.open adds O_CLOEXEC; the guest did not ask for it
    return fd


def sys_open(k: LinuxUser, path: int, flags: int, mode: int) -> int:
    return _open(k, None, path, flags, mode)


def sys_openat(k: LinuxUser, fd: int, path: int, flags: int, mode: int) -> int:
    return _open(k, dirfd(k, fd), path, flags, mode)


def sys_creat(k: LinuxUser, path: int, mode: int) -> int:
    return _open(k, None, path, O_CREAT_TRUNC_WRONLY, mode)


def sys_close(k: LinuxUser, fd: int) -> int:
    os.close(k.fd(fd))
    k.dir_cookies.pop(fd, None)
    return 0


def sys_lseek(k: LinuxUser, fd: int, offset: int, whence: int) -> int:
    fd = k.fd(fd)
    if whence > os.SEEK_END:
        raise SyscallError(errno.EINVAL)
    if fd in k.dir_cookies:
        return k.dir_cookies[fd].cookie(os.lseek(fd, _dir_offset(k, fd, s32(offset), whence), whence))
    old = os.lseek(fd, 0, os.SEEK_CUR)
    pos = os.lseek(fd, s32(offset), whence)
    if pos > 0x7FFFFFFF:
        os.lseek(fd, old, os.SEEK_SET)
        raise SyscallError(errno.EOVERFLOW)
    return pos


def _dir_offset(k: LinuxUser, fd: int, offset: int, whence: int) -> int:
    """A guest directory offset (a getdents64 cookie) as the host's."""
    return k.dir_cookies[fd].host_offset(offset) if whence == os.SEEK_SET and offset > 0 else offset


def sys_llseek(k: LinuxUser, fd: int, hi: int, lo: int, result: int, whence: int) -> int:
    fd = k.fd(fd)
    if whence > 4:                       # SEEK_SET..SEEK_HOLE
        raise SyscallError(errno.EINVAL)
    off = (hi << 32) | lo
    off -= (off >> 63) << 64
    if not k.mem.check(result, 8, write=True):
        raise SyscallError(errno.EFAULT)
    if fd in k.dir_cookies:
        pos = k.dir_cookies[fd].cookie(os.lseek(fd, _dir_offset(k, fd, off, whence), whence))
    else:
        pos = os.lseek(fd, off, whence)
    k.put(result, structs.U64.pack(pos))
    return 0


# -- dup, pipe, fcntl ----------------------------------------------------------------------------

def sys_dup(k: LinuxUser, fd: int) -> int:
    return fcntl.fcntl(k.fd(fd), fcntl.F_DUPFD, 0)


def sys_dup2(k: LinuxUser, old: int, new: int) -> int:
    old, new = k.fd(old), k.fd(new)
    if old == new:
        os.fstat(old)
        return new
    k.dir_cookies.pop(new, None)
    return os.dup2(old, new, inheritable=True)


def sys_dup3(k: LinuxUser, old: int, new: int, flags: int) -> int:
    old, new = k.fd(old), k.fd(new)
    if old == new or flags & ~O_CLOEXEC:
        raise SyscallError(errno.EINVAL)
    k.dir_cookies.pop(new, None)
    return os.dup2(old, new, inheritable=not flags & O_CLOEXEC)


def _pipe(k: LinuxUser, fds: int, flags: int) -> int:
    if not k.mem.check(fds, 8, write=True):
        raise SyscallError(errno.EFAULT)
    r, w = os.pipe2(flags)
    k.put(fds, structs.U32.pack(r) + structs.U32.pack(w))
    return 0


def sys_pipe(k: LinuxUser, fds: int) -> int:
    return _pipe(k, fds, 0)


def sys_pipe2(k: LinuxUser, fds: int, flags: int) -> int:
    if flags & ~(O_CLOEXEC | os.O_NONBLOCK | os.O_DIRECT):
        raise SyscallError(errno.EINVAL)
    return _pipe(k, fds, flags)


def sys_fcntl64(k: LinuxUser, fd: int, cmd: int, arg: int) -> int:
    fd = k.fd(fd)
    if cmd in FCNTL_PASSTHROUGH:
        return fcntl.fcntl(fd, cmd, s32(arg))
    if cmd in (fcntl.F_DUPFD, F_DUPFD_CLOEXEC):
        if arg >= 0x80000000:
            raise SyscallError(errno.EINVAL)
        low = arg
        while low in k.reserved_fds:
            low += 1
        return fcntl.fcntl(fd, cmd, low)
    raise SyscallError(errno.EINVAL)


def sys_ioctl(k: LinuxUser, fd: int, request: int, arg: int) -> int:
    """The terminal ioctls (TCGETS, TIOCGWINSZ, ...) passed to the host; ENOTTY for everything else."""
    fd = k.fd(fd)
    if request in IOCTL_OUT:
        size = IOCTL_OUT[request]
        if not k.mem.check(arg, size, write=True):
            raise SyscallError(errno.EFAULT)
        k.put(arg, fcntl.ioctl(fd, request, bytes(size)))
        return 0
    if request in IOCTL_IN:
        fcntl.ioctl(fd, request, k.get(arg, IOCTL_IN[request]))
        return 0
    os.fstat(fd)
    raise SyscallError(errno.ENOTTY)


def sys_fsync(k: LinuxUser, fd: int) -> int:
    os.fsync(k.fd(fd))
    return 0


def sys_fdatasync(k: LinuxUser, fd: int) -> int:
    os.fdatasync(k.fd(fd))
    return 0


def sys_ftruncate64(k: LinuxUser, fd: int, lo: int, hi: int) -> int:
    os.ftruncate(k.fd(fd), _offset64(lo, hi))
    return 0


def sys_truncate64(k: LinuxUser, path: int, lo: int, hi: int) -> int:
    os.truncate(k.path(path), _offset64(lo, hi))
    return 0
