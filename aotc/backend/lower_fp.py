"""Lowering of the `fp*` ops: the guest's FP/SIMD instruction re-encoded for the host, its memory operand
at [r15 + address], its general-register operand in a host register.

The guest's x87, MMX and SSE registers are the host's own while generated code runs (the prologue
loads them, the epilogue saves them), so nothing else is needed: the instruction runs at native speed.
A general register the instruction reads or writes is the temp's own host register when it has one,
else rax (or rcx when rax holds the memory address); flags go through the usual capture and restore.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from aotc.backend.asm import RAX, RCX, RDI, Mem
from aotc.backend.asm import Reg as HostReg
from aotc.backend.lower_ctl import guest_mem, keep_flags
from aotc.backend.prologue import ENV_REG
from aotc.guest.cpu import OFF_SCRATCH
from aotc.ir.core import Op, Temp
from aotc.ir.fpinsn import GPR_AX, GPR_EDI, GPR_REG, GPR_RM, FpInsn

if TYPE_CHECKING:
    from aotc.backend.lowerctx import Ctx

SAVED_RDI = Mem(ENV_REG, disp=OFF_SCRATCH)


def _emit(ctx: Ctx, insn: FpInsn, mem: Mem | None, gpr: HostReg | None = None) -> None:
    """The host instruction, with `gpr` in the operand field the instruction names."""
    reg, rm = insn.reg, mem if insn.rm is None and insn.modrm else insn.rm
    if insn.gpr == GPR_REG:
        reg = gpr
    elif insn.gpr == GPR_RM:
        rm = gpr
    ctx.a.passthrough(insn.prefix, insn.opcode, reg, rm if insn.modrm else None, insn.imm)


def _mem(ctx: Ctx, op: Op, addr_index: int) -> Mem | None:
    addr = op.ins[addr_index]
    return None if addr is None else guest_mem(ctx, addr)


def lower_fp(ctx: Ctx, op: Op) -> None:
    insn: FpInsn = op.args["insn"]
    if insn.gpr == GPR_EDI:         # maskmovq/maskmovdqu store through host rdi
        mem = guest_mem(ctx, op.ins[0])
        ctx.a.mov(64, SAVED_RDI, RDI)
        ctx.a.lea(64, RDI, mem)
        _emit(ctx, insn, None)
        ctx.a.mov(64, RDI, SAVED_RDI)
    else:
        _emit(ctx, insn, _mem(ctx, op, 0))
    keep_flags(ctx)


def lower_fp_in(ctx: Ctx, op: Op) -> None:
    insn: FpInsn = op.args["insn"]
    mem = _mem(ctx, op, 1)
    src = ctx.opnd(op.ins[0])
    if not isinstance(src, HostReg):
        ctx.a.mov(32, RCX, src)         # rax may hold the address
        src = RCX
    _emit(ctx, insn, mem, src)
    keep_flags(ctx)


def lower_fp_out(ctx: Ctx, op: Op) -> None:
    insn: FpInsn = op.args["insn"]
    d: Temp = op.outs[0]
    mem = _mem(ctx, op, 0)
    if insn.gpr == GPR_AX:              # fnstsw ax: only ax, so widen it
        _emit(ctx, insn, mem)
        r = ctx.work_reg(d, RAX)
        ctx.a.movzx(32, 16, r, RAX)
    else:
        r = ctx.work_reg(d, RCX)
        _emit(ctx, insn, mem, r)
    ctx.put(d, r)
    keep_flags(ctx)


def lower_fp_cc(ctx: Ctx, op: Op) -> None:
    _emit(ctx, op.args["insn"], _mem(ctx, op, 0))
    ctx.capture_flags(op.outs[0])


def lower_fp_fi(ctx: Ctx, op: Op) -> None:
    f = op.ins[0]
    ctx.restore_flags(f)
    _emit(ctx, op.args["insn"], None)
    ctx.next_held = f if isinstance(f, Temp) else None


LOWER: dict[str, Callable[[Ctx, Op], None]] = {
    "fp": lower_fp, "fp_in": lower_fp_in, "fp_out": lower_fp_out, "fp_cc": lower_fp_cc, "fp_fi": lower_fp_fi,
}
