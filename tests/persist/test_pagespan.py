"""Blocks whose guest bytes span two pages in the persistent cache: a record is checked against every
page it spans when loaded and again when installed, is listed (and evicted) under each, and the
pagespan guest (tests/guests/pagespan.c) gives its native output cold, warm, and when the cache was
filled before the program rewrote a second page. Every run uses its own `--cache` directory."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import REPO, aotc_command, guest_env, run_native

from aotc.backend.hostcode import TBExit
from aotc.exec.stats import Stats
from aotc.exec.tb import TBRecord
from aotc.persist.db import CacheDB
from aotc.persist.record import PAGE_SIZE, key_pc, page_key
from aotc.persist.store import PersistentStore

VERSION = b"V" * 8
PAGE = 0x8049
SPAN_PC = (PAGE << 12) + 0xFFA           # 10 guest bytes: 6 in PAGE, 4 in PAGE + 1


class Memory:
    """Four guest pages of bytes from PAGE on; fetch() is the guest-code fetch the store hashes."""

    def __init__(self) -> None:
        self.data = bytearray(b"\x90" * (4 * PAGE_SIZE))

    def fetch(self, addr: int, n: int) -> bytes:
        at = addr - (PAGE << 12)
        return bytes(self.data[max(at, 0):max(at + n, 0)])

    def poke(self, addr: int, value: int) -> None:
        self.data[addr - (PAGE << 12)] = value


def record(pc: int, size: int, code: bytes = b"\xc3") -> TBRecord:
    return TBRecord(pc, size, 1, code, (TBExit(0, pc + size, 0),), ((0, pc),))


@pytest.fixture
def cache(tmp_path: Path):
    mem, stats = Memory(), Stats()
    db = CacheDB(tmp_path / "cache")
    yield mem, stats, db, PersistentStore(db, mem.fetch, stats, version=VERSION)
    db.close()


def saved(store: PersistentStore, *records: TBRecord) -> None:
    for r in records:
        store.save(r)
    store.commit()


def test_a_record_is_loaded_only_while_its_second_page_matches(cache) -> None:
    mem, stats, _, store = cache
    span = record(SPAN_PC, 10)
    saved(store, span)
    assert store.load_page(PAGE) == [span]
    mem.poke((PAGE + 1) << 12, 0xCC)
    assert store.load_page(PAGE) == []
    assert stats.tbs_discarded == 1


def test_a_loaded_record_is_checked_again_when_installed(cache) -> None:
    mem, _, _, store = cache
    saved(store, record(SPAN_PC, 10))
    [loaded] = store.load_page(PAGE)
    assert store.still_valid(loaded)
    [loaded] = store.load_page(PAGE)
    mem.poke(((PAGE + 1) << 12) + 0x800, 0xCC)     # the second page changes after loading
    assert not store.still_valid(loaded)
    assert not store.still_valid(record(SPAN_PC, 10))   # not a record load_page gave


def test_records_reaching_into_different_second_pages_are_kept_side_by_side(cache) -> None:
    mem, _, _, store = cache
    first = record(SPAN_PC, 10, b"\x01\xc3")
    saved(store, first)
    mem.poke((PAGE + 1) << 12, 0xCC)
    second = record(SPAN_PC, 10, b"\x02\xc3")
    saved(store, second)
    assert store.load_page(PAGE) == [second]
    mem.poke((PAGE + 1) << 12, 0x90)
    assert store.load_page(PAGE) == [first]


def table(db: CacheDB, name: bytes) -> list[bytes]:
    return [key for key, _ in db.items(name)]


def test_a_record_is_listed_under_every_page_it_spans(cache) -> None:
    _, _, db, store = cache
    saved(store, record(SPAN_PC, 10))
    first, second = store.page_hash(PAGE), store.page_hash(PAGE + 1)
    assert sorted(table(db, b"pages")) == sorted([page_key(VERSION, first, PAGE),
                                                  page_key(VERSION, second, PAGE + 1)])
    [span] = table(db, b"spans")
    assert span.startswith(page_key(VERSION, second, PAGE + 1))
    assert table(db, b"tbs") == [span[len(page_key(VERSION, second, PAGE + 1)):]]


@pytest.mark.parametrize("oldest", [PAGE, PAGE + 1])
def test_evicting_either_page_evicts_the_record(cache, oldest: int) -> None:
    """The spanning record is written first; then a block of the other page, so that `oldest` holds
    the oldest page entry and is evicted first."""
    _, _, db, store = cache
    saved(store, record(SPAN_PC, 10))
    other = PAGE + 1 if oldest == PAGE else PAGE
    saved(store, record((other << 12) + 0x100, 4))
    assert db.evict(db.live_bytes() - 1) == 1
    assert [key_pc(key) for key in table(db, b"tbs")] == [(other << 12) + 0x100]
    assert table(db, b"spans") == []
    assert [r.pc for r in store.load_page(other)] == [(other << 12) + 0x100]


# -- the pagespan guest --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pagespan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pagespan") / "pagespan"
    subprocess.run(["gcc", "-m32", "-static", "-O2", "-fno-pie", "-no-pie", "-o", str(out),
                    str(REPO / "tests" / "guests" / "pagespan.c")], check=True)
    return out


def aotc_run(program: Path, cache: Path | None, tmp: Path, *args: str) -> tuple[bytes, dict]:
    """Run under aotc with --stats; (stdout, stats). The run must succeed without a warning."""
    stats = tmp / f"stats-{len(list(tmp.glob('stats-*')))}.json"
    where = ["--no-cache"] if cache is None else ["--cache", str(cache)]
    proc = subprocess.run([*aotc_command(), "run", *where, "--stats", str(stats), str(program), *args],
                          capture_output=True, env=guest_env({"PYTHONPATH": str(REPO)}), timeout=600,
                          cwd=tmp)
    assert proc.returncode == 0 and b"aotc: warning" not in proc.stderr, proc.stderr.decode()
    return proc.stdout, json.loads(stats.read_text())


def symbol(program: Path, name: str) -> int:
    from elftools.elf.elffile import ELFFile

    with open(program, "rb") as f:
        return ELFFile(f).get_section_by_name(".symtab").get_symbol_by_name(name)[0]["st_value"]


def native(program: Path, *args: str) -> bytes:
    result = run_native(program, args)
    assert result.returncode == 0
    return result.stdout


def test_pagespan_cold_and_warm(pagespan: Path, tmp_path: Path) -> None:
    expected = native(pagespan)
    assert aotc_run(pagespan, None, tmp_path)[0] == expected
    cache = tmp_path / "cache"
    assert aotc_run(pagespan, cache, tmp_path)[0] == expected
    out, warm = aotc_run(pagespan, cache, tmp_path)
    assert out == expected and warm["tbs_from_cache"] > 0


def test_spanning_blocks_come_from_the_cache_while_both_pages_match(pagespan: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    expected = native(pagespan, "prime")
    _, cold = aotc_run(pagespan, cache, tmp_path, "prime")
    out, warm = aotc_run(pagespan, cache, tmp_path, "prime")
    assert out == expected and warm["tbs_translated"] == 0
    assert warm["tbs_from_cache"] >= cold["tbs_translated"]
    listing = subprocess.run([*aotc_command(), "inspect", "--cache", str(cache), str(pagespan)],
                             capture_output=True, env=guest_env(), check=True).stdout.decode()
    pages = {int(row[0], 16): row[2] for row in (line.split() for line in listing.splitlines()[1:-1])}
    for name in ("ps_span1", "ps_span2"):
        pc = symbol(pagespan, name)
        assert pages[pc] == f"{pc >> 12:#x},{(pc >> 12) + 1:#x}"


def test_a_second_page_rewritten_after_its_first_page_was_loaded(pagespan: Path, tmp_path: Path) -> None:
    """The cache holds span1 and span2 as built (from a `prime` run). The next run loads their first
    pages (calling f_a and g_c) before it rewrites their second pages, by a store and by read()."""
    cache = tmp_path / "cache"
    aotc_run(pagespan, cache, tmp_path, "prime")
    out, stats = aotc_run(pagespan, cache, tmp_path)
    assert out == native(pagespan)
    assert stats["tbs_from_cache"] > 0
    assert stats["tbs_discarded"] >= 1       # span1, at install: its second page changed by a store
