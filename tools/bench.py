"""Benchmark aotc against native execution and qemu-i386 on our own i386 guests.

Builds tools/bench/*.c into build/bench/ (i386 -O2, static but for `bench-cflags: -dynamic`), runs every
guest natively, under qemu-i386 and under `aotc run --no-cache` (cold: every block translated in the
run), or with `--warm` under `aotc run` with a fresh persistent cache filled by one untimed run first
(warm: nothing translated). It checks that all three print the same stdout and exit status, and prints
a table of wall-clock times, ratios and aotc's dispatcher exits per second.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH_SRC = REPO / "tools" / "bench"
BUILD_DIR = REPO / "build" / "bench"
AOTC = REPO / ".venv" / "bin" / "aotc"
CFLAGS = ("-m32", "-O2", "-fno-strict-aliasing")
STATIC = ("-static", "-fno-pie", "-no-pie")
DYNAMIC = ("-fpie", "-pie")      # what a guest's `bench-cflags: -dynamic` builds: a PIE on ld.so
DEFAULT_SCALE = 100
ENGINES = ("native", "qemu", "aotc")


class BenchError(RuntimeError):
    """The benchmark cannot run at all (no compiler, no qemu, a guest that does not build)."""


@dataclass
class Run:
    """One process: wall-clock seconds, what it printed and how it ended."""

    seconds: float
    stdout: str
    status: int | None
    stderr: str = ""
    timed_out: bool = False
    stats: dict = field(default_factory=dict)

    def outcome(self) -> tuple[str, int | None]:
        """What must agree across engines: stdout and exit status."""
        return self.stdout, self.status


@dataclass
class GuestResult:
    """The best run of each engine for one guest, and whether their outcomes agreed."""

    guest: str
    runs: dict[str, Run]
    verdict: str
    detail: str = ""

    def seconds(self, engine: str) -> float | None:
        """Best wall time of `engine`, or None if it timed out."""
        run = self.runs.get(engine)
        return None if run is None or run.timed_out else run.seconds

    def ratio(self, engine: str, baseline: str) -> float | None:
        """engine time / baseline time, when both finished."""
        top, bottom = self.seconds(engine), self.seconds(baseline)
        return None if top is None or bottom is None or bottom <= 0 else top / bottom

    def exits_per_second(self) -> float | None:
        """aotc's dispatcher exits per second of guest run time (from its --stats JSON)."""
        stats = self.runs["aotc"].stats if "aotc" in self.runs else {}
        exits, seconds = stats.get("dispatcher_exits"), stats.get("run_seconds")
        return exits / seconds if exits is not None and seconds else None


def ensure_qemu() -> str:
    """Path of qemu-i386; install Debian's qemu-user with apt-get (as root) if missing, else fail."""
    found = shutil.which("qemu-i386")
    if found:
        return found
    if os.geteuid() != 0:
        raise BenchError("qemu-i386 not found and not root: install it with `apt-get install qemu-user`")
    print("bench: qemu-i386 not found; running `apt-get update` and `apt-get install -y qemu-user`",
          file=sys.stderr)
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "qemu-user"]):
        if subprocess.run(cmd, stdout=sys.stderr).returncode != 0:
            raise BenchError(f"`{' '.join(cmd)}` failed; cannot get qemu-i386")
    found = shutil.which("qemu-i386")
    if not found:
        raise BenchError("qemu-user installed but qemu-i386 is still not on PATH")
    return found


def guest_cflags(src: Path) -> list[str]:
    """A guest's own compiler flags, from a `bench-cflags:` line in its source (the FP builds)."""
    for line in src.read_text().splitlines():
        if "bench-cflags:" in line:
            return line.split("bench-cflags:", 1)[1].replace("*/", "").split()
    return []


def guest_kind(src: Path) -> str:
    """What a guest measures, from its first line, summarized apart: `(fp` FP/SIMD, `(startup` start-up
    and exit (static and dynamic hello), else integer code."""
    first = src.read_text().splitlines()[0]
    return next((kind for kind in ("fp", "startup") if f"({kind}" in first), "integer")


def build_guest(src: Path, out_dir: Path = BUILD_DIR) -> Path:
    """Compile one guest unless its binary is already newer than the source; return the binary."""
    out = out_dir / src.stem
    sources = [src, *(BENCH_SRC / line.split('"')[1] for line in src.read_text().splitlines()
                      if line.startswith('#include "'))]
    if out.exists() and all(out.stat().st_mtime >= s.stat().st_mtime for s in sources):
        return out
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    flags = guest_cflags(src)
    libs = [f for f in flags if f.startswith("-l")]
    link = DYNAMIC if "-dynamic" in flags else STATIC
    own = [f for f in flags if not f.startswith("-l") and f != "-dynamic"]
    cmd = ["gcc", *CFLAGS, *link, *own, str(src), "-o", str(tmp), *libs]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BenchError(f"gcc failed on {src.name} (is gcc-multilib installed?):\n{proc.stderr}")
    tmp.replace(out)
    return out


