"""FP/SIMD single-instruction differential test: x87, MMX, SSE, SSE2, SSE3 and SSSE3 cases, one program per
family, run natively and under aotc.

A mismatch names the case (instruction and inputs: registers, FCW/FSW/FTW/MXCSR, st(i) as 80-bit hex, xmm,
scratch) and every register, flag, FSW/MXCSR bit, st(i), xmm or scratch word that differs.
"""

from __future__ import annotations

from pathlib import Path

import fp_harness as H
import gen_fp_cases
import pytest
from conftest import run_native
from diffcheck import assert_matches_native

FAMILIES = tuple(gen_fp_cases.FAMILIES)
SEED = 1
CASES_PER_FAMILY = 2000
CASES = {"x87_aliases": 300, "cache": 300}  # a handful of instructions each
ESP_AT = 4 * len(H.REGS) + 4


@pytest.fixture(scope="module")
def programs(build_dir: Path) -> dict[str, tuple[Path, list[H.FpCase]]]:
    """The assembled program and its cases for every family (built on first use)."""

    class Lazy(dict):
        def __missing__(self, family: str) -> tuple[Path, list[H.FpCase]]:
            self[family] = gen_fp_cases.build(
                family, SEED, CASES.get(family, CASES_PER_FAMILY), build_dir / "diff"
            )
            return self[family]

    return Lazy()


def _fields(rec: bytes) -> tuple[int, int, int, int]:
    """FCW, FSW, abridged FTW and MXCSR of a record."""
    fx = H.REC_FX
    word = lambda at, n=2: int.from_bytes(rec[fx + at : fx + at + n], "little")  # noqa: E731
    return word(H.FCW), word(H.FSW), rec[fx + H.FTW], word(H.MXCSR, 4)


@pytest.mark.parametrize("family", FAMILIES)
def test_harness_natively(programs: dict, family: str) -> None:
    """The generated program itself is sound: every case reports, the stack is balanced, fxsave worked,
    the entry record is the documented initial state, nop gives back exactly the loaded state,
    fninit/emms/MMX leave the documented x87 state, and most cases change something (so the instruction
    really ran on the loaded state)."""
    binary, cases = programs[family]
    native = run_native(binary)
    assert native.returncode == 0, native.stderr
    assert len(native.stdout) == len(cases) * H.RECORD_BYTES
    recs = H.records(native.stdout)
    changed = checked = 0
    for case, rec in zip(cases, recs, strict=True):
        assert int.from_bytes(rec[ESP_AT : ESP_AT + 4], "little") == 0, case.text
        assert int.from_bytes(rec[H.REC_FX + H.MXCSR_MASK : H.REC_FX + H.MXCSR_MASK + 4], "little") != 0
        same_mask = H.case_mask(case) & ~(0xFFFFFFFF << 8 * (H.REC_FX + H.MXCSR_MASK))
        same = (
            not (int.from_bytes(rec, "little") ^ int.from_bytes(H.input_record(case), "little")) & same_mask
        )
        fcw, fsw, ftw, _ = _fields(rec)
        if case.lines in (["nop"], [H.ENTRY]):
            diffs = H.diff_record(H.input_record(case), rec, same_mask)
            assert same, f"{case.text} changed the state (native=loaded, aotc=recorded): {diffs}"
            checked += 1
            continue
        changed += not same
        if "fninit" in case.lines or "finit" in case.lines:
            assert (fcw, fsw, ftw) == (0x037F, 0, 0), case.text
        elif "emms" in case.lines:
            assert ftw == 0, case.text
        elif family == "mmx":
            assert (fsw >> 11 & 7, ftw) == (0, 0xFF), case.text  # MMX: TOP=0, every register valid
    assert checked > 1, "no nop case to check the round trip"
    assert changed > 0.5 * (len(cases) - checked), f"only {changed} of {len(cases)} cases changed anything"


@pytest.mark.parametrize("family", FAMILIES)
def test_diff_against_native(programs: dict, family: str) -> None:
    """Every case leaves the same registers, flags, FP state and memory under aotc as natively."""
    binary, cases = programs[family]
    assert_matches_native(binary, lambda native, aotc: H.compare_outputs(cases, native, aotc))
