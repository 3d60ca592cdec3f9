"""Memory syscalls: brk, mmap2 and the old mmap, munmap, mprotect, mremap, madvise.

A private file mapping is an anonymous mapping filled with the file's bytes; a shared one is the host's
own mapping of the file, so stores reach the file and other processes. A shared object mapped without
an address (ld.so mapping a library) goes where aotc.guest.layout places it, so its translated blocks
serve every program that uses it.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import stat
import struct
from dataclasses import replace
from typing import TYPE_CHECKING

from aotc.guest.layout import is_shared_object, place_shared_object
from aotc.guest.memory import (
    GUEST_SPACE,
    PAGE_SIZE,
    PROT_MASK,
    PROT_READ,
    PROT_WRITE,
    GuestFault,
    page_up,
)
from aotc.linux.errors import SyscallError
from aotc.linux.vmnames import Backing

if TYPE_CHECKING:
    from aotc.linux.user import LinuxUser

MAP_TYPE = 0x0F
MAP_SHARED = 0x01
MAP_FIXED = 0x10
MAP_ANONYMOUS = 0x20
MAP_FIXED_NOREPLACE = 0x100000
MREMAP_MAYMOVE = 1
MREMAP_FIXED = 2
MADV_DONTNEED = 4
OLD_MMAP_ARGS = struct.Struct("<6I")


def _einval(cond: bool) -> None:
    if cond:
        raise SyscallError(errno.EINVAL)


def sys_brk(k: LinuxUser, addr: int) -> int:
    """Move the break: map zeroed pages up to it or unmap those above it; never below the start."""
    if addr < k.brk_start:
        return k.brk
    old_end, new_end = page_up(k.brk), page_up(addr)
    if new_end > old_end:
        if new_end > GUEST_SPACE or not k.mem.is_free(old_end, new_end - old_end):
            return k.brk
        k.mem.map(old_end, new_end - old_end, PROT_READ | PROT_WRITE)
    elif new_end < old_end:
        k.mem.unmap(new_end, old_end - new_end)
    k.brk = addr
    return addr


def _file_bytes(k: LinuxUser, fd: int, size: int, offset: int, flags: int) -> tuple[bytes, Backing]:
    """What backs a file mapping, and the bytes it starts with: all of them for a private mapping
    (zero-filled past the end of the file), which is a copy; only the first page for a shared one,
    which is the file itself (enough to tell a shared object, see do_mmap)."""
    host_fd = k.fd(fd)
    st = os.fstat(host_fd)
    if stat.S_ISDIR(st.st_mode):
        raise SyscallError(errno.ENODEV)
    if fcntl.fcntl(host_fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY:
        raise SyscallError(errno.EACCES)
    shared = flags & MAP_TYPE == MAP_SHARED
    backing = Backing.of_file(os.readlink(f"/proc/self/fd/{host_fd}"), offset, st, shared)
    return os.pread(host_fd, min(size, PAGE_SIZE) if shared else size, offset), backing


def do_mmap(k: LinuxUser, addr: int, length: int, prot: int, flags: int, fd: int, offset: int) -> int:
    """mmap with a byte offset: the common part of mmap2 and the old mmap."""
    size = page_up(length)
    _einval(length == 0 or flags & MAP_TYPE == 0 or prot & ~PROT_MASK != 0)
    if size > GUEST_SPACE:
        raise SyscallError(errno.ENOMEM)
    if flags & (MAP_FIXED | MAP_FIXED_NOREPLACE):
        _einval(addr & (PAGE_SIZE - 1) != 0)
        if addr + size > GUEST_SPACE:
            raise SyscallError(errno.ENOMEM)
        if flags & MAP_FIXED_NOREPLACE and not k.mem.is_free(addr, size):
            raise SyscallError(errno.EEXIST)
    data, backing = (b"", None) if flags & MAP_ANONYMOUS else _file_bytes(k, fd, size, offset, flags)
    if not flags & (MAP_FIXED | MAP_FIXED_NOREPLACE):
        try:
            if not addr and offset == 0 and is_shared_object(data):
                addr = place_shared_object(k.mem, data, size)   # where this library always goes
            else:
                addr = k.mem.find_free(size, addr or None)
        except MemoryError:
            raise SyscallError(errno.ENOMEM) from None
    if backing is not None and backing.shared:
        k.mem.map_shared_file(addr, size, prot, k.fd(fd), offset)
    else:
        k.mem.map(addr, size, prot)
        if data:
            k.mem.write(addr, data)
    if backing is None:
        k.map_names.forget(addr, size)
    else:
        k.map_names.note(addr, size, backing)
    return addr


def sys_mmap2(k: LinuxUser, addr: int, length: int, prot: int, flags: int, fd: int, pgoff: int) -> int:
    return do_mmap(k, addr, length, prot, flags, fd, pgoff * PAGE_SIZE)


def sys_old_mmap(k: LinuxUser, args: int) -> int:
    """Syscall 90: the six arguments are in a struct in guest memory; the offset is in bytes."""
    addr, length, prot, flags, fd, offset = OLD_MMAP_ARGS.unpack(k.get(args, OLD_MMAP_ARGS.size))
    _einval(offset & (PAGE_SIZE - 1) != 0)
    return do_mmap(k, addr, length, prot, flags, fd, offset)


def sys_munmap(k: LinuxUser, addr: int, length: int) -> int:
    size = page_up(length)
    _einval(addr & (PAGE_SIZE - 1) != 0 or length == 0 or addr + size > GUEST_SPACE)
    k.mem.unmap(addr, size)
    k.map_names.forget(addr, size)
    return 0


def sys_mprotect(k: LinuxUser, addr: int, length: int, prot: int) -> int:
    size = page_up(length)
    _einval(addr & (PAGE_SIZE - 1) != 0 or prot & ~PROT_MASK != 0)
    if addr + size > GUEST_SPACE:
        raise SyscallError(errno.ENOMEM)
    try:
        k.mem.protect(addr, size, prot)
    except GuestFault:
        raise SyscallError(errno.ENOMEM) from None
    return 0


def _mapped(k: LinuxUser, addr: int, size: int) -> bool:
    return all(k.mem.prot_at(a) >= 0 for a in range(addr, addr + size, PAGE_SIZE))


def sys_mremap(k: LinuxUser, old: int, old_len: int, new_len: int, flags: int, new_addr: int) -> int:
    """Shrink in place, grow in place when the pages above are free, else move (with MREMAP_MAYMOVE)."""
    old_size, new_size = page_up(old_len), page_up(new_len)
    _einval(old & (PAGE_SIZE - 1) != 0 or new_len == 0 or flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED) != 0)
    _einval(flags & MREMAP_FIXED != 0 and not flags & MREMAP_MAYMOVE)
    if old_size == 0 or old + old_size > GUEST_SPACE or not _mapped(k, old, old_size):
        raise SyscallError(errno.EFAULT)
    prot = k.mem.prot_at(old)
    if flags & MREMAP_FIXED:
        _einval(new_addr & (PAGE_SIZE - 1) != 0 or new_addr + new_size > GUEST_SPACE)
        return _move(k, old, old_size, new_addr, new_size, prot)
    if new_size <= old_size:
        if new_size < old_size:
            k.mem.unmap(old + new_size, old_size - new_size)
            k.map_names.forget(old + new_size, old_size - new_size)
        return old
    grow = new_size - old_size
    if old + new_size <= GUEST_SPACE and k.mem.is_free(old + old_size, grow):
        k.mem.map(old + old_size, grow, k.mem.prot_at(old + old_size - 1))
        named = k.map_names.at(old + old_size - 1)
        if named is not None:
            start, backing = named
            offset = backing.offset + old + old_size - start
            k.map_names.note(old + old_size, grow, replace(backing, offset=offset))
        return old
    if not flags & MREMAP_MAYMOVE:
        raise SyscallError(errno.ENOMEM)
    try:
        dst = k.mem.find_free(new_size)
    except MemoryError:
        raise SyscallError(errno.ENOMEM) from None
    return _move(k, old, old_size, dst, new_size, prot)


def _move(k: LinuxUser, old: int, old_size: int, dst: int, new_size: int, prot: int) -> int:
    k.mem.map(dst, new_size, prot)
    k.mem.copy(dst, old, min(old_size, new_size))
    named = k.map_names.at(old)
    k.mem.unmap(old, old_size)
    k.map_names.forget(old, old_size)
    if named is not None:
        start, backing = named
        k.map_names.note(dst, new_size, replace(backing, offset=backing.offset + old - start))
    else:
        k.map_names.forget(dst, new_size)
    return dst


MS_ASYNC, MS_INVALIDATE, MS_SYNC = 1, 2, 4
_libc = ctypes.CDLL(None, use_errno=True)
_libc.msync.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]


def sys_msync(k: LinuxUser, addr: int, length: int, flags: int) -> int:
    """msync: the host's, on the host pages of the range (shared file mappings are the host's own)."""
    size = page_up(length)
    _einval(addr & (PAGE_SIZE - 1) != 0 or flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC) != 0
            or flags & (MS_ASYNC | MS_SYNC) == MS_ASYNC | MS_SYNC)
    if addr + size > GUEST_SPACE or not _mapped(k, addr, size):
        raise SyscallError(errno.ENOMEM)
    if _libc.msync(k.mem.base + addr, size, flags) != 0:
        raise SyscallError(ctypes.get_errno())
    return 0


def sys_madvise(k: LinuxUser, addr: int, length: int, advice: int) -> int:
    """Advice is ignored, except MADV_DONTNEED, which gives private anonymous pages back as zeros."""
    size = page_up(length)
    _einval(addr & (PAGE_SIZE - 1) != 0 or addr + size > GUEST_SPACE)
    if not _mapped(k, addr, size):
        raise SyscallError(errno.ENOMEM)
    if advice == MADV_DONTNEED:
        for page in range(addr, addr + size, PAGE_SIZE):
            k.mem.map(page, PAGE_SIZE, k.mem.prot_at(page))
    return 0
