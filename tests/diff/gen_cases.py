"""Generate a single-instruction differential test: one i386 assembly program holding thousands of cases.

Each case loads eax..edi, EFLAGS and a 64-byte scratch area from a table, runs one instruction (or a short
sequence), then writes a record (registers, EFLAGS, stack balance, fault, scratch) to stdout with int 0x80;
the fault words are 0 unless the case faulted into gen_seg's handler (which resumes it at its recovery label).
Run the program natively and under aotc and compare the records: `compare_outputs` names the case and field.
"""

from __future__ import annotations

import argparse
import os
import random
import struct
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gen_addr16
import gen_bcd
import gen_seg

REGS = ("eax", "ebx", "ecx", "edx", "esi", "edi", "ebp")
REG16 = {"ax": "eax", "bx": "ebx", "cx": "ecx", "dx": "edx", "si": "esi", "di": "edi", "bp": "ebp"}
REG8 = {
    "al": ("eax", 0),
    "bl": ("ebx", 0),
    "cl": ("ecx", 0),
    "dl": ("edx", 0),
    "ah": ("eax", 8),
    "bh": ("ebx", 8),
    "ch": ("ecx", 8),
    "dh": ("edx", 8),
}
REG_NUM = {"eax": 0, "ecx": 1, "edx": 2, "ebx": 3, "ebp": 5, "esi": 6, "edi": 7}
REG8_NUM = {"al": 0, "cl": 1, "dl": 2, "bl": 3, "ah": 4, "ch": 5, "dh": 6, "bh": 7}
NAMES_BY_SIZE = {1: tuple(REG8), 2: tuple(REG16), 4: REGS}
SUFFIX = {1: "b", 2: "w", 4: "l"}

FLAG_BITS = {"CF": 0, "PF": 2, "AF": 4, "ZF": 6, "SF": 7, "DF": 10, "OF": 11}
FLAG_MASK = sum(1 << bit for bit in FLAG_BITS.values())
SCRATCH = 64
IN_WORDS = len(REGS) + 1 + SCRATCH // 4
FAULT_AT = len(REGS) + 2      # the fault word (count, signal, si_code, trap number) and its error code
OUT_WORDS = len(REGS) + 4 + SCRATCH // 4
RECORD_BYTES = OUT_WORDS * 4
BT_BASE = 32

EDGE = (
    0,
    1,
    2,
    0x7F,
    0x80,
    0xFF,
    0x100,
    0x7FFF,
    0x8000,
    0xFFFF,
    0x10000,
    0x7FFFFFFF,
    0x80000000,
    0x80000001,
    0xFFFFFFFE,
    0xFFFFFFFF,
)
COUNTS = (0, 1, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33)
CONDS = ("o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g")
ALU_OPS = ("add", "or", "adc", "sbb", "and", "sub", "xor", "cmp", "test")
LOCKABLE = ("add", "or", "adc", "sbb", "and", "sub", "xor")
SHIFT_OPEXT = {"rol": 0, "ror": 1, "rcl": 2, "rcr": 3, "shl": 4, "shr": 5, "sar": 7}


@dataclass
class State:
    """The inputs of one case: registers, EFLAGS and the scratch bytes."""

    regs: dict[str, int]
    eflags: int
    scratch: bytearray

    def get(self, name: str) -> int:
        """Value of a 8/16/32-bit register by name."""
        if name in REG8:
            full, shift = REG8[name]
            return (self.regs[full] >> shift) & 0xFF
        if name in REG16:
            return self.regs[REG16[name]] & 0xFFFF
        return self.regs[name]

    def set(self, name: str, value: int) -> None:
        """Write a 8/16/32-bit register by name, keeping the other bits."""
        if name in REG8:
            full, shift = REG8[name]
            self.regs[full] = (self.regs[full] & ~(0xFF << shift) | (value & 0xFF) << shift) & 0xFFFFFFFF
        elif name in REG16:
            full = REG16[name]
            self.regs[full] = self.regs[full] & 0xFFFF0000 | value & 0xFFFF
        else:
            self.regs[name] = value & 0xFFFFFFFF

    def load(self, operand: Operand, size: int) -> int:
        """Value of an operand (register or scratch memory) of `size` bytes."""
        if isinstance(operand, Mem):
            return int.from_bytes(self.scratch[operand.off : operand.off + size], "little")
        return self.get(operand.name)

    def store(self, operand: Operand, size: int, value: int) -> None:
        """Write an operand of `size` bytes."""
        if isinstance(operand, Mem):
            self.scratch[operand.off : operand.off + size] = (value & ((1 << 8 * size) - 1)).to_bytes(
                size, "little"
            )
        else:
            self.set(operand.name, value)


