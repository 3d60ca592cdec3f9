"""Segment descriptors and the checks the CPU makes at CPL 3 when a selector is loaded into a segment
register (Intel SDM vol. 2: MOV/POP/LDS to a segment register, far JMP/CALL/RET), raising the CPU's
fault (#GP, #NP, #SS with the selector as error code) where it refuses. No Linux knowledge here: which
descriptor a selector names is the kernel's GDT and the process's LDT (aotc.linux).
"""

from __future__ import annotations

from dataclasses import dataclass

from aotc.guest.cpu import Vector

CPL = 3
TYPE_CODE, TYPE_CONFORMING, TYPE_READ_WRITE, TYPE_ACCESSED = 8, 4, 2, 1


class SegmentFault(Exception):
    """The CPU refuses a selector: fault `vector` with error code `err`."""

    def __init__(self, vector: int, err: int) -> None:
        super().__init__(f"segment fault {vector} ({err:#x})")
        self.vector = vector
        self.err = err


@dataclass(frozen=True)
class Descriptor:
    """An 8-byte segment descriptor, decoded; `limit` is the byte limit (G applied)."""

    base: int
    limit: int
    type: int
    s: int
    dpl: int
    present: int
    avl: int
    l: int  # noqa: E741 (the SDM's name for the 64-bit code bit)
    db: int
    g: int
    raw: bytes

    @property
    def is_code(self) -> bool:
        return bool(self.s and self.type & TYPE_CODE)

    @property
    def readable(self) -> bool:
        """Data segments always are; code segments with the R bit."""
        return bool(self.s and (not self.type & TYPE_CODE or self.type & TYPE_READ_WRITE))

    @property
    def writable(self) -> bool:
        return bool(self.s and not self.type & TYPE_CODE and self.type & TYPE_READ_WRITE)

    @property
    def conforming(self) -> bool:
        return self.is_code and bool(self.type & TYPE_CONFORMING)

    @property
    def accessed(self) -> bool:
        return bool(self.type & TYPE_ACCESSED)

    @property
    def default_size(self) -> int:
        """4 for a 32-bit segment (D/B set), else 2."""
        return 4 if self.db else 2


def parse(raw: bytes) -> Descriptor:
    """Decode a descriptor from its 8 bytes."""
    limit = raw[0] | raw[1] << 8 | (raw[6] & 0xF) << 16
    g = raw[6] >> 7 & 1
    return Descriptor(
        base=raw[2] | raw[3] << 8 | raw[4] << 16 | raw[7] << 24,
        limit=(limit << 12 | 0xFFF) if g else limit,
        type=raw[5] & 0xF, s=raw[5] >> 4 & 1, dpl=raw[5] >> 5 & 3, present=raw[5] >> 7,
        avl=raw[6] >> 4 & 1, l=raw[6] >> 5 & 1, db=raw[6] >> 6 & 1, g=g, raw=bytes(raw))


def _is_null(selector: int) -> bool:
    return selector & ~3 == 0


def check_data_load(selector: int, desc: Descriptor | None, is_ss: bool) -> None:
    """The checks of a load into ds/es/fs/gs (a null selector is fine) or ss; SegmentFault if refused."""
    err = selector & 0xFFFC
    if _is_null(selector):
        if is_ss:
            raise SegmentFault(Vector.GP, 0)
        return
    if desc is None:
        raise SegmentFault(Vector.GP, err)
    if is_ss:
        if selector & 3 != CPL or desc.dpl != CPL or not desc.writable:
            raise SegmentFault(Vector.GP, err)
        if not desc.present:
            raise SegmentFault(Vector.SS, err)
        return
    if not desc.readable or (not desc.conforming and desc.dpl < max(CPL, selector & 3)):
        raise SegmentFault(Vector.GP, err)
    if not desc.present:
        raise SegmentFault(Vector.NP, err)


def data_segment_base(selector: int, desc: Descriptor | None, is_ss: bool = False) -> int:
    """The base a load of `selector` into ds/es/fs/gs (ss with `is_ss`) gives the register: 0 for a
    null selector; SegmentFault where the CPU's load faults."""
    check_data_load(selector, desc, is_ss)
    return desc.base if desc is not None and selector & ~3 else 0


