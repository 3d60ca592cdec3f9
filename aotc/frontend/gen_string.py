"""String instructions movs/stos/lods/cmps/scas in sizes b/w/d, with rep/repe/repne as a loop inside the
TB: a zero count does nothing, the index registers step by ±size as df says, the count goes down after
every iteration, and repe/repne leave early on ZF. The address size picks the registers: esi/edi/ecx,
or with 16-bit addressing si/di/cx (wrapping at 64 KiB, the high halves kept). The source (ds:esi)
takes a segment override; the destination is always es:edi.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType

from capstone import x86_const as X

from aotc.frontend.context import COND, DisasContext, Unsupported
from aotc.frontend.operands import in_segment, read_reg, segment_of, write_reg
from aotc.guest.cpu import OFF_DF, OFF_EIP, ExitReason
from aotc.ir.core import Value
from aotc.ir.ops import CC_NAMES

ACC = MappingProxyType({1: X.X86_REG_AL, 2: X.X86_REG_AX, 4: X.X86_REG_EAX})
SUFFIX_SIZE = MappingProxyType({"b": 1, "w": 2, "d": 4})
# repe leaves when ZF=0 ("ne"), repne when ZF=1 ("e")
REP_EXIT_CC = MappingProxyType({0xF3: CC_NAMES.index("ne"), 0xF2: CC_NAMES.index("e")})


@dataclass(frozen=True)
class StringRegs:
    """The source index, destination index and count registers of one address size."""

    src: int
    dst: int
    count: int


STRING_REGS = MappingProxyType({
    4: StringRegs(X.X86_REG_ESI, X.X86_REG_EDI, X.X86_REG_ECX),
    2: StringRegs(X.X86_REG_SI, X.X86_REG_DI, X.X86_REG_CX),
})


def _regs(ctx: DisasContext) -> StringRegs:
    return STRING_REGS[ctx.addrsize]


def _step(ctx: DisasContext, size: int) -> Value:
    """+size when df = 0, -size when df = 1."""
    df = ctx.b.ld_state(off=OFF_DF)
    return ctx.b.sub(size, ctx.b.shl(df, size.bit_length()))


def _src_addr(ctx: DisasContext) -> tuple[Value, Value]:
    """(the source index, the address the source is read from: in ds or the override's segment)."""
    reg = _regs(ctx).src
    si = read_reg(ctx, reg)
    return si, in_segment(ctx, segment_of(ctx, reg), si)


def _dst_addr(ctx: DisasContext) -> tuple[Value, Value]:
    """(the destination index, the address the destination is at: always in es)."""
    di = read_reg(ctx, _regs(ctx).dst)
    return di, in_segment(ctx, segment_of(ctx, string_dst=True), di)


def _advance(ctx: DisasContext, reg: int, v: Value, size: int) -> None:
    """Step an index register (its low word alone for 16-bit addressing)."""
    write_reg(ctx, reg, ctx.b.add(v, _step(ctx, size)))


def _movs(ctx: DisasContext, size: int) -> None:
    si, src = _src_addr(ctx)
    di, dst = _dst_addr(ctx)
    ctx.b.st(ctx.b.ld(src, size=size, signed=0), dst, size=size)
    _advance(ctx, _regs(ctx).src, si, size)
    _advance(ctx, _regs(ctx).dst, di, size)


def _stos(ctx: DisasContext, size: int) -> None:
    di, dst = _dst_addr(ctx)
    ctx.b.st(read_reg(ctx, ACC[size]), dst, size=size)
    _advance(ctx, _regs(ctx).dst, di, size)


def _lods(ctx: DisasContext, size: int) -> None:
    si, src = _src_addr(ctx)
    write_reg(ctx, ACC[size], ctx.b.ld(src, size=size, signed=0))
    _advance(ctx, _regs(ctx).src, si, size)


def _cmps(ctx: DisasContext, size: int) -> None:
    si, src = _src_addr(ctx)
    di, dst = _dst_addr(ctx)
    a = ctx.b.ld(src, size=size, signed=0)
    _, f = ctx.b.sub_cc(a, ctx.b.ld(dst, size=size, signed=0), w=size * 8)
    ctx.st_cc(f)
    _advance(ctx, _regs(ctx).src, si, size)
    _advance(ctx, _regs(ctx).dst, di, size)


def _scas(ctx: DisasContext, size: int) -> None:
    di, dst = _dst_addr(ctx)
    _, f = ctx.b.sub_cc(read_reg(ctx, ACC[size]), ctx.b.ld(dst, size=size, signed=0), w=size * 8)
    ctx.st_cc(f)
    _advance(ctx, _regs(ctx).dst, di, size)


BODIES = MappingProxyType({"movs": _movs, "stos": _stos, "lods": _lods, "cmps": _cmps, "scas": _scas})
STRING_OPCODES = (0xA4, 0xAF)  # movsd/cmpsd share their names with SSE instructions outside this range
COMPARES = frozenset({"cmps", "scas"})


def gen_string(ctx: DisasContext) -> None:
    """One string instruction, or with a rep prefix a loop: test the count, body, count -= 1, (ZF exit),
    repeat (in a single-instruction TB: once, leaving eip at the instruction while it has more to do)."""
    name = ctx.insn.insn_name()
    if not STRING_OPCODES[0] <= ctx.insn.opcode[0] <= STRING_OPCODES[1]:
        raise Unsupported(f"SSE {name}")
    kind, size = name[:-1], SUFFIX_SIZE[name[-1]]
    body = BODIES[kind]
    rep = ctx.prefix_rep
    if rep not in (0xF3, 0xF2):
        body(ctx, size)
        return
    b = ctx.b
    done, top = b.new_label(), b.new_label()
    count = _regs(ctx).count
    b.brcond(read_reg(ctx, count), 0, cond=COND["eq"], label=done)
    b.label(label=top)
    body(ctx, size)
    left = b.sub(read_reg(ctx, count), 1)
    write_reg(ctx, count, left)
    if ctx.addrsize == 2:
        left = b.ext16u(left)
    if kind in COMPARES:
        b.brcc(ctx.ld_cc(), cc=REP_EXIT_CC[rep], label=done)
    if ctx.single:                  # one iteration, then back to this instruction (a single-step trap)
        b.brcond(left, 0, cond=COND["eq"], label=done)
        b.st_state(ctx.pc, off=OFF_EIP)
        b.exit_tb(reason=ExitReason.JUMP)
    else:
        b.brcond(left, 0, cond=COND["ne"], label=top)
    b.label(label=done)


def _string_names() -> list[str]:
    return [kind + suffix for kind in BODIES for suffix in SUFFIX_SIZE]


HANDLERS: MappingProxyType[str, Callable[[DisasContext], None]] = MappingProxyType(
    dict.fromkeys(_string_names(), gen_string))