def guest_sources(only: str | None) -> list[Path]:
    """The guest sources, sorted, optionally just the one named `only`."""
    sources = sorted(BENCH_SRC.glob("*.c"))
    if only is not None:
        sources = [src for src in sources if src.stem == only]
        if not sources:
            raise BenchError(f"no guest named {only!r} in {BENCH_SRC}")
    return sources


def timed_run(cmd: Sequence[str], timeout: float, stats_file: Path | None = None) -> Run:
    """Run `cmd` once and time the whole process with the wall clock."""
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=timeout)
    except subprocess.TimeoutExpired:
        return Run(time.perf_counter() - t0, "", None, timed_out=True)
    seconds = time.perf_counter() - t0
    stats = json.loads(stats_file.read_text()) if stats_file and stats_file.exists() else {}
    return Run(seconds, proc.stdout, proc.returncode, proc.stderr[-2000:], stats=stats)


def engine_command(engine: str, qemu: str, binary: Path, scale: int, stats_file: Path,
                   cache: Path | None = None) -> list[str]:
    """The command line that runs `binary` at `scale` under `engine` (aotc with `cache`, if given)."""
    guest = [str(binary), str(scale)]
    cache_option = ["--cache", str(cache)] if cache is not None else ["--no-cache"]
    prefixes = {
        "native": [],
        "qemu": [qemu],
        "aotc": [str(AOTC), "run", *cache_option, "--stats", str(stats_file)],
    }
    return prefixes[engine] + guest


def describe(run: Run) -> str:
    """A short human description of how a run ended, for FAIL details."""
    if run.timed_out:
        return "timed out"
    ending = f"killed by signal {-run.status}" if run.status < 0 else f"status {run.status}"
    last = run.stdout.strip().splitlines()[-1:] or ["<no output>"]
    complaint = run.stderr.strip().splitlines()[-1:]
    return f"{ending}, last line {last[0]!r}" + (f", stderr {complaint[0]!r}" if complaint else "")


def judge(runs: dict[str, Run]) -> tuple[str, str]:
    """OK when every engine matches native's outcome and native passed its own check; else FAIL/TIMEOUT."""
    native = runs["native"]
    if native.timed_out or native.status != 0:
        return "FAIL", f"native: {describe(native)}"
    for engine in ENGINES[1:]:
        run = runs[engine]
        if run.timed_out:
            return "TIMEOUT", f"{engine}: timed out"
        if run.outcome() != native.outcome():
            return "FAIL", f"{engine} differs from native: {describe(run)} vs {describe(native)}"
    return "OK", ""


def engine_runs(cmd: Sequence[str], repeat: int, timeout: float, stats_file: Path | None) -> list[Run]:
    """Up to `repeat` runs of one command; stop early after a timeout (more would only time out too)."""
    runs = []
    for _ in range(repeat):
        if stats_file is not None:
            stats_file.unlink(missing_ok=True)
        runs.append(timed_run(cmd, timeout, stats_file))
        if runs[-1].timed_out:
            break
    return runs


def fastest(runs: Sequence[Run]) -> Run:
    """The quickest run that finished, or a timed-out one if none finished."""
    finished = [run for run in runs if not run.timed_out]
    return min(finished, key=lambda run: run.seconds) if finished else runs[0]


def bench_guest(binary: Path, qemu: str, scale: int, repeat: int, timeout: float,
                warm: bool = False) -> GuestResult:
    """Run one guest `repeat` times under each engine; keep each engine's fastest run and judge them.

    With `warm`, aotc uses a fresh cache that one untimed run fills first."""
    best: dict[str, Run] = {}
    unstable = []
    with tempfile.TemporaryDirectory(prefix="aotc-bench-") as tmp:
        cache = Path(tmp) / "cache" if warm else None
        for engine in ENGINES:
            stats_file = Path(tmp) / "stats.json" if engine == "aotc" else None
            cmd = engine_command(engine, qemu, binary, scale, Path(tmp) / "stats.json", cache)
            if engine == "aotc" and warm:
                timed_run(cmd, timeout)
            runs = engine_runs(cmd, repeat, timeout, stats_file)
            if len({run.outcome() for run in runs if not run.timed_out}) > 1:
                unstable.append(engine)
            best[engine] = fastest(runs)
    if unstable:
        return GuestResult(binary.name, best, "FAIL", f"output differs between runs of {', '.join(unstable)}")
    verdict, detail = judge(best)
    return GuestResult(binary.name, best, verdict, detail)


def geomean(values: Sequence[float]) -> float | None:
    """Geometric mean, or None for no values."""
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def fmt(value: float | None, spec: str, missing: str = "-") -> str:
    """Format a number, or `missing` when there is none."""
    return missing if value is None else format(value, spec)


COLUMNS = ("guest", "native s", "qemu s", "aotc s", "aotc/native", "aotc/qemu", "exits/s", "status")


