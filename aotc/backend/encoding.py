"""x86-64 instruction forms as data, in the style of PyPy's rx86: one table line per form.

A form names the operand kinds it accepts and where each operand goes in the encoding; the
assembler picks the first form of a mnemonic that matches its operands and emits it generically.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

ALL_WIDTHS = (8, 16, 32, 64)
WIDE = (16, 32, 64)
_SCALE_BITS = MappingProxyType({1: 0, 2: 1, 4: 2, 8: 3})
REG_NAMES = ("rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
             "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15")


class AsmError(ValueError):
    """An operand combination, width or immediate that no instruction form can encode."""


class Reg(int):
    """A host register number 0..15; a distinct type so that a register is never taken for an immediate."""

    def __new__(cls, n: int) -> Reg:
        if not 0 <= n < 16:
            raise AsmError(f"no register {n}")
        return super().__new__(cls, n)

    def __repr__(self) -> str:
        return REG_NAMES[self]


@dataclass(frozen=True)
class Mem:
    """A memory operand [base + index*scale + disp]; base None means no base (absolute disp32)."""

    base: int | None
    index: int | None = None
    scale: int = 1
    disp: int = 0

    def __post_init__(self) -> None:
        for r in (self.base, self.index):
            if r is not None and not 0 <= r < 16:
                raise AsmError(f"no register {r} in {self}")
        if self.index == 4:
            raise AsmError("rsp cannot be an index register")
        if self.scale not in _SCALE_BITS:
            raise AsmError(f"scale {self.scale} is not 1, 2, 4 or 8")
        if not _fits(self.disp, 32):
            raise AsmError(f"displacement {self.disp:#x} does not fit in 32 bits")


def _fits(v: int, bits: int) -> bool:
    """Whether v is representable as a signed `bits`-bit integer."""
    return -(1 << (bits - 1)) <= v < (1 << (bits - 1))


def signed(v: int, w: int) -> int | None:
    """v reduced to a w-bit two's complement value, or None if v is outside [-2**(w-1), 2**w)."""
    if not -(1 << (w - 1)) <= v < (1 << w):
        return None
    v &= (1 << w) - 1
    return v - (1 << w) if v >> (w - 1) else v


