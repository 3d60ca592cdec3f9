"""A hot loop runs inside the code cache: chained direct jumps and jump-cache hits, not Python."""

from __future__ import annotations

import json

from conftest import run_aotc, run_native

ITERATIONS = 1_500_000      # of the loop in tests/guests/hotloop.c, each with an indirect call and a ret


def test_hot_loop_hardly_returns_to_the_dispatcher(guest_bins, tmp_path):
    program = guest_bins["hotloop-O2"]
    stats_file = tmp_path / "stats.json"
    native = run_native(program)
    got = run_aotc(program, options=("--stats", str(stats_file)))
    assert (got.returncode, got.stdout) == (native.returncode, native.stdout)
    stats = json.loads(stats_file.read_text())
    assert stats["tbs_chained"] > 0
    assert stats["dispatcher_exits"] < ITERATIONS / 1000, stats
