"""The legacy one-byte-map instructions: the BCD adjustments daa/das/aaa/aas/aam/aad, salc and arpl,
all in inline IR.

x86 leaves some of their flags undefined; what is computed here is what this CPU (an AMD EPYC) leaves,
measured natively over every AX and every incoming CF PF AF ZF SF OF (aam/aad: every imm8 too):

- daa/das: AL +/- adj (adj = 6 if AL's low nibble > 9 or AF, plus 0x60 if AL > 0x99 or CF) sets SF ZF
  PF and OF as the 8-bit add/sub of adj does; AF = the low-nibble condition; CF = the high one, or the
  borrow of that sub (das).
- aaa/aas: AX +/- 0x106 as one 16-bit add/sub (AH gets AL's carry or borrow too), or AX + 0 when the
  low-nibble condition does not hold; SF ZF PF OF are that 16-bit add/sub's, taken before AL is masked
  to its low nibble; CF = AF = the condition.
- aam: SF ZF PF from the new AL; CF = AF = OF = 0. aam 0 raises #DE (SIGFPE, FPE_INTDIV at aam).
- aad: the flags of the 8-bit add AL + (AH * imm8 mod 256), all six of them.
- salc and arpl change no flag but arpl's ZF; arpl writes its memory operand only when it adjusts the
  RPL (it does not fault on a read-only page otherwise). None of them takes a lock prefix (#UD).
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType

from capstone import x86_const as X

from aotc.frontend.context import COND, DisasContext, Invalid
from aotc.frontend.operands import load, loc, read, read_reg, store, write_reg
from aotc.ir.core import Value
from aotc.ir.ops import CC_NAMES

CF, AF, ZF = 0x1, 0x10, 0x40
SZP = 0xC4                    # SF ZF PF: what aam defines
RPL = 3                       # a selector's requested privilege level bits
LOCK = 0xF0
CC_B = CC_NAMES.index("b")    # setcc condition: CF set

# daa/das and aaa/aas: mnemonic -> the cc op that applies the adjustment
DECIMAL_OPS = MappingProxyType({"daa": "add_cc", "das": "sub_cc"})
ASCII_OPS = MappingProxyType({"aaa": "add_cc", "aas": "sub_cc"})
DECIMAL_LOW, DECIMAL_HIGH = 0x06, 0x60     # daa/das: AL's adjustment for each nibble
ASCII_ADJUST = 0x106                        # aaa/aas: AX's adjustment (AL +/- 6, AH +/- 1)
ASCII_KEEP = 0xFF0F                         # aaa/aas keep AH and AL's low nibble


def _no_lock(ctx: DisasContext) -> None:
    """A lock prefix on any of these is #UD."""
    if ctx.prefix_rep == LOCK:
        raise Invalid(f"lock {ctx.insn.insn_name()}")


def _imm8(ctx: DisasContext) -> int:
    """aam/aad's base: the instruction's last byte (capstone drops a default 10 from op_str only)."""
    return ctx.insn.bytes[-1]


def _cf_af_in(ctx: DisasContext) -> tuple[Value, Value]:
    """The incoming CF and AF as 0/1."""
    e = ctx.b.cc_to_eflags(ctx.ld_cc())
    return ctx.and_(e, 1), ctx.and_(ctx.b.shr(e, 4), 1)


def _low_nibble_adjusts(ctx: DisasContext, al: Value, af: Value) -> Value:
    """1 if AL's low nibble is above 9 or AF is set: the condition every BCD adjustment tests."""
    return ctx.or_(ctx.b.setcond(ctx.and_(al, 0xF), 9, cond=COND["gtu"]), af)


def _store_flags(ctx: DisasContext, f: Value, cf: Value, af: Value) -> None:
    """The flags of `f` but CF and AF, which become cf and af (0/1)."""
    b = ctx.b
    e = ctx.and_(b.cc_to_eflags(f), ~(CF | AF) & 0xFFFFFFFF)
    ctx.st_cc(b.eflags_to_cc(ctx.or_(e, ctx.or_(cf, b.shl(af, 4)))))


def gen_decimal(ctx: DisasContext) -> None:
    """daa/das: adjust AL after a packed-BCD add/sub, as one 8-bit add/sub of the adjustment."""
    _no_lock(ctx)
    b = ctx.b
    al = read_reg(ctx, X.X86_REG_AL)
    cf, af = _cf_af_in(ctx)
    low = _low_nibble_adjusts(ctx, al, af)
    high = ctx.or_(b.setcond(al, 0x99, cond=COND["gtu"]), cf)
    adj = ctx.or_(b.mul(low, DECIMAL_LOW), b.mul(high, DECIMAL_HIGH))
    d, f = b.emit(DECIMAL_OPS[ctx.insn.insn_name()], [al, adj], w=8)
    write_reg(ctx, X.X86_REG_AL, d)
    _store_flags(ctx, f, ctx.or_(high, b.setcc(f, cc=CC_B)), low)


