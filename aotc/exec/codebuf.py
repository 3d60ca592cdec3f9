"""The code buffer: host memory obtained with mmap through ctypes that holds generated code.

Code is appended and never moved; `flush` forgets everything at once (QEMU's tb_flush).
"""

from __future__ import annotations

import ctypes
import mmap

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                       ctypes.c_long]
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]

MAP_FAILED = ctypes.c_void_p(-1).value


def host_mmap(size: int, prot: int, flags: int, addr: int = 0) -> int:
    """mmap anonymous memory; return its address or raise OSError."""
    p = _libc.mmap(addr, size, prot, flags | mmap.MAP_ANONYMOUS, -1, 0)
    if p is None or p == MAP_FAILED:
        err = ctypes.get_errno()
        raise OSError(err, f"mmap of {size:#x} bytes failed")
    return p


class CodeBuffer:
    """An executable region with a bump allocator."""

    def __init__(self, size: int = 64 << 20) -> None:
        self.size = size
        self.base = host_mmap(size, mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC, mmap.MAP_PRIVATE)
        self.used = 0

    def free_bytes(self) -> int:
        return self.size - self.used

    def append(self, code: bytes, align: int = 16) -> int:
        """Copy `code` in at the next aligned offset; return its host address."""
        start = (self.used + align - 1) & -align
        if start + len(code) > self.size:
            raise MemoryError("code buffer full")
        addr = self.base + start
        ctypes.memmove(addr, code, len(code))
        self.used = start + len(code)
        return addr

    def patch(self, addr: int, data: bytes) -> None:
        """Overwrite bytes of code already in the buffer (chaining, relocations)."""
        if not (self.base <= addr and addr + len(data) <= self.base + self.size):
            raise ValueError("patch outside the code buffer")
        ctypes.memmove(addr, data, len(data))

    def contains(self, addr: int) -> bool:
        return self.base <= addr < self.base + self.size

    def reset(self, keep: int) -> None:
        """Drop everything after the first `keep` bytes (the prologue stays)."""
        self.used = keep
