"""The guest address space: 4 GiB of reserved host address space, guest address `a` at `base + a`.

Host protection is the guest's protection minus EXEC (guest code is never run in place; EXEC implies
READ, as on x86), so a guest store through generated code to a read-only page faults on the host.
The loader and a few syscalls must write into read-only guest pages: `write` and `copy` make the host
pages writable for the duration of the copy only. A Python-side page table (one byte per 4 KiB page)
keeps the guest's own view, including EXEC, for syscall pointer checks and for the code fetch.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from aotc.exec.codebuf import host_mmap, host_mmap_file

PAGE_SIZE = 4096
PAGE_SHIFT = 12
GUEST_SPACE = 1 << 32
GUARD_SIZE = 64 << 10
NUM_PAGES = GUEST_SPACE >> PAGE_SHIFT

HOST_MAP_SHARED = 0x01
HOST_MAP_PRIVATE = 0x02
HOST_MAP_FIXED = 0x10
HOST_MAP_NORESERVE = 0x4000

PROT_NONE = 0
PROT_READ = 1
PROT_WRITE = 2
PROT_EXEC = 4
PROT_MASK = PROT_READ | PROT_WRITE | PROT_EXEC
MAPPED = 8              # page-table bit: the page is mapped (possibly PROT_NONE)

MMAP_TOP = 0xF7000000   # find_free searches top-down from here (Linux's mmap_base for i386 tasks)
MMAP_BOTTOM = 0x10000   # and never below mmap_min_addr

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
_libc.mprotect.restype = ctypes.c_int
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_libc.munmap.restype = ctypes.c_int


class GuestFault(Exception):
    """A guest address that is not mapped with the access asked for."""

    def __init__(self, addr: int) -> None:
        super().__init__(f"guest fault at {addr:#x}")
        self.addr = addr


def page_down(addr: int) -> int:
    return addr & ~(PAGE_SIZE - 1)


def page_up(addr: int) -> int:
    return (addr + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)


def _host_prot(guest_prot: int) -> int:
    """Host protection for a guest protection: no EXEC, and EXEC implies READ."""
    prot = guest_prot & (PROT_READ | PROT_WRITE)
    if guest_prot & PROT_EXEC:
        prot |= PROT_READ
    return prot


class GuestMemory:
    """The guest's 4 GiB address space and its page table."""

    def __init__(self) -> None:
        self.base = host_mmap(GUEST_SPACE + GUARD_SIZE, PROT_NONE,
                              HOST_MAP_PRIVATE | HOST_MAP_NORESERVE)
        self.pages = bytearray(NUM_PAGES)
        self.on_write: Callable[[int, int], None] | None = None
        """Called with (addr, length) after Python writes, remaps or unmaps guest memory, so the
        translator can drop code translated from it."""

    def close(self) -> None:
        """Give the whole reservation back to the host; the object is unusable afterwards."""
        if _libc.munmap(self.base, GUEST_SPACE + GUARD_SIZE) != 0:
            raise OSError(ctypes.get_errno(), "munmap of the guest space failed")
        self.base = 0
        self.pages = bytearray(NUM_PAGES)

    # -- mappings --------------------------------------------------------------------------------

    def map(self, addr: int, size: int, prot: int, fixed: bool = True) -> int:
        """Map zeroed pages with the guest protection `prot` (replacing what was there); return the
        address. Without `fixed`, `addr` is only a hint."""
        size = page_up(size)
        if not fixed:
            addr = self.find_free(size, addr or None)
        self._check_range(addr, size)
        flags = HOST_MAP_PRIVATE | HOST_MAP_FIXED
        host_mmap(size, _host_prot(prot), flags, self.base + addr)
        first, count = addr >> PAGE_SHIFT, size >> PAGE_SHIFT
        replaced = any(self.pages[first:first + count])
        self.pages[first:first + count] = bytes([MAPPED | (prot & PROT_MASK)]) * count
        if replaced:
            self.notify_written(addr, size)
        return addr

    def map_shared_file(self, addr: int, size: int, prot: int, fd: int, offset: int) -> None:
        """Map [addr, addr+size) to the host file `fd` from `offset`, shared: the guest's stores reach
        the file and every other mapping of it, as with MAP_SHARED natively (OSError as the host's
        mmap refuses, e.g. EACCES for PROT_WRITE on a read-only descriptor)."""
        size = page_up(size)
        self._check_range(addr, size)
        host_mmap_file(size, _host_prot(prot), HOST_MAP_SHARED | HOST_MAP_FIXED, fd, offset, self.base + addr)
        first, count = addr >> PAGE_SHIFT, size >> PAGE_SHIFT
        replaced = any(self.pages[first:first + count])
        self.pages[first:first + count] = bytes([MAPPED | (prot & PROT_MASK)]) * count
        if replaced:
            self.notify_written(addr, size)

    def unmap(self, addr: int, size: int) -> None:
        """Give the pages back to the reservation (PROT_NONE, no backing)."""
        size = page_up(size)
        self._check_range(addr, size)
        host_mmap(size, PROT_NONE, HOST_MAP_PRIVATE | HOST_MAP_FIXED | HOST_MAP_NORESERVE,
                  self.base + addr)
        first, count = addr >> PAGE_SHIFT, size >> PAGE_SHIFT
        replaced = any(self.pages[first:first + count])
        self.pages[first:first + count] = bytes(count)
        if replaced:
            self.notify_written(addr, size)

    def protect(self, addr: int, size: int, prot: int) -> None:
        """Change the protection of mapped pages; raise GuestFault if any page is unmapped."""
        size = page_up(size)
        self._check_range(addr, size)
        first, count = addr >> PAGE_SHIFT, size >> PAGE_SHIFT
        for i in range(first, first + count):
            if not self.pages[i] & MAPPED:
                raise GuestFault(i << PAGE_SHIFT)
        self._host_protect(addr, size, _host_prot(prot))
        self.pages[first:first + count] = bytes([MAPPED | (prot & PROT_MASK)]) * count
        self.notify_written(addr, size)

    def write_protect_code(self, page: int, on: bool) -> None:
        """While translated code depends on a guest-writable page, keep its host page read-only, so a
        guest store into it faults on the host and the translator can drop that code first."""
        flags = self.pages[page]
        if flags & MAPPED and flags & PROT_WRITE:
            prot = _host_prot(flags & PROT_MASK)
            self._host_protect(page << PAGE_SHIFT, PAGE_SIZE, prot & ~PROT_WRITE if on else prot)

    def find_free(self, size: int, hint: int | None = None) -> int:
        """A free page-aligned range of `size` bytes: at `hint` if free, else the highest below MMAP_TOP."""
        count = page_up(size) >> PAGE_SHIFT
        if count == 0:
            raise MemoryError("empty range")
        hole = bytes(count)
        if hint is not None:
            first = page_down(hint) >> PAGE_SHIFT
            if first >= MMAP_BOTTOM >> PAGE_SHIFT and first + count <= NUM_PAGES and \
                    self.pages[first:first + count] == hole:
                return first << PAGE_SHIFT
        first = self.pages.rfind(hole, MMAP_BOTTOM >> PAGE_SHIFT, MMAP_TOP >> PAGE_SHIFT)
        if first < 0:
            raise MemoryError(f"no free guest range of {size:#x} bytes")
        return first << PAGE_SHIFT

    def prot_at(self, addr: int) -> int:
        """The guest protection of the page holding `addr`, or -1 if it is not mapped."""
        flags = self.pages[(addr & (GUEST_SPACE - 1)) >> PAGE_SHIFT]
        return flags & PROT_MASK if flags & MAPPED else -1

    def is_free(self, addr: int, size: int) -> bool:
        """True if no page of [addr, addr+size) is mapped."""
        first, end = addr >> PAGE_SHIFT, page_up(addr + size) >> PAGE_SHIFT
        return end <= NUM_PAGES and not any(self.pages[first:end])

    # -- access checks and copies ----------------------------------------------------------------

    def check(self, addr: int, n: int, write: bool) -> bool:
        """True if the guest may read (or write) all of [addr, addr+n)."""
        if n <= 0:
            return n == 0
        if addr < 0 or addr + n > GUEST_SPACE:
            return False
        need = MAPPED | (PROT_WRITE if write else PROT_READ)
        first, last = addr >> PAGE_SHIFT, (addr + n - 1) >> PAGE_SHIFT
        return all(p & need == need for p in self.pages[first:last + 1])

    def host_addr(self, addr: int) -> int:
        return self.base + addr

    def read(self, addr: int, n: int) -> bytes:
        """Bytes the guest could read; GuestFault otherwise."""
        if not self.check(addr, n, write=False):
            raise GuestFault(addr)
        return ctypes.string_at(self.base + addr, n)

    def read_u32(self, addr: int) -> int:
        return int.from_bytes(self.read(addr, 4), "little")

    def write(self, addr: int, data: bytes) -> None:
        """Write into mapped guest pages whatever their guest protection (loader, syscall results)."""
        n = len(data)
        if n == 0:
            return
        first, last = addr >> PAGE_SHIFT, (addr + n - 1) >> PAGE_SHIFT
        if addr < 0 or addr + n > GUEST_SPACE or not all(p & MAPPED for p in self.pages[first:last + 1]):
            raise GuestFault(addr)
        self.notify_written(addr, n)    # first: dropping translated code lifts its write protection
        with self._host_writable(addr, n):
            ctypes.memmove(self.base + addr, data, n)

    def copy(self, dst: int, src: int, n: int) -> None:
        """Copy between mapped guest ranges whatever their protection (mremap)."""
        for a in (src, dst):
            first, last = a >> PAGE_SHIFT, (a + n - 1) >> PAGE_SHIFT
            if not all(p & MAPPED for p in self.pages[first:last + 1]):
                raise GuestFault(a)
        self.notify_written(dst, n)
        with self._host_writable(src, n), self._host_writable(dst, n):
            ctypes.memmove(self.base + dst, self.base + src, n)

    def read_cstring(self, addr: int, limit: int = 4096) -> bytes:
        """A NUL-terminated string (without the NUL); GuestFault if unreadable, OverflowError if too long."""
        out = bytearray()
        while len(out) < limit:
            chunk_end = min(page_down(addr) + PAGE_SIZE, addr + limit - len(out))
            chunk = self.read(addr, chunk_end - addr)
            nul = chunk.find(b"\0")
            if nul >= 0:
                return bytes(out + chunk[:nul])
            out += chunk
            addr = chunk_end
        raise OverflowError("string too long")

    def fetch_code(self, addr: int, n: int) -> bytes:
        """Up to `n` bytes of guest code at `addr`, stopping at the first page that is not executable."""
        need = MAPPED | PROT_EXEC
        end = addr
        while end < addr + n and end < GUEST_SPACE and self.pages[end >> PAGE_SHIFT] & need == need:
            end = page_down(end) + PAGE_SIZE
        end = min(end, addr + n)
        return ctypes.string_at(self.base + addr, end - addr) if end > addr else b""

    def view(self, addr: int, n: int, write: bool) -> memoryview:
        """A memoryview of guest memory for os.readv/os.write & co; GuestFault if the guest may not.

        A writable view first tells the translator, which drops translated code in the range (and so
        lifts its write protection) before anything is written through the view.
        """
        if not self.check(addr, n, write):
            raise GuestFault(addr)
        if write:
            self.notify_written(addr, n)
        return memoryview((ctypes.c_ubyte * n).from_address(self.base + addr)).cast("B")

    def host_buffer(self, addr: int, n: int, write: bool) -> int:
        """The host address of [addr, addr+n) for a host syscall to read (or write); GuestFault if the
        guest may not. Like `view`, a buffer to write first drops translated code in the range."""
        if not self.check(addr, n, write):
            raise GuestFault(addr)
        if write:
            self.notify_written(addr, n)
        return self.base + addr

    def notify_written(self, addr: int, n: int) -> None:
        """Tell the translator that Python changes [addr, addr+n) (it may hold translated code). Called
        before writing: the translator drops that code, which makes its pages writable again."""
        if self.on_write is not None and n > 0:
            self.on_write(addr, n)

    # -- internals -------------------------------------------------------------------------------

    @staticmethod
    def _check_range(addr: int, size: int) -> None:
        if addr & (PAGE_SIZE - 1) or addr < 0 or addr + size > GUEST_SPACE:
            raise ValueError(f"bad guest range {addr:#x}+{size:#x}")

    def _host_protect(self, addr: int, size: int, prot: int) -> None:
        if _libc.mprotect(self.base + addr, size, prot) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"mprotect of guest {addr:#x}+{size:#x} failed")

    def _runs(self, first: int, last: int) -> Iterator[tuple[int, int, int]]:
        """Runs of pages with the same page-table byte: (first page, page count, byte)."""
        start = first
        for i in range(first + 1, last + 2):
            if i == last + 1 or self.pages[i] != self.pages[start]:
                yield start, i - start, self.pages[start]
                start = i

    @contextmanager
    def _host_writable(self, addr: int, n: int) -> Iterator[None]:
        """Make the host pages of [addr, addr+n) readable and writable, then restore them."""
        first, last = addr >> PAGE_SHIFT, (addr + n - 1) >> PAGE_SHIFT
        rw = PROT_READ | PROT_WRITE
        runs = [r for r in self._runs(first, last) if r[2] & rw != rw]
        for start, count, _ in runs:
            self._host_protect(start << PAGE_SHIFT, count << PAGE_SHIFT, rw)
        try:
            yield
        finally:
            for start, count, flags in runs:
                self._host_protect(start << PAGE_SHIFT, count << PAGE_SHIFT, _host_prot(flags & PROT_MASK))
