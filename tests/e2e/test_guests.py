"""Every guest in every variant it is built in (static at every optimization level, a dynamically
linked PIE; SSE2 and vectorized SSSE3 builds too for the FP guests): aotc gives the stdout, exit status
and files of the native run."""

from __future__ import annotations

import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import RunResult, build_guests, guest_env, run_aotc, run_native


@dataclass(frozen=True)
class Invocation:
    """How a guest is started: arguments, extra environment, stdin, directories made in its working dir."""

    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    stdin: bytes = b""
    dirs: tuple[str, ...] = ()


def sample_text(seed: int, lines: int) -> bytes:
    """Deterministic prose-like text for guests that read stdin."""
    rng = random.Random(seed)
    vocabulary = (
        "the quick brown fox jumps over a lazy dog while blocks of guest code become host code".split()
    )
    out = []
    for _ in range(lines):
        words = [rng.choice(vocabulary) for _ in range(rng.randrange(0, 14))]
        out.append(" ".join(words) + rng.choice((".", "!", "", " ?", ", (aside)")))
    return ("\n".join(out) + "\n").encode()


INVOCATIONS = {
    "fileio": Invocation(args=("out",), dirs=("out",)),
    "argv_env": Invocation(
        args=("one", "two words", "", "--flag=x"),
        env={"AOTC_TEST_VALUE": "hello", "AOTC_TEST_OTHER": "a b=c"},
    ),
    "textproc": Invocation(stdin=sample_text(7, 400)),
    "procself": Invocation(args=("a1",), env={"PROCSELF_MARK": "42"}),
}
NOT_HERE = {"faults", "fp_signals"}  # exercised by test_guest_faults.py and test_fp_signals.py

BUILDS = [(src.stem, variant) for src in build_guests.guest_sources() if src.stem not in NOT_HERE
          for variant in build_guests.variants(src.stem)]


def tree(root: Path) -> dict[str, bytes]:
    """Every file under `root`, by relative path, with its contents."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def first_difference(want: bytes, got: bytes) -> str:
    """A short description of where two outputs first differ, by line."""
    want_lines, got_lines = want.splitlines(), got.splitlines()
    for number, (w, g) in enumerate(zip(want_lines, got_lines, strict=False), 1):
        if w != g:
            return f"line {number}:\n  native: {w[:300]!r}\n  aotc:   {g[:300]!r}"
    return f"native has {len(want_lines)} lines, aotc has {len(got_lines)}"


def run_both(binary: Path, invocation: Invocation, tmp_path: Path, options: tuple[str, ...] = (),
             no_aslr: bool = False) -> tuple[RunResult, RunResult, Path, Path]:
    """Run a guest natively (`no_aslr`: under setarch -R, the fixed layout aotc gives every run) and
    under aotc (with `options`), each in its own fresh working directory."""
    dirs = []
    for name in ("native", "aotc"):
        work = tmp_path / name
        work.mkdir()
        for sub in invocation.dirs:
            (work / sub).mkdir()
        dirs.append(work)
    env = guest_env(invocation.env)
    command, args = binary, invocation.args
    if no_aslr:
        setarch = shutil.which("setarch")
        assert setarch, "setarch (util-linux) is needed to run PIE guests natively without ASLR"
        command, args = Path(setarch), ["-R", str(binary), *invocation.args]
    native = run_native(command, args, env=env, cwd=dirs[0], stdin=invocation.stdin)
    aotc = run_aotc(binary, invocation.args, options=options, env=env, cwd=dirs[1], stdin=invocation.stdin)
    return native, aotc, dirs[0], dirs[1]


@pytest.fixture(scope="session")
def library_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A translation cache the dynamic guests share, as programs on one machine do: ld.so's and libc's
    blocks are translated by the first and found by the others."""
    return tmp_path_factory.mktemp("library-cache")


@pytest.mark.parametrize(("name", "variant"), BUILDS, ids=[f"{n}-{v}" for n, v in BUILDS])
def test_guest_matches_native(guest_bins: dict[str, Path], tmp_path: Path, library_cache: Path, name: str,
                              variant: str) -> None:
    """Same stdout, exit status and files as the native run of the same binary."""
    binary = guest_bins[f"{name}-{variant}"]
    invocation = INVOCATIONS.get(name, Invocation())
    dynamic = variant.startswith("dyn")
    options = ("--cache", str(library_cache)) if dynamic else ()
    native, aotc, native_dir, aotc_dir = run_both(binary, invocation, tmp_path, options, no_aslr=dynamic)
    assert native.stdout, "the guest printed nothing natively"
    assert len(tree(native_dir)) > 0 or not invocation.dirs, "the guest wrote no files natively"
    stderr_tail = aotc.stderr.decode(errors="replace")[-3000:]
    assert aotc.stdout == native.stdout, first_difference(native.stdout, aotc.stdout) + "\n" + stderr_tail
    assert aotc.returncode == native.returncode, stderr_tail
    assert tree(aotc_dir) == tree(native_dir)
