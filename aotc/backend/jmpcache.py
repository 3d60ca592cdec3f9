"""The jump cache's layout (QEMU's tb_jmp_cache): guest pc -> host code, read by generated code.

A power-of-two array of 16-byte entries {u32 guest pc, u32 pad, u64 host address}, indexed by
`(pc ^ (pc >> JMP_CACHE_SHIFT)) & (JMP_CACHE_ENTRIES - 1)`. An empty entry has pc EMPTY_PC and, since
a guest may jump to 0xffffffff (to fault there), host code that leaves as a miss does.
"""

from __future__ import annotations

import ctypes

JMP_CACHE_ENTRIES = 1 << 14
JMP_CACHE_ENTRY_LOG2 = 4
JMP_CACHE_SHIFT = 12
EMPTY_PC = 0xFFFFFFFF


class JmpCacheEntry(ctypes.Structure):
    """One slot of the table."""

    _fields_ = [("pc", ctypes.c_uint32), ("pad", ctypes.c_uint32), ("host", ctypes.c_uint64)]


def jmp_cache_index(pc: int) -> int:
    """The slot of guest pc, exactly as the generated lookup computes it."""
    return (pc ^ (pc >> JMP_CACHE_SHIFT)) & (JMP_CACHE_ENTRIES - 1)
