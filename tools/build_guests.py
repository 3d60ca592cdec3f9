"""Build the guest test programs (tests/guests/*.c) as static i386 binaries at every optimization level.

Outputs go to build/guests/<name>-O<level> (git-ignored); an output newer than its source is reused.
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
CFLAGS = ("-m32", "-static", "-fno-pie", "-no-pie", "-w", "-fno-strict-aliasing")


class BuildError(RuntimeError):
    """A guest failed to compile or link; the message carries gcc's output."""


def check_toolchain() -> None:
    """Fail loudly if gcc cannot link a static i386 program (gcc-multilib missing)."""
    probe = subprocess.run(
        ["gcc", *CFLAGS, "-x", "c", "-", "-o", "/dev/null"],
        input="int main(void){return 0;}\n",
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        raise BuildError(
            "gcc -m32 -static cannot link an i386 program (is gcc-multilib installed?):\n" + probe.stderr
        )


def output_path(src: Path, opt: str, out_dir: Path) -> Path:
    """The binary built from `src` at optimization level `opt`."""
    return out_dir / f"{src.stem}-{opt}"


def build_one(src: Path, opt: str, out_dir: Path) -> Path:
    """Compile one guest at one level unless its output is already newer than the source."""
    out = output_path(src, opt, out_dir)
    if out.exists() and out.stat().st_mtime >= src.stat().st_mtime:
        return out
    tmp = out.with_name(f"{out.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    proc = subprocess.run(
        ["gcc", *CFLAGS, f"-{opt}", str(src), "-o", str(tmp), "-lm"], capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise BuildError(f"gcc failed on {src.name} at -{opt}:\n{proc.stderr}")
    tmp.replace(out)
    return out


def guest_sources() -> list[Path]:
    """Every guest source file, sorted by name."""
    return sorted(GUEST_SRC.glob("*.c"))


def build_all(out_dir: Path = DEFAULT_OUT) -> list[Path]:
    """Build every guest at every level into `out_dir`; return the binaries."""
    check_toolchain()
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = [(src, opt) for src in guest_sources() for opt in OPT_LEVELS]
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
