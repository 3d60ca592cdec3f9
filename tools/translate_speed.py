"""Translation speed per stage (frontend, optimizer, backend) in ms per TB, for a guest program.

Collects up to --tbs TBs by following their exits from the entry point, then times each stage over all of
them, --repeat times, and prints the fastest run of each (CPU time, so other load on the machine matters
less). Usage: .venv/bin/python tools/translate_speed.py build/examples/hello [--tbs 600] [--repeat 5]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from aotc.backend.codegen import compile_block
from aotc.frontend.translate import translate_block
from aotc.guest.memory import GuestMemory
from aotc.ir.core import Block
from aotc.ir.optimize import optimize
from aotc.loader import load_program


def collect_pcs(path: str, limit: int) -> tuple[Callable[[int, int], bytes], list[int]]:
    """Load the program and find up to `limit` TB start pcs reachable from its entry (depth first)."""
    mem = GuestMemory()
    prog = load_program(path, [path], [], mem)
    todo, seen = [prog.entry], []
    found = set()
    while todo and len(seen) < limit:
        pc = todo.pop()
        if pc in found:
            continue
        found.add(pc)
        seen.append(pc)
        tb = translate_block(mem.fetch_code, pc)
        todo += [e.pc for e in compile_block(optimize(tb.block)).exits]
        todo.append(pc + tb.size)
    return mem.fetch_code, seen


def time_stages(fetch: Callable[[int, int], bytes], pcs: list[int]) -> tuple[float, float, float]:
    """Seconds of CPU time spent translating, optimizing and compiling every TB once."""
    t0 = time.process_time()
    blocks: list[Block] = [translate_block(fetch, pc).block for pc in pcs]
    t1 = time.process_time()
    optimized = [optimize(b) for b in blocks]
    t2 = time.process_time()
    for b in optimized:
        compile_block(b)
    t3 = time.process_time()
    return t1 - t0, t2 - t1, t3 - t2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("program")
    parser.add_argument("--tbs", type=int, default=600, help="how many TBs to translate")
    parser.add_argument("--repeat", type=int, default=5, help="runs per stage; the fastest counts")
    args = parser.parse_args()
    fetch, pcs = collect_pcs(args.program, args.tbs)
    runs = [time_stages(fetch, pcs) for _ in range(args.repeat)]
    best = [min(r[i] for r in runs) * 1000 / len(pcs) for i in range(3)]
    print(f"{len(pcs)} TBs; ms/TB frontend {best[0]:.3f} optimize {best[1]:.3f} backend {best[2]:.3f} "
          f"total {sum(best):.3f}")


if __name__ == "__main__":
    main()
