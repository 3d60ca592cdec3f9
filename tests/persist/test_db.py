"""Unit tests of the LMDB environment: writes, prefix scans, growth, eviction of the oldest pages."""

from __future__ import annotations

import struct
from pathlib import Path

from aotc.persist.db import CacheDB, Write

PREFIX_SIZE = 24


def write_page(db: CacheDB, tag: int, records: int, size: int) -> bytes:
    """`records` values of `size` bytes under one page prefix; return the prefix."""
    prefix = struct.pack(">Q", 1) + struct.pack(">QQ", tag, tag)
    page = 0x8049 + tag
    db.write(Write(prefix + struct.pack(">I", (page << 12) + i * 16), bytes([tag & 0xFF]) * size)
             for i in range(records))
    return prefix


def test_scan_returns_exactly_one_prefix(tmp_path: Path) -> None:
    db = CacheDB(tmp_path)
    first, second = write_page(db, 1, 5, 100), write_page(db, 2, 3, 100)
    assert len(db.scan(first)) == 5 and len(db.scan(second)) == 3
    assert {v for _, v in db.scan(second)} == {b"\x02" * 100}
    db.close()


def test_map_grows_past_its_initial_size(tmp_path: Path) -> None:
    db = CacheDB(tmp_path)
    prefixes = [write_page(db, tag, 8, 1 << 20) for tag in range(10)]
    assert db.env.info()["map_size"] > 80 << 20
    db.close()
    reopened = CacheDB(tmp_path)
    assert reopened.stats()["records"] == 80
    assert len(reopened.scan(prefixes[3])) == 8
    reopened.close()


def test_eviction_drops_the_oldest_pages_first(tmp_path: Path) -> None:
    db = CacheDB(tmp_path, max_bytes=2 << 20)
    prefixes = [write_page(db, tag, 4, 100_000) for tag in range(12)]
    assert db.live_bytes() <= 2 << 20
    assert db.scan(prefixes[0]) == []
    assert len(db.scan(prefixes[-1])) == 4
    db.close()
