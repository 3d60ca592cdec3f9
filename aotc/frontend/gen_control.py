"""Control transfer: jmp/jcc/call/ret, loop/loope/loopne/jecxz, and the instructions that leave the TB
for cpu_loop (int 0x80, int3, int N, hlt, cli/sti, in/out). Direct targets use goto_tb (jcc: slot 0
taken, slot 1 fall-through); indirect ones store eip and exit with JUMP.

With a 16-bit operand size (0x66, or a 16-bit code segment) a branch truncates the new eip to 16 bits,
call pushes and ret pops a 16-bit eip; loop and jecxz count in cx with a 16-bit address size.
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType

from capstone import x86_const as X

from aotc.frontend import operands
from aotc.frontend.context import COND, DisasContext, Invalid
from aotc.frontend.gen_far import far_kind, gen_far_indirect
from aotc.frontend.gen_mov import cond_code
from aotc.frontend.operands import read, read_reg, write_reg
from aotc.frontend.stack import pop, push
from aotc.guest.cpu import ESP, ExitReason, Far, Vector
from aotc.ir.core import Value
from aotc.ir.ops import CC_NAMES

SHORT_BRANCHES = frozenset({*range(0x70, 0x80), 0xEB, 0xE0, 0xE1, 0xE2, 0xE3})  # opcodes with a rel8
IP_MASK = MappingProxyType({2: 0xFFFF, 4: 0xFFFFFFFF})
COUNT_REG = MappingProxyType({2: X.X86_REG_CX, 4: X.X86_REG_ECX})


def _new_eip(ctx: DisasContext, target: Value) -> Value:
    """A branch target as the operand size leaves it: truncated to 16 bits for a 16-bit one."""
    if ctx.opsize == 4:
        return target
    return target & 0xFFFF if isinstance(target, int) else ctx.b.ext16u(target)


def _direct_target(ctx: DisasContext) -> int | None:
    """The target of a direct (relative) branch, or None for reg/mem targets: next eip plus the
    displacement that ends the instruction (rel8, or rel16/rel32 by operand size), in the operand size."""
    op = ctx.insn.operands[0]
    if op.type != X.X86_OP_IMM:
        return None
    width = 1 if ctx.insn.opcode[0] in SHORT_BRANCHES else ctx.opsize
    rel = int.from_bytes(bytes(ctx.insn.bytes[-width:]), "little", signed=True)
    return (ctx.next_pc + rel) & IP_MASK[ctx.opsize]


def _branch(ctx: DisasContext, emit_taken_test: Callable[[object], None], target: int) -> None:
    """End the TB with a two-way branch: `emit_taken_test(label)` branches to label when taken."""
    taken = ctx.b.new_label()
    emit_taken_test(taken)
    ctx.goto_tb(1, ctx.next_pc)
    ctx.b.label(label=taken)
    ctx.goto_tb(0, target)


def gen_jmp(ctx: DisasContext) -> None:
    """jmp rel / jmp r/m (jmpw: r/m16, zero-extended); ff /5 is the far one."""
    if far_kind(ctx) is not None:
        gen_far_indirect(ctx, Far.JMP)
        return
    target = _direct_target(ctx)
    if target is None:
        ctx.exit_jump(_new_eip(ctx, read(ctx, 0)))
    else:
        ctx.goto_tb(0, target)


def gen_jcc(ctx: DisasContext) -> None:
    """jcc rel: brcc on the flags value."""
    cc = cond_code(ctx, "j")
    target = _direct_target(ctx)
    f = ctx.ld_cc()
    _branch(ctx, lambda lab: ctx.b.brcc(f, cc=cc, label=lab), target)


def gen_call(ctx: DisasContext) -> None:
    """call rel / call r/m: the target is read before the return address (a word for callw) is pushed;
    ff /3 is the far one."""
    if far_kind(ctx) is not None:
        gen_far_indirect(ctx, Far.CALL)
        return
    target = _direct_target(ctx)
    dyn: Value | None = None if target is not None else _new_eip(ctx, read(ctx, 0))
    push(ctx, ctx.next_pc & IP_MASK[ctx.opsize], ctx.opsize)
    if dyn is None:
        ctx.goto_tb(0, target)
    else:
        ctx.exit_jump(dyn)


def gen_ret(ctx: DisasContext) -> None:
    """ret / ret imm16 (retw: pops a 16-bit eip; rep/bnd prefixes are ignored)."""
    target = pop(ctx, ctx.opsize)
    if ctx.insn.operands:
        ctx.st_reg(ESP, ctx.b.add(ctx.ld_reg(ESP), ctx.insn.operands[0].imm & 0xFFFF))
    ctx.exit_jump(target)


LOOP_EXIT_CC = MappingProxyType({"loop": None, "loope": CC_NAMES.index("ne"), "loopne": CC_NAMES.index("e")})


def _count(ctx: DisasContext) -> int:
    """The count register of loop/jecxz: ecx, or cx with a 16-bit address size."""
    return COUNT_REG[ctx.addrsize]


def gen_loop(ctx: DisasContext) -> None:
    """loop/loope/loopne: ecx (cx) -= 1 (no flags), taken while it is not 0 (and ZF as asked)."""
    target = _direct_target(ctx)
    count = _count(ctx)
    left = ctx.b.sub(read_reg(ctx, count), 1)
    write_reg(ctx, count, left)
    if count != X.X86_REG_ECX:
        left = ctx.b.ext16u(left)
    exit_cc = LOOP_EXIT_CC[ctx.insn.insn_name()]
    fall = ctx.b.new_label()
    ctx.b.brcond(left, 0, cond=COND["eq"], label=fall)
    if exit_cc is not None:
        ctx.b.brcc(ctx.ld_cc(), cc=exit_cc, label=fall)
    ctx.goto_tb(0, target)
    ctx.b.label(label=fall)
    ctx.goto_tb(1, ctx.next_pc)


def gen_jecxz(ctx: DisasContext) -> None:
    """jecxz/jcxz rel8: taken when ecx (cx, with a 16-bit address size) is 0."""
    target = _direct_target(ctx)
    count = read_reg(ctx, _count(ctx))
    _branch(ctx, lambda lab: ctx.b.brcond(count, 0, cond=COND["eq"], label=lab), target)


def gen_int(ctx: DisasContext) -> None:
    """int 0x80 is a syscall; int 3 and int 4 go through the gates user mode may use (#BP, #OF: traps);
    any other vector's gate is the kernel's only: #GP at the instruction, its error code naming the
    IDT entry (index << 3 | IDT bit)."""
    vector = ctx.insn.operands[0].imm & 0xFF
    if vector == 0x80:
        ctx.exit_with(ExitReason.SYSCALL, ctx.next_pc)
    elif vector in (Vector.BP, Vector.OF):
        ctx.trap(vector, ctx.next_pc)
    else:
        ctx.trap(Vector.GP, ctx.pc, vector << 3 | 2)


def gen_int3(ctx: DisasContext) -> None:
    """int3: #BP, a trap: eip after the instruction."""
    ctx.trap(Vector.BP, ctx.next_pc)


def gen_int1(ctx: DisasContext) -> None:
    """icebp (int1): #DB; the kernel reports it with eip and si_addr at the instruction itself."""
    ctx.trap(Vector.DB, ctx.pc)


def gen_into(ctx: DisasContext) -> None:
    """into: #OF (a trap) when OF is set, else nothing."""
    b = ctx.b
    go_on = b.new_label()
    b.brcc(ctx.ld_cc(), cc=CC_NAMES.index("no"), label=go_on)
    ctx.trap(Vector.OF, ctx.next_pc)
    ctx.ended = False
    b.label(label=go_on)


def gen_bound(ctx: DisasContext) -> None:
    """bound r, m: #BR (a fault) unless lower <= r <= upper, the signed bounds at m and m + size."""
    b = ctx.b
    size = ctx.opsize
    index = read(ctx, 0, signed=True)
    lower = operands.loc(ctx, 1, size)
    upper = operands.mem_loc(ctx, b.add(lower.addr, size), size)
    out, go_on = b.new_label(), b.new_label()
    b.brcond(index, operands.load(ctx, lower, signed=True), cond=COND["lt"], label=out)
    b.brcond(index, operands.load(ctx, upper, signed=True), cond=COND["le"], label=go_on)
    b.label(label=out)
    ctx.trap(Vector.BR, ctx.pc)
    ctx.ended = False
    b.label(label=go_on)


def gen_privileged(ctx: DisasContext) -> None:
    """Instructions of ring 0 (or IOPL): #GP at the instruction, SIGSEGV."""
    ctx.trap(Vector.GP, ctx.pc)


def gen_undefined(ctx: DisasContext) -> None:
    """An instruction this CPU does not offer an i386 task: #UD, SIGILL."""
    raise Invalid(ctx.insn.insn_name())


# ring-0 and I/O instructions, and those the kernel does not let user mode run (sysexit, sysret)
PRIVILEGED = ("hlt", "cli", "sti", "in", "out", "insb", "insw", "insd", "outsb", "outsw", "outsd",
              "lgdt", "lidt", "lldt", "ltr", "lmsw", "invlpg", "rdmsr", "wrmsr", "wbinvd", "invd", "clts",
              "sysexit", "sysret")
UNDEFINED_HERE = ("swapgs", "sysenter", "monitor", "mwait")   # #UD for an i386 task on this CPU

HANDLERS: MappingProxyType[str, Callable[[DisasContext], None]] = MappingProxyType({
    "jmp": gen_jmp,
    **{"j" + cc: gen_jcc for cc in CC_NAMES},
    "call": gen_call,
    "ret": gen_ret,
    **dict.fromkeys(LOOP_EXIT_CC, gen_loop),
    "jecxz": gen_jecxz,
    "jcxz": gen_jecxz,
    "int": gen_int,
    "int3": gen_int3,
    "int1": gen_int1,
    "into": gen_into,
    "bound": gen_bound,
    **dict.fromkeys(PRIVILEGED, gen_privileged),
    **dict.fromkeys(UNDEFINED_HERE, gen_undefined),
})
