"""Guest FP/SIMD instructions the host runs as they are: take the encoding apart (prefixes, opcode, ModRM,
SIB, displacement, immediate) and emit the `fp*` IR op that carries it, with its memory operand as a
guest address and its general-register operand as a temp.

The x87 family (`gen_x87`) and the MMX/SSE family (`gen_simd`) decide what an instruction's operands
are; this module does what they share.
"""

from __future__ import annotations

from dataclasses import dataclass

from capstone import x86_const as X

from aotc.frontend.context import DisasContext, Invalid, Unsupported
from aotc.frontend.operands import address, in_segment, read_reg, segment_of
from aotc.ir.core import Value
from aotc.ir.fpinsn import GPR_AX, GPR_EDI, GPR_NONE, GPR_REG, GPR_RM, FpInsn

FWAIT = 0x9B
LOCK, REPNE, REP, OPSIZE, ADDRSIZE = 0xF0, 0xF2, 0xF3, 0x66, 0x67
SEGMENT_PREFIXES = {0x26: X.X86_REG_ES, 0x2E: X.X86_REG_CS, 0x36: X.X86_REG_SS, 0x3E: X.X86_REG_DS,
                    0x64: X.X86_REG_FS, 0x65: X.X86_REG_GS}
LEGACY = frozenset({LOCK, REPNE, REP, OPSIZE, ADDRSIZE, *SEGMENT_PREFIXES})
ESCAPE, MAP_38, MAP_3A = 0x0F, 0x38, 0x3A


@dataclass(frozen=True)
class Encoding:
    """An instruction's bytes taken apart: fwait bytes in front, the legacy prefixes seen, the
    mandatory prefix (66/F2/F3 or 0), opcode bytes, ModRM fields (mod None without ModRM), immediate."""

    waits: bytes
    prefixes: bytes
    mandatory: int
    opcode: bytes
    mod: int | None
    reg: int
    rm: int
    imm: bytes
    segment: int

    @property
    def memory(self) -> bool:
        """Whether ModRM names a memory operand."""
        return self.mod is not None and self.mod != 3


def _mandatory(prefixes: bytes) -> int:
    """The prefix that selects the instruction: the last of F2/F3, else 66, else 0 (as the CPU reads it)."""
    reps = [p for p in prefixes if p in (REPNE, REP)]
    if reps:
        return reps[-1]
    return OPSIZE if OPSIZE in prefixes else 0


def split(code: bytes, size: int, has_modrm: bool, default_size: int = 4) -> Encoding:
    """Take apart the `size` bytes of one FP/SIMD instruction (whose opcode has a ModRM if has_modrm),
    in code of `default_size` (a 16-bit ModRM in 16-bit code, or in 32-bit code with 0x67)."""
    i = 0
    while code[i] == FWAIT and i + 1 < size:
        i += 1
    waits, start = code[:i], i
    segment = 0
    while code[i] in LEGACY:
        segment = SEGMENT_PREFIXES.get(code[i], segment)
        i += 1
    prefixes = code[start:i]
    if LOCK in prefixes:
        raise Invalid("lock prefix on an FP/SIMD instruction")
    op_start = i
    if code[i] == ESCAPE:
        i += 2 if code[i + 1] not in (MAP_38, MAP_3A) else 3
    else:
        i += 1
    opcode = code[op_start:i]
    if not has_modrm:
        return Encoding(waits, prefixes, _mandatory(prefixes), opcode, None, 0, 0, code[i:size], segment)
    m = code[i]
    i += 1
    mod, reg, rm = m >> 6, (m >> 3) & 7, m & 7
    addr16 = (ADDRSIZE in prefixes) != (default_size == 2)
    if mod != 3 and addr16:                   # 16-bit ModRM: no SIB, disp8 or disp16 ([disp16] alone)
        i += {0: 2 if rm == 6 else 0, 1: 1, 2: 2}[mod]
    elif mod != 3:
        disp = {0: 0, 1: 1, 2: 4}[mod]
        if rm == 4:
            base = code[i] & 7
            i += 1
            if mod == 0 and base == 5:
                disp = 4
        elif mod == 0 and rm == 5:
            disp = 4
        i += disp
    return Encoding(waits, prefixes, _mandatory(prefixes), opcode, mod, reg, rm, code[i:size], segment)


def memory_operand(ctx: DisasContext):
    """capstone's memory operand of the current instruction."""
    for op in ctx.insn.operands:
        if op.type == X.X86_OP_MEM:
            return op.mem
    raise Unsupported("no memory operand")


def fp_insn(ctx: DisasContext, enc: Encoding, gpr: str = GPR_NONE, keep: bytes = b"") -> FpInsn:
    """The FpInsn the host runs for `enc`: the fwait bytes, the prefix bytes in `keep` that were
    present (the mandatory one for SSE, 66 for x87 environment formats), opcode, ModRM, immediate."""
    prefix = enc.waits + bytes(p for p in keep if p in enc.prefixes)
    text = f"{ctx.insn.mnemonic} {ctx.insn.op_str}".strip()
    rm = None if enc.memory else enc.rm
    return FpInsn(prefix, enc.opcode, enc.mod is not None, enc.reg, rm, enc.imm, gpr, text)


def edi_address(ctx: DisasContext, enc: Encoding) -> Value:
    """The implicit ds:[edi] operand of maskmovq/maskmovdqu (ds:[di] with 16-bit addressing), in ds or
    the override's segment."""
    reg = X.X86_REG_EDI if ctx.addrsize == 4 else X.X86_REG_DI
    return in_segment(ctx, segment_of(ctx, reg), read_reg(ctx, reg))


def emit(ctx: DisasContext, enc: Encoding, gpr: str = GPR_NONE, keep: bytes = b"",
         flags_out: bool = False, flags_in: bool = False) -> None:
    """Emit an instruction without a general-register operand (or with the implicit [edi] one) as its
    `fp*` op, taking the guest flags (fcmov) or giving them (fcomi, comiss)."""
    b = ctx.b
    insn = fp_insn(ctx, enc, gpr, keep)
    if gpr == GPR_EDI:
        b.fp(edi_address(ctx, enc), insn=insn)
        return
    addr = address(ctx, memory_operand(ctx)) if enc.memory else None
    if flags_out:
        ctx.st_cc(b.fp_cc(addr, insn=insn))
    elif flags_in:
        b.fp_fi(ctx.ld_cc(), insn=insn)
    elif gpr == GPR_NONE:
        b.fp(addr, insn=insn)
    else:
        raise ValueError("emit_in or emit_out gives a general register")


def emit_in(ctx: DisasContext, enc: Encoding, gpr: str, guest_reg: int, keep: bytes) -> None:
    """An instruction that reads guest register `guest_reg` (0..7) as its `gpr` operand."""
    addr = address(ctx, memory_operand(ctx)) if enc.memory else None
    ctx.b.fp_in(ctx.ld_reg(guest_reg), addr, insn=fp_insn(ctx, enc, gpr, keep))


def emit_out(ctx: DisasContext, enc: Encoding, gpr: str, keep: bytes) -> Value:
    """An instruction that writes a general register as its `gpr` operand: the value it writes."""
    addr = address(ctx, memory_operand(ctx)) if enc.memory else None
    return ctx.b.fp_out(addr, insn=fp_insn(ctx, enc, gpr, keep))


__all__ = ["GPR_AX", "GPR_EDI", "GPR_NONE", "GPR_REG", "GPR_RM", "Encoding", "emit", "emit_in", "emit_out",
           "split"]
