"""File-descriptor syscalls: read/write and their vector and positional forms, open/close, seek,
dup, pipe, fcntl, ioctl, sync and truncate. Guest fds are host fds; i386 open flags equal the host's.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import resource
import struct
import termios
from typing import TYPE_CHECKING

from aotc.linux import host, procfs, structs
from aotc.linux.blocking import blocking, host_call
from aotc.linux.errors import SyscallError
from aotc.linux.interrupt import Restart
from aotc.linux.structs import s32

if TYPE_CHECKING:
    from aotc.linux.user import LinuxUser

AT_FDCWD = -100
O_CLOEXEC = 0o2000000
O_CREAT_TRUNC_WRONLY = os.O_CREAT | os.O_TRUNC | os.O_WRONLY
IOV_MAX = 1024
MAX_RW = 0x7FFFF000            # Linux's MAX_RW_COUNT
F_DUPFD_CLOEXEC = 1030
CLOSE_RANGE_CLOEXEC = 4
FCNTL_PASSTHROUGH = (fcntl.F_GETFD, fcntl.F_SETFD, fcntl.F_GETFL, fcntl.F_SETFL)
FLOCK = struct.Struct("<hhiii")                # i386 struct flock: type, whence, start, len, pid
FLOCK64 = struct.Struct("<hhqqi")              # i386 struct flock64 (4-byte aligned loff_t)
HOST_FLOCK = struct.Struct("<hh4xqqi4x")       # x86-64 struct flock
F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW = 36, 37, 38
LOCK_CMDS = {                                  # guest command: host command, guest layout
    fcntl.F_GETLK: (fcntl.F_GETLK, FLOCK), fcntl.F_SETLK: (fcntl.F_SETLK, FLOCK),
    fcntl.F_SETLKW: (fcntl.F_SETLKW, FLOCK), 12: (fcntl.F_GETLK, FLOCK64), 13: (fcntl.F_SETLK, FLOCK64),
    14: (fcntl.F_SETLKW, FLOCK64), F_OFD_GETLK: (F_OFD_GETLK, FLOCK64),
    F_OFD_SETLK: (F_OFD_SETLK, FLOCK64), F_OFD_SETLKW: (F_OFD_SETLKW, FLOCK64),
}

# ioctls passed to the host with the size of their argument (i386 and x86-64 layouts are the same).
IOCTL_OUT = {termios.TCGETS: 36, termios.TIOCGWINSZ: 8, termios.TIOCGPGRP: 4, termios.FIONREAD: 4}
IOCTL_IN = {termios.TCSETS: 36, termios.TCSETSW: 36, termios.TCSETSF: 36, termios.TIOCSWINSZ: 8}


def dirfd(k: LinuxUser, fd: int) -> int | None:
    """A *at() directory fd argument: None for AT_FDCWD."""
    return None if s32(fd) == AT_FDCWD else k.fd(fd)


# -- read and write ------------------------------------------------------------------------------

def sys_read(k: LinuxUser, fd: int, buf: int, count: int) -> int:
    fd, count = k.fd(fd), min(count, MAX_RW)
    return blocking(k, Restart.SYS, host.SYS_READ, fd, k.mem.host_buffer(buf, count, write=True), count)


def sys_write(k: LinuxUser, fd: int, buf: int, count: int) -> int:
    fd, count = k.fd(fd), min(count, MAX_RW)
    return blocking(k, Restart.SYS, host.SYS_WRITE, fd, k.mem.host_buffer(buf, count, write=False), count)


def sys_pread64(k: LinuxUser, fd: int, buf: int, count: int, lo: int, hi: int) -> int:
    fd, count = k.fd(fd), min(count, MAX_RW)
    return blocking(k, Restart.SYS, host.SYS_PREAD64, fd, k.mem.host_buffer(buf, count, write=True), count,
                    _offset64(lo, hi))


def sys_pwrite64(k: LinuxUser, fd: int, buf: int, count: int, lo: int, hi: int) -> int:
    fd, count = k.fd(fd), min(count, MAX_RW)
    return blocking(k, Restart.SYS, host.SYS_PWRITE64, fd, k.mem.host_buffer(buf, count, write=False),
                    count, _offset64(lo, hi))


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


def _host_iovecs(k: LinuxUser, iov: int, iovcnt: int, write: bool) -> ctypes.Array:
    """The guest's iovec array as the host's (64-bit base and length), each buffer checked."""
    vecs = _iovecs(k, iov, iovcnt)
    out = (ctypes.c_uint64 * (2 * len(vecs) or 1))()
    for i, (base, length) in enumerate(vecs):
        out[2 * i], out[2 * i + 1] = k.mem.host_buffer(base, length, write), length
    return out


def sys_readv(k: LinuxUser, fd: int, iov: int, iovcnt: int) -> int:
    fd = k.fd(fd)
    vecs = _host_iovecs(k, iov, iovcnt, write=True)
    return blocking(k, Restart.SYS, host.SYS_READV, fd, ctypes.addressof(vecs), iovcnt)


def sys_writev(k: LinuxUser, fd: int, iov: int, iovcnt: int) -> int:
    fd = k.fd(fd)
    vecs = _host_iovecs(k, iov, iovcnt, write=False)
    return blocking(k, Restart.SYS, host.SYS_WRITEV, fd, ctypes.addressof(vecs), iovcnt)


# -- open, close, seek ---------------------------------------------------------------------------

def _open(k: LinuxUser, dir_fd: int | None, path: int, flags: int, mode: int) -> int:
    name = k.path(path)
    own = procfs.own_file(k, name)
    if own is not None:
        fd = procfs.open_own(k, own, flags)
        k.new_fd(fd)
        return fd
    fd = os.open(name, flags & 0xFFFFFFFF, mode & 0o7777, dir_fd=dir_fd)
    k.new_fd(fd)
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


def sys_close_range(k: LinuxUser, first: int, last: int, flags: int) -> int:
    """close_range, never past the guest's own descriptors (EINVAL for first > last, as the kernel)."""
    if first > last:
        raise SyscallError(errno.EINVAL)
    host_call(k, host.SYS_CLOSE_RANGE, first, min(last, k.fd_limit - 1), flags)
    if not flags & CLOSE_RANGE_CLOEXEC:
        for fd in [fd for fd in k.dir_cookies if first <= fd <= last]:
            del k.dir_cookies[fd]
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
    new = fcntl.fcntl(k.fd(fd), fcntl.F_DUPFD, 0)
    k.new_fd(new)
    return new


