"""Unit tests of the record format, its checksum, and where the cache lives."""

from __future__ import annotations

from pathlib import Path

import pytest

from aotc.backend.hostcode import TBExit
from aotc.exec.tb import TBRecord
from aotc.persist import location
from aotc.persist.record import CorruptRecord, StoredRecord, decode, encode, key_pc, record_key

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


def test_location_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert location.resolve_cache_dir(tmp_path / "opt", {"AOTC_CACHE": "/e"}) == tmp_path / "opt"
    assert location.resolve_cache_dir(None, {"AOTC_CACHE": "/e"}) == Path("/e")
    monkeypatch.setattr(location, "checkout_cache", lambda: None)
    assert location.resolve_cache_dir(None, {"XDG_CACHE_HOME": "/x"}) == Path("/x/aotc")
    monkeypatch.setattr(location, "checkout_cache", lambda: tmp_path / "cache")
    assert location.resolve_cache_dir(None, {"XDG_CACHE_HOME": "/x"}) == tmp_path / "cache"
