"""The instruction an `fp*` IR op carries: one guest FP/SIMD instruction, taken apart just enough that a
backend for the same ISA can re-encode it with host operands.

Guest and host are both x86, and an x87, MMX or SSE instruction means the same in 32-bit and 64-bit
mode; only its memory operand (a guest address, rebased on the host) and a general register it names
(which the host allocates) change. So the frontend keeps the instruction's own bytes — prefixes that
matter, opcode, ModRM.reg, a register ModRM.rm, immediate — and says which operand is a general
register or memory; the IR sees those operands as temps (see `aotc.ir.ops`) and the rest is opaque.
"""

from __future__ import annotations

from dataclasses import dataclass

# which operand of the instruction is a general register (GPR) the IR gives or takes
GPR_NONE = ""       # none
GPR_REG = "reg"     # ModRM.reg names it (cvttsd2si r32, pextrw, pmovmskb, movnti)
GPR_RM = "rm"       # ModRM.rm names it in the register form (movd r32 <-> xmm, cvtsi2sd, pinsrw)
GPR_AX = "ax"       # implicit ax, 16 bits (fnstsw ax): written, zero-extended into the temp
GPR_EDI = "edi"     # implicit [edi] memory operand (maskmovq, maskmovdqu): `addr` is that address
GPR_KINDS = (GPR_NONE, GPR_REG, GPR_RM, GPR_AX, GPR_EDI)


@dataclass(frozen=True)
class FpInsn:
    """One guest FP/SIMD instruction as the host will run it.

    prefix: bytes before the opcode that change its meaning (fwait, 66/F2/F3), in order;
    opcode: the opcode bytes with their 0F / 0F 38 / 0F 3A escapes; modrm: whether there is a ModRM;
    reg: ModRM.reg (a register number or /digit); rm: ModRM.rm of the register form, or None when the
    operand is memory (the op's `addr`); imm: the immediate bytes; gpr: which operand is a general
    register (GPR_KINDS); text: the guest disassembly, for `-d op`.
    """

    prefix: bytes
    opcode: bytes
    modrm: bool
    reg: int
    rm: int | None
    imm: bytes
    gpr: str
    text: str

    def __post_init__(self) -> None:
        if self.gpr not in GPR_KINDS:
            raise ValueError(f"unknown general-register operand kind {self.gpr!r}")
        if not 0 <= self.reg < 8 or (self.rm is not None and not 0 <= self.rm < 8):
            raise ValueError(f"ModRM fields out of range in {self.text}")

    @property
    def memory(self) -> bool:
        """Whether the instruction has a memory operand."""
        return self.modrm and self.rm is None or self.gpr == GPR_EDI

    def __repr__(self) -> str:
        return repr(self.text)
