"""Build the guest test programs (tests/guests/*.c) as i386 binaries in every variant.

Every guest is built statically at every optimization level (x87 code, gcc -m32's default) and once
as a dynamically linked PIE against the host's i386 libraries; the FP guests
(tests/guests/fp_*.c, but those with a test of their own that builds them) are also built as SSE2 code
and as vectorized SSSE3 code. Outputs go to build/guests/<name>-<variant> (git-ignored); an output
newer than its source is reused.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GUEST_SRC = REPO / "tests" / "guests"
DEFAULT_OUT = REPO / "build" / "guests"
OPT_LEVELS = ("O0", "O1", "O2", "O3", "Os")
# variant name -> gcc flags; every guest is built in these
STATIC = ("-static", "-fno-pie", "-no-pie")
VARIANTS = {opt: (*STATIC, f"-{opt}") for opt in OPT_LEVELS}
# and a dynamically linked PIE, as Debian's gcc builds by default (the host's i386 libraries serve)
VARIANTS["dyn-O2"] = ("-fpie", "-pie", "-O2")
# and the FP guests in these too: scalar SSE2 FP math, and what gcc vectorizes for SSSE3
FP_VARIANTS = {
    "sse-O0": (*STATIC, "-O0", "-msse2", "-mfpmath=sse"),
    "sse-O2": (*STATIC, "-O2", "-msse2", "-mfpmath=sse"),
    "vec-O3": (*STATIC, "-O3", "-mssse3", "-mfpmath=sse"),
}
FP_PREFIX = "fp_"
OWN_BUILDS = {"fp_signals"}     # tests/e2e/test_fp_signals.py builds it in flavours of its own
CFLAGS = ("-m32", "-w", "-fno-strict-aliasing")


class BuildError(RuntimeError):
    """A guest failed to compile or link; the message carries gcc's output."""


def check_toolchain() -> None:
    """Fail loudly if gcc cannot link a static i386 program (gcc-multilib missing)."""
    probe = subprocess.run(
        ["gcc", *CFLAGS, *STATIC, "-x", "c", "-", "-o", "/dev/null"],
        input="int main(void){return 0;}\n",
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        raise BuildError(
            "gcc -m32 -static cannot link an i386 program (is gcc-multilib installed?):\n" + probe.stderr
        )


def variants(stem: str) -> dict[str, tuple[str, ...]]:
    """The variants guest `stem` is built in: name -> gcc flags."""
    if stem.startswith(FP_PREFIX) and stem not in OWN_BUILDS:
        return {**VARIANTS, **FP_VARIANTS}
    return dict(VARIANTS)


def output_path(src: Path, variant: str, out_dir: Path) -> Path:
    """The binary built from `src` in `variant`."""
    return out_dir / f"{src.stem}-{variant}"


def build_one(src: Path, variant: str, out_dir: Path) -> Path:
    """Compile one guest in one variant unless its output is already newer than the source."""
    out = output_path(src, variant, out_dir)
    if out.exists() and out.stat().st_mtime >= src.stat().st_mtime:
        return out
    tmp = out.with_name(f"{out.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    flags = variants(src.stem)[variant]
    proc = subprocess.run(
        ["gcc", *CFLAGS, *flags, str(src), "-o", str(tmp), "-lm"], capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise BuildError(f"gcc failed on {src.name} with {' '.join(flags)}:\n{proc.stderr}")
    tmp.replace(out)
    return out


def guest_sources() -> list[Path]:
    """Every guest source file, sorted by name."""
    return sorted(GUEST_SRC.glob("*.c"))


def build_all(out_dir: Path = DEFAULT_OUT) -> list[Path]:
    """Build every guest in each of its variants into `out_dir`; return the binaries."""
    check_toolchain()
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = [(src, variant) for src in guest_sources() for variant in variants(src.stem)]
    with ThreadPoolExecutor() as pool:
        return list(pool.map(lambda job: build_one(job[0], job[1], out_dir), jobs))


def main() -> int:
    """Command-line entry: build everything and list the outputs."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out_dir", nargs="?", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    try:
        built = build_all(args.out_dir)
    except BuildError as exc:
        print(f"build_guests: {exc}", file=sys.stderr)
        return 1
    print(f"{len(built)} guest binaries in {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
