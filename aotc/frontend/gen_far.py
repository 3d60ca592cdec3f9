"""Far control transfers: ljmp and lcall (to a ptr16:32 or through an m16:32), lret [imm16] and iret.

Each loads cs, so the CPU's checks of the new code segment, its base and its default size (which decide
how the code there is decoded) are Python's: the instruction leaves the TB with a FAR helper request
(see aotc.guest.cpu.Far) carrying the selector and offset, and cpu_loop does the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType

from capstone import x86_const as X

from aotc.frontend.context import DisasContext, Invalid
from aotc.frontend.operands import address
from aotc.guest.cpu import FAR16, OFF_HELPER, OFF_HELPER_NEXT, OFF_HELPER_VAL, ExitReason, Far, Helper
from aotc.ir.core import Value

FAR_MODRM_REGS = MappingProxyType({3: Far.CALL, 5: Far.JMP})   # ff /3 and ff /5


def far_kind(ctx: DisasContext) -> Far | None:
    """Far.CALL or Far.JMP for the far forms of `ff /3` and `ff /5` (capstone calls them call and jmp)."""
    if ctx.insn.opcode[0] != 0xFF:
        return None
    return FAR_MODRM_REGS.get(ctx.insn.modrm >> 3 & 7)


def _request(ctx: DisasContext, kind: Far, selector: Value, value: Value) -> None:
    """Leave the TB asking cpu_loop for the far transfer `kind`."""
    b = ctx.b
    head = Helper.FAR | (kind | (FAR16 if ctx.opsize == 2 else 0)) << 8
    if isinstance(selector, int):
        b.st_state(head | (selector & 0xFFFF) << 16, off=OFF_HELPER)
    else:
        b.st_state(ctx.or_(b.shl(b.ext16u(selector), 16), head), off=OFF_HELPER)
    b.st_state(value, off=OFF_HELPER_VAL)
    b.st_state(ctx.next_pc, off=OFF_HELPER_NEXT)
    ctx.exit_with(ExitReason.HELPER, ctx.pc)


def gen_far_direct(ctx: DisasContext) -> None:
    """ljmp/lcall $selector, $offset."""
    sel, off = ctx.insn.operands
    kind = Far.JMP if ctx.insn.insn_name() == "ljmp" else Far.CALL
    _request(ctx, kind, sel.imm, off.imm & (0xFFFF if ctx.opsize == 2 else 0xFFFFFFFF))


def gen_far_indirect(ctx: DisasContext, kind: Far) -> None:
    """ljmp/lcall *m16:32 (m16:16): the offset, then the selector."""
    op = ctx.insn.operands[0]
    if op.type != X.X86_OP_MEM:
        raise Invalid("far transfer through a register")
    size = ctx.opsize
    addr = address(ctx, op.mem)
    offset = ctx.b.ld(addr, size=size, signed=0)
    _request(ctx, kind, ctx.b.ld(ctx.b.add(addr, size), size=2, signed=0), offset)


def gen_far_mem(ctx: DisasContext) -> None:
    """ljmp/lcall through memory as capstone names them in 16-bit code."""
    gen_far_indirect(ctx, Far.JMP if ctx.insn.insn_name() == "ljmp" else Far.CALL)


def gen_retf(ctx: DisasContext) -> None:
    """lret / lret $imm16."""
    ops = ctx.insn.operands
    _request(ctx, Far.RET, 0, ops[0].imm & 0xFFFF if ops else 0)


def gen_iret(ctx: DisasContext) -> None:
    """iret / iretd: eip, cs and eflags from the stack."""
    _request(ctx, Far.IRET, 0, 0)


def _far_handler(ctx: DisasContext) -> None:
    """ljmp/lcall, direct (two immediates) or through memory."""
    if len(ctx.insn.operands) == 2:
        gen_far_direct(ctx)
    else:
        gen_far_mem(ctx)


HANDLERS: MappingProxyType[str, Callable[[DisasContext], None]] = MappingProxyType({
    "ljmp": _far_handler,
    "lcall": _far_handler,
    "retf": gen_retf,
    "iret": gen_iret,
    "iretd": gen_iret,
})