def check_far_target(selector: int, desc: Descriptor | None, kind: str) -> None:
    """The checks of a far jmp/call/ret to a code segment at the same privilege (CPL 3); SegmentFault
    if refused (call gates and privilege changes are not for user mode here: #GP)."""
    err = selector & 0xFFFC
    if _is_null(selector):
        raise SegmentFault(Vector.GP, 0)
    if desc is None or not desc.is_code:
        raise SegmentFault(Vector.GP, err)
    if kind == "ret" and selector & 3 != CPL:
        raise SegmentFault(Vector.GP, err)
    if desc.conforming:
        if desc.dpl > CPL:
            raise SegmentFault(Vector.GP, err)
    elif desc.dpl != CPL:
        raise SegmentFault(Vector.GP, err)
    if not desc.present:
        raise SegmentFault(Vector.NP, err)


def encode(base: int, limit: int, access: int, flags: int) -> bytes:
    """An 8-byte descriptor from its base, 20-bit limit, access byte (P DPL S type) and flags (G D L AVL)."""
    return bytes((limit & 0xFF, limit >> 8 & 0xFF, base & 0xFF, base >> 8 & 0xFF, base >> 16 & 0xFF,
                  access & 0xFF, (limit >> 16 & 0xF) | (flags & 0xF) << 4, base >> 24 & 0xFF))


# struct user_desc's flag bits (after entry_number, base_addr, limit)
UD_SEG_32BIT, UD_CONTENTS_SHIFT, UD_READ_EXEC_ONLY = 0x1, 1, 0x8
UD_LIMIT_IN_PAGES, UD_SEG_NOT_PRESENT, UD_USEABLE = 0x10, 0x20, 0x40


def encode_user_desc(base: int, limit: int, flags: int) -> bytes:
    """The descriptor the kernel's fill_ldt() makes of a struct user_desc: a DPL-3 code or data segment
    with the accessed bit set."""
    contents = flags >> UD_CONTENTS_SHIFT & 3
    type_ = ((not flags & UD_READ_EXEC_ONLY) << 1) | contents << 2 | TYPE_ACCESSED
    access = (not flags & UD_SEG_NOT_PRESENT) << 7 | CPL << 5 | 1 << 4 | type_
    if base == 0 and limit == 0 and flags & 0x7F == UD_READ_EXEC_ONLY | UD_SEG_NOT_PRESENT:
        return bytes(8)             # LDT_empty(): the entry is cleared
    g_d_avl = ((8 if flags & UD_LIMIT_IN_PAGES else 0) | (4 if flags & UD_SEG_32BIT else 0)
               | (flags & UD_USEABLE) >> 6)
    return encode(base, limit, access, g_d_avl)


# system descriptor types lar and lsl accept in IA-32e mode (LDT, TSS; lar also call gates)
LAR_SYSTEM_TYPES, LSL_SYSTEM_TYPES = frozenset({2, 9, 0xB, 0xC}), frozenset({2, 9, 0xB})


def _visible(selector: int, desc: Descriptor | None, system_types: frozenset[int]) -> bool:
    """Whether lar/lsl/verr/verw may look at the descriptor: present in the table, of a type they take,
    and (unless conforming code) DPL >= max(CPL, RPL)."""
    if _is_null(selector) or desc is None:
        return False
    if not desc.s and desc.type not in system_types:
        return False
    return desc.conforming or desc.dpl >= max(CPL, selector & 3)


def lar(selector: int, desc: Descriptor | None) -> int | None:
    """lar's access-rights dword (the SDM leaves bits 16..19 to the CPU: AMD gives the limit's), or None
    when it clears ZF."""
    if not _visible(selector, desc, LAR_SYSTEM_TYPES):
        return None
    return int.from_bytes(desc.raw[4:8], "little") & 0x00FFFF00    # this CPU keeps limit 19:16


def lsl(selector: int, desc: Descriptor | None) -> int | None:
    """lsl's byte limit, or None when it clears ZF."""
    return desc.limit if _visible(selector, desc, LSL_SYSTEM_TYPES) else None


def verr(selector: int, desc: Descriptor | None) -> bool:
    """Whether the segment can be read at CPL 3."""
    return _visible(selector, desc, frozenset()) and desc.readable


def verw(selector: int, desc: Descriptor | None) -> bool:
    """Whether the segment can be written at CPL 3."""
    return _visible(selector, desc, frozenset()) and desc.writable