@dataclass(frozen=True)
class Reg:
    """A register operand."""

    name: str

    def __str__(self) -> str:
        return f"%{self.name}"


@dataclass(frozen=True)
class Mem:
    """A memory operand inside the scratch area."""

    off: int

    def __str__(self) -> str:
        return f"scratch+{self.off}"


Operand = Reg | Mem
Fix = Callable[[State, random.Random], bool]


@dataclass
class Case:
    """One generated case: the asm lines under test and their inputs."""

    lines: list[str]
    state: State

    @property
    def text(self) -> str:
        """The instruction(s) as one line for reports."""
        return "; ".join(self.lines)


def rand_value(rng: random.Random) -> int:
    """A 32-bit input: an edge value, an edge in the low bits, or random."""
    pick = rng.random()
    if pick < 0.4:
        return rng.choice(EDGE)
    if pick < 0.6:
        low = rng.choice(EDGE)
        width = rng.choice((8, 16))
        return rng.getrandbits(32) & ~((1 << width) - 1) | low & ((1 << width) - 1)
    if pick < 0.7:
        return rng.randrange(64)
    return rng.getrandbits(32)


def rand_imm(rng: random.Random, size: int) -> int:
    """An immediate for an operand of `size` bytes."""
    return rand_value(rng) & ((1 << 8 * size) - 1)


