"""Run statistics, written as JSON by `aotc run --stats FILE`."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass


@dataclass
class Stats:
    """Counters of one run: what was translated, what came from the cache, how often Python was entered."""

    tbs_translated: int = 0
    tbs_from_cache: int = 0
    tbs_discarded: int = 0
    guest_insns_translated: int = 0
    dispatcher_exits: int = 0
    tbs_chained: int = 0
    tbs_invalidated: int = 0
    smc_exits: int = 0
    syscalls: int = 0
    translate_seconds: float = 0.0
    run_seconds: float = 0.0

    def write(self, path: str) -> None:
        with open(path, "w") as f:
            json.dump(asdict(self), f, indent=2)
            f.write("\n")
