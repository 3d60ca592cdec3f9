"""Guest operand access: capstone registers (incl. 8/16-bit partial registers), effective addresses with
fs:/gs: segment bases, and a resolved `Loc` that a read-modify-write instruction loads and stores once.
"""

from __future__ import annotations

from dataclasses import dataclass

from capstone import x86_const as X

from aotc.frontend.context import MASK32, DisasContext, Unsupported
from aotc.guest.cpu import FS, GPR_NAMES, GS, SEG_BASE_OFFSETS, SEG_NAMES
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
BASED_SEGS = {X.X86_REG_FS: FS, X.X86_REG_GS: GS}
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


def address(ctx: DisasContext, mem, with_segment: bool = True) -> Value:
    """The effective address of a capstone memory operand, plus the fs/gs base when overridden."""
    if ctx.insn.prefix[3] == 0x67:
        raise Unsupported("16-bit addressing")
    b = ctx.b
    parts: list[Value] = []
    if mem.base:
        parts.append(read_reg(ctx, mem.base))
    if mem.index:
        idx = read_reg(ctx, mem.index)
        parts.append(b.shl(idx, mem.scale.bit_length() - 1) if mem.scale > 1 else idx)
    if with_segment and mem.segment in BASED_SEGS:
        parts.append(b.ld_state(off=SEG_BASE_OFFSETS[BASED_SEGS[mem.segment]]))
    disp = mem.disp & MASK32
    if not parts:
        return disp
    acc = parts[0]
    for p in parts[1:]:
        acc = b.add(acc, p)
    return b.add(acc, disp) if disp else acc


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
