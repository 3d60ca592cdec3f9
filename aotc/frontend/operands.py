"""Guest operand access: capstone registers (incl. 8/16-bit partial registers), effective addresses in 32
or 16 bits (0x67, or a 16-bit code segment) plus the base of the segment they use, and a resolved `Loc`
that a read-modify-write instruction loads and stores once.
"""

from __future__ import annotations

from dataclasses import dataclass

from capstone import x86_const as X

from aotc.frontend.context import MASK32, DisasContext, Unsupported
from aotc.guest.cpu import CS, DS, ES, FS, GPR_NAMES, GS, SEG_BASE_OFFSETS, SEG_NAMES, SS
from aotc.ir.core import Value


def _reg_table() -> dict[int, tuple[int, int, int]]:
    """capstone register id -> (GPR index, bit position, width in bits)."""
    table: dict[int, tuple[int, int, int]] = {}
    for i, name in enumerate(GPR_NAMES):
        table[getattr(X, f"X86_REG_{name.upper()}")] = (i, 0, 32)
        table[getattr(X, f"X86_REG_{name[1:].upper()}")] = (i, 0, 16)
    for i, name in enumerate(("al", "cl", "dl", "bl")):
        table[getattr(X, f"X86_REG_{name.upper()}")] = (i, 0, 8)
        table[getattr(X, f"X86_REG_{name[0].upper()}H")] = (i, 8, 8)
    return table


REGS = _reg_table()
SEG_REGS = {getattr(X, f"X86_REG_{n.upper()}"): i for i, n in enumerate(SEG_NAMES)}
SIZE_MASK = {1: 0xFF, 2: 0xFFFF, 4: MASK32}


def gpr(creg: int) -> tuple[int, int, int]:
    """(index, pos, width) of a capstone general-purpose register; Unsupported for anything else."""
    try:
        return REGS[creg]
    except KeyError:
        raise Unsupported(f"register {creg}") from None


def read_reg(ctx: DisasContext, creg: int) -> Value:
    """Read a (partial) register, zero-extended to 32 bits."""
    r, pos, width = gpr(creg)
    v = ctx.ld_reg(r)
    if pos:
        v = ctx.b.shr(v, pos)
    return {8: ctx.b.ext8u, 16: ctx.b.ext16u}[width](v) if width < 32 else v


def write_reg(ctx: DisasContext, creg: int, v: Value) -> None:
    """Write a (partial) register: 8/16-bit writes deposit into the 32-bit register."""
    r, pos, width = gpr(creg)
    if width == 32:
        ctx.st_reg(r, v)
    else:
        ctx.st_reg(r, ctx.b.deposit(ctx.ld_reg(r), v, pos=pos, len=width))


# the segment-override prefixes (capstone's prefix[1]) and the segments they select
OVERRIDES = {0x26: ES, 0x2E: CS, 0x36: SS, 0x3E: DS, 0x64: FS, 0x65: GS}
STACK_BASES = frozenset({X.X86_REG_ESP, X.X86_REG_EBP, X.X86_REG_SP, X.X86_REG_BP})
# the segments whose base is not 0 (fs/gs: TLS descriptors); the others are added when they get one
SEGMENTS_WITH_BASE = frozenset({FS, GS})


def segment_of(ctx: DisasContext, base: int = 0, string_dst: bool = False) -> int:
    """The segment register (ES..GS) a memory access uses: es for a string destination (no override
    applies), else the segment-override prefix, else ss for an esp/ebp/sp/bp base, else ds."""
    if string_dst:
        return ES
    seg = OVERRIDES.get(ctx.insn.prefix[1])
    if seg is not None:
        return seg
    return SS if base in STACK_BASES else DS


def in_segment(ctx: DisasContext, seg: int, offset: Value) -> Value:
    """The linear address of `offset` in segment `seg`: offset plus the segment's base (if it has one)."""
    if seg not in SEGMENTS_WITH_BASE and not ctx.segmented:
        return offset
    return ctx.b.add(offset, ctx.b.ld_state(off=SEG_BASE_OFFSETS[seg]))


