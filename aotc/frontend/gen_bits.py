"""Shifts, rotates and bit operations: shl/sal/shr/sar/rol/ror/rcl/rcr by 1, imm or cl, shld/shrd,
bt/bts/btr/btc, bsf/bsr. The CPU masks a count to 5 bits and a zero masked count changes nothing but
still writes a memory operand back: a constant zero count emits only that rewrite, a variable count
passes the incoming flags as `fi`.
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType

from capstone import x86_const as X

from aotc.frontend.context import DisasContext
from aotc.frontend.operands import Loc, address, load, loc, read, store
from aotc.ir.core import Value

SHIFT_OPS = MappingProxyType({
    "shl": "shl_cc", "sal": "shl_cc", "shr": "shr_cc", "sar": "sar_cc",
    "rol": "rol_cc", "ror": "ror_cc", "rcl": "rcl_cc", "rcr": "rcr_cc",
})
FI_OPTIONAL = frozenset({"shl_cc", "shr_cc", "sar_cc", "shld_cc", "shrd_cc"})


def _count(ctx: DisasContext, i: int, opname: str) -> tuple[Value, Value | None] | None:
    """(count, fi) for operand i, or None when the count is the constant 0 (the insn does nothing)."""
    op = ctx.insn.operands[i]
    if op.type == X.X86_OP_IMM:
        cnt = op.imm & 31
        if cnt == 0:
            return None
        return cnt, None if opname in FI_OPTIONAL else ctx.ld_cc()
    return ctx.and_(read(ctx, i), 31), ctx.ld_cc()


def _rewrite_unchanged(ctx: DisasContext, dst: Loc) -> None:
    """A zero count still reads and writes a memory operand (it faults on a read-only page)."""
    if dst.kind == "mem":
        store(ctx, dst, load(ctx, dst))


def gen_shift(ctx: DisasContext) -> None:
    """shl/sal/shr/sar/rol/ror/rcl/rcr r/m, 1|imm8|cl."""
    opname = SHIFT_OPS[ctx.insn.insn_name()]
    counted = _count(ctx, 1, opname)
    dst = loc(ctx, 0)
    if counted is None:
        _rewrite_unchanged(ctx, dst)
        return
    cnt, fi = counted
    d, f = ctx.b.emit(opname, [load(ctx, dst), cnt, fi], w=dst.bits)
    store(ctx, dst, d)
    ctx.st_cc(f)


def gen_shd(ctx: DisasContext) -> None:
    """shld/shrd r/m, r, imm8|cl."""
    opname = ctx.insn.insn_name() + "_cc"
    counted = _count(ctx, 2, opname)
    dst = loc(ctx, 0)
    if counted is None:
        _rewrite_unchanged(ctx, dst)
        return
    cnt, fi = counted
    d, f = ctx.b.emit(opname, [load(ctx, dst), read(ctx, 1), cnt, fi], w=dst.bits)
    store(ctx, dst, d)
    ctx.st_cc(f)


def _bit_operand(ctx: DisasContext) -> tuple[Loc, Value]:
    """The operand holding the bit and the bit number within it.

    With a memory operand and a register offset the address moves by whole operand-size units, signed,
    computed on the full register offset (as the CPU does) and added to the effective address, so
    that with 16-bit addressing the sum wraps at 64 KiB before the segment base is added.
    """
    op = ctx.insn.operands[0]
    w = op.size * 8
    if ctx.insn.operands[1].type == X.X86_OP_IMM:
        return loc(ctx, 0), ctx.insn.operands[1].imm & (w - 1)
    off = read(ctx, 1, signed=True)
    if op.type != X.X86_OP_MEM:
        return loc(ctx, 0), ctx.and_(off, w - 1)
    shift = w.bit_length() - 1
    moved = ctx.b.shl(ctx.b.sar(off, shift), shift - 3)
    return Loc("mem", op.size, addr=address(ctx, op.mem, extra=moved)), ctx.and_(off, w - 1)


def gen_bt(ctx: DisasContext) -> None:
    """bt/bts/btr/btc: CF = the bit; bts/btr/btc also set/clear/flip it."""
    name = ctx.insn.insn_name()
    dst, bit = _bit_operand(ctx)
    a = load(ctx, dst)
    if name == "bt":
        ctx.st_cc(ctx.b.bt_cc(a, bit, ctx.ld_cc(), w=dst.bits))
        return
    d, f = ctx.b.emit(name + "_cc", [a, bit, ctx.ld_cc()], w=dst.bits)
    store(ctx, dst, d)
    ctx.st_cc(f)


def gen_bscan(ctx: DisasContext) -> None:
    """bsf/bsr (and tzcnt, which runs as bsf on CPUs without BMI1 — we do not advertise it)."""
    opname = "bsr_cc" if ctx.insn.insn_name() == "bsr" else "bsf_cc"
    dst = loc(ctx, 0)
    src = read(ctx, 1)
    d, f = ctx.b.emit(opname, [load(ctx, dst), src, ctx.ld_cc()], w=dst.bits)
    store(ctx, dst, d)
    ctx.st_cc(f)


HANDLERS: MappingProxyType[str, Callable[[DisasContext], None]] = MappingProxyType({
    **dict.fromkeys(SHIFT_OPS, gen_shift),
    "shld": gen_shd,
    "shrd": gen_shd,
    **dict.fromkeys(("bt", "bts", "btr", "btc"), gen_bt),
    **dict.fromkeys(("bsf", "bsr", "tzcnt"), gen_bscan),
})
