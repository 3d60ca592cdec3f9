"""The MMX, SSE, SSE2, SSE3 and SSSE3 family: each instruction runs on the host as it is.

The table below is the ISA's opcode map for these extensions (Intel SDM vol. 2, appendix A): per opcode,
the operand shape under each mandatory prefix (none, 66, F3, F2). The shape says what the IR must
provide: a memory operand read or written, a general register read or written, the flags, or nothing.
An opcode or prefix not in the table (SSE4, AVX, 3DNow!...) is not translated: cpuid does not offer it.

Shapes: VW (vector or memory source), WV (vector or memory destination), VM / MV (memory only),
VU (registers only), VE (general register or memory source: cvtsi2sd, movd, pinsrw), EV (general
register or memory destination: movd), GW / GU (general register destination: cvttsd2si / pmovmskb,
pextrw), MG (memory destination, general register source: movnti), CC (compare into the flags: comiss),
SH (shift by immediate, registers only, /digit chooses), MK (maskmov: registers, implicit [edi]),
AE (fxsave fxrstor ldmxcsr stmxcsr clflush on memory, fences on registers), Z (no ModRM: emms).
"""

from __future__ import annotations

from types import MappingProxyType

from capstone import x86_const as X

from aotc.frontend import passthrough as P
from aotc.frontend.context import DisasContext, Invalid, Unsupported
from aotc.frontend.operands import write_reg
from aotc.guest.cpu import GPR_NAMES

PREFIXES = (0, P.OPSIZE, P.REP, P.REPNE)

_TABLE = """
0f10 VW VW VW VW
0f11 WV WV WV WV
0f12 VW VM VW VW
0f13 MV MV .  .
0f14-15 VW VW .  .
0f16 VW VM VW .
0f17 MV MV .  .
0f28 VW VW .  .
0f29 WV WV .  .
0f2a VW VW VE VE
0f2b MV MV .  .
0f2c-2d VW VW GW GW
0f2e-2f CC CC .  .
0f50 GU GU .  .
0f51 VW VW VW VW
0f52-53 VW .  VW .
0f54-57 VW VW .  .
0f58-59 VW VW VW VW
0f5a VW VW VW VW
0f5b VW VW VW .
0f5c-5f VW VW VW VW
0f60-6b VW VW .  .
0f6c-6d .  VW .  .
0f6e VE VE .  .
0f6f VW VW VW .
0f70 VW VW VW VW
0f71-73 SH SH .  .
0f74-76 VW VW .  .
0f77 Z  .  .  .
0f7c-7d .  VW .  VW
0f7e EV EV VW .
0f7f WV WV WV .
0fae AE .  .  .
0fc2 VW VW VW VW
0fc3 MG .  .  .
0fc4 VE VE .  .
0fc5 GU GU .  .
0fc6 VW VW .  .
0fd0 .  VW .  VW
0fd1-d5 VW VW .  .
0fd6 .  WV VU VU
0fd7 GU GU .  .
0fd8-e5 VW VW .  .
0fe6 .  VW VW VW
0fe7 MV MV .  .
0fe8-ef VW VW .  .
0ff0 .  .  .  VM
0ff1-f6 VW VW .  .
0ff7 MK MK .  .
0ff8-fe VW VW .  .
0f3800-0b VW VW .  .
0f381c-1e VW VW .  .
0f3a0f VW VW .  .
"""


def _parse_table(text: str) -> dict[tuple[int, bytes], str]:
    """(mandatory prefix, opcode bytes) -> shape."""
    table: dict[tuple[int, bytes], str] = {}
    for line in text.strip().splitlines():
        spec, *shapes = line.split()
        first, _, last = spec.partition("-")
        head, lo = bytes.fromhex(first[:-2]), int(first[-2:], 16)
        hi = int(last, 16) if last else lo
        for op in range(lo, hi + 1):
            for prefix, shape in zip(PREFIXES, shapes, strict=True):
                if shape != ".":
                    table[(prefix, head + bytes([op]))] = shape
    return table


