"""Blocks that are not flat 32-bit code in the persistent cache: 16-bit code, code segments with a base,
segmented data. A record is found by its whole TB key (eip, mode, cs base), by the linear page its code
starts in, so the same guest bytes translated in other modes or segments are kept side by side and never
confused; the modes guest (tests/persist/modes.c) gives its native output cold and warm, its 16-bit
blocks then coming from the cache; a record of the old format is translated again. Every run uses its
own `--cache` directory."""

from __future__ import annotations

import hashlib
import json
import re
import signal
import struct
import subprocess
from pathlib import Path

import lmdb
import pytest
from conftest import REPO, aotc_command, guest_env, run_native

from aotc.backend.hostcode import TBExit
from aotc.exec.debuglog import DebugLog
from aotc.exec.engine import Engine, StoredRecords
from aotc.exec.stats import Stats
from aotc.exec.tb import TBRecord, tb_key
from aotc.guest.cpu import TBMode
from aotc.guest.memory import PROT_EXEC, PROT_READ, GuestMemory
from aotc.persist.db import CacheDB
from aotc.persist.record import CorruptRecord, StoredRecord, decode, encode
from aotc.persist.store import PersistentStore

HERE = Path(__file__).resolve().parent
VERSION = b"V" * 8
CODE16 = TBMode.CODE16 | TBMode.CS_BASE
CODE32 = TBMode.CS_BASE
BASE = 0x8049000
# as 16-bit code: mov eax, 0x02eb1234; lretl. As 32-bit code: mov ax, 0x1234; jmp +2; lret
DUAL = bytes.fromhex("66b83412eb0266cbcb")
DUAL_AT = BASE + 0x7F0
# (eip, mode, cs base) of DUAL as 16- and 32-bit code in segments at two bases, and as flat code
WAYS = [(0x7F0, CODE16, BASE), (0x7F0, CODE32, BASE), (0x17F0, CODE16, BASE - 0x1000),
        (0x17F0, CODE32, BASE - 0x1000), (DUAL_AT, 0, 0), (DUAL_AT, TBMode.SEGMENTED, 0)]
SPAN_AT = BASE + 0xFFC             # DUAL again, 4 bytes in one page and 5 in the next
SPAN16 = (0xFFC + 0x123, CODE16, BASE - 0x123)   # as 16-bit code, at an eip in another page


@pytest.fixture
def memory():
    mem = GuestMemory()
    mem.map(BASE, 0x2000, PROT_READ | PROT_EXEC)
    mem.write(DUAL_AT, DUAL)
    mem.write(SPAN_AT, DUAL)
    yield mem
    mem.close()


@pytest.fixture
def db(tmp_path: Path):
    db = CacheDB(tmp_path / "cache")
    yield db
    db.close()


@pytest.fixture
def engines(memory, db):
    """engines() gives a fresh engine on `memory` with a store on `db`, (engine, store, stats), the one
    before it closed, its records committed."""
    made: list[tuple[Engine, PersistentStore, Stats]] = []

    def done(engine: Engine, store: PersistentStore) -> None:
        # close() leaves every signal blocked (the guest is gone); the tests after this one take faults
        store.commit()
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, [])
        engine.close()
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)

    def make() -> tuple[Engine, PersistentStore, Stats]:
        if made:
            done(*made[-1][:2])
        stats = Stats()
        store = PersistentStore(db, memory.fetch_code, stats, version=VERSION)
        made.append((Engine(memory.fetch_code, DebugLog(), stats, 1 << 20, store=store), store, stats))
        return made[-1]

    yield make
    if made:
        done(*made[-1][:2])


def test_the_same_bytes_in_every_mode_come_back_from_the_cache_each_as_itself(engines, db) -> None:
    engine, _, stats = engines()
    cold = {way: engine.lookup(*way).record for way in WAYS}
    assert stats.tbs_translated == len(WAYS)
    assert cold[WAYS[0]].code != cold[WAYS[1]].code           # 16- and 32-bit code are not alike
    assert {r.pages()[0] for r in cold.values()} == {DUAL_AT >> 12}
    engine, _, stats = engines()
    assert len(db.items()) == len(WAYS)
    for way in WAYS:
        tb = engine.lookup(*way)
        assert tb.key == tb_key(*way)
        assert tb.record == cold[way]
    assert (stats.tbs_from_cache, stats.tbs_translated) == (len(WAYS), 0)


@pytest.mark.parametrize("stored, wanted", [(0, 1), (1, 0), (0, 2), (1, 3), (4, 1), (4, 5), (5, 4)])
def test_a_block_stored_in_one_mode_is_not_taken_for_another(engines, stored: int, wanted: int) -> None:
    engine, _, _ = engines()
    engine.lookup(*WAYS[stored])
    engine, _, stats = engines()
    tb = engine.lookup(*WAYS[wanted])
    assert (tb.record.pc, tb.record.mode, tb.record.cs_base) == WAYS[wanted]
    assert (stats.tbs_from_cache, stats.tbs_translated) == (0, 1)


