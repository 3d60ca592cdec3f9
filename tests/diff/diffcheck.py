"""What every differential test asserts: the program ends the same way under aotc as natively and
no case's record differs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from conftest import run_aotc, run_native


def assert_matches_native(binary: Path, compare: Callable[[bytes, bytes], list[str]]) -> None:
    """Run `binary` natively and under aotc; `compare(native stdout, aotc stdout)` reports mismatches."""
    native = run_native(binary)
    aotc = run_aotc(binary)
    reports = compare(native.stdout, aotc.stdout)
    detail = "\n".join(reports)
    if aotc.returncode != native.returncode:
        detail += f"\nexit status: native={native.returncode} aotc={aotc.returncode}\n"
        detail += aotc.stderr.decode(errors="replace")[-2000:]
    assert not reports and aotc.returncode == native.returncode, detail