def table_rows(results: Sequence[GuestResult]) -> list[list[str]]:
    """One row of formatted cells per guest."""
    rows = []
    for r in results:
        times = [fmt(r.seconds(e), ".3f", "TIMEOUT" if e in r.runs else "-") for e in ENGINES]
        ratios = [fmt(r.ratio("aotc", base), ".2f") for base in ("native", "qemu")]
        status = r.verdict + (f" ({r.detail})" if r.detail else "")
        rows.append([r.guest, *times, *ratios, fmt(r.exits_per_second(), ",.0f"), status])
    return rows


def _kind(result: GuestResult) -> str:
    src = BENCH_SRC / f"{result.guest}.c"
    return guest_kind(src) if src.exists() else "integer"


GROUPS = {"": lambda r: _kind(r) != "startup", "_integer": lambda r: _kind(r) == "integer",
          "_fp": lambda r: _kind(r) == "fp", "_startup": lambda r: _kind(r) == "startup"}


def summary(results: Sequence[GuestResult]) -> dict[str, float | None]:
    """Geometric means of aotc/native and aotc/qemu over guests whose runs all agreed: the compute ones
    (integer and FP/SIMD together), each kind alone, and the start-up ones; and the dynamic hello's aotc
    time over the static one's."""
    ok = [r for r in results if r.verdict == "OK"]
    means = {
        f"geomean{group}_aotc_over_{base}": geomean([x for r in ok if keep(r)
                                                     if (x := r.ratio("aotc", base)) is not None])
        for group, keep in GROUPS.items() for base in ("native", "qemu")
    }
    by_name = {r.guest: r for r in ok}
    static, dynamic = by_name.get("hello"), by_name.get("hello_dyn")
    means["dynamic_over_static_hello_aotc"] = (
        dynamic.seconds("aotc") / static.seconds("aotc") if static and dynamic and static.seconds("aotc")
        else None)
    return means


def format_table(results: Sequence[GuestResult]) -> str:
    """The results as an aligned text table followed by the geometric means."""
    rows = [list(COLUMNS), *table_rows(results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS) - 1)]
    lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in
                       enumerate(zip(row, widths, strict=False))) + "  " + row[-1] for row in rows]
    means = summary(results)
    lines.append("")
    for group, name in (("", "compute"), ("_integer", "integer"), ("_fp", "fp"), ("_startup", "startup")):
        count = sum(r.verdict == "OK" and GROUPS[group](r) for r in results)
        lines.append(f"geomean {name:8} aotc/native: {fmt(means[f'geomean{group}_aotc_over_native'], '.1f')}"
                     f"   aotc/qemu: {fmt(means[f'geomean{group}_aotc_over_qemu'], '.1f')}   "
                     f"(over {count} OK guests)")
    lines.append(f"dynamic hello / static hello, aotc: {fmt(means['dynamic_over_static_hello_aotc'], '.2f')}")
    return "\n".join(lines)


def to_json(results: Sequence[GuestResult], scale: int, repeat: int) -> dict:
    """Machine-readable results: per-guest runs (without stdout) plus the geometric means."""
    guests = []
    for r in results:
        runs = {e: {k: v for k, v in asdict(run).items() if k != "stdout"} for e, run in r.runs.items()}
        guests.append({"guest": r.guest, "verdict": r.verdict, "detail": r.detail, "runs": runs,
                       "aotc_over_native": r.ratio("aotc", "native"),
                       "aotc_over_qemu": r.ratio("aotc", "qemu"),
                       "dispatcher_exits_per_second": r.exits_per_second()})
    return {"scale": scale, "repeat": repeat, "guests": guests, **summary(results)}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=DEFAULT_SCALE,
                        help=f"workload size passed to every guest as argv[1] (default {DEFAULT_SCALE})")
    parser.add_argument("--repeat", type=int, default=1, help="runs per engine; the best is kept")
    parser.add_argument("--only", metavar="NAME", help="run just this guest (file stem in tools/bench)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--warm", action="store_true",
                        help="time aotc with a persistent cache filled by one untimed run (default: cold)")
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="seconds before one run is reported as TIMEOUT (default 600)")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.scale < 0:
        parser.error("--repeat must be at least 1 and --scale non-negative")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Build, run, print the table; exit status 1 if any guest FAILed or timed out."""
    args = parse_args(argv)
    try:
        if not AOTC.exists():
            raise BenchError(f"{AOTC} not found: run tools/setup.sh first")
        qemu = ensure_qemu()
        binaries = [build_guest(src) for src in guest_sources(args.only)]
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    results = []
    for binary in binaries:
        print(f"bench: {binary.name} (scale {args.scale}, best of {args.repeat}) ...", file=sys.stderr)
        results.append(bench_guest(binary, qemu, args.scale, args.repeat, args.timeout, args.warm))
    print(format_table(results))
    if args.json is not None:
        args.json.write_text(json.dumps(to_json(results, args.scale, args.repeat), indent=2) + "\n")
    bad = [f"{r.guest} {r.verdict}" for r in results if r.verdict != "OK"]
    if bad:
        print(f"bench: NOT OK: {', '.join(bad)}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
