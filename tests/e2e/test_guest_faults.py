"""Guests that die by a signal after printing: aotc must print the same and die by the same signal."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from conftest import build_guests, run_aotc, run_native

EXPECTED_SIGNAL = {
    "div0": signal.SIGFPE,
    "intmin": signal.SIGFPE,
    "ud2": signal.SIGILL,
    "null": signal.SIGSEGV,
    "rodata": signal.SIGSEGV,
    "jump": signal.SIGSEGV,
    "hlt": signal.SIGSEGV,
    "abort": signal.SIGABRT,
    "int3": signal.SIGTRAP,
}


@pytest.mark.parametrize("opt", ("O0", "O2"))
@pytest.mark.parametrize("mode", sorted(EXPECTED_SIGNAL))
def test_fault_matches_native(guest_bins: dict[str, Path], tmp_path: Path, mode: str, opt: str) -> None:
    """Same stdout before the fault, and the same terminating signal as natively."""
    binary = guest_bins[f"faults-{opt}"]
    native = run_native(binary, [mode], cwd=tmp_path)
    assert native.returncode == -EXPECTED_SIGNAL[mode], "the native run did not die as this test expects"
    assert native.stdout.startswith(b"mode " + mode.encode())
    aotc = run_aotc(binary, [mode], cwd=tmp_path)
    assert aotc.stdout == native.stdout
    assert aotc.returncode == native.returncode, aotc.stderr.decode(errors="replace")[-2000:]
    assert b"Traceback" not in aotc.stderr


@pytest.mark.parametrize("opt", build_guests.OPT_LEVELS)
def test_no_fault_exit_status(guest_bins: dict[str, Path], tmp_path: Path, opt: str) -> None:
    """The same program without a fault exits normally with its status."""
    binary = guest_bins[f"faults-{opt}"]
    native = run_native(binary, ["none"], cwd=tmp_path)
    aotc = run_aotc(binary, ["none"], cwd=tmp_path)
    assert (aotc.returncode, aotc.stdout) == (native.returncode, native.stdout)
