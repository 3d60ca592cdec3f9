"""The legacy one-byte-map families of the single-instruction differential test (registered in
gen_cases.FAMILIES): daa, das, aaa, aas, aam, aad, salc and arpl, whose undefined flags must be what the
CPU under test leaves.

Two kinds of case: one instruction on random inputs biased to the adjustments' edges (a mismatch names
its fields), and a sweep, where the case is a loop that runs one instruction over every AL (daa, das,
aam) or every AX (aaa, aas, aad) with every AF and CF, the case's other flags and other bits of eax
kept, and folds each result's eax and arithmetic flags into a hash in edi (FNV-1a-like); a sweep
mismatch shows as edi differing, and the single-instruction cases say where. aam 0 (#DE) is left to
the guest tests/guests/bcd.c.

Templates are (lines, fix) as in gen_cases; `fix(state, rng)` only uses State's set/get and scratch,
so this module does not import gen_cases (which imports it).
"""

from __future__ import annotations

import random
from collections.abc import Callable

Fix = Callable[[object, random.Random], bool]
Template = tuple[list[str], Fix | None]

SCRATCH = 64                                 # gen_cases.SCRATCH
REG16 = ("ax", "bx", "cx", "dx", "si", "di", "bp")
ADJUSTS = ("daa", "das", "aaa", "aas")
AX_WIDE = frozenset({"aaa", "aas", "aad"})   # those that read AH: sweep all of AX
OPCODE = {"daa": (0x27,), "das": (0x2F,), "aaa": (0x37,), "aas": (0x3F,), "aam": (0xD4,), "aad": (0xD5,),
          "salc": (0xD6,)}
EDGE_BASES = (1, 2, 3, 7, 9, 10, 11, 15, 16, 17, 0x7F, 0x80, 0x81, 0xFE, 0xFF)
NIBBLES = (0x0, 0x1, 0x5, 0x6, 0x9, 0xA, 0xB, 0xF)
EDGE_AH = (0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF)
SWEEP_FLAGS = 0x11                           # AF and CF: what a sweep varies
ARITH_FLAGS = 0x8D5                          # CF PF AF ZF SF OF: what a sweep hashes
FNV_PRIME, FNV_BASIS = 0x01000193, 0x811C9DC5
OPSIZE = 0x66


def code_line(code: tuple[int, ...], text: str) -> str:
    """The bytes of an instruction as a `.byte` line, with its text in a comment."""
    return ".byte " + ",".join(f"{b:#04x}" for b in code) + f"  /* {text} */"


def base(rng: random.Random, name: str) -> int:
    """aam/aad's imm8: an edge or a random one; aam never gets 0 (#DE), aad sometimes does."""
    if name == "aad" and rng.random() < 0.1:
        return 0
    return rng.choice(EDGE_BASES) if rng.random() < 0.6 else rng.randrange(1, 256)


def instruction(rng: random.Random, name: str) -> tuple[tuple[int, ...], str]:
    """One encoding of `name` and its text: aam/aad with a base, now and then an operand-size prefix."""
    code = OPCODE[name]
    text = name
    if name in ("aam", "aad"):
        imm = base(rng, name)
        code, text = (*code, imm), f"{name} ${imm:#x}"
    if rng.random() < 0.1:
        code, text = (OPSIZE, *code), f"data16 {text}"
    return code, text


def edge_al(rng: random.Random) -> int:
    """An AL whose nibbles sit at the adjustments' edges (9/0xA, 0x99/0x9A, 0, 0xFF)."""
    return rng.choice(NIBBLES) << 4 | rng.choice(NIBBLES)


def fix_accumulator(state, rng: random.Random) -> bool:
    """Bias AL and AH to the edges (the flags, AF and CF among them, are already random)."""
    if rng.random() < 0.6:
        state.set("al", edge_al(rng))
    if rng.random() < 0.5:
        state.set("ah", rng.choice(EDGE_AH))
    return True


def gen_bcd(rng: random.Random) -> Template:
    """One daa/das/aaa/aas/aam/aad/salc on random (edge-biased) eax and flags."""
    name = rng.choice((*ADJUSTS, "aam", "aad", "salc"))
    code, text = instruction(rng, name)
    return [code_line(code, text)], fix_accumulator


def sweep_lines(code: tuple[int, ...], text: str, bits: int) -> list[str]:
    """A loop running one instruction over every value of eax's low `bits` bits with every AF and CF,
    hashing each result's eax and arithmetic flags into edi; index = value << 2 | AF << 1 | CF."""
    mask = (1 << bits) - 1
    return [
        "pushfl",
        "popl %ebp",
        f"andl ${~SWEEP_FLAGS & 0xFFFFFFFF:#x}, %ebp",   # the case's other flags stay as they are
        "movl %eax, %esi",
        f"andl ${~mask & 0xFFFFFFFF:#x}, %esi",           # and so do the other bits of eax
        "xorl %ebx, %ebx",
        f"movl ${FNV_BASIS:#x}, %edi",
        "1:",
        "movl %ebx, %ecx",
        "andl $1, %ecx",
        "movl %ebx, %edx",
        "andl $2, %edx",
        "leal (%ecx,%edx,8), %ecx",
        "orl %ebp, %ecx",
        "pushl %ecx",
        "movl %ebx, %eax",
        "shrl $2, %eax",
        "orl %esi, %eax",
        "popfl",
        code_line(code, text),
        "pushfl",
        "popl %ecx",
        f"andl ${ARITH_FLAGS:#x}, %ecx",
        "xorl %eax, %edi",
        f"imull ${FNV_PRIME:#x}, %edi, %edi",
        "xorl %ecx, %edi",
        f"imull ${FNV_PRIME:#x}, %edi, %edi",
        "incl %ebx",
        f"cmpl ${4 << bits:#x}, %ebx",
        "jne 1b",
    ]


def gen_bcd_sweep(rng: random.Random) -> Template:
    """Every AL (daa, das, aam) or AX (aaa, aas, aad) x AF x CF through one instruction, hashed."""
    name = rng.choice((*ADJUSTS, "aam", "aad"))
    code, text = instruction(rng, name)
    return sweep_lines(code, text, 16 if name in AX_WIDE else 8), None


def _mem16(rng: random.Random) -> str:
    """A word of the scratch area, usually aligned."""
    off = rng.randrange(0, SCRATCH, 2) if rng.random() < 0.75 else rng.randrange(SCRATCH - 1)
    return f"scratch+{off}"


def gen_arpl(rng: random.Random) -> Template:
    """arpl r16, r/m16 in the register form (the same register too) and the memory form, sometimes
    with an operand-size prefix (which changes nothing)."""
    src = rng.choice(REG16)
    form = rng.random()
    dst = f"%{src}" if form < 0.1 else f"%{rng.choice(REG16)}" if form < 0.55 else _mem16(rng)
    lines = [f"arpl %{src}, {dst}"]
    if rng.random() < 0.1:
        lines = [code_line((OPSIZE,), "operand-size prefix of the arpl"), *lines]
    return lines, None


FAMILIES: tuple[tuple[Callable[[random.Random], Template], int], ...] = (
    (gen_bcd, 3),
    (gen_bcd_sweep, 1),
    (gen_arpl, 1),
)
