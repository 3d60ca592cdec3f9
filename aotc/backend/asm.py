"""Our x86-64 assembler: picks an instruction form from the table in `encoding` and emits it, with labels.

Registers are `Reg` values (ints 0..15). Where an operand may be a register or an immediate, a plain
int is an immediate and only a `Reg` is a register; where it can only be a register, any int 0..15 is
accepted. Widths are operand sizes in bits: 8, 16, 32 or 64.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from aotc.backend.encoding import (
    FORMS,
    AsmError,
    Form,
    Mem,
    Reg,
    imm_bytes,
    mem_bytes,
    passthrough_bytes,
    rex_bits,
    signed,
)

__all__ = ["Asm", "AsmError", "Label", "Mem", "Reg", "REGS", "CC_NAMES",
           "RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI", "RDI",
           "R8", "R9", "R10", "R11", "R12", "R13", "R14", "R15"]

REGS = tuple(Reg(n) for n in range(16))
RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 = REGS
CC_NAMES = ("o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g")

Operand = int | Mem


class Label:
    """A code position named before it is known; bound with `Asm.bind`."""

    __slots__ = ()


# the class (see `_classify`) of each register operand, and the bit of each immediate kind in an int class
_REG_CLASS = ("rA", "rC", *["r"] * 14)
_IMM_BIT = {"1": 1, "ub": 2, "ib": 4, "iz": 8, "iv": 16}
# operand kind of a form -> the register and memory classes it accepts
_ACCEPTS: dict[str, frozenset[str]] = {
    "r": frozenset({"r", "rA", "rC"}),
    "m": frozenset({"m"}),
    "rm": frozenset({"r", "rA", "rC", "m"}),
    "a": frozenset({"rA"}),
    "c": frozenset({"rC"}),
}


def _imm_class(v: int, w: int) -> int:
    """The immediate kinds v fits at operand size w, as `_IMM_BIT` bits (the ranges `imm_bytes` takes)."""
    bits = (v == 1) | (0 <= v < 256) << 1
    s = signed(v, w)
    if s is not None:
        bits |= (-128 <= s < 128) << 2 | (-(1 << 31) <= s < 1 << 31) << 3 | 16
    return bits


def _classify(x: object, w: int) -> str | int:
    """What decides which forms an operand fits: register class, memory, or (an int) immediate kinds."""
    if isinstance(x, Reg):
        return _REG_CLASS[x]
    if isinstance(x, Mem):
        return "m"
    if isinstance(x, int) and not isinstance(x, bool):
        return _imm_class(x, w)
    return "?"


def _fits_kind(kind: str, cls: str | int) -> bool:
    """Whether an operand of class `cls` (from `_classify`) fits a form's operand kind."""
    if isinstance(cls, int):
        return bool(_IMM_BIT.get(kind, 0) & cls)
    return cls in _ACCEPTS.get(kind, ())


@dataclass(frozen=True)
class _Plan:
    """A chosen form and where each operand goes: its opcode, the operand index per role, immediates."""

    form: Form
    op: bytes
    reg: int | None
    rm: int | None
    plus: int | None
    imms: tuple[tuple[int, str], ...]


@functools.lru_cache(maxsize=4096)
def _plan(name: str, w: int, opw: int, classes: tuple[str | int, ...], first_form: int) -> _Plan | None:
    """The first form of `name` (from index `first_form`) that takes operands of these classes."""
    for form in FORMS[name][first_form:]:
        op = form.op8 if opw == 8 else form.op
        if w not in form.widths or opw not in (form.rm_widths or (w,)) or op is None:
            continue
        if len(form.kinds) != len(classes):
            continue
        if all(_fits_kind(kind, cls) for kind, cls in zip(form.kinds, classes, strict=True)):
            roles = form.roles
            return _Plan(form, op, *(roles.index(r) if r in roles else None for r in "RMO"),
                         tuple((i, form.kinds[i]) for i, r in enumerate(roles) if r == "I"))
    return None