def test_a_record_is_stored_with_the_guest_bytes_at_its_linear_address(engines) -> None:
    engine, store, _ = engines()
    engine.lookup(*WAYS[2])
    engines()
    [stored] = store.load_stored(DUAL_AT >> 12)
    assert stored.guest == DUAL[:stored.record.size]
    assert stored.page_hashes == (store.page_hash(DUAL_AT >> 12),)


def test_a_spanning_16_bit_block_is_checked_against_both_linear_pages(engines, memory) -> None:
    engine, _, _ = engines()
    cold = engine.lookup(*SPAN16).record
    assert cold.pages() == range(BASE >> 12, (BASE >> 12) + 2)
    engine.lookup(*WAYS[0])
    engine, _, stats = engines()
    assert engine.lookup(*SPAN16).record == cold
    assert (stats.tbs_from_cache, stats.tbs_translated) == (1, 0)
    engine, _, stats = engines()
    engine.lookup(*WAYS[0])                         # loads the first page's records, SPAN16's too
    memory.write(BASE + 0x1000, b"\x90")            # then its second page changes
    assert engine.lookup(*SPAN16).record.code != cold.code      # mov eax, 0x02901234 now
    assert (stats.tbs_from_cache, stats.tbs_translated, stats.tbs_discarded) == (1, 1, 1)


def test_evicting_a_linear_page_evicts_the_16_bit_record_reaching_into_it(memory, db) -> None:
    """The spanning 16-bit record is written first, then a flat one of its second page: its first page
    holds the oldest page entry and goes first, taking the record (and its span entry) along."""
    store = PersistentStore(db, memory.fetch_code, Stats(), version=VERSION)
    pc, mode, cs_base = SPAN16
    span = TBRecord(pc, 9, 1, b"\xc3", (), ((0, pc),), mode, cs_base)
    flat = TBRecord(BASE + 0x1100, 4, 1, b"\xc3", (), ((0, BASE + 0x1100),))
    for r in (span, flat):
        store.save(r)
        store.commit()
    assert len(db.items(b"spans")) == 1
    assert db.evict(db.live_bytes() - 1) == 1
    assert db.items(b"spans") == []
    assert store.load_page(BASE >> 12) == [] and store.load_page((BASE >> 12) + 1) == [flat]


def test_a_stored_block_with_a_cs_base_is_dropped_when_its_linear_page_changes() -> None:
    """A record at eip 0x0FF0 of a segment based at 0x804A000 spans linear pages 0x804A and 0x804B; its
    eip's page (0) plays no part."""
    spanning = TBRecord(0xFF0, 0x20, 1, b"\xc3", (TBExit(0, 0x1010, 0),), ((0, 0xFF0),), CODE16, 0x804A000)
    other = TBRecord(0xFF0, 0x20, 1, b"\xc3", (TBExit(0, 0x1010, 0),), ((0, 0xFF0),), CODE32, 0x804A000)
    assert spanning.pages() == range(0x804A, 0x804C)
    stored = StoredRecords()
    stored.add_page(0x804A, [spanning, other])
    assert stored.holds(0x804B) and not stored.holds(0)
    assert stored.take(spanning.key, 0x804A) is spanning
    assert stored.take(spanning.key, 0x804A) is None
    assert stored.holds(0x804B)                      # `other` still reaches into it
    stored.forget(0x804B)
    assert stored.take(other.key, 0x804A) is None and not stored.holds(0x804B)


def format1(stored: StoredRecord) -> bytes:
    """A (flat) record as format 1 wrote it: no mode, no cs base; its checksum is valid."""
    r = stored.record
    body = b"".join([struct.pack("<4sH8sIIIBHIII", b"AOTC", 1, stored.version, r.pc, r.size, r.ninsns,
                                 len(stored.page_hashes), len(r.exits), len(r.insn_offsets), len(r.code),
                                 len(stored.guest)),
                     *stored.page_hashes, *(struct.pack("<III", e.slot, e.pc, e.offset) for e in r.exits),
                     *(struct.pack("<II", *o) for o in r.insn_offsets), r.code, stored.guest])
    return body + hashlib.blake2b(body, digest_size=16).digest()


def test_a_record_of_the_old_format_is_rejected() -> None:
    record = TBRecord(DUAL_AT, 9, 3, b"\xc3", (), ((0, DUAL_AT),))
    stored = StoredRecord(record, VERSION, (b"h" * 16,), DUAL)
    assert decode(encode(stored)) == stored
    with pytest.raises(CorruptRecord, match="format"):
        decode(format1(stored))


# -- the modes guest ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def modes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("modes") / "modes"
    subprocess.run(["gcc", "-m32", "-static", "-O2", "-o", str(out), str(HERE / "modes.c")], check=True)
    return out


def aotc(*args: str, tmp: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*aotc_command(), *args], capture_output=True,
                          env=guest_env({"PYTHONPATH": str(REPO)}), timeout=600, cwd=tmp)