def imm_bytes(kind: str, v: int, w: int) -> bytes | None:
    """Encode immediate v of operand kind `kind` at operand size w, or None if it does not fit."""
    if kind == "ub":
        return bytes([v]) if 0 <= v < 256 else None
    if kind == "1":
        return b"" if v == 1 else None
    s = signed(v, w)
    size = {"ib": 8, "iz": min(w, 32), "iv": w}[kind]
    if s is None or not _fits(s, size):
        return None
    return (s & ((1 << size) - 1)).to_bytes(size // 8, "little")


def modrm(mod: int, reg: int, rm: int) -> int:
    """The ModRM byte."""
    return mod << 6 | (reg & 7) << 3 | (rm & 7)


def sib(scale: int, index: int, base: int) -> int:
    """The SIB byte; index 4 means no index, base 5 with mod 0 means no base."""
    return _SCALE_BITS[scale] << 6 | (index & 7) << 3 | (base & 7)


def rex_bits(reg: int | None, rm: int | Mem | None) -> int:
    """REX.R/X/B bits (without 0x40) for a ModRM.reg register and an rm register or memory operand."""
    bits = 4 if reg is not None and reg >= 8 else 0
    if isinstance(rm, Mem):
        bits |= (2 if rm.index is not None and rm.index >= 8 else 0)
        bits |= (1 if rm.base is not None and rm.base >= 8 else 0)
    elif rm is not None and rm >= 8:
        bits |= 1
    return bits


def mem_bytes(reg: int, m: Mem) -> bytes:
    """ModRM, optional SIB and displacement addressing `m` with `reg` in ModRM.reg."""
    if m.base is None:
        index = 4 if m.index is None else m.index
        return bytes([modrm(0, reg, 4), sib(m.scale, index, 5)]) + m.disp.to_bytes(4, "little", signed=True)
    if m.disp == 0 and m.base & 7 != 5:
        mod, disp = 0, b""
    elif _fits(m.disp, 8):
        mod, disp = 1, m.disp.to_bytes(1, "little", signed=True)
    else:
        mod, disp = 2, m.disp.to_bytes(4, "little", signed=True)
    if m.index is None and m.base & 7 != 4:
        return bytes([modrm(mod, reg, m.base)]) + disp
    index = 4 if m.index is None else m.index
    return bytes([modrm(mod, reg, 4), sib(m.scale, index, m.base)]) + disp


@dataclass(frozen=True)
class Form:
    """One encoding of a mnemonic.

    kinds: one operand kind per operand, in API order: 'r' register, 'm' memory, 'rm' either,
    'a' the register RAX (AL/AX/EAX), 'c' the register RCX (meaning CL), '1' the immediate 1,
    'ib' an imm8 sign-extended to the operand size, 'iz' an imm of the operand size (at most 32
    bits, sign-extended to 64), 'iv' an imm of the full operand size, 'ub' an unsigned imm8.
    roles: one letter per operand: 'R' ModRM.reg, 'M' ModRM.rm, 'O' added to the last opcode
    byte, 'I' immediate, '_' implicit (not encoded).
    op / op8: opcode bytes for 16/32/64-bit and for 8-bit operands (None: width not encodable).
    digit: the ModRM.reg /digit when no operand has role 'R'.
    rexw: whether a 64-bit operand size needs REX.W (not for push/pop/jmp/call, 64 by default).
    rm_widths: sizes the r/m operand may have when it differs from the operand size (movzx, movsx).
    """

    kinds: tuple[str, ...]
    roles: str
    op: bytes | None
    op8: bytes | None = None
    digit: int = 0
    widths: tuple[int, ...] = ALL_WIDTHS
    rexw: bool = True
    rm_widths: tuple[int, ...] | None = None


def _opcode(o: int | bytes | None) -> bytes | None:
    """An opcode given as one byte value or as bytes."""
    return bytes([o]) if isinstance(o, int) else o


def _f(kinds: str, roles: str, op: int | bytes | None, op8: int | bytes | None = None, **kw) -> Form:
    """Shorthand for a table line: kinds comma-separated, opcodes as an int (one byte) or bytes."""
    return Form(tuple(k for k in kinds.split(",") if k), roles, _opcode(op), _opcode(op8), **kw)


def _alu(n: int) -> tuple[Form, ...]:
    """The eight classic ALU ops share one layout: opcode row 8n plus the 80/81/83 /n group."""
    b = 8 * n
    return (
        _f("rm,r", "MR", b + 1, b),
        _f("r,m", "RM", b + 3, b + 2),
        _f("rm,ib", "MI", 0x83, digit=n),
        _f("a,iz", "_I", b + 5, b + 4),
        _f("rm,iz", "MI", 0x81, 0x80, digit=n),
    )


def _unary(op: int, n: int) -> tuple[Form, ...]:
    """F6/F7 and FE/FF groups: one r/m operand selected by /digit."""
    return (_f("rm", "M", op + 1, op, digit=n),)


def _shift(n: int) -> tuple[Form, ...]:
    """Rotates and shifts (C0/C1, D0/D1, D2/D3 /n): by 1, by CL, or by imm8."""
    return (
        _f("rm,1", "M_", 0xD1, 0xD0, digit=n),
        _f("rm,c", "M_", 0xD3, 0xD2, digit=n),
        _f("rm,ub", "MI", 0xC1, 0xC0, digit=n),
    )


def _bittest(op: int, n: int) -> tuple[Form, ...]:
    """bt/bts/btr/btc: 0F xx /r with a register bit index, 0F BA /n ib with an immediate one."""
    return (
        _f("rm,r", "MR", b"\x0f" + bytes([op]), widths=WIDE),
        _f("rm,ub", "MI", b"\x0f\xba", digit=n, widths=WIDE),
    )


def _double_shift(op: int) -> tuple[Form, ...]:
    """shld/shrd: 0F xx ib and 0F xx+1 (count in CL)."""
    return (
        _f("rm,r,ub", "MRI", b"\x0f" + bytes([op]), widths=WIDE),
        _f("rm,r,c", "MR_", b"\x0f" + bytes([op + 1]), widths=WIDE),
    )


def _two_byte_rm(op: int) -> tuple[Form, ...]:
    """0F xx /r with a register destination and r/m source (imul, bsf, bsr, cmovcc)."""
    return (_f("r,rm", "RM", b"\x0f" + bytes([op]), widths=WIDE),)


def _plain(op: bytes, widths: tuple[int, ...] = (64,), rexw: bool = True) -> tuple[Form, ...]:
    """An instruction without explicit operands."""
    return (Form((), "", op, widths=widths, rexw=rexw),)


def _fpu_mem(op: bytes, n: int) -> tuple[Form, ...]:
    """An FPU/SSE state instruction on one memory operand, selected by /digit."""
    return (_f("m", "M", op, digit=n, widths=(64,), rexw=False),)


_ALU_NAMES = ("add", "or", "adc", "sbb", "and", "sub", "xor", "cmp")
_SHIFT_DIGITS = {"rol": 0, "ror": 1, "rcl": 2, "rcr": 3, "shl": 4, "shr": 5, "sar": 7}
_UNARY = {"not": (0xF6, 2), "neg": (0xF6, 3), "mul": (0xF6, 4), "imul1": (0xF6, 5), "div": (0xF6, 6),
          "idiv": (0xF6, 7), "inc": (0xFE, 0), "dec": (0xFE, 1)}
_BITTEST = {"bt": (0xA3, 4), "bts": (0xAB, 5), "btr": (0xB3, 6), "btc": (0xBB, 7)}

FORMS: MappingProxyType[str, tuple[Form, ...]] = MappingProxyType({
    **{name: _alu(n) for n, name in enumerate(_ALU_NAMES)},
    **{name: _shift(n) for name, n in _SHIFT_DIGITS.items()},
    **{name: _unary(op, n) for name, (op, n) in _UNARY.items()},
    **{name: _bittest(op, n) for name, (op, n) in _BITTEST.items()},
    "test": (
        _f("rm,r", "MR", 0x85, 0x84),
        _f("r,m", "RM", 0x85, 0x84),
        _f("a,iz", "_I", 0xA9, 0xA8),
        _f("rm,iz", "MI", 0xF7, 0xF6, digit=0),
    ),
    "mov": (
        _f("rm,r", "MR", 0x89, 0x88),
        _f("r,m", "RM", 0x8B, 0x8A),
        _f("r,iz", "MI", 0xC7, digit=0, widths=(64,)),
        _f("r,iv", "OI", 0xB8, 0xB0),
        _f("m,iz", "MI", 0xC7, 0xC6, digit=0),
    ),
    "xchg": (
        _f("a,r", "_O", 0x90, widths=WIDE),
        _f("r,a", "O_", 0x90, widths=WIDE),
        _f("rm,r", "MR", 0x87, 0x86),
        _f("r,m", "RM", 0x87, 0x86),
    ),
    "movzx": (_f("r,rm", "RM", b"\x0f\xb7", b"\x0f\xb6", widths=WIDE, rm_widths=(8, 16)),),
    "movsx": (_f("r,rm", "RM", b"\x0f\xbf", b"\x0f\xbe", widths=WIDE, rm_widths=(8, 16)),),
    "lea": (_f("r,m", "RM", 0x8D, widths=WIDE),),
    "imul": _two_byte_rm(0xAF),
    "imul3": (
        _f("r,rm,ib", "RMI", 0x6B, widths=WIDE),
        _f("r,rm,iz", "RMI", 0x69, widths=WIDE),
    ),
    "shld": _double_shift(0xA4),
    "shrd": _double_shift(0xAC),
    "bsf": _two_byte_rm(0xBC),
    "bsr": _two_byte_rm(0xBD),
    "bswap": (_f("r", "O", b"\x0f\xc8", widths=(32, 64)),),
    "setcc": (_f("rm", "M", None, b"\x0f\x90", digit=0, widths=(8,)),),
    "cmovcc": _two_byte_rm(0x40),
    "jmp": (_f("rm", "M", 0xFF, digit=4, widths=(64,), rexw=False),),
    "call": (_f("rm", "M", 0xFF, digit=2, widths=(64,), rexw=False),),
    "push": (_f("r", "O", 0x50, widths=(64,), rexw=False),),
    "pop": (_f("r", "O", 0x58, widths=(64,), rexw=False),),
    "ret": _plain(b"\xc3", rexw=False),
    "lahf": _plain(b"\x9f", rexw=False),
    "sahf": _plain(b"\x9e", rexw=False),
    "cdq": _plain(b"\x99", widths=(32,)),
    "cqo": _plain(b"\x99"),
    "pushfq": _plain(b"\x9c", rexw=False),
    "popfq": _plain(b"\x9d", rexw=False),
    "rdtsc": _plain(b"\x0f\x31", rexw=False),
    "ud2": _plain(b"\x0f\x0b", rexw=False),
    "syscall": _plain(b"\x0f\x05", rexw=False),
    "int3": _plain(b"\xcc", rexw=False),
    "nop": _plain(b"\x90", rexw=False),
    # the FP/SIMD state at the code-cache boundary (32-bit fxsave format: no REX.W)
    "fxsave": _fpu_mem(b"\x0f\xae", 0),
    "fxrstor": _fpu_mem(b"\x0f\xae", 1),
    "ldmxcsr": _fpu_mem(b"\x0f\xae", 2),
    "stmxcsr": _fpu_mem(b"\x0f\xae", 3),
    "fldcw": _fpu_mem(b"\xd9", 5),
    "fnstcw": _fpu_mem(b"\xd9", 7),
    "fninit": _plain(b"\xdb\xe3", rexw=False),
})


def passthrough_bytes(prefix: bytes, opcode: bytes, reg: int, rm: Reg | Mem | int | None,
                      imm: bytes) -> bytes:
    """An instruction whose form the caller gives: prefix bytes (mandatory ones last, before REX),
    opcode bytes, ModRM.reg (a register number or /digit), ModRM.rm as a register number or memory
    (None: no ModRM), immediate bytes. REX carries only what the registers and memory need (never
    REX.W), so an x87/MMX/SSE instruction keeps its 32-bit meaning."""
    if rm is None:
        return prefix + opcode + imm
    rex = rex_bits(reg, rm)
    out = bytearray(prefix)
    if rex:
        out.append(0x40 | rex)
    out += opcode
    out += mem_bytes(reg, rm) if isinstance(rm, Mem) else bytes([modrm(3, reg, rm)])
    return bytes(out + imm)
