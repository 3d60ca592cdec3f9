"""String instructions movs/stos/lods/cmps/scas in sizes b/w/d, with rep/repe/repne as a loop inside the
TB: ecx == 0 does nothing, esi/edi step by ±size as df says, ecx counts down after every iteration, and
repe/repne leave early on ZF. The source (ds:esi) takes an fs:/gs: override; es:edi never does.
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType

from capstone import x86_const as X

from aotc.frontend.context import COND, DisasContext, Unsupported
from aotc.frontend.operands import BASED_SEGS, read_reg, write_reg
from aotc.guest.cpu import ECX, EDI, ESI, OFF_DF, SEG_BASE_OFFSETS
from aotc.ir.core import Value
from aotc.ir.ops import CC_NAMES

ACC = MappingProxyType({1: X.X86_REG_AL, 2: X.X86_REG_AX, 4: X.X86_REG_EAX})
SUFFIX_SIZE = MappingProxyType({"b": 1, "w": 2, "d": 4})
# repe leaves when ZF=0 ("ne"), repne when ZF=1 ("e")
REP_EXIT_CC = MappingProxyType({0xF3: CC_NAMES.index("ne"), 0xF2: CC_NAMES.index("e")})


def _step(ctx: DisasContext, size: int) -> Value:
    """+size when df = 0, -size when df = 1."""
    df = ctx.b.ld_state(off=OFF_DF)
    return ctx.b.sub(size, ctx.b.shl(df, size.bit_length()))


def _src_addr(ctx: DisasContext) -> tuple[Value, Value]:
    """(esi, the address the source is read from: esi plus an fs/gs base)."""
    esi = ctx.ld_reg(ESI)
    segs = [op.mem.segment for op in ctx.insn.operands
            if op.type == X.X86_OP_MEM and op.mem.base == X.X86_REG_ESI]
    if segs and segs[0] in BASED_SEGS:
        return esi, ctx.b.add(esi, ctx.b.ld_state(off=SEG_BASE_OFFSETS[BASED_SEGS[segs[0]]]))
    return esi, esi


def _advance(ctx: DisasContext, r: int, v: Value, size: int) -> None:
    ctx.st_reg(r, ctx.b.add(v, _step(ctx, size)))


def _movs(ctx: DisasContext, size: int) -> None:
    esi, src = _src_addr(ctx)
    edi = ctx.ld_reg(EDI)
    ctx.b.st(ctx.b.ld(src, size=size, signed=0), edi, size=size)
    _advance(ctx, ESI, esi, size)
    _advance(ctx, EDI, edi, size)


def _stos(ctx: DisasContext, size: int) -> None:
    edi = ctx.ld_reg(EDI)
    ctx.b.st(read_reg(ctx, ACC[size]), edi, size=size)
    _advance(ctx, EDI, edi, size)


def _lods(ctx: DisasContext, size: int) -> None:
    esi, src = _src_addr(ctx)
    write_reg(ctx, ACC[size], ctx.b.ld(src, size=size, signed=0))
    _advance(ctx, ESI, esi, size)


def _cmps(ctx: DisasContext, size: int) -> None:
    esi, src = _src_addr(ctx)
    edi = ctx.ld_reg(EDI)
    a = ctx.b.ld(src, size=size, signed=0)
    _, f = ctx.b.sub_cc(a, ctx.b.ld(edi, size=size, signed=0), w=size * 8)
    ctx.st_cc(f)
    _advance(ctx, ESI, esi, size)
    _advance(ctx, EDI, edi, size)


def _scas(ctx: DisasContext, size: int) -> None:
    edi = ctx.ld_reg(EDI)
    _, f = ctx.b.sub_cc(read_reg(ctx, ACC[size]), ctx.b.ld(edi, size=size, signed=0), w=size * 8)
    ctx.st_cc(f)
    _advance(ctx, EDI, edi, size)


BODIES = MappingProxyType({"movs": _movs, "stos": _stos, "lods": _lods, "cmps": _cmps, "scas": _scas})
STRING_OPCODES = (0xA4, 0xAF)  # movsd/cmpsd share their names with SSE instructions outside this range
COMPARES = frozenset({"cmps", "scas"})


def gen_string(ctx: DisasContext) -> None:
    """One string instruction, or with a rep prefix a loop: test ecx, body, ecx -= 1, (ZF exit), repeat."""
    name = ctx.insn.insn_name()
    if not STRING_OPCODES[0] <= ctx.insn.opcode[0] <= STRING_OPCODES[1]:
        raise Unsupported(f"SSE {name}")
    if ctx.insn.prefix[3] == 0x67:
        raise Unsupported("string op on si/di/cx")
    kind, size = name[:-1], SUFFIX_SIZE[name[-1]]
    body = BODIES[kind]
    rep = ctx.prefix_rep
    if rep not in (0xF3, 0xF2):
        body(ctx, size)
        return
    b = ctx.b
    done, top = b.new_label(), b.new_label()
    b.brcond(ctx.ld_reg(ECX), 0, cond=COND["eq"], label=done)
    b.label(label=top)
    body(ctx, size)
    ecx = b.sub(ctx.ld_reg(ECX), 1)
    ctx.st_reg(ECX, ecx)
    if kind in COMPARES:
        b.brcc(ctx.ld_cc(), cc=REP_EXIT_CC[rep], label=done)
    b.brcond(ecx, 0, cond=COND["ne"], label=top)
    b.label(label=done)


def _string_names() -> list[str]:
    return [kind + suffix for kind in BODIES for suffix in SUFFIX_SIZE]


HANDLERS: MappingProxyType[str, Callable[[DisasContext], None]] = MappingProxyType(
    dict.fromkeys(_string_names(), gen_string))