def gen_ascii(ctx: DisasContext) -> None:
    """aaa/aas: adjust AX after an unpacked-BCD add/sub, as one 16-bit add/sub of 0x106 (or of 0)."""
    _no_lock(ctx)
    b = ctx.b
    ax = read_reg(ctx, X.X86_REG_AX)
    _cf, af = _cf_af_in(ctx)
    low = _low_nibble_adjusts(ctx, b.ext8u(ax), af)
    d, f = b.emit(ASCII_OPS[ctx.insn.insn_name()], [ax, b.mul(low, ASCII_ADJUST)], w=16)
    write_reg(ctx, X.X86_REG_AX, ctx.and_(d, ASCII_KEEP))
    _store_flags(ctx, f, low, low)


def _reciprocal(base: int) -> int:
    """m with (n * m) >> 16 == n // base for every byte n: ceil(2^16 / base) errs by under 1/256."""
    return -(-0x10000 // base)


def gen_aam(ctx: DisasContext) -> None:
    """aam imm8: AH = AL / imm8, AL = AL mod imm8 (a multiply by the reciprocal); aam 0 divides by 0,
    on the host too, which raises #DE where the kernel would: SIGFPE, FPE_INTDIV, eip at the aam."""
    _no_lock(ctx)
    b = ctx.b
    base = _imm8(ctx)
    al = read_reg(ctx, X.X86_REG_AL)
    if base == 0:
        b.divu(0, al, 0, ctx.ld_cc(), w=8)
        return
    q = b.shr(b.mul(al, _reciprocal(base)), 16)
    r = b.sub(al, b.mul(q, base))
    write_reg(ctx, X.X86_REG_AX, ctx.or_(b.shl(q, 8), r))
    _, f = b.and_cc(r, r, w=8)
    ctx.st_cc(b.eflags_to_cc(ctx.and_(b.cc_to_eflags(f), SZP)))


def gen_aad(ctx: DisasContext) -> None:
    """aad imm8: AL = AL + AH * imm8 (mod 256) with that 8-bit add's flags, AH = 0."""
    _no_lock(ctx)
    b = ctx.b
    ax = read_reg(ctx, X.X86_REG_AX)
    product = ctx.and_(b.mul(b.shr(ax, 8), _imm8(ctx)), 0xFF)
    d, f = b.add_cc(b.ext8u(ax), product, w=8)
    write_reg(ctx, X.X86_REG_AX, d)
    ctx.st_cc(f)


def gen_salc(ctx: DisasContext) -> None:
    """salc (0xd6): AL = 0xff if CF else 0; no flag changes."""
    _no_lock(ctx)
    write_reg(ctx, X.X86_REG_AL, ctx.b.neg(ctx.b.setcc(ctx.ld_cc(), cc=CC_B)))


def gen_arpl(ctx: DisasContext) -> None:
    """arpl r/m16, r16: if the destination selector's RPL is below the source's, raise it to that and
    set ZF, else clear ZF and leave the destination unwritten. The flags change after the store, so a
    faulting store leaves them as they were."""
    _no_lock(ctx)
    b = ctx.b
    dst = loc(ctx, 0, size=2)
    sel = load(ctx, dst)
    src_rpl = ctx.and_(read(ctx, 1, size=2), RPL)
    adjusts = b.setcond(ctx.and_(sel, RPL), src_rpl, cond=COND["ltu"])
    flags = ctx.or_(ctx.and_(b.cc_to_eflags(ctx.ld_cc()), ~ZF & 0xFFFFFFFF), b.shl(adjusts, 6))
    kept = b.new_label()
    b.brcond(adjusts, 0, cond=COND["eq"], label=kept)
    store(ctx, dst, ctx.or_(ctx.and_(sel, ~RPL & 0xFFFFFFFF), src_rpl))
    b.label(label=kept)
    ctx.st_cc(b.eflags_to_cc(flags))


HANDLERS: MappingProxyType[str, Callable[[DisasContext], None]] = MappingProxyType({
    **dict.fromkeys(DECIMAL_OPS, gen_decimal),
    **dict.fromkeys(ASCII_OPS, gen_ascii),
    "aam": gen_aam,
    "aad": gen_aad,
    "salc": gen_salc,
    "arpl": gen_arpl,
})
