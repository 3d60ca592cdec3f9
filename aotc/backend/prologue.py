"""The code-cache entry and exit: the host frame every TB runs in.

`enter(env, tb_host_code)` saves callee-saved registers, loads r14 = env and r15 = guest base and the
pinned CPU-state fields, reserves the spill frame and jumps to the TB; the epilogue (reached as
`jmp [r14 + OFF_EPILOGUE]`) stores the pinned fields back, undoes the rest and returns rax, the exit value.

Pinned fields live in host registers for as long as generated code runs, across chained TBs, instead of
being loaded and stored around every block: the guest's stack and frame pointers, which nearly every
block reads (push, pop, call, ret, locals), and eax, the accumulator and return value. More would
leave the allocator too few registers (measured with tools/bench.py: a fourth gained nothing).
Python sees them in the CPU state between runs.

The guest's FP/SIMD state is switched the same way: entry keeps the host's MXCSR and x87 control word
in the CPU state and loads the guest's x87/MMX/SSE registers (fxrstor); the epilogue saves them
(fxsave), empties the x87 unit (fninit: no guest stack or pending exception reaches C code) and
puts the host's control words back. So Python and CPython's C code never run with the guest's rounding
or exception masks, and generated code never with the host's. The xmm registers need no saving for
the host: the C calling convention leaves them to the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

from aotc.backend.asm import R12, R13, R14, R15, RAX, RBP, RBX, RDI, RSI, RSP, Asm, Mem
from aotc.guest.cpu import (
    EAX,
    EBP,
    ESP,
    OFF_EPILOGUE,
    OFF_FPU,
    OFF_GUEST_BASE,
    OFF_HOST_FCW,
    OFF_HOST_MXCSR,
    REG_OFFSETS,
    ExitReason,
)

ENV_REG = R14
GUEST_BASE_REG = R15
SAVED_REGS = (RBX, RBP, R12, R13, R14, R15)
SLOT_SIZE = 8
SPILL_SLOTS = 256
# after the call's return address and six pushes rsp is 8 mod 16; the extra 8 makes the frame aligned
FRAME_SIZE = SPILL_SLOTS * SLOT_SIZE + 8
# CPU-state offset -> the callee-saved host register that holds it while generated code runs
PINNED = {REG_OFFSETS[ESP]: R12, REG_OFFSETS[EBP]: R13, REG_OFFSETS[EAX]: RBX}
GUEST_FPU = Mem(ENV_REG, disp=OFF_FPU)
HOST_MXCSR = Mem(ENV_REG, disp=OFF_HOST_MXCSR)
HOST_FCW = Mem(ENV_REG, disp=OFF_HOST_FCW)


@dataclass(frozen=True)
class Prologue:
    """The entry/exit code and the offsets of its entry points."""

    code: bytes
    entry: int
    epilogue: int
    miss: int       # where an empty jump-cache entry points: leave with JUMP, as a lookup miss does


def slot_mem(index: int) -> Mem:
    """The host memory operand of spill slot `index` in the TB frame."""
    return Mem(RSP, disp=index * SLOT_SIZE)


def build_prologue() -> Prologue:
    """Assemble `enter(CPUState *env, void *tb_host_code) -> exit value` and the shared epilogue."""
    a = Asm()
    entry = a.pos
    for r in SAVED_REGS:
        a.push(r)
    a.mov(64, ENV_REG, RDI)
    a.mov(64, GUEST_BASE_REG, Mem(ENV_REG, disp=OFF_GUEST_BASE))
    for off, reg in PINNED.items():
        a.mov(32, reg, Mem(ENV_REG, disp=off))
    a.stmxcsr(HOST_MXCSR)
    a.fnstcw(HOST_FCW)
    a.fxrstor(GUEST_FPU)
    a.sub(64, RSP, FRAME_SIZE)
    a.jmp(RSI)
    epilogue = a.pos
    for off, reg in PINNED.items():
        a.mov(32, Mem(ENV_REG, disp=off), reg)
    a.fxsave(GUEST_FPU)
    a.fninit()
    a.fldcw(HOST_FCW)
    a.ldmxcsr(HOST_MXCSR)
    a.add(64, RSP, FRAME_SIZE)
    for r in reversed(SAVED_REGS):
        a.pop(r)
    a.ret()
    miss = a.pos
    a.mov(32, RAX, int(ExitReason.JUMP))
    a.jmp(Mem(ENV_REG, disp=OFF_EPILOGUE))
    return Prologue(a.code(), entry, epilogue, miss)
