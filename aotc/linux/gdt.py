"""The GDT an x86-64 kernel gives an i386 task (arch/x86/include/asm/segment.h, cpu/common.c gdt_page):
flat 32-bit user code and data, the 64-bit user code segment, kernel and system entries it may not
load, the three TLS entries set_thread_area fills, and the per-CPU segment (limit = cpu | node << 12).
"""

from __future__ import annotations

from types import MappingProxyType

from aotc.guest.segments import encode, encode_user_desc

GDT_ENTRIES = 16
TLS_ENTRIES = (12, 13, 14)
CPUNODE_ENTRY = 15
FLAT = 0xFFFFF
G_D, G_L = 0xC, 0xA
FIXED = MappingProxyType({
    1: encode(0, FLAT, 0x9B, G_D),     # __KERNEL32_CS
    2: encode(0, FLAT, 0x9B, G_L),     # __KERNEL_CS
    3: encode(0, FLAT, 0x93, G_D),     # __KERNEL_DS
    4: encode(0, FLAT, 0xFB, G_D),     # __USER32_CS (0x23)
    5: encode(0, FLAT, 0xF3, G_D),     # __USER_DS (0x2b)
    6: encode(0, FLAT, 0xFB, G_L),     # __USER_CS (0x33): 64-bit code
    8: encode(0, 0x67, 0x89, 0),       # the TSS (a system descriptor, two entries)
    10: encode(0, 0, 0x82, 0),         # the LDT's (likewise)
})
EMPTY = bytes(8)


def gdt_entry(index: int, tls: dict[int, tuple[int, int, int]]) -> bytes | None:
    """GDT entry `index` as the task sees it (None beyond the GDT's limit)."""
    if index >= GDT_ENTRIES:
        return None
    if index in TLS_ENTRIES:
        entry = tls.get(index)
        return encode_user_desc(*entry) if entry is not None else EMPTY
    if index == CPUNODE_ENTRY:     # natively its limit is the running CPU's number: here CPU 0
        return encode(0, 0, 0xF5, 0x4)
    return FIXED.get(index, EMPTY)
