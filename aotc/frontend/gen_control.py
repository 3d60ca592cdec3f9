"""Control transfer: jmp/jcc/call/ret, loop/loope/loopne/jecxz, and the instructions that leave the TB
for cpu_loop (int 0x80, int3, int N, hlt, cli/sti, in/out). Direct targets use goto_tb (jcc: slot 0
taken, slot 1 fall-through); indirect ones store eip and exit with JUMP.
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType

from capstone import x86_const as X

from aotc.frontend.context import COND, DisasContext, Unsupported
from aotc.frontend.gen_mov import cond_code
from aotc.frontend.operands import read
from aotc.frontend.stack import pop, push
from aotc.guest.cpu import ECX, ESP, ExitReason
from aotc.ir.core import Value
from aotc.ir.ops import CC_NAMES


def _direct_target(ctx: DisasContext) -> int | None:
    """The target of a direct (immediate) branch, or None for reg/mem targets."""
    op = ctx.insn.operands[0]
    if op.type != X.X86_OP_IMM:
        return None
    if ctx.opsize != 4:
        raise Unsupported("16-bit branch")
    return op.imm & 0xFFFFFFFF


def _branch(ctx: DisasContext, emit_taken_test: Callable[[object], None], target: int) -> None:
    """End the TB with a two-way branch: `emit_taken_test(label)` branches to label when taken."""
    taken = ctx.b.new_label()
    emit_taken_test(taken)
    ctx.goto_tb(1, ctx.next_pc)
    ctx.b.label(label=taken)
    ctx.goto_tb(0, target)


def gen_jmp(ctx: DisasContext) -> None:
    """jmp rel / jmp r/m32."""
    target = _direct_target(ctx)
    if target is None:
        ctx.exit_jump(read(ctx, 0))
    else:
        ctx.goto_tb(0, target)


def gen_jcc(ctx: DisasContext) -> None:
    """jcc rel: brcc on the flags value."""
    cc = cond_code(ctx, "j")
    target = _direct_target(ctx)
    f = ctx.ld_cc()
    _branch(ctx, lambda lab: ctx.b.brcc(f, cc=cc, label=lab), target)


def gen_call(ctx: DisasContext) -> None:
    """call rel / call r/m32: the target is read before the return address is pushed."""
    target = _direct_target(ctx)
    dyn: Value | None = None if target is not None else read(ctx, 0)
    push(ctx, ctx.next_pc)
    if dyn is None:
        ctx.goto_tb(0, target)
    else:
        ctx.exit_jump(dyn)


def gen_ret(ctx: DisasContext) -> None:
    """ret / ret imm16 (rep/bnd prefixes are ignored)."""
    if ctx.opsize != 4:
        raise Unsupported("16-bit ret")
    target = pop(ctx)
    if ctx.insn.operands:
        ctx.st_reg(ESP, ctx.b.add(ctx.ld_reg(ESP), ctx.insn.operands[0].imm & 0xFFFF))
    ctx.exit_jump(target)


LOOP_EXIT_CC = MappingProxyType({"loop": None, "loope": CC_NAMES.index("ne"), "loopne": CC_NAMES.index("e")})


def gen_loop(ctx: DisasContext) -> None:
    """loop/loope/loopne: ecx -= 1 (no flags), taken while ecx != 0 (and ZF as asked)."""
    if ctx.insn.prefix[3] == 0x67:
        raise Unsupported("loop on cx")
    target = _direct_target(ctx)
    ecx = ctx.b.sub(ctx.ld_reg(ECX), 1)
    ctx.st_reg(ECX, ecx)
    exit_cc = LOOP_EXIT_CC[ctx.insn.insn_name()]
    fall = ctx.b.new_label()
    ctx.b.brcond(ecx, 0, cond=COND["eq"], label=fall)
    if exit_cc is not None:
        ctx.b.brcc(ctx.ld_cc(), cc=exit_cc, label=fall)
    ctx.goto_tb(0, target)
    ctx.b.label(label=fall)
    ctx.goto_tb(1, ctx.next_pc)


def gen_jecxz(ctx: DisasContext) -> None:
    """jecxz rel8: taken when ecx == 0."""
    target = _direct_target(ctx)
    ecx = ctx.ld_reg(ECX)
    _branch(ctx, lambda lab: ctx.b.brcond(ecx, 0, cond=COND["eq"], label=lab), target)


def gen_int(ctx: DisasContext) -> None:
    """int 0x80 is a syscall, int 3 a trap (eip = next insn); other vectors are #GP: SIGSEGV at the insn."""
    vector = ctx.insn.operands[0].imm & 0xFF
    if vector == 0x80:
        ctx.exit_with(ExitReason.SYSCALL, ctx.next_pc)
    elif vector == 3:
        ctx.exit_with(ExitReason.SIGTRAP, ctx.next_pc)
    else:
        ctx.exit_with(ExitReason.SIGSEGV, ctx.pc)


def gen_int3(ctx: DisasContext) -> None:
    """int3: SIGTRAP with eip after the instruction."""
    ctx.exit_with(ExitReason.SIGTRAP, ctx.next_pc)


def gen_privileged(ctx: DisasContext) -> None:
    """hlt, cli, sti, in, out...: #GP in user mode, SIGSEGV at the insn."""
    ctx.exit_with(ExitReason.SIGSEGV, ctx.pc)


PRIVILEGED = ("hlt", "cli", "sti", "in", "out", "insb", "insw", "insd", "outsb", "outsw", "outsd")

HANDLERS: MappingProxyType[str, Callable[[DisasContext], None]] = MappingProxyType({
    "jmp": gen_jmp,
    **{"j" + cc: gen_jcc for cc in CC_NAMES},
    "call": gen_call,
    "ret": gen_ret,
    **dict.fromkeys(LOOP_EXIT_CC, gen_loop),
    "jecxz": gen_jecxz,
    "int": gen_int,
    "int3": gen_int3,
    **dict.fromkeys(PRIVILEGED, gen_privileged),
})
