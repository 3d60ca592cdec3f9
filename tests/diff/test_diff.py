"""Single-instruction differential test: thousands of generated cases run natively and under aotc.

A mismatch names the case (instruction and inputs) and every register, flag or scratch word that differs.
"""

from __future__ import annotations

from pathlib import Path

import gen_cases
import gen_seg
import pytest
from conftest import run_native
from diffcheck import assert_matches_native

SEEDS = (1, 2, 3, 4)
CASES_PER_SEED = 2000


@pytest.fixture(scope="module")
def programs(build_dir: Path) -> dict[int, tuple[Path, list]]:
    """The assembled program and its cases for every seed."""
    return {seed: gen_cases.build(seed, CASES_PER_SEED, build_dir / "diff") for seed in SEEDS}


@pytest.mark.parametrize("seed", SEEDS)
def test_harness_natively(programs: dict, seed: int) -> None:
    """The generated program itself is sound: every case reports, the stack is balanced, nop keeps inputs,
    only segment cases fault (and some do: the handler records them), and a second run records the same."""
    binary, cases = programs[seed]
    native = run_native(binary)
    assert native.returncode == 0
    recs = gen_cases.records(native.stdout)
    assert len(native.stdout) == len(cases) * gen_cases.RECORD_BYTES
    assert all(rec[len(gen_cases.REGS) + 1] == 0 for rec in recs)
    faulted = [case for case, rec in zip(cases, recs, strict=True) if rec[gen_cases.FAULT_AT]]
    assert faulted and all(any(gen_seg.ARM in line for line in case.lines) for case in faulted)
    assert run_native(binary).stdout == native.stdout, "a second native run records otherwise"
    for case, rec in zip(cases, recs, strict=True):
        if case.lines == ["nop"]:
            assert rec[: len(gen_cases.REGS)] == tuple(case.state.regs[r] for r in gen_cases.REGS)
            assert rec[len(gen_cases.REGS)] & gen_cases.FLAG_MASK == case.state.eflags & gen_cases.FLAG_MASK
            assert bytes(case.state.scratch) == b"".join(w.to_bytes(4, "little") for w in rec[-16:])


@pytest.mark.parametrize("seed", SEEDS)
def test_diff_against_native(programs: dict, seed: int) -> None:
    """Every case leaves the same registers, flags, stack and memory under aotc as natively."""
    binary, cases = programs[seed]
    assert_matches_native(binary, lambda native, aotc: gen_cases.compare_outputs(cases, native, aotc))
