"""Unit tests of the record format, its checksum, and where the cache lives."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from aotc.backend.hostcode import TBExit
from aotc.exec.tb import TBRecord
from aotc.guest.cpu import TBMode
from aotc.persist import location
from aotc.persist.record import (
    CorruptRecord,
    StoredRecord,
    decode,
    encode,
    key_later_hashes,
    key_page_keys,
    key_pc,
    page_key,
    record_key,
)

RECORD = TBRecord(0x8049FF8, 12, 3, b"\x90\xc3" * 20, (TBExit(0, 0x804A004, 7), TBExit(1, 0x8049000, 19)),
                  ((0, 0x8049FF8), (10, 0x8049FFB), (20, 0x804A000)))
STORED = StoredRecord(RECORD, b"V" * 8, (b"a" * 16, b"b" * 16), bytes(range(12)))


def test_round_trip_keeps_every_field() -> None:
    assert decode(encode(STORED)) == STORED


def test_every_flipped_byte_is_detected() -> None:
    value = encode(STORED)
    for i in range(len(value)):
        damaged = bytearray(value)
        damaged[i] ^= 0x40
        with pytest.raises(CorruptRecord):
            decode(bytes(damaged))


@pytest.mark.parametrize("cut", [0, 1, 20, -1])
def test_truncated_value_is_detected(cut: int) -> None:
    with pytest.raises(CorruptRecord):
        decode(encode(STORED)[:cut])


def test_keys_scan_by_page_and_name_the_pc() -> None:
    key = record_key(b"V" * 8, (b"h" * 16,), 0x8049FF8)
    assert key.startswith(b"V" * 8 + b"h" * 16)
    assert key_pc(key) == 0x8049FF8
    assert record_key(b"V" * 8, (b"h" * 16,), 0x10) < record_key(b"V" * 8, (b"h" * 16,), 0x200)


CODE16 = TBMode.CODE16 | TBMode.CS_BASE
# 16-bit code at offset 0xFF8 of a code segment at 0x8049000 - 0x1000: the same guest bytes as RECORD
RECORD16 = TBRecord(0xFF8 + 0x1000, 12, 3, b"\xcc" * 30, (TBExit(0, 0x2004, 7),), ((0, 0x1FF8), (9, 0x1FFB)),
                    CODE16, 0x8048000)
STORED16 = StoredRecord(RECORD16, b"V" * 8, (b"a" * 16, b"b" * 16), bytes(range(12)))


@pytest.mark.parametrize("mode, cs_base", [(CODE16, 0x8048000), (TBMode.CS_BASE, 0x8048000),
                                           (TBMode.SEGMENTED, 0), (CODE16 | TBMode.SEGMENTED, 0xFFFFF000)])
def test_round_trip_keeps_mode_and_cs_base(mode: int, cs_base: int) -> None:
    stored = dataclasses.replace(STORED16, record=dataclasses.replace(RECORD16, mode=mode, cs_base=cs_base))
    back = decode(encode(stored))
    assert back == stored
    assert (back.record.mode, back.record.cs_base) == (mode, cs_base)
    assert back.record.pages() == stored.record.pages()


def test_a_record_with_a_mode_spans_linear_pages() -> None:
    assert decode(encode(STORED16)).record.pages() == RECORD.pages() == range(0x8049, 0x804B)


def test_every_flipped_byte_of_a_record_with_a_mode_is_detected() -> None:
    value = encode(STORED16)
    for i in range(len(value)):
        damaged = bytearray(value)
        damaged[i] ^= 0x01
        with pytest.raises(CorruptRecord):
            decode(bytes(damaged))


def test_the_same_bytes_in_other_modes_or_segments_have_other_keys() -> None:
    hashes = (b"h" * 16,)
    keys = {record_key(b"V" * 8, hashes, 0x8049FF8),
            record_key(b"V" * 8, hashes, 0xFF8, CODE16, 0x8049000),
            record_key(b"V" * 8, hashes, 0xFF8, TBMode.CS_BASE, 0x8049000),
            record_key(b"V" * 8, hashes, 0x1FF8, CODE16, 0x8048000),
            record_key(b"V" * 8, hashes, 0x8049FF8, TBMode.SEGMENTED, 0)}
    assert len(keys) == 5
    assert {key_pc(k) for k in keys} == {0x8049FF8}          # all of them at this linear address
    assert all(k.startswith(b"V" * 8 + b"h" * 16) for k in keys)
    assert len(record_key(b"V" * 8, hashes, 0x8049FF8)) == 28    # a flat key is as format 1 had it
    assert all(key_later_hashes(k) == [] for k in keys)


def test_a_spanning_key_with_a_mode_names_its_linear_pages() -> None:
    key = record_key(b"V" * 8, (b"a" * 16, b"b" * 16), RECORD16.pc, RECORD16.mode, RECORD16.cs_base)
    assert len(key) == 49 and key_pc(key) == 0x8049FF8
    assert key_later_hashes(key) == [b"b" * 16]
    assert key_page_keys(key) == [page_key(b"V" * 8, b"a" * 16, 0x8049),
                                  page_key(b"V" * 8, b"b" * 16, 0x804A)]
    flat = record_key(b"V" * 8, (b"a" * 16, b"b" * 16), RECORD.pc)
    assert len(flat) == 44 and key_page_keys(flat) == key_page_keys(key) and flat != key


def test_a_linear_address_wraps_at_4g() -> None:
    key = record_key(b"V" * 8, (b"h" * 16,), 0x10, CODE16, 0xFFFFFFF0)
    assert key_pc(key) == 0


def test_location_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert location.resolve_cache_dir(tmp_path / "opt", {"AOTC_CACHE": "/e"}) == tmp_path / "opt"
    assert location.resolve_cache_dir(None, {"AOTC_CACHE": "/e"}) == Path("/e")
    monkeypatch.setattr(location, "checkout_cache", lambda: None)
    assert location.resolve_cache_dir(None, {"XDG_CACHE_HOME": "/x"}) == Path("/x/aotc")
    monkeypatch.setattr(location, "checkout_cache", lambda: tmp_path / "cache")
    assert location.resolve_cache_dir(None, {"XDG_CACHE_HOME": "/x"}) == tmp_path / "cache"
