"""The x87 family (D8..DF, and fwait): every instruction runs on the host's own x87 unit.

All of the opcode space passes through as it is, valid or not: guest and host are the same CPU, so an
encoding the CPU rejects raises the same #UD on the host. Four kinds need the IR's help: `fnstsw %ax`
writes a general register, fcomi/fucomi(p) write the flags, fcmovcc reads them, and the 66 prefix
chooses the 16-bit environment format of fldenv/fnstenv/frstor/fnsave.
"""

from __future__ import annotations

from capstone import x86_const as X

from aotc.frontend import passthrough as P
from aotc.frontend.context import DisasContext
from aotc.frontend.operands import write_reg

X87_OPCODES = range(0xD8, 0xE0)
FNSTSW_AX = (0xDF, 4, 0)            # DF E0: opcode, ModRM.reg, ModRM.rm of the register form
FCOMI = {(0xDB, 5), (0xDB, 6), (0xDF, 5), (0xDF, 6)}     # fucomi, fcomi, fucomip, fcomip: /5 /6 mod 3
FCMOV = {0xDA, 0xDB}                 # DA/DB C0..DF (ModRM.reg 0..3, mod 3)


def gen_x87(ctx: DisasContext) -> None:
    """One x87 instruction (or fwait) on the host's FPU."""
    code = bytes(ctx.insn.bytes)
    size = ctx.insn.size
    body = code.lstrip(bytes([P.FWAIT]))
    if not body:                               # fwait alone: the host's fwait raises what is pending
        P.emit(ctx, P.split(code, size, has_modrm=False))
        return
    enc = P.split(code, size, has_modrm=True)
    op, keep = enc.opcode[0], bytes([P.OPSIZE])
    register = enc.mod == 3
    if register and (op, enc.reg, enc.rm) == FNSTSW_AX:
        ax = P.emit_out(ctx, enc, P.GPR_AX, keep)
        write_reg(ctx, X.X86_REG_AX, ax)
    elif register and (op, enc.reg) in FCOMI:
        P.emit(ctx, enc, keep=keep, flags_out=True)
    elif register and op in FCMOV and enc.reg < 4:
        P.emit(ctx, enc, keep=keep, flags_in=True)
    else:
        P.emit(ctx, enc, keep=keep)


def is_x87(code: bytes) -> bool:
    """Whether the instruction is fwait or has an x87 opcode (after legacy prefixes)."""
    body = code.lstrip(bytes(P.LEGACY))
    return bool(body) and (body[0] in X87_OPCODES or body[0] == P.FWAIT)