@functools.lru_cache(maxsize=8192, typed=True)
def _encode(name: str, w: int, opw: int, opadd: int, first_form: int, *args: Operand) -> bytes:
    """The bytes of one instruction (see `Assembler._op`).

    Cached by operand type as well as value, so a `Reg` never shares an entry with an immediate.
    """
    plan = _plan(name, w, opw, tuple([_classify(x, w) for x in args]), first_form)
    if plan is None:
        shown = ", ".join(repr(a) for a in args)
        raise AsmError(f"{name}: no {w}-bit form for operands ({shown})")
    form = plan.form
    reg = None if plan.reg is None else args[plan.reg]
    rm = None if plan.rm is None else args[plan.rm]
    plus = None if plan.plus is None else args[plan.plus]
    byte_regs = [r for r, size in ((reg, w), (rm, opw), (plus, w)) if isinstance(r, Reg) and size == 8]
    rex = (8 if w == 64 and form.rexw else 0) | rex_bits(reg, rm if plus is None else plus)
    out = bytearray(b"\x66" if w == 16 else b"")
    if rex or any(4 <= r < 8 for r in byte_regs):
        out.append(0x40 | rex)
    out += plan.op
    out[-1] += opadd + (plus & 7 if plus is not None else 0)
    if rm is not None:
        field = form.digit if reg is None else reg
        out += mem_bytes(field, rm) if isinstance(rm, Mem) else bytes([0xC0 | (field & 7) << 3 | rm & 7])
    for i, kind in plan.imms:
        out += imm_bytes(kind, args[i], w)
    return bytes(out)


def _loc(x: Operand) -> Reg | Mem:
    """An operand that can only be a register or memory: a plain int is taken as a register number."""
    if isinstance(x, Mem | Reg):
        return x
    if isinstance(x, int):
        return Reg(x)
    raise AsmError(f"expected a register or Mem, got {x!r}")


def _cc(cc: int) -> int:
    """Check a condition code number 0..15."""
    if not 0 <= cc < 16:
        raise AsmError(f"no condition code {cc}")
    return cc