SHAPES = MappingProxyType(_parse_table(_TABLE))
# valid /digits of the shift-by-immediate groups (71: words, 72: dwords, 73: qwords, and 66 73 /3 /7:
# whole-register byte shifts psrldq/pslldq)
SHIFT_DIGITS = MappingProxyType({(0, 0x71): {2, 4, 6}, (0, 0x72): {2, 4, 6}, (0, 0x73): {2, 6},
                                 (P.OPSIZE, 0x71): {2, 4, 6}, (P.OPSIZE, 0x72): {2, 4, 6},
                                 (P.OPSIZE, 0x73): {2, 3, 6, 7}})
AE_MEMORY = {0, 1, 2, 3, 7}          # fxsave, fxrstor, ldmxcsr, stmxcsr, clflush
AE_FENCES = {5, 6, 7}                # lfence, mfence, sfence
MEMORY_ONLY, REGISTERS_ONLY = {"VM", "MV", "MG"}, {"VU", "GU", "SH", "MK"}


def _gpr_creg(n: int) -> int:
    """The capstone id of 32-bit guest register n."""
    return getattr(X, f"X86_REG_{GPR_NAMES[n].upper()}")


def _shape(enc: P.Encoding) -> str:
    """The table's shape for the instruction, checked against its ModRM form."""
    shape = SHAPES.get((enc.mandatory, enc.opcode))
    if shape is None:
        raise Unsupported(f"SIMD opcode {enc.opcode.hex()} with prefix {enc.mandatory:#x}")
    if shape in MEMORY_ONLY and not enc.memory or shape in REGISTERS_ONLY and enc.memory:
        raise Invalid("operand form")
    if shape == "SH" and enc.reg not in SHIFT_DIGITS[(enc.mandatory, enc.opcode[-1])]:
        raise Invalid("shift group digit")
    if shape == "AE" and enc.reg not in (AE_MEMORY if enc.memory else AE_FENCES):
        raise Unsupported(f"0f ae /{enc.reg}")
    return shape


def gen_simd(ctx: DisasContext) -> None:
    """One MMX/SSE..SSSE3 instruction on the host's own unit."""
    code = bytes(ctx.insn.bytes)
    has_modrm = _has_modrm(code)
    enc = P.split(code, ctx.insn.size, has_modrm, ctx.default_size)
    shape = _shape(enc)
    keep = bytes([enc.mandatory]) if enc.mandatory else b""
    if shape == "CC":
        P.emit(ctx, enc, keep=keep, flags_out=True)
    elif shape == "MK":
        P.emit(ctx, enc, P.GPR_EDI, keep)
    elif shape in ("VE", "MG") and (shape == "MG" or not enc.memory):
        gpr, guest = (P.GPR_REG, enc.reg) if shape == "MG" else (P.GPR_RM, enc.rm)
        P.emit_in(ctx, enc, gpr, guest, keep)
    elif shape in ("GW", "GU") or shape == "EV" and not enc.memory:
        gpr, guest = (P.GPR_RM, enc.rm) if shape == "EV" else (P.GPR_REG, enc.reg)
        write_reg(ctx, _gpr_creg(guest), P.emit_out(ctx, enc, gpr, keep))
    else:
        P.emit(ctx, enc, keep=keep)


def _has_modrm(code: bytes) -> bool:
    """Every opcode of the family has a ModRM byte but emms (0F 77)."""
    body = code.lstrip(bytes(P.LEGACY))
    return body[:2] != b"\x0f\x77"


def is_simd(code: bytes) -> bool:
    """Whether the instruction's opcode (after legacy prefixes) is one of this family's."""
    body = code.lstrip(bytes(P.LEGACY))
    if body[:1] != b"\x0f" or len(body) < 2:
        return False
    opcode = body[:3] if body[1] in (P.MAP_38, P.MAP_3A) else body[:2]
    return any((prefix, opcode) in SHAPES for prefix in PREFIXES)