def wrap_offset(ctx: DisasContext, offset: Value) -> Value:
    """An offset computed in the instruction's address size: 16-bit offsets wrap at 64 KiB."""
    if ctx.addrsize == 4:
        return offset
    return offset & 0xFFFF if isinstance(offset, int) else ctx.b.ext16u(offset)


def offset_of(ctx: DisasContext, mem, extra: Value = 0) -> Value:
    """The effective address (segment offset) of a capstone memory operand, plus `extra`, in the
    address size: base + index*scale + disp (16-bit forms: [bx|bp] + [si|di] + disp, wrapping)."""
    b = ctx.b
    parts: list[Value] = []
    if mem.base:
        parts.append(read_reg(ctx, mem.base))
    if mem.index:
        idx = read_reg(ctx, mem.index)
        parts.append(b.shl(idx, mem.scale.bit_length() - 1) if mem.scale > 1 else idx)
    if not isinstance(extra, int):
        parts.append(extra)
    disp = (mem.disp + (extra if isinstance(extra, int) else 0)) & MASK32
    if not parts:
        return wrap_offset(ctx, disp)
    acc = parts[0]
    for p in parts[1:]:
        acc = b.add(acc, p)
    return wrap_offset(ctx, b.add(acc, disp) if disp else acc)


def address(ctx: DisasContext, mem, with_segment: bool = True, extra: Value = 0) -> Value:
    """The linear address of a capstone memory operand (plus `extra` in its offset): the effective
    address in the address size, plus the base of its segment; without it (lea) the offset alone."""
    offset = offset_of(ctx, mem, extra)
    return in_segment(ctx, segment_of(ctx, mem.base), offset) if with_segment else offset


@dataclass
class Loc:
    """A resolved operand: a register, a memory address (computed once) or an immediate; size in bytes."""

    kind: str
    size: int
    reg: int = 0
    addr: Value = 0
    imm: int = 0

    @property
    def bits(self) -> int:
        return self.size * 8


def loc(ctx: DisasContext, i: int, size: int | None = None) -> Loc:
    """Resolve operand i of the current instruction (its address is computed now)."""
    op = ctx.insn.operands[i]
    size = size or op.size
    if op.type == X.X86_OP_REG:
        return Loc("reg", size, reg=op.reg)
    if op.type == X.X86_OP_MEM:
        return Loc("mem", size, addr=address(ctx, op.mem))
    if op.type == X.X86_OP_IMM:
        return Loc("imm", size, imm=op.imm & SIZE_MASK[size])
    raise Unsupported("operand type")


def mem_loc(ctx: DisasContext, addr: Value, size: int) -> Loc:
    """A memory Loc at a computed address."""
    return Loc("mem", size, addr=addr)


def load(ctx: DisasContext, lc: Loc, signed: bool = False) -> Value:
    """The operand's value, zero-extended (or sign-extended with signed=True) to 32 bits."""
    if lc.kind == "mem":
        if lc.size not in SIZE_MASK:
            raise Unsupported(f"{lc.size}-byte memory operand")
        return ctx.b.ld(lc.addr, size=lc.size, signed=int(signed))
    if lc.kind == "imm":
        if signed and lc.size < 4 and lc.imm >> (lc.bits - 1):
            return (lc.imm - (1 << lc.bits)) & MASK32
        return lc.imm
    v = read_reg(ctx, lc.reg)
    if signed and lc.size < 4:
        return {1: ctx.b.ext8s, 2: ctx.b.ext16s}[lc.size](v)
    return v


def store(ctx: DisasContext, lc: Loc, v: Value) -> None:
    """Write the low `size` bytes of v to the operand."""
    if lc.kind == "mem":
        ctx.b.st(v, lc.addr, size=lc.size)
    elif lc.kind == "reg":
        write_reg(ctx, lc.reg, v)
    else:
        raise Unsupported("store to an immediate")


def read(ctx: DisasContext, i: int, size: int | None = None, signed: bool = False) -> Value:
    """Resolve and load operand i in one step."""
    return load(ctx, loc(ctx, i, size), signed)


def noperands(ctx: DisasContext) -> int:
    """How many explicit operands capstone reports."""
    return len(ctx.insn.operands)