def _dup_target(k: LinuxUser, new: int) -> int:
    """dup2/dup3's new descriptor: EBADF at or past the guest's RLIMIT_NOFILE, as the kernel says."""
    if new >= k.rlimits[resource.RLIMIT_NOFILE][0]:
        raise SyscallError(errno.EBADF)
    return new


def sys_dup2(k: LinuxUser, old: int, new: int) -> int:
    old, new = k.fd(old), _dup_target(k, new)
    if old == new:
        os.fstat(old)
        return new
    k.dir_cookies.pop(new, None)
    return os.dup2(old, new, inheritable=True)


def sys_dup3(k: LinuxUser, old: int, new: int, flags: int) -> int:
    old, new = k.fd(old), _dup_target(k, new)
    if old == new or flags & ~O_CLOEXEC:
        raise SyscallError(errno.EINVAL)
    k.dir_cookies.pop(new, None)
    return os.dup2(old, new, inheritable=not flags & O_CLOEXEC)


def _pipe(k: LinuxUser, fds: int, flags: int) -> int:
    if not k.mem.check(fds, 8, write=True):
        raise SyscallError(errno.EFAULT)
    r, w = os.pipe2(flags)
    k.new_fd(r, w)
    k.put(fds, structs.U32.pack(r) + structs.U32.pack(w))
    return 0


def sys_pipe(k: LinuxUser, fds: int) -> int:
    return _pipe(k, fds, 0)


def sys_pipe2(k: LinuxUser, fds: int, flags: int) -> int:
    if flags & ~(O_CLOEXEC | os.O_NONBLOCK | os.O_DIRECT):
        raise SyscallError(errno.EINVAL)
    return _pipe(k, fds, flags)