def rand_scratch(rng: random.Random) -> bytearray:
    """Scratch contents: random, low-entropy (so compares match), or edge dwords."""
    pick = rng.random()
    if pick < 0.5:
        return bytearray(rng.getrandbits(8) for _ in range(SCRATCH))
    if pick < 0.75:
        return bytearray(rng.choice((0, 0x41, 0x80, 0xFF)) for _ in range(SCRATCH))
    return bytearray(b"".join(rng.choice(EDGE).to_bytes(4, "little") for _ in range(SCRATCH // 4)))


def rand_state(rng: random.Random) -> State:
    """Random registers, arithmetic flags (and DF) and scratch."""
    eflags = 0x2
    for bit in FLAG_BITS.values():
        if rng.random() < 0.5:
            eflags |= 1 << bit
    return State({reg: rand_value(rng) for reg in REGS}, eflags, rand_scratch(rng))


def reg(rng: random.Random, size: int, exclude: tuple[str, ...] = ()) -> Reg:
    """A random register of `size` bytes, not one of `exclude`."""
    return Reg(rng.choice([name for name in NAMES_BY_SIZE[size] if name not in exclude]))


def mem(rng: random.Random, size: int) -> Mem:
    """A random (usually aligned) operand inside the scratch area."""
    if rng.random() < 0.75:
        return Mem(rng.randrange(0, SCRATCH, size) if size > 1 else rng.randrange(SCRATCH))
    return Mem(rng.randrange(SCRATCH - size + 1))


def rm(rng: random.Random, size: int, exclude: tuple[str, ...] = ()) -> Operand:
    """A register or memory operand."""
    return mem(rng, size) if rng.random() < 0.3 else reg(rng, size, exclude)


Template = tuple[list[str], Fix | None]


def gen_alu(rng: random.Random) -> Template:
    """Two-operand ALU ops in every form and size, incl. adc/sbb with random CF."""
    op, size = rng.choice(ALU_OPS), rng.choice((1, 2, 4))
    sfx = SUFFIX[size]
    form = rng.choice(("rr", "ir", "mr", "rm", "im", "same"))
    if form == "rr":
        return [f"{op}{sfx} {reg(rng, size)}, {reg(rng, size)}"], None
    if form == "same":
        r = reg(rng, size)
        return [f"{op}{sfx} {r}, {r}"], None
    if form == "ir":
        return [f"{op}{sfx} ${rand_imm(rng, size):#x}, {reg(rng, size)}"], None
    if form == "mr":
        src, dst = mem(rng, size), reg(rng, size)
        return ([f"{op}{sfx} {dst}, {src}"] if op == "test" else [f"{op}{sfx} {src}, {dst}"]), None
    lock = "lock " if op in LOCKABLE and rng.random() < 0.2 else ""
    if form == "rm":
        return [f"{lock}{op}{sfx} {reg(rng, size)}, {mem(rng, size)}"], None
    return [f"{lock}{op}{sfx} ${rand_imm(rng, size):#x}, {mem(rng, size)}"], None


def gen_unary(rng: random.Random) -> Template:
    """inc/dec/neg/not on registers and memory."""
    op, size = rng.choice(("inc", "dec", "neg", "not")), rng.choice((1, 2, 4))
    return [f"{op}{SUFFIX[size]} {rm(rng, size)}"], None


def gen_mul(rng: random.Random) -> Template:
    """mul/imul in the one-, two- and three-operand forms."""
    size = rng.choice((1, 2, 4))
    sfx = SUFFIX[size]
    form = rng.choice(("one", "one", "two", "three"))
    if form == "one" or size == 1:
        return [f"{rng.choice(('mul', 'imul'))}{sfx} {rm(rng, size)}"], None
    if form == "two":
        return [f"imul{sfx} {rm(rng, size)}, {reg(rng, size)}"], None
    return [f"imul{sfx} ${rand_imm(rng, size):#x}, {rm(rng, size)}, {reg(rng, size)}"], None


def _to_signed(value: int, bits: int) -> int:
    return value - (1 << bits) if value >> (bits - 1) & 1 else value


def gen_div(rng: random.Random) -> Template:
    """div/idiv with inputs redrawn until the quotient fits (no fault)."""
    op, size = rng.choice(("div", "idiv")), rng.choice((1, 2, 4))
    high = {1: ("ah",), 2: ("dx",), 4: ("edx",)}[size]
    src = rm(rng, size, exclude=high)
    bits = 8 * size

    def fix(state: State, rng: random.Random) -> bool:
        if rng.random() < 0.5:
            small = rng.getrandbits(bits // 2 + 1)
            if size == 1:
                state.set("ax", small)
            else:
                state.set({2: "dx", 4: "edx"}[size], 0 if rng.random() < 0.5 else (1 << bits) - 1)
        divisor = state.load(src, size)
        if size == 1:
            dividend = state.get("ax")
        else:
            lo, hi = {2: ("ax", "dx"), 4: ("eax", "edx")}[size]
            dividend = state.get(hi) << bits | state.get(lo)
        if divisor == 0:
            return False
        if op == "div":
            return dividend // divisor < 1 << bits
        num, den = _to_signed(dividend, 2 * bits), _to_signed(divisor, bits)
        quotient = abs(num) // abs(den) * (1 if (num < 0) == (den < 0) else -1)
        return -(1 << (bits - 1)) <= quotient < 1 << (bits - 1)

    return [f"{op}{SUFFIX[size]} {src}"], fix


def _set_cl(choices: tuple[int, ...]) -> Fix:
    def fix(state: State, rng: random.Random) -> bool:
        state.set("cl", rng.choice(choices) if rng.random() < 0.8 else rng.getrandbits(8))
        return True

    return fix


def gen_shift(rng: random.Random) -> Template:
    """Shifts and rotates by 1 (both encodings), by imm and by cl, with edge counts."""
    op, size = rng.choice(tuple(SHIFT_OPEXT)), rng.choice((1, 2, 4))
    sfx = SUFFIX[size]
    form = rng.choice(("one", "imm", "imm", "cl", "cl", "c1"))
    dst = rm(rng, size, exclude=("cl", "cx", "ecx") if form == "cl" else ())
    if form == "one":
        return [f"{op}{sfx} {dst}"], None
    if form == "imm":
        count = rng.choice(COUNTS) if rng.random() < 0.85 else rng.getrandbits(8)
        return [f"{op}{sfx} ${count}, {dst}"], None
    if form == "cl":
        return [f"{op}{sfx} %cl, {dst}"], _set_cl(COUNTS)
    if isinstance(dst, Mem):
        return [f"{op}{sfx} ${rng.choice(COUNTS)}, {dst}"], None
    number = REG8_NUM[dst.name] if size == 1 else REG_NUM[REG16.get(dst.name, dst.name)]
    code = [0x66] if size == 2 else []
    code += [0xC0 if size == 1 else 0xC1, 0xC0 | SHIFT_OPEXT[op] << 3 | number, 0x01]
    return [".byte " + ",".join(f"{b:#04x}" for b in code) + f"  /* {op}{sfx} $1, {dst} (imm8 form) */"], None


def gen_shld(rng: random.Random) -> Template:
    """shld/shrd by imm and by cl, 16 and 32 bits, register and memory destinations."""
    op, size = rng.choice(("shld", "shrd")), rng.choice((2, 4))
    sfx = SUFFIX[size]
    src = reg(rng, size)
    if rng.random() < 0.5:
        count = rng.choice(COUNTS) if rng.random() < 0.85 else rng.randrange(256)
        return [f"{op}{sfx} ${count}, {src}, {rm(rng, size)}"], None
    dst = rm(rng, size, exclude=("cx", "ecx"))
    return [f"{op}{sfx} %cl, {src}, {dst}"], _set_cl(COUNTS)


def gen_bt(rng: random.Random) -> Template:
    """bt/bts/btr/btc with register, immediate and memory forms, incl. large bit offsets into memory."""
    op, size = rng.choice(("bt", "bts", "btr", "btc")), rng.choice((2, 4))
    sfx = SUFFIX[size]
    form = rng.choice(("rr", "ir", "im", "rm"))
    if form == "rr":
        return [f"{op}{sfx} {reg(rng, size)}, {reg(rng, size)}"], None
    if form == "ir":
        return [f"{op}{sfx} ${rng.randrange(256)}, {reg(rng, size)}"], None
    if form == "im":
        return [f"{op}{sfx} ${rng.randrange(256)}, {Mem(BT_BASE)}"], None
    offset = reg(rng, size)

    def fix(state: State, rng: random.Random) -> bool:
        state.set(offset.name, rng.randrange(-8 * BT_BASE, 8 * BT_BASE) & 0xFFFFFFFF)
        return True

    return [f"{op}{sfx} {offset}, {Mem(BT_BASE)}"], fix


def gen_bitscan(rng: random.Random) -> Template:
    """bsf/bsr (incl. a zero source) and bswap."""
    if rng.random() < 0.2:
        return [f"bswap {reg(rng, 4)}"], None
    op, size = rng.choice(("bsf", "bsr")), rng.choice((2, 4))
    src = rm(rng, size)

    def fix(state: State, rng: random.Random) -> bool:
        if rng.random() < 0.3:
            state.store(src, size, 0)
        return True

    return [f"{op}{SUFFIX[size]} {src}, {reg(rng, size)}"], fix


def gen_cond(rng: random.Random) -> Template:
    """setcc, cmovcc and jcc for all 16 conditions; jecxz and loop."""
    cc = rng.choice(CONDS)
    form = rng.choice(("set", "cmov", "jcc", "jcc", "loop"))
    if form == "set":
        return [f"set{cc} {rm(rng, 1)}"], None
    if form == "cmov":
        size = rng.choice((2, 4))
        return [f"cmov{cc}{SUFFIX[size]} {rm(rng, size)}, {reg(rng, size)}"], None
    if form == "jcc":
        return [f"j{cc} 1f", f"movl ${rng.getrandbits(32):#x}, {reg(rng, 4)}", "1:"], None
    insn = rng.choice(("jecxz", "loop", "loope", "loopne"))

    def fix(state: State, rng: random.Random) -> bool:
        state.set("ecx", rng.choice((0, 1, 2, 0xFFFFFFFF)))
        return True

    return [f"{insn} 1f", "incl %edx", "1:"], fix


def gen_xchg(rng: random.Random) -> Template:
    """xchg, cmpxchg (accumulator equal or not), cmpxchg8b and xadd, register and memory forms, with lock."""
    op, size = rng.choice(("xchg", "cmpxchg", "xadd", "cmpxchg8b")), rng.choice((1, 2, 4))
    src, dst = reg(rng, size), rm(rng, size)
    lock = "lock " if isinstance(dst, Mem) and op != "xchg" and rng.random() < 0.5 else ""
    if op in ("xchg", "xadd"):
        return [f"{lock}{op}{SUFFIX[size]} {src}, {dst}"], None
    if op == "cmpxchg8b":
        target = Mem(rng.randrange(0, SCRATCH - 7))

        def fix8(state: State, rng: random.Random) -> bool:
            if rng.random() < 0.5:
                state.set("eax", state.load(target, 4))
                state.set("edx", state.load(Mem(target.off + 4), 4))
            return True

        return [f"{rng.choice(('', 'lock '))}cmpxchg8b {target}"], fix8
    acc = {1: "al", 2: "ax", 4: "eax"}[size]

    def fix(state: State, rng: random.Random) -> bool:
        if rng.random() < 0.5:
            state.set(acc, state.load(dst, size))
        return True

    return [f"{lock}cmpxchg{SUFFIX[size]} {src}, {dst}"], fix


def gen_misc(rng: random.Random) -> Template:
    """Sign extension of the accumulator, flag instructions, pushf/popf, xlat, nop."""
    insn = rng.choice(
        (
            "cbtw",
            "cwtl",
            "cwtd",
            "cltd",
            "lahf",
            "sahf",
            "cmc",
            "clc",
            "stc",
            "cld",
            "std",
            "pushf",
            "popf",
            "pushfw",
            "popfw",
            "nop",
            "xlat",
        )
    )
    if insn == "xlat":

        def fix_al(state: State, rng: random.Random) -> bool:
            state.set("al", rng.randrange(SCRATCH))
            return True

        return ["leal scratch, %ebx", "xlatb"], fix_al
    if insn == "pushf":
        return ["pushfl", f"popl {reg(rng, 4)}"], None
    if insn == "pushfw":
        return ["pushfw", f"popw {reg(rng, 2)}"], None
    if insn in ("popf", "popfw"):
        size = 4 if insn == "popf" else 2
        src = reg(rng, size)

        def fix(state: State, rng: random.Random) -> bool:
            state.set(src.name, state.get(src.name) & FLAG_MASK | 0x2)
            return True

        return [f"push{SUFFIX[size]} {src}", insn], fix
    return [insn], None


def gen_lea(rng: random.Random) -> Template:
    """lea with base, index, scale and displacement combinations, 16- and 32-bit destinations."""
    base, index = reg(rng, 4), reg(rng, 4)
    disp = rng.choice((0, rng.randrange(-128, 128), _to_signed(rng.getrandbits(32), 32)))
    scale = rng.choice((1, 2, 4, 8))
    addr = rng.choice(
        (
            f"{disp}({base})",
            f"{disp}({base},{index},{scale})",
            f"({base},{index})",
            f"{disp}(,{index},{scale})",
            f"{disp & 0xFFFFFFFF:#x}",
        )
    )
    size = rng.choice((2, 4, 4))
    return [f"lea{SUFFIX[size]} {addr}, {reg(rng, size)}"], None


def gen_move(rng: random.Random) -> Template:
    """movzx/movsx, moves between partial registers, push/pop of registers and memory, enter/leave."""
    form = rng.choice(("ext", "ext", "mov", "stack"))
    if form == "ext":
        src_size, dst_size = rng.choice(((1, 2), (1, 4), (2, 4)))
        kind = rng.choice(("z", "s"))
        return [
            f"mov{kind}{SUFFIX[src_size]}{SUFFIX[dst_size]} {rm(rng, src_size)}, {reg(rng, dst_size)}"
        ], None
    if form == "mov":
        size = rng.choice((1, 1, 2, 4))
        src = reg(rng, size) if rng.random() < 0.5 else f"${rand_imm(rng, size):#x}"
        return [f"mov{SUFFIX[size]} {src}, {rm(rng, size)}"], None
    if rng.random() < 0.2:
        return [f"enter ${rng.choice((0, 4, 8, 100))}, $0", f"movl {reg(rng, 4)}, -4(%ebp)", "leave"], None
    size = rng.choice((2, 4))
    src = rng.choice((str(reg(rng, size)), str(mem(rng, size)), f"${rand_imm(rng, size):#x}"))
    return [f"push{SUFFIX[size]} {src}", f"pop{SUFFIX[size]} {rm(rng, size)}"], None


def gen_addr(rng: random.Random) -> Template:
    """ALU ops on memory addressed through base + index*scale + disp registers."""
    op, size = rng.choice(("add", "sub", "xor", "adc", "mov", "cmp")), rng.choice((1, 2, 4))
    base = reg(rng, 4, exclude=("ecx",))
    scale = rng.choice((1, 2, 4))
    disp = rng.randrange(0, 16)
    src = reg(rng, size, exclude=("cl", "ch", "cx", "ecx", *(_aliases(base.name))))

    def fix(state: State, rng: random.Random) -> bool:
        state.set(
            "ecx",
            rng.randrange(-(16 + disp) // scale + 1, (SCRATCH - 16 - disp - size) // scale) & 0xFFFFFFFF,
        )
        return True

    operand = f"{disp}({base},%ecx,{scale})"
    body = (
        f"{op}{SUFFIX[size]} {src}, {operand}"
        if rng.random() < 0.5
        else f"{op}{SUFFIX[size]} {operand}, {src}"
    )
    return [f"leal scratch+16, {base}", body], fix


def _aliases(full: str) -> tuple[str, ...]:
    """The names of every part of a 32-bit register."""
    parts = [name for name, (owner, _) in REG8.items() if owner == full]
    parts += [name for name, owner in REG16.items() if owner == full]
    return (full, *parts)


def gen_string(rng: random.Random) -> Template:
    """movs/stos/lods/cmps/scas with and without rep prefixes, small counts, both directions."""
    op, size = rng.choice(("movs", "stos", "lods", "cmps", "scas")), rng.choice((1, 2, 4))
    prefix = {
        "movs": ("", "rep "),
        "stos": ("", "rep "),
        "lods": ("", "rep "),
        "cmps": ("", "repe ", "repne "),
        "scas": ("", "repe ", "repne "),
    }[op]
    pre = rng.choice(prefix)

    def fix(state: State, rng: random.Random) -> bool:
        count = rng.randrange(6) if pre else 1
        if pre:
            state.set("ecx", count)
        down = bool(state.eflags >> FLAG_BITS["DF"] & 1)
        span = max(count, 1) * size
        for name in ("esi", "edi"):
            start = (
                rng.randrange(span - size, SCRATCH - size + 1) if down else rng.randrange(SCRATCH - span + 1)
            )
            state.set(name, start)
        return True

    return ["leal scratch(%esi), %esi", "leal scratch(%edi), %edi", f"{pre}{op}{SUFFIX[size]}"], fix


FAMILIES: tuple[tuple[Callable[[random.Random], Template], int], ...] = (
    (gen_alu, 8),
    (gen_unary, 3),
    (gen_mul, 3),
    (gen_div, 3),
    (gen_shift, 8),
    (gen_shld, 3),
    (gen_bt, 3),
    (gen_bitscan, 2),
    (gen_cond, 5),
    (gen_xchg, 2),
    (gen_misc, 3),
    (gen_lea, 2),
    (gen_move, 3),
    (gen_addr, 2),
    (gen_string, 3),
    *gen_addr16.FAMILIES,
    *gen_bcd.FAMILIES,
    *gen_seg.FAMILIES,
)


def make_case(rng: random.Random) -> Case:
    """Pick a template, then inputs that satisfy its constraint."""
    generators, weights = zip(*FAMILIES, strict=True)
    lines, fix = rng.choices(generators, weights)[0](rng)
    for _ in range(1000):
        state = rand_state(rng)
        if fix is None or fix(state, rng):
            return Case(lines, state)
    raise RuntimeError(f"no valid inputs for {lines}")


def generate(seed: int, count: int) -> list[Case]:
    """The cases of one program, reproducible from `seed`."""
    rng = random.Random(seed)
    return [make_case(rng) for _ in range(count)]


def runtime_text() -> str:
    """The `load` and `save` routines every case calls (input and record layouts from the constants)."""
    regs_in = len(REGS) * 4
    words = SCRATCH // 4
    return f"""
    .text
load:
    movl cur_in, %esi
    xorl %ecx, %ecx
1:  movl {regs_in + 4}(%esi,%ecx,4), %eax
    movl %eax, scratch(,%ecx,4)
    incl %ecx
    cmpl ${words}, %ecx
    jne 1b
    pushl {regs_in}(%esi)
    movl 0(%esi), %eax
    movl 4(%esi), %ebx
    movl 8(%esi), %ecx
    movl 12(%esi), %edx
    movl 20(%esi), %edi
    movl 24(%esi), %ebp
    movl 16(%esi), %esi
    popfl
    ret
save:
    pushfl
    movl %eax, record+0
    movl %ebx, record+4
    movl %ecx, record+8
    movl %edx, record+12
    movl %esi, record+16
    movl %edi, record+20
    movl %ebp, record+24
    popl record+{regs_in}
    leal 4(%esp), %eax
    subl saved_esp, %eax
    movl %eax, record+{regs_in + 4}
    movl fault, %eax
    movl %eax, record+{regs_in + 8}
    movl fault_err, %eax
    movl %eax, record+{regs_in + 12}
    xorl %eax, %eax
    movl %eax, fault
    movl %eax, fault_err
    movl %eax, recover_eip
    xorl %ecx, %ecx
1:  movl scratch(,%ecx,4), %eax
    movl %eax, record+{regs_in + 16}(,%ecx,4)
    incl %ecx
    cmpl ${words}, %ecx
    jne 1b
    addl ${IN_WORDS * 4}, cur_in
    movl $4, %eax
    movl $1, %ebx
    movl $record, %ecx
    movl ${RECORD_BYTES}, %edx
    int $0x80
    cmpl ${RECORD_BYTES}, %eax
    jne fail
    ret
fail:
    movl $1, %eax
    movl $3, %ebx
    int $0x80
{gen_seg.HANDLER}"""


def program_text(cases: list[Case]) -> str:
    """The whole assembly program for `cases`."""
    out = ["    .data", "    .align 4", "inputs:"]
    for case in cases:
        s = case.state
        words = [*(s.regs[r] for r in REGS), s.eflags, *struct.unpack(f"<{SCRATCH // 4}I", bytes(s.scratch))]
        out.append("    .long " + ",".join(f"{w:#x}" for w in words))
    out += [
        "cur_in: .long inputs",
        "saved_esp: .long 0",
        "    .bss",
        "    .align 64",
        f"scratch: .space {SCRATCH}",
        f"record: .space {RECORD_BYTES}",
        *gen_seg.data_text(),
        "    .text",
        "    .globl _start",
        "_start:",
        "    movl %esp, saved_esp",
        *(f"    {line}" for line in gen_addr16.SETUP),
        *(f"    {line}" for line in gen_seg.SETUP),
    ]
    for index, case in enumerate(cases):
        out += [f"case_{index}:", "    call load", *(f"    {line}" for line in case.lines), "    call save"]
    out += ["    movl $1, %eax", "    xorl %ebx, %ebx", "    int $0x80", runtime_text()]
    return "\n".join(out) + "\n"


def build(seed: int, count: int, out_dir: Path) -> tuple[Path, list[Case]]:
    """Generate, assemble and link the program for `seed`; return the binary and its cases."""
    cases = generate(seed, count)
    out_dir.mkdir(parents=True, exist_ok=True)
    # built under names of this process's own and renamed into place: test workers build the same seeds
    private = f"diff-{seed}-{count}.{os.getpid()}"
    source = out_dir / f"{private}.s"
    binary = out_dir / f"diff-{seed}-{count}"
    source.write_text(program_text(cases))
    proc = subprocess.run(
        ["gcc", "-m32", "-static", "-nostdlib", str(source), "-o", str(out_dir / private)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"assembling {source} failed:\n{proc.stderr}")
    os.replace(out_dir / private, binary)
    source.unlink()
    return binary, cases


def records(output: bytes) -> list[tuple[int, ...]]:
    """Split a program's stdout into per-case records of OUT_WORDS words."""
    whole = len(output) // RECORD_BYTES
    return [struct.unpack_from(f"<{OUT_WORDS}I", output, i * RECORD_BYTES) for i in range(whole)]


def describe_inputs(case: Case) -> str:
    """The inputs of a case as one line."""
    s = case.state
    regs = " ".join(f"{r}={s.regs[r]:#010x}" for r in REGS)
    return f"{regs} eflags={s.eflags:#06x} scratch={bytes(s.scratch).hex()}"


def diff_record(want: tuple[int, ...], got: tuple[int, ...]) -> list[str]:
    """The fields that differ between two records, by name (flags compared under FLAG_MASK)."""
    diffs = [
        f"{r}: native={want[i]:#010x} aotc={got[i]:#010x}" for i, r in enumerate(REGS) if want[i] != got[i]
    ]
    flags_at = len(REGS)
    for name, bit in FLAG_BITS.items():
        if (want[flags_at] ^ got[flags_at]) >> bit & 1:
            diffs.append(f"{name}: native={want[flags_at] >> bit & 1} aotc={got[flags_at] >> bit & 1}")
    if want[flags_at + 1] != got[flags_at + 1]:
        diffs.append(
            f"esp moved by {_to_signed(got[flags_at + 1], 32)} (native {_to_signed(want[flags_at + 1], 32)})"
        )
    if want[FAULT_AT : FAULT_AT + 2] != got[FAULT_AT : FAULT_AT + 2]:
        diffs.append(f"fault: native={gen_seg.describe_fault(*want[FAULT_AT : FAULT_AT + 2])} "
                     f"aotc={gen_seg.describe_fault(*got[FAULT_AT : FAULT_AT + 2])}")
    for i in range(SCRATCH // 4):
        w, g = want[FAULT_AT + 2 + i], got[FAULT_AT + 2 + i]
        if w != g:
            diffs.append(f"scratch+{4 * i}: native={w:#010x} aotc={g:#010x}")
    return diffs


def mismatch_reports(cases: list, want: list, got: list, diff: Callable[[int, tuple, tuple], list[str]],
                     describe: Callable[[object], str], limit: int = 10) -> list[str]:
    """Reports of the cases whose aotc record (`got`) differs from the native one (`want`), as
    `diff(index, want, got)` names the fields, and of the cases aotc never reached."""
    reports = []
    for index, (w, g) in enumerate(zip(want, got, strict=False)):
        diffs = diff(index, w, g)
        if diffs:
            case = cases[index]
            reports.append(f"case {index}: {case.text}\n  inputs: {describe(case)}\n  " + "\n  ".join(diffs))
            if len(reports) >= limit:
                return reports
    if len(got) < len(want):
        case = cases[len(got)]
        reports.append(f"aotc stopped after {len(got)} of {len(want)} cases; "
                       f"next case {len(got)}: {case.text}\n  inputs: {describe(case)}")
    return reports


def compare_outputs(cases: list[Case], native: bytes, aotc: bytes, limit: int = 10) -> list[str]:
    """Human-readable reports of the cases whose aotc record differs from the native one."""
    return mismatch_reports(cases, records(native), records(aotc), lambda _, w, g: diff_record(w, g),
                            describe_inputs, limit)


def main() -> int:
    """Command line: write the assembly for a seed to stdout."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("seed", type=int)
    parser.add_argument("count", type=int, nargs="?", default=2000)
    args = parser.parse_args()
    sys.stdout.write(program_text(generate(args.seed, args.count)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
