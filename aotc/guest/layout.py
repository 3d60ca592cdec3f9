"""Where the guest's program, interpreter and shared libraries go: a fixed, documented layout.

Translated blocks are cached by guest address and page contents, so a library's blocks serve another
run, or another program, only if the library lands at the same address there. Linux without ASLR
packs libraries top-down in the order ld.so maps them, so one library more before libc moves libc.
aotc places every shared object by what it is instead: a slot in LIB_ZONE picked by a hash of its
first page (ELF header, program headers, build-id note) and its mapped size. The same libc.so.6 lands
at the same address in every program and every run, whatever was mapped before it; a slot already
taken moves the object up to the next free one (still deterministic for a given order), and a full
zone falls back to the ordinary top-down search. A PIE main program goes where Linux puts it,
ELF_ET_DYN_BASE; its break (and that of a static-pie or of ld.so run as the program) starts there too.
"""

from __future__ import annotations

import hashlib
import struct

from aotc.guest.memory import PAGE_SIZE, GuestMemory, page_up

ELF_ET_DYN_BASE = 0x56555000      # a PIE's load address on Linux for i386 tasks without ASLR
LIB_ZONE = (0xE0000000, 0xF0000000)
LIB_ALIGN = 64 << 10              # slots start on 64 KiB boundaries
ET_DYN = 3
_E_TYPE = struct.Struct("<H")


def is_shared_object(first_page: bytes) -> bool:
    """Whether bytes a mapping starts with are those of an ELF shared object (ET_DYN)."""
    return first_page[:4] == b"\x7fELF" and len(first_page) >= 18 and \
        _E_TYPE.unpack_from(first_page, 16)[0] == ET_DYN


def preferred_slot(first_page: bytes, size: int) -> int:
    """The address a shared object of `size` mapped bytes starting with `first_page` is placed at in
    an empty zone."""
    digest = hashlib.blake2b(first_page[:PAGE_SIZE] + struct.pack("<Q", size), digest_size=8).digest()
    slots = max((LIB_ZONE[1] - LIB_ZONE[0] - page_up(size)) // LIB_ALIGN, 1)
    return LIB_ZONE[0] + int.from_bytes(digest, "little") % slots * LIB_ALIGN


def place_shared_object(mem: GuestMemory, first_page: bytes, size: int) -> int:
    """A free guest address for the shared object: its preferred slot, else the next free slot above
    it (wrapping in the zone), else the highest free range below MMAP_TOP (MemoryError if none)."""
    size = page_up(size)
    start = preferred_slot(first_page, size)
    lo, hi = LIB_ZONE
    span = hi - lo
    for step in range(0, span, LIB_ALIGN):
        addr = lo + (start - lo + step) % span
        if addr + size <= hi and mem.is_free(addr, size):
            return addr
    return mem.find_free(size)