def _record_lock(k: LinuxUser, fd: int, cmd: int, arg: int) -> int:
    """F_GETLK, F_SETLK, F_SETLKW with the i386 struct flock (32-bit offsets), their *64 forms and the
    OFD locks with struct flock64, run as the host's fcntl on its own struct flock."""
    host_cmd, layout = LOCK_CMDS[cmd]
    l_type, whence, start, length, pid = layout.unpack(k.get(arg, layout.size))
    lock = ctypes.create_string_buffer(HOST_FLOCK.pack(l_type, whence, start, length, pid), HOST_FLOCK.size)
    blocking(k, Restart.SYS, host.SYS_FCNTL, fd, host_cmd, ctypes.addressof(lock))
    if host_cmd in (fcntl.F_GETLK, F_OFD_GETLK):
        l_type, whence, start, length, pid = HOST_FLOCK.unpack(lock.raw)
        if layout is FLOCK and (start > 0x7FFFFFFF or length > 0x7FFFFFFF):
            raise SyscallError(errno.EOVERFLOW)
        k.put(arg, layout.pack(l_type, whence, start, length, pid))
    return 0


def sys_fcntl64(k: LinuxUser, fd: int, cmd: int, arg: int) -> int:
    fd = k.fd(fd)
    if cmd in FCNTL_PASSTHROUGH:
        return fcntl.fcntl(fd, cmd, s32(arg))
    if cmd in LOCK_CMDS:
        return _record_lock(k, fd, cmd, arg)
    if cmd in (fcntl.F_DUPFD, F_DUPFD_CLOEXEC):
        if arg >= k.rlimits[resource.RLIMIT_NOFILE][0]:
            raise SyscallError(errno.EINVAL)
        new = fcntl.fcntl(fd, cmd, arg)
        k.new_fd(new)
        return new
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


def sys_ftruncate(k: LinuxUser, fd: int, length: int) -> int:
    """ftruncate with the i386 32-bit signed length (EINVAL if negative, as the kernel)."""
    os.ftruncate(k.fd(fd), structs.s32(length))
    return 0


def sys_truncate(k: LinuxUser, path: int, length: int) -> int:
    os.truncate(k.path(path), structs.s32(length))
    return 0


# -- advice and in-kernel copies -----------------------------------------------------------------

def _loff(lo: int, hi: int) -> int:
    """A loff_t passed as two registers, signed."""
    off = (hi << 32) | lo
    return off - ((off >> 63) << 64)


def sys_fadvise64_64(k: LinuxUser, fd: int, off_lo: int, off_hi: int, len_lo: int, len_hi: int,
                     advice: int) -> int:
    os.posix_fadvise(k.fd(fd), _loff(off_lo, off_hi), _loff(len_lo, len_hi), s32(advice))
    return 0


def sys_fadvise64(k: LinuxUser, fd: int, off_lo: int, off_hi: int, length: int, advice: int) -> int:
    os.posix_fadvise(k.fd(fd), _loff(off_lo, off_hi), length, s32(advice))
    return 0


def _loff_ptr(k: LinuxUser, addr: int) -> int:
    """A guest loff_t * for a host syscall (the i386 and x86-64 loff_t are the same 8 bytes)."""
    return k.mem.host_buffer(addr, 8, write=True) if addr else 0


def sys_copy_file_range(k: LinuxUser, fd_in: int, off_in: int, fd_out: int, off_out: int, length: int,
                        flags: int) -> int:
    fd_in, fd_out = k.fd(fd_in), k.fd(fd_out)
    return blocking(k, Restart.SYS, host.SYS_COPY_FILE_RANGE, fd_in, _loff_ptr(k, off_in), fd_out,
                    _loff_ptr(k, off_out), length, flags)


def sys_sendfile64(k: LinuxUser, out_fd: int, in_fd: int, offset: int, count: int) -> int:
    out_fd, in_fd = k.fd(out_fd), k.fd(in_fd)
    return blocking(k, Restart.SYS, host.SYS_SENDFILE, out_fd, in_fd, _loff_ptr(k, offset), count)