class Assembler:
    """Byte buffer, labels and fixups, and the generic emitter of a table form."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._bound: dict[Label, int] = {}
        self._fixups: list[tuple[int, Label]] = []

    @property
    def pos(self) -> int:
        """The current offset."""
        return len(self._buf)

    def label(self) -> Label:
        """A new unbound label."""
        return Label()

    def bind(self, label: Label) -> None:
        """Bind `label` at the current position."""
        if label in self._bound:
            raise AsmError("label bound twice")
        self._bound[label] = self.pos

    def code(self) -> bytes:
        """The code with every label reference resolved; raises AsmError on an unbound label."""
        out = bytearray(self._buf)
        for at, label in self._fixups:
            if label not in self._bound:
                raise AsmError(f"label referenced at offset {at:#x} is never bound")
            out[at:at + 4] = (self._bound[label] - (at + 4)).to_bytes(4, "little", signed=True)
        return bytes(out)

    def _rel32(self, opcode: bytes, label: Label) -> None:
        """Emit `opcode` followed by a rel32 to `label`, fixed up in `code`."""
        if not isinstance(label, Label):
            raise AsmError(f"expected a Label, got {label!r}")
        self._buf += opcode
        self._fixups.append((self.pos, label))
        self._buf += bytes(4)

    def _op(self, name: str, w: int, *args: Operand, opw: int | None = None, opadd: int = 0,
            first_form: int = 0) -> None:
        """Emit the first form of `name` that encodes these operands at operand size w.

        opw selects the opcode by the size of the r/m operand when it differs from w (movzx, movsx).
        opadd is added to the last opcode byte (condition codes). Forms before `first_form` are skipped.
        """
        self._buf += _encode(name, w, w if opw is None else opw, opadd, first_form, *args)


class Asm(Assembler):
    """The instruction methods: each names a mnemonic of the form table and passes its operands."""

    def add(self, w: int, dst: Operand, src: Operand) -> None:
        """dst += src."""
        self._op("add", w, _loc(dst), src)

    def or_(self, w: int, dst: Operand, src: Operand) -> None:
        """dst |= src."""
        self._op("or", w, _loc(dst), src)

    def adc(self, w: int, dst: Operand, src: Operand) -> None:
        """dst += src + CF."""
        self._op("adc", w, _loc(dst), src)

    def sbb(self, w: int, dst: Operand, src: Operand) -> None:
        """dst -= src + CF."""
        self._op("sbb", w, _loc(dst), src)

    def and_(self, w: int, dst: Operand, src: Operand) -> None:
        """dst &= src."""
        self._op("and", w, _loc(dst), src)

    def sub(self, w: int, dst: Operand, src: Operand) -> None:
        """dst -= src."""
        self._op("sub", w, _loc(dst), src)

    def xor(self, w: int, dst: Operand, src: Operand) -> None:
        """dst ^= src."""
        self._op("xor", w, _loc(dst), src)

    def cmp(self, w: int, dst: Operand, src: Operand) -> None:
        """Flags of dst - src."""
        self._op("cmp", w, _loc(dst), src)

    def test(self, w: int, dst: Operand, src: Operand) -> None:
        """Flags of dst & src."""
        self._op("test", w, _loc(dst), src)

    def mov(self, w: int, dst: Operand, src: Operand) -> None:
        """dst = src; a 64-bit register load of an immediate uses the shortest exact form."""
        dst = _loc(dst)
        zero_extends = isinstance(dst, Reg) and not isinstance(src, Reg | Mem) and 0 <= src < 1 << 32
        self._op("mov", 32 if w == 64 and zero_extends else w, dst, src)

    def movzx(self, dst_w: int, src_w: int, dst: int, src: Operand) -> None:
        """dst = zero-extended src (src_w 8 or 16)."""
        self._op("movzx", dst_w, Reg(dst), _loc(src), opw=src_w)

    def movsx(self, dst_w: int, src_w: int, dst: int, src: Operand) -> None:
        """dst = sign-extended src (src_w 8 or 16)."""
        self._op("movsx", dst_w, Reg(dst), _loc(src), opw=src_w)

    def lea(self, w: int, dst: int, mem: Mem) -> None:
        """dst = the address of mem."""
        self._op("lea", w, Reg(dst), mem)

    def xchg(self, w: int, a_: Operand, b: Operand) -> None:
        """Swap a_ and b; xchg eax, eax keeps the 87 form since 90 would not zero-extend."""
        a_, b = _loc(a_), _loc(b)
        same_eax = w == 32 and a_ == b == RAX and isinstance(a_, Reg) and isinstance(b, Reg)
        self._op("xchg", w, a_, b, first_form=2 if same_eax else 0)

    def inc(self, w: int, dst: Operand) -> None:
        """dst += 1 (CF kept)."""
        self._op("inc", w, _loc(dst))

    def dec(self, w: int, dst: Operand) -> None:
        """dst -= 1 (CF kept)."""
        self._op("dec", w, _loc(dst))

    def neg(self, w: int, dst: Operand) -> None:
        """dst = -dst."""
        self._op("neg", w, _loc(dst))

    def not_(self, w: int, dst: Operand) -> None:
        """dst = ~dst."""
        self._op("not", w, _loc(dst))

    def mul(self, w: int, src: Operand) -> None:
        """rdx:rax = rax * src, unsigned."""
        self._op("mul", w, _loc(src))

    def imul1(self, w: int, src: Operand) -> None:
        """rdx:rax = rax * src, signed."""
        self._op("imul1", w, _loc(src))

    def div(self, w: int, src: Operand) -> None:
        """rax, rdx = rdx:rax divmod src, unsigned."""
        self._op("div", w, _loc(src))

    def idiv(self, w: int, src: Operand) -> None:
        """rax, rdx = rdx:rax divmod src, signed."""
        self._op("idiv", w, _loc(src))

    def imul(self, w: int, dst: int, src: Operand) -> None:
        """dst *= src (two-operand)."""
        self._op("imul", w, Reg(dst), _loc(src))

    def imul3(self, w: int, dst: int, src: Operand, imm: int) -> None:
        """dst = src * imm."""
        self._op("imul3", w, Reg(dst), _loc(src), imm)

    def shl(self, w: int, dst: Operand, count: int) -> None:
        """dst <<= count (an int, or RCX meaning CL)."""
        self._op("shl", w, _loc(dst), count)

    def shr(self, w: int, dst: Operand, count: int) -> None:
        """dst >>= count, logical."""
        self._op("shr", w, _loc(dst), count)

    def sar(self, w: int, dst: Operand, count: int) -> None:
        """dst >>= count, arithmetic."""
        self._op("sar", w, _loc(dst), count)

    def rol(self, w: int, dst: Operand, count: int) -> None:
        """Rotate dst left."""
        self._op("rol", w, _loc(dst), count)

    def ror(self, w: int, dst: Operand, count: int) -> None:
        """Rotate dst right."""
        self._op("ror", w, _loc(dst), count)

    def rcl(self, w: int, dst: Operand, count: int) -> None:
        """Rotate dst left through CF."""
        self._op("rcl", w, _loc(dst), count)

    def rcr(self, w: int, dst: Operand, count: int) -> None:
        """Rotate dst right through CF."""
        self._op("rcr", w, _loc(dst), count)

    def shld(self, w: int, dst: Operand, src: int, count: int) -> None:
        """Shift dst left, filling from src (count an int or RCX meaning CL)."""
        self._op("shld", w, _loc(dst), Reg(src), count)

    def shrd(self, w: int, dst: Operand, src: int, count: int) -> None:
        """Shift dst right, filling from src."""
        self._op("shrd", w, _loc(dst), Reg(src), count)

    def bt(self, w: int, dst: Operand, bit: Operand) -> None:
        """CF = bit `bit` of dst (bit a Reg or an int)."""
        self._op("bt", w, _loc(dst), bit)

    def bts(self, w: int, dst: Operand, bit: Operand) -> None:
        """bt, then set the bit."""
        self._op("bts", w, _loc(dst), bit)

    def btr(self, w: int, dst: Operand, bit: Operand) -> None:
        """bt, then clear the bit."""
        self._op("btr", w, _loc(dst), bit)

    def btc(self, w: int, dst: Operand, bit: Operand) -> None:
        """bt, then complement the bit."""
        self._op("btc", w, _loc(dst), bit)

    def bsf(self, w: int, dst: int, src: Operand) -> None:
        """dst = index of the lowest set bit of src."""
        self._op("bsf", w, Reg(dst), _loc(src))

    def bsr(self, w: int, dst: int, src: Operand) -> None:
        """dst = index of the highest set bit of src."""
        self._op("bsr", w, Reg(dst), _loc(src))

    def bswap(self, w: int, reg: int) -> None:
        """Reverse the bytes of reg (w 32 or 64)."""
        self._op("bswap", w, Reg(reg))

    def setcc(self, cc: int, dst: Operand) -> None:
        """8-bit dst = condition cc."""
        self._op("setcc", 8, _loc(dst), opadd=_cc(cc))

    def cmovcc(self, cc: int, w: int, dst: int, src: Operand) -> None:
        """dst = src if condition cc (a 32-bit cmov zero-extends dst either way)."""
        self._op("cmovcc", w, Reg(dst), _loc(src), opadd=_cc(cc))

    def jcc(self, cc: int, label: Label) -> None:
        """Jump to label if condition cc; always rel32 (0F 8x) so code size is predictable."""
        self._rel32(bytes([0x0F, 0x80 + _cc(cc)]), label)

    def jmp(self, target: Label | Operand) -> None:
        """Jump to a label (E9 rel32) or to the address in a register or memory (FF /4)."""
        if isinstance(target, Label):
            self._rel32(b"\xe9", target)
        else:
            self._op("jmp", 64, _loc(target))

    def call(self, target: Operand) -> None:
        """Call the address in a register or memory (FF /2)."""
        self._op("call", 64, _loc(target))

    def lea_rip(self, dst: int, label: Label) -> None:
        """dst = the host address of `label`, RIP-relative and so position independent (64-bit lea)."""
        r = Reg(dst)
        self._rel32(bytes((0x48 | (r >> 3) << 2, 0x8D, (r & 7) << 3 | 5)), label)

    def push(self, reg: int) -> None:
        """Push a 64-bit register."""
        self._op("push", 64, Reg(reg))

    def pop(self, reg: int) -> None:
        """Pop a 64-bit register."""
        self._op("pop", 64, Reg(reg))

    def ret(self) -> None:
        """Return."""
        self._op("ret", 64)

    def lahf(self) -> None:
        """ah = low byte of flags."""
        self._op("lahf", 64)

    def sahf(self) -> None:
        """Low byte of flags = ah."""
        self._op("sahf", 64)

    def cdq(self) -> None:
        """edx = sign of eax."""
        self._op("cdq", 32)

    def cqo(self) -> None:
        """rdx = sign of rax."""
        self._op("cqo", 64)

    def pushfq(self) -> None:
        """Push rflags."""
        self._op("pushfq", 64)

    def popfq(self) -> None:
        """Pop rflags."""
        self._op("popfq", 64)

    def rdtsc(self) -> None:
        """edx:eax = time-stamp counter."""
        self._op("rdtsc", 64)

    def ud2(self) -> None:
        """Undefined instruction (raises SIGILL)."""
        self._op("ud2", 64)

    def syscall(self) -> None:
        """Enter the kernel (the fault and signal handlers' own system calls)."""
        self._op("syscall", 64)

    def int3(self) -> None:
        """Breakpoint trap."""
        self._op("int3", 64)

    def nop(self) -> None:
        """One-byte no-op."""
        self._op("nop", 64)

    def fxsave(self, mem: Mem) -> None:
        """Store the x87/MMX/SSE state (512 bytes, 32-bit format)."""
        self._op("fxsave", 64, mem)

    def fxrstor(self, mem: Mem) -> None:
        """Load the x87/MMX/SSE state stored by fxsave."""
        self._op("fxrstor", 64, mem)

    def ldmxcsr(self, mem: Mem) -> None:
        """MXCSR = the 32-bit word at mem."""
        self._op("ldmxcsr", 64, mem)

    def stmxcsr(self, mem: Mem) -> None:
        """Store MXCSR."""
        self._op("stmxcsr", 64, mem)

    def fldcw(self, mem: Mem) -> None:
        """x87 control word = the 16-bit word at mem."""
        self._op("fldcw", 64, mem)

    def fnstcw(self, mem: Mem) -> None:
        """Store the x87 control word."""
        self._op("fnstcw", 64, mem)

    def fninit(self) -> None:
        """Reset the x87 unit: empty stack, FCW 0x37f, no exception pending."""
        self._op("fninit", 64)

    def passthrough(self, prefix: bytes, opcode: bytes, reg: int, rm: Reg | Mem | int | None,
                    imm: bytes = b"") -> None:
        """An instruction in a form the caller gives (see `encoding.passthrough_bytes`): how the
        guest's FP/SIMD instructions are re-encoded with host operands."""
        self._buf += passthrough_bytes(prefix, opcode, reg, rm, imm)
