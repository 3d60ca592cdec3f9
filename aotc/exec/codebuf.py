"""The code buffer: host memory, obtained with mmap through ctypes, that holds generated code.

W^X: no host page is ever writable and executable at once. The buffer is one memfd mapped twice, a
read+execute view where code runs and a read+write view where it is written (copied in, or patched
when blocks are chained). Two views were chosen over toggling protections because chaining patches
code all the time, and an mprotect pair per patch would cost two system calls each time.
Code is appended and never moved; `reset` forgets everything past a point at once (QEMU's tb_flush).
"""

from __future__ import annotations

import ctypes
import mmap
import os

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                       ctypes.c_long]
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]

MAP_FAILED = ctypes.c_void_p(-1).value


def _mmap(size: int, prot: int, flags: int, fd: int, addr: int, offset: int = 0) -> int:
    p = _libc.mmap(addr, size, prot, flags, fd, offset)
    if p is None or p == MAP_FAILED:
        err = ctypes.get_errno()
        raise OSError(err, f"mmap of {size:#x} bytes failed: {os.strerror(err)}")
    return p


def host_mmap(size: int, prot: int, flags: int, addr: int = 0) -> int:
    """mmap anonymous memory; return its address or raise OSError."""
    return _mmap(size, prot, flags | mmap.MAP_ANONYMOUS, -1, addr)


def host_mmap_file(size: int, prot: int, flags: int, fd: int, offset: int, addr: int) -> int:
    """mmap `size` bytes of file `fd` from `offset`; return the address or raise OSError."""
    return _mmap(size, prot, flags, fd, addr, offset)


class CodeBuffer:
    """An executable region with a bump allocator, written only through its writable twin view."""

    def __init__(self, size: int = 64 << 20) -> None:
        self.size = size
        fd = os.memfd_create("aotc-code", os.MFD_CLOEXEC)
        try:
            os.ftruncate(fd, size)
            self.base = _mmap(size, mmap.PROT_READ | mmap.PROT_EXEC, mmap.MAP_SHARED, fd, 0)
            self._rw = _mmap(size, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED, fd, 0)
        finally:
            os.close(fd)
        self.used = 0

    def append(self, code: bytes, align: int = 16) -> int:
        """Copy `code` in at the next aligned offset; return its (executable) host address.

        Raises MemoryError when the buffer is full: the caller flushes and tries again.
        """
        start = (self.used + align - 1) & -align
        if start + len(code) > self.size:
            raise MemoryError("code buffer full")
        ctypes.memmove(self._rw + start, code, len(code))
        self.used = start + len(code)
        return self.base + start

    def patch(self, addr: int, data: bytes) -> None:
        """Overwrite code already in the buffer (chaining); `addr` is an executable-view address."""
        if not (self.base <= addr and addr + len(data) <= self.base + self.used):
            raise ValueError("patch outside the code in the buffer")
        ctypes.memmove(self._rw + (addr - self.base), data, len(data))

    def contains(self, addr: int) -> bool:
        return self.base <= addr < self.base + self.size

    def reset(self, keep: int) -> None:
        """Drop everything after the first `keep` bytes (the prologue and stubs stay)."""
        self.used = keep