def aotc_run(program: Path, cache: Path, tmp: Path, *args: str) -> tuple[bytes, bytes, dict]:
    """Run under aotc with --stats; (stdout, stderr, stats). The run must succeed."""
    stats = tmp / f"stats-{len(list(tmp.glob('stats-*')))}.json"
    proc = aotc("run", "--cache", str(cache), "--stats", str(stats), str(program), *args, tmp=tmp)
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout, proc.stderr, json.loads(stats.read_text())


def native(program: Path, *args: str) -> bytes:
    result = run_native(program, args)
    assert result.returncode == 0
    return result.stdout


def symbol(program: Path, name: str) -> int:
    from elftools.elf.elffile import ELFFile

    with open(program, "rb") as f:
        return ELFFile(f).get_section_by_name(".symtab").get_symbol_by_name(name)[0]["st_value"]


def listing(cache: Path, program: Path, tmp: Path, *args: str) -> str:
    proc = aotc("inspect", "--cache", str(cache), *args, str(program), tmp=tmp)
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout.decode()


def test_modes_cold_then_warm_loads_the_16_bit_blocks_from_the_cache(modes: Path, tmp_path: Path) -> None:
    expected = native(modes)
    assert b"dual as code16: 0x2eb1234" in expected and b"dual as code32: 0xaaaa1234" in expected
    cache = tmp_path / "cache"
    out, err, cold = aotc_run(modes, cache, tmp_path)
    assert out == expected and b"warning" not in err
    assert cold["tbs_from_cache"] == 0
    shown = listing(cache, modes, tmp_path)
    base = symbol(modes, "code16_start")
    code16 = re.findall(rf"^ *(0x[0-9a-f]+) .*\[code16 cs_base={base:#x}\]$", shown, re.M)
    assert len(code16) >= 5                              # c16_loop's blocks, c16_stack, dual
    assert re.search(rf"\[code32 cs_base={base - 0x40:#x}\]$", shown, re.M)
    assert re.search(r"\[code32 segmented\]$", shown, re.M)
    out, err, warm = aotc_run(modes, cache, tmp_path)
    assert out == expected and b"warning" not in err
    assert warm["tbs_translated"] == 0 and warm["tbs_discarded"] == 0
    assert warm["tbs_from_cache"] >= cold["tbs_translated"]


def test_inspect_describes_the_same_bytes_as_16_and_32_bit_code(modes: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    aotc_run(modes, cache, tmp_path)
    dual, base = symbol(modes, "dual"), symbol(modes, "code16_start")
    text = listing(cache, modes, tmp_path, "--pc", hex(dual))
    blocks = re.split(r"^block ", text, flags=re.M)[1:]
    heads = sorted(b.split(": ")[0] for b in blocks)
    assert heads == sorted([f"{dual:#x}"] + [f"{dual - b:#x} ({width} cs_base={b:#x}, at linear {dual:#x})"
                                             for b in (base, base - 0x40) for width in ("code16", "code32")])
    in16 = next(b for b in blocks if f"(code16 cs_base={base:#x}" in b)
    assert "mov eax, 0x2eb1234" in in16.split("OP after")[0]
    in32 = next(b for b in blocks if f"(code32 cs_base={base:#x}" in b)
    assert "mov ax, 0x1234" in in32.split("OP after")[0]


@pytest.mark.parametrize("first, second", [("16", "32"), ("32", "16")])
def test_blocks_stored_as_one_width_are_not_run_as_the_other(modes: Path, tmp_path: Path, first: str,
                                                             second: str) -> None:
    cache = tmp_path / "cache"
    out, _, _ = aotc_run(modes, cache, tmp_path, first)
    assert out == native(modes, first)
    out, _, stats = aotc_run(modes, cache, tmp_path, second)
    assert out == native(modes, second)
    assert stats["tbs_translated"] > 0 and stats["tbs_from_cache"] > 0
    out, _, stats = aotc_run(modes, cache, tmp_path, first)
    assert out == native(modes, first) and stats["tbs_translated"] == 0


def test_records_of_the_old_format_are_translated_again(modes: Path, tmp_path: Path) -> None:
    """Every record is rewritten as format 1 wrote it (a valid checksum, no mode or cs base): each is
    ignored like a damaged one, translated again and stored over the old one."""
    cache = tmp_path / "cache"
    expected = native(modes)
    _, _, cold = aotc_run(modes, cache, tmp_path)
    env = lmdb.open(str(cache / "tb.lmdb"), max_dbs=4)
    tbs = env.open_db(b"tbs")
    with env.begin(write=True, db=tbs) as txn:
        for key, value in list(txn.cursor()):
            txn.put(key, format1(decode(value)))
    env.close()
    out, err, old = aotc_run(modes, cache, tmp_path)
    assert out == expected
    assert err.count(b"aotc: warning:") == 1 and b"format" in err, err.decode()
    assert old["tbs_from_cache"] == 0
    assert old["tbs_translated"] == cold["tbs_translated"] <= old["tbs_discarded"]
    out, err, healed = aotc_run(modes, cache, tmp_path)
    assert out == expected and b"warning" not in err
    assert healed["tbs_translated"] == 0 and healed["tbs_from_cache"] >= cold["tbs_translated"]
