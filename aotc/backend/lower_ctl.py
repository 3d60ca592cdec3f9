"""Lowering of guest memory, CPU-state access and control flow: labels, branches and TB exits.

Every exit leaves through the epilogue whose address the dispatcher keeps in CPUState.epilogue, so the
code holds no absolute address. Memory and state moves do not touch the host flags.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from aotc.backend.asm import RAX, RCX, Mem
from aotc.backend.asm import Label as AsmLabel
from aotc.backend.asm import Reg as HostReg
from aotc.backend.jmpcache import JMP_CACHE_ENTRIES, JMP_CACHE_ENTRY_LOG2, JMP_CACHE_SHIFT
from aotc.backend.lower_alu import COND_CC, compare
from aotc.backend.prologue import ENV_REG, GUEST_BASE_REG, PINNED
from aotc.guest.cpu import (
    OFF_EIP,
    OFF_EPILOGUE,
    OFF_EXIT_REQUEST,
    OFF_EXIT_SITE,
    OFF_JMP_CACHE,
    ExitReason,
)
from aotc.ir.core import Op, Temp, Value

if TYPE_CHECKING:
    from aotc.backend.lowerctx import Ctx

EPILOGUE = Mem(ENV_REG, disp=OFF_EPILOGUE)


def keep_flags(ctx: Ctx) -> None:
    """The op emitted only moves: the host flags still hold what they held before it."""
    ctx.next_held = ctx.held


def guest_mem(ctx: Ctx, addr: Value) -> Mem:
    """[r15 + zero-extended addr]; an address not already in a register goes through rax."""
    where = ctx.opnd(addr)
    if not isinstance(where, HostReg):
        ctx.a.mov(32, RAX, where)
        where = RAX
    return Mem(GUEST_BASE_REG, index=where)


def lower_ld(ctx: Ctx, op: Op) -> None:
    d, size, signed = op.outs[0], op.args["size"], op.args["signed"]
    mem = guest_mem(ctx, op.ins[0])
    where = ctx.loc(d)
    r = where if isinstance(where, HostReg) else RAX
    if size == 4:
        ctx.a.mov(32, r, mem)
    else:
        (ctx.a.movsx if signed else ctx.a.movzx)(32, 8 * size, r, mem)
    ctx.put(d, r)
    keep_flags(ctx)


def lower_st(ctx: Ctx, op: Op) -> None:
    (v, addr), w = op.ins, 8 * op.args["size"]
    mem = guest_mem(ctx, addr)
    src = ctx.opnd(v, w)
    if isinstance(src, Mem):
        ctx.a.mov(32, RCX, src)
        src = RCX
    ctx.a.mov(w, mem, src)
    keep_flags(ctx)


def state_field(off: int) -> HostReg | Mem:
    """Where a CPU-state field lives while generated code runs: its pinned register, or the struct."""
    pinned = PINNED.get(off)
    return HostReg(pinned) if pinned is not None else Mem(ENV_REG, disp=off)


def lower_ld_state(ctx: Ctx, op: Op) -> None:
    d = op.outs[0]
    where = ctx.loc(d)
    r = where if isinstance(where, HostReg) else RAX
    ctx.a.mov(32, r, state_field(op.args["off"]))
    ctx.put(d, r)
    keep_flags(ctx)


def lower_st_state(ctx: Ctx, op: Op) -> None:
    src = ctx.opnd(op.ins[0])
    if isinstance(src, Mem):
        ctx.a.mov(32, RAX, src)
        src = RAX
    ctx.a.mov(32, state_field(op.args["off"]), src)
    keep_flags(ctx)


def lower_insn_start(ctx: Ctx, op: Op) -> None:
    ctx.insn_offsets.append((ctx.a.pos, op.args["pc"]))
    keep_flags(ctx)


def lower_label(ctx: Ctx, op: Op) -> None:
    ctx.a.bind(ctx.label(op.args["label"]))


def lower_br(ctx: Ctx, op: Op) -> None:
    ctx.a.jmp(ctx.label(op.args["label"]))


def lower_brcond(ctx: Ctx, op: Op) -> None:
    compare(ctx, *op.ins)
    ctx.a.jcc(COND_CC[op.args["cond"]], ctx.label(op.args["label"]))


def lower_brcc(ctx: Ctx, op: Op) -> None:
    f = op.ins[0]
    ctx.restore_flags(f)
    ctx.a.jcc(op.args["cc"], ctx.label(op.args["label"]))
    ctx.next_held = f if isinstance(f, Temp) else None


def leave(ctx: Ctx, value: int) -> None:
    """mov eax, value; jmp [r14 + OFF_EPILOGUE]."""
    ctx.a.mov(32, RAX, value)
    ctx.a.jmp(EPILOGUE)


def exit_if_requested(ctx: Ctx, leave_at: AsmLabel) -> None:
    """Go to `leave_at` when CPUState.exit_request is set: a compare and a branch not taken."""
    ctx.a.cmp(32, Mem(ENV_REG, disp=OFF_EXIT_REQUEST), 0)
    ctx.a.jcc(5, leave_at)


def lower_goto_tb(ctx: Ctx, op: Op) -> None:
    """eip = pc, then leave, telling the dispatcher where from. Chaining overwrites the first
    hostcode.CHAIN_PATCH_SIZE bytes of the sequence (the 8-byte eip store) with a `jmp rel32` to the
    next TB.

    Every loop of generated code holds an indirect jump or a direct one to a pc at or below its own
    block's: such a direct exit first leaves for the dispatcher if an exit was requested (QEMU's
    exit_request), so that a signal reaches a guest that never leaves the code cache, at the cost of one
    test on loop back edges only."""
    slot, pc = op.args["slot"], op.args["pc"]
    if pc <= ctx.block_pc:
        requested = ctx.a.label()
        exit_if_requested(ctx, requested)

        def leave_requested() -> None:
            ctx.a.bind(requested)
            ctx.a.mov(32, Mem(ENV_REG, disp=OFF_EIP), pc)
            leave(ctx, ExitReason.JUMP)

        ctx.cold.append(leave_requested)
    site = ctx.a.label()
    ctx.a.bind(site)
    offset = ctx.a.pos
    ctx.a.mov(32, Mem(ENV_REG, disp=OFF_EIP), pc)
    ctx.a.lea_rip(RCX, site)
    ctx.a.mov(64, Mem(ENV_REG, disp=OFF_EXIT_SITE), RCX)
    leave(ctx, ExitReason.JUMP | (slot + 1) << 8)
    ctx.add_exit(slot, pc, offset)


def lower_exit_tb(ctx: Ctx, op: Op) -> None:
    leave(ctx, op.args["reason"])


def lower_lookup_and_goto_ptr(ctx: Ctx, op: Op) -> None:
    """Jump through the jump cache (guest pc -> host code), or leave with JUMP on a miss. An indirect
    jump may close a loop too: a signal empties the jump cache, so it misses then (see hostsig)."""
    miss = ctx.a.label()
    ctx.load(RAX, op.ins[0])
    ctx.a.mov(32, RCX, RAX)
    ctx.a.shr(32, RCX, JMP_CACHE_SHIFT)
    ctx.a.xor(32, RCX, RAX)
    ctx.a.and_(32, RCX, JMP_CACHE_ENTRIES - 1)
    ctx.a.shl(32, RCX, JMP_CACHE_ENTRY_LOG2)
    ctx.a.add(64, RCX, Mem(ENV_REG, disp=OFF_JMP_CACHE))
    ctx.a.cmp(32, RAX, Mem(RCX))
    ctx.a.jcc(5, miss)
    ctx.a.jmp(Mem(RCX, disp=8))
    ctx.a.bind(miss)
    leave(ctx, ExitReason.JUMP)


LOWER: dict[str, Callable[[Ctx, Op], None]] = {
    "ld": lower_ld, "st": lower_st, "ld_state": lower_ld_state, "st_state": lower_st_state,
    "insn_start": lower_insn_start, "label": lower_label, "br": lower_br, "brcond": lower_brcond,
    "brcc": lower_brcc, "goto_tb": lower_goto_tb, "exit_tb": lower_exit_tb,
    "lookup_and_goto_ptr": lower_lookup_and_goto_ptr,
}
