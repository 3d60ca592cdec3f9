"""Integer arithmetic and logic: add/adc/sub/sbb/cmp/and/or/xor/test, inc/dec/neg/not, mul/imul/div/idiv
and the accumulator sign extensions (cbw/cwde/cwd/cdq). Each flag-setting form uses the `*_cc` op that
matches the guest instruction exactly and stores its flags value.
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType

from capstone import x86_const as X

from aotc.frontend.context import DisasContext
from aotc.frontend.operands import load, loc, noperands, read, read_reg, store, write_reg

ACC = MappingProxyType({1: X.X86_REG_AL, 2: X.X86_REG_AX, 4: X.X86_REG_EAX})
DATA = MappingProxyType({2: X.X86_REG_DX, 4: X.X86_REG_EDX})

# mnemonic -> (cc op, writes the destination, takes the incoming flags)
BINOPS = MappingProxyType({
    "add": ("add_cc", True, False),
    "adc": ("adc_cc", True, True),
    "sub": ("sub_cc", True, False),
    "sbb": ("sbb_cc", True, True),
    "cmp": ("sub_cc", False, False),
    "and": ("and_cc", True, False),
    "or": ("or_cc", True, False),
    "xor": ("xor_cc", True, False),
    "test": ("and_cc", False, False),
})


def gen_binop(ctx: DisasContext) -> None:
    """dst op= src with flags; cmp and test only set flags."""
    opname, writes, uses_fi = BINOPS[ctx.insn.insn_name()]
    dst = loc(ctx, 0)
    a = load(ctx, dst)
    src = read(ctx, 1, size=dst.size)
    ins = [a, src, ctx.ld_cc()] if uses_fi else [a, src]
    d, f = ctx.b.emit(opname, ins, w=dst.bits)
    if writes:
        store(ctx, dst, d)
    ctx.st_cc(f)


def gen_incdec(ctx: DisasContext) -> None:
    """inc/dec: CF is kept from the incoming flags."""
    dst = loc(ctx, 0)
    d, f = ctx.b.emit(ctx.insn.insn_name() + "_cc", [load(ctx, dst), ctx.ld_cc()], w=dst.bits)
    store(ctx, dst, d)
    ctx.st_cc(f)


def gen_neg(ctx: DisasContext) -> None:
    """neg: two's complement with flags."""
    dst = loc(ctx, 0)
    d, f = ctx.b.neg_cc(load(ctx, dst), w=dst.bits)
    store(ctx, dst, d)
    ctx.st_cc(f)


def gen_not(ctx: DisasContext) -> None:
    """not: no flags."""
    dst = loc(ctx, 0)
    store(ctx, dst, ctx.not_(load(ctx, dst)))


def _write_pair(ctx: DisasContext, size: int, lo, hi) -> None:
    """Write a double-width result: ah:al, dx:ax or edx:eax."""
    if size == 1:
        write_reg(ctx, X.X86_REG_AX, ctx.b.deposit(lo, hi, pos=8, len=8))
    else:
        write_reg(ctx, ACC[size], lo)
        write_reg(ctx, DATA[size], hi)


def _read_pair(ctx: DisasContext, size: int):
    """Read a double-width dividend as (hi, lo): ah:al, dx:ax or edx:eax."""
    if size == 1:
        ax = read_reg(ctx, X.X86_REG_AX)
        return ctx.b.shr(ax, 8), ctx.b.ext8u(ax)
    return read_reg(ctx, DATA[size]), read_reg(ctx, ACC[size])


def gen_mul(ctx: DisasContext) -> None:
    """mul/imul with one operand (widening into ah:al, dx:ax, edx:eax); 2- and 3-operand imul truncate."""
    name = ctx.insn.insn_name()
    n = noperands(ctx)
    if n == 1:
        src = loc(ctx, 0)
        lo, hi, f = ctx.b.emit(name + "_cc", [read_reg(ctx, ACC[src.size]), load(ctx, src), ctx.ld_cc()],
                               w=src.bits)
        _write_pair(ctx, src.size, lo, hi)
    else:
        dst = loc(ctx, 0)
        a = read(ctx, n - 2, size=dst.size)
        bv = read(ctx, n - 1, size=dst.size)
        d, f = ctx.b.imul2_cc(a, bv, ctx.ld_cc(), w=dst.bits)
        store(ctx, dst, d)
    ctx.st_cc(f)


def gen_div(ctx: DisasContext) -> None:
    """div/idiv: quotient and remainder of the double-width accumulator, and the flags the CPU leaves."""
    src = loc(ctx, 0)
    divisor = load(ctx, src)
    hi, lo = _read_pair(ctx, src.size)
    name = "divu" if ctx.insn.insn_name() == "div" else "divs"
    q, r, f = ctx.b.emit(name, [hi, lo, divisor, ctx.ld_cc()], w=src.bits)
    _write_pair(ctx, src.size, q, r)
    ctx.st_cc(f)


def gen_cbw(ctx: DisasContext) -> None:
    """cbw / cwde: sign-extend the low half of the accumulator into all of it."""
    if ctx.insn.insn_name() == "cbw":
        write_reg(ctx, X.X86_REG_AX, ctx.b.ext8s(read_reg(ctx, X.X86_REG_AL)))
    else:
        write_reg(ctx, X.X86_REG_EAX, ctx.b.ext16s(read_reg(ctx, X.X86_REG_AX)))


def gen_cwd(ctx: DisasContext) -> None:
    """cwd / cdq: fill dx / edx with the accumulator's sign."""
    if ctx.insn.insn_name() == "cwd":
        write_reg(ctx, X.X86_REG_DX, ctx.b.sar(ctx.b.ext16s(read_reg(ctx, X.X86_REG_AX)), 15))
    else:
        write_reg(ctx, X.X86_REG_EDX, ctx.b.sar(read_reg(ctx, X.X86_REG_EAX), 31))


HANDLERS: MappingProxyType[str, Callable[[DisasContext], None]] = MappingProxyType({
    **{name: gen_binop for name in BINOPS},
    "inc": gen_incdec,
    "dec": gen_incdec,
    "neg": gen_neg,
    "not": gen_not,
    "mul": gen_mul,
    "imul": gen_mul,
    "div": gen_div,
    "idiv": gen_div,
    "cbw": gen_cbw,
    "cwde": gen_cbw,
    "cwd": gen_cwd,
    "cdq": gen_cwd,
})
