"""Generate the FP/SIMD single-instruction differential test: one i386 assembly program per family.

Each case loads eax..ebp, EFLAGS, a 128-byte scratch area and a complete fxsave image (x87 stack, TOP, tags,
FCW, FSW, MXCSR, mm, xmm0-7) from a table, runs one instruction (or a short idiom such as
`fcomi; setcc` or `fnstsw %ax; sahf; setp %al`), then fxsaves and writes a record to stdout with int 0x80.
Run the program natively and under aotc and compare the records: `compare_outputs` names the case and field.
The harness lives in fp_harness.py, the values in fp_values.py, the templates in gen_fp_x87.py and
gen_fp_simd.py.

    python tests/diff/gen_fp_cases.py x87_arith 1 500 > x.s     # the assembly of one family and seed
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import fp_harness as H
import gen_fp_simd
import gen_fp_x87

FAMILIES = {**gen_fp_x87.FAMILIES, **gen_fp_simd.FAMILIES}
X87_FAMILIES = frozenset(gen_fp_x87.FAMILIES)


# integer instructions put before some cases: their (lazily computed) flags must survive the FP instruction
FLAG_SETTERS = (
    "cmpl %ebx, %eax",
    "testl %ecx, %edx",
    "stc",
    "clc",
    "cmpb %dh, %al",
    "incl %ebp",
    "shll $1, %edi",
)


def wrap(rng: random.Random, lines: list[str]) -> list[str]:
    """Now and then, put the case after a flag-setting integer instruction, across a block boundary (jmp),
    after a system call (sched_yield: the FP state must survive aotc's trip through Python), with its main
    instruction straddling a page boundary, or before an integer instruction reading the flags."""
    pick = rng.random()
    if pick < 0.08:
        return [rng.choice(FLAG_SETTERS), *lines]
    if pick < 0.11:
        return ["jmp 7f", "7:", *lines]
    if pick < 0.13:
        return ["movl $158, %eax", "int $0x80", *lines]
    if pick < 0.14:  # the instruction straddles a page boundary (it starts 3 bytes before one)
        at = next(i for i, line in enumerate(lines) if not line.startswith(("leal ", "movl ", "notl ")))
        return [*lines[:at], "jmp 8f", ".balign 4096, 0xcc", ".skip 4093, 0xcc", "8:", *lines[at:]]
    if pick < 0.17:
        return [*lines, rng.choice(("adcl $0, %edx", "setbe %cl", "cmovpl %edx, %ebx", "sbbl %edi, %edi"))]
    return lines


def make_case(rng: random.Random, family: str) -> H.FpCase:
    """Pick a template of `family`, then inputs that satisfy its constraint."""
    generators, weights = zip(*FAMILIES[family], strict=True)
    lines, fix = rng.choices(generators, weights)[0](rng)
    if lines != ["nop"]:
        lines = wrap(rng, lines)
    # an index register made from %esp holds a stack address, which differs under aotc: clear it after use
    lines += [f"movl $0, %{line[6:]}" for line in lines if line.startswith("notl %")]
    domain = "x87" if family in X87_FAMILIES else "simd"
    for _ in range(1000):
        state = H.rand_state(rng, domain)
        if fix is None or fix(state, rng):
            return H.FpCase(lines, state, gen_fp_x87.env_ignore(lines))
    raise RuntimeError(f"no valid inputs for {lines}")


def generate(family: str, seed: int, count: int) -> list[H.FpCase]:
    """The cases of one program, reproducible from `family` and `seed`; the first records the entry state."""
    rng = random.Random(f"{family}-{seed}")
    return [H.entry_case(), *(make_case(rng, family) for _ in range(count))]


def build(family: str, seed: int, count: int, out_dir: Path) -> tuple[Path, list[H.FpCase]]:
    """Generate, assemble and link the program of a family and seed; return the binary and its cases."""
    cases = generate(family, seed, count)
    return H.assemble(H.program_text(cases), out_dir, f"fpdiff-{family}-{seed}-{count}"), cases


def main() -> int:
    """Command line: write the assembly of a family and seed to stdout."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("family", choices=sorted(FAMILIES))
    parser.add_argument("seed", type=int, nargs="?", default=1)
    parser.add_argument("count", type=int, nargs="?", default=1000)
    args = parser.parse_args()
    sys.stdout.write(H.program_text(generate(args.family, args.seed, args.count)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
