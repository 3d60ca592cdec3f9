"""Flags and machine instructions: pushf/popf, lahf/sahf, cld/std/clc/stc/cmc, cpuid (the model of
`aotc.guest.cpumodel`, computed in IR), rdtsc, the nop forms, and ud0/ud1/ud2 (SIGILL).
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType

from capstone import x86_const as X

from aotc.frontend.context import COND, DisasContext, Invalid
from aotc.frontend.operands import read_reg, write_reg
from aotc.frontend.stack import pop, push
from aotc.guest.cpu import EAX, EBX, ECX, EDX, EFLAGS_TF, OFF_DF, OFF_EFLAGS_MISC, OFF_EIP, ExitReason
from aotc.guest.cpumodel import CPUID_LEAVES, CPUID_MAX_BASIC
from aotc.ir.core import Value

ARITH_FLAGS = 0x8D5          # CF PF AF ZF SF OF
SAHF_FLAGS = 0xD5            # SF ZF AF PF CF: what lahf/sahf move through ah
EFLAGS_FIXED = 0x202         # IF and the always-one bit 1
EFLAGS_MISC_KEPT = EFLAGS_TF | (1 << 18) | (1 << 21)   # TF (single-step), and AC and ID for the cpuid probe
CF = 1



def gen_nop(ctx: DisasContext) -> None:
    """nop, nop r/m, pause, endbr32, prefetch hints: nothing (operands are not evaluated)."""


def gen_invalid(ctx: DisasContext) -> None:
    """ud0/ud1/ud2: #UD."""
    raise Invalid(ctx.insn.insn_name())


def _eflags(ctx: DisasContext) -> Value:
    """The arithmetic flags as EFLAGS bits."""
    return ctx.b.cc_to_eflags(ctx.ld_cc())


def _flags_size(ctx: DisasContext) -> int:
    """pushfd/popfd move 4 bytes; pushf/popf with an operand-size prefix move the low 2."""
    return 4 if ctx.insn.insn_name().endswith("d") else 2


def gen_pushf(ctx: DisasContext) -> None:
    """pushfd: arithmetic flags | DF | AC/ID | IF | bit 1 (pushf: the low 16 bits of that)."""
    b = ctx.b
    v = ctx.or_(_eflags(ctx), b.shl(b.ld_state(off=OFF_DF), 10))
    v = ctx.or_(ctx.or_(v, b.ld_state(off=OFF_EFLAGS_MISC)), EFLAGS_FIXED)
    push(ctx, v, _flags_size(ctx))


def gen_popf(ctx: DisasContext) -> None:
    """popfd: flags, DF and the kept TF/AC/ID bits from the stack (popf: the low 16 bits, TF among
    them; AC/ID stay). Setting TF leaves the TB: cpu_loop single-steps from the next instruction."""
    b = ctx.b
    size = _flags_size(ctx)
    v = pop(ctx, size)
    ctx.st_cc(b.eflags_to_cc(ctx.and_(v, ARITH_FLAGS)))
    b.st_state(ctx.and_(b.shr(v, 10), 1), off=OFF_DF)
    kept = EFLAGS_MISC_KEPT if size == 4 else EFLAGS_TF
    misc = ctx.or_(ctx.and_(v, kept), ctx.and_(b.ld_state(off=OFF_EFLAGS_MISC), EFLAGS_MISC_KEPT & ~kept))
    b.st_state(misc, off=OFF_EFLAGS_MISC)
    go_on = b.new_label()
    b.brcond(ctx.and_(misc, EFLAGS_TF), 0, cond=COND["eq"], label=go_on)
    b.st_state(ctx.next_pc, off=OFF_EIP)
    b.exit_tb(reason=ExitReason.JUMP)
    b.label(label=go_on)


def gen_lahf(ctx: DisasContext) -> None:
    """lahf: ah = SF ZF 0 AF 0 PF 1 CF."""
    v = ctx.or_(ctx.and_(_eflags(ctx), SAHF_FLAGS), 2)
    write_reg(ctx, X.X86_REG_AH, v)


def gen_sahf(ctx: DisasContext) -> None:
    """sahf: SF ZF AF PF CF from ah; OF is kept."""
    kept = ctx.and_(_eflags(ctx), ARITH_FLAGS & ~SAHF_FLAGS)
    new = ctx.or_(kept, ctx.and_(read_reg(ctx, X.X86_REG_AH), SAHF_FLAGS))
    ctx.st_cc(ctx.b.eflags_to_cc(new))


def _set_cf(ctx: DisasContext, change: Callable[[DisasContext, Value], Value]) -> None:
    ctx.st_cc(ctx.b.eflags_to_cc(change(ctx, _eflags(ctx))))


CARRY_OPS = MappingProxyType({
    "clc": lambda ctx, e: ctx.and_(e, ARITH_FLAGS & ~CF),
    "stc": lambda ctx, e: ctx.or_(e, CF),
    "cmc": lambda ctx, e: ctx.b.xor(e, CF),
})


def gen_carry(ctx: DisasContext) -> None:
    """clc / stc / cmc."""
    _set_cf(ctx, CARRY_OPS[ctx.insn.insn_name()])


def gen_df(ctx: DisasContext) -> None:
    """cld / std."""
    ctx.b.st_state(int(ctx.insn.insn_name() == "std"), off=OFF_DF)


def gen_cpuid(ctx: DisasContext) -> None:
    """cpuid from the CPUID_LEAVES table: a chain of movcond on eax per output register."""
    b = ctx.b
    leaf = ctx.ld_reg(EAX)
    default = CPUID_LEAVES[CPUID_MAX_BASIC]
    for i, r in enumerate((EAX, EBX, ECX, EDX)):
        v: Value = default[i]
        for n, regs in CPUID_LEAVES.items():
            if n != CPUID_MAX_BASIC:
                v = b.movcond(leaf, n, regs[i], v, cond=COND["eq"])
        ctx.st_reg(r, v)


def gen_rdtsc(ctx: DisasContext) -> None:
    """rdtsc: edx:eax = the host time stamp counter."""
    lo, hi = ctx.b.rdtsc()
    ctx.st_reg(EAX, lo)
    ctx.st_reg(EDX, hi)


# hints: nothing to do (the fences run on the host, see gen_simd)
NOPS = ("nop", "pause", "endbr32", "prefetchnta", "prefetcht0", "prefetcht1", "prefetcht2", "prefetchw")

HANDLERS: MappingProxyType[str, Callable[[DisasContext], None]] = MappingProxyType({
    **dict.fromkeys(NOPS, gen_nop),
    **dict.fromkeys(("ud0", "ud1", "ud2"), gen_invalid),
    "pushfd": gen_pushf,
    "pushf": gen_pushf,
    "popfd": gen_popf,
    "popf": gen_popf,
    "lahf": gen_lahf,
    "sahf": gen_sahf,
    **dict.fromkeys(CARRY_OPS, gen_carry),
    "cld": gen_df,
    "std": gen_df,
    "cpuid": gen_cpuid,
    "rdtsc": gen_rdtsc,
})
