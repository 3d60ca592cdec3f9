"""The x87 family (D8..DF, and fwait): every instruction runs on the host's own x87 unit.

All of the opcode space passes through as it is, valid or not: guest and host are the same CPU, so an
encoding the CPU rejects raises the same #UD on the host. Four kinds need the IR's help: `fnstsw %ax`
writes a general register, fcomi/fucomi(p) write the flags, fcmovcc reads them, and the 66 prefix
chooses the 16-bit environment format of fldenv/fnstenv/frstor/fnsave.
"""

from __future__ import annotations

from dataclasses import dataclass

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
        P.emit(ctx, P.split(code, size, has_modrm=False, default_size=ctx.default_size))
        return
    enc = P.split(code, size, has_modrm=True, default_size=ctx.default_size)
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


# register forms the CPU runs but capstone does not decode: aliases of documented instructions
ALIASES = {(0xDC, 2): "fcom2", (0xDC, 3): "fcomp3", (0xDD, 1): "fxch4", (0xDE, 2): "fcomp5",
           (0xDF, 1): "fxch7", (0xDF, 2): "fstp8", (0xDF, 3): "fstp9"}


@dataclass(frozen=True)
class RawInsn:
    """The part of a capstone instruction the translator reads, for an x87 register form capstone does
    not decode: its address, bytes and a name for the logs; no memory operand."""

    address: int
    bytes: bytes
    mnemonic: str
    op_str: str = ""
    operands: tuple = ()

    @property
    def size(self) -> int:
        return len(self.bytes)

    def insn_name(self) -> str:
        return self.mnemonic


def undecoded_register_form(code: bytes, pc: int) -> RawInsn | None:
    """An x87 register-form encoding (D8..DF, ModRM mod 3) capstone rejects, as a RawInsn: the CPU
    runs every one (the undocumented aliases) or raises #UD itself, so it passes through."""
    body = code.lstrip(bytes(P.LEGACY))
    start = len(code) - len(body)
    if len(body) < 2 or body[0] not in X87_OPCODES or body[1] < 0xC0:
        return None
    name = ALIASES.get((body[0], (body[1] >> 3) & 7), f"x87 {body[0]:02x} {body[1]:02x}")
    return RawInsn(pc, code[:start + 2], name, f"st({body[1] & 7})")


def is_x87(code: bytes) -> bool:
    """Whether the instruction is fwait or has an x87 opcode (after legacy prefixes)."""
    body = code.lstrip(bytes(P.LEGACY))
    return bool(body) and (body[0] in X87_OPCODES or body[0] == P.FWAIT)
