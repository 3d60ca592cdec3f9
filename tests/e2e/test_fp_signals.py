"""FP state and signals (tests/guests/fp_signals.c) against native: handlers start with the initial FP
state and leave the interrupted x87/SSE work intact, the frame's FP area is the kernel's, sigreturn
takes back what the kernel takes, and unmasked FP exceptions raise SIGFPE with the kernel's siginfo.
Built as x87 code and with -msse2 -mfpmath=sse."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest
from conftest import build_guests, run_aotc, run_native

SOURCE = build_guests.GUEST_SRC / "fp_signals.c"
FLAVOURS = {"x87": (), "sse": ("-msse2", "-mfpmath=sse")}
BUILDS = [(flavour, opt) for flavour in FLAVOURS for opt in ("O0", "O2")]
REFUSED = ("bad-mxcsr", "bad-mxcsr-fxonly", "bad-xcomp", "bad-xfeatures", "bad-reserved", "bad-pointer")


@pytest.fixture(scope="module")
def binaries(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    """fp_signals in each flavour at -O0 and -O2."""
    out_dir = tmp_path_factory.mktemp("fp_signals")
    built = {}
    for flavour, opt in BUILDS:
        out = out_dir / f"fp_signals-{flavour}-{opt}"
        flags = (*build_guests.CFLAGS, *build_guests.STATIC, *FLAVOURS[flavour], f"-{opt}")
        subprocess.run(["gcc", *flags, str(SOURCE), "-o", str(out), "-lm"], check=True)
        built[flavour, opt] = out
    return built


def both(binary: Path, tmp_path: Path, *args: str) -> tuple[bytes, int]:
    """The native run's stdout and status, after checking that aotc's are the same."""
    native = run_native(binary, args, cwd=tmp_path)
    aotc = run_aotc(binary, args, cwd=tmp_path)
    stderr_tail = aotc.stderr.decode(errors="replace")[-3000:]
    for want, got in zip(native.stdout.splitlines(), aotc.stdout.splitlines(), strict=False):
        assert got == want, f"\n  native: {want!r}\n  aotc:   {got!r}\n{stderr_tail}"
    assert aotc.stdout == native.stdout, stderr_tail
    assert aotc.returncode == native.returncode, stderr_tail
    return native.stdout, native.returncode


@pytest.mark.parametrize(("flavour", "opt"), BUILDS)
def test_fp_state_across_signals_matches_native(binaries: dict[tuple[str, str], Path], tmp_path: Path,
                                                flavour: str, opt: str) -> None:
    out, status = both(binaries[flavour, opt], tmp_path)
    text = out.decode()
    assert status == 0
    assert text.startswith("start: cw 037f sw 0000 tag ffff mxcsr 1f80\n")
    for kind in ("rt", "old"):      # the native run itself shows what the test is about
        assert (f"timer {kind}: ticks>=20 1 in_loop>=5 1 differ 0 bad init 0 cw 0 mxcsr 0 k 0 xmm7 0 own 0"
                in text)
    assert "layout: uc_flags" in text and " fx%64 0 fx_at 1 frame_at 1 " in text
    assert "edit: handlers started with the initial state: 1" in text
    assert "old frame: at 1 cw 0f7f mxcsr 7f80\nold frame: after cw 027f mxcsr 1fc0\n" in text
    assert "fpe x87-div  signo 8 code 3 addr +0 eip +0 trapno 16 err 0 rf 1" in text
    assert "fpe sse-div  signo 8 code 3 addr +0 eip +0 trapno 19 err 0 rf 1" in text


@pytest.mark.parametrize("edit", REFUSED)
def test_fp_state_sigreturn_refuses_is_sigsegv(binaries: dict[tuple[str, str], Path], tmp_path: Path,
                                                edit: str) -> None:
    out, status = both(binaries["x87", "O2"], tmp_path, edit)
    assert status == -signal.SIGSEGV and out.endswith(b"edited: sigreturn must fail\n")

