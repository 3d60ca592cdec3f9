"""The engine's TBStore over a CacheDB: load a page's records checked against guest memory now, and
write newly translated records back in batches."""

from __future__ import annotations

import struct
from collections.abc import Callable

from aotc.exec.stats import Stats
from aotc.exec.tb import TBRecord
from aotc.persist.db import CacheDB, Write
from aotc.persist.record import (
    PAGE_SIZE,
    CorruptRecord,
    StoredRecord,
    decode,
    encode,
    key_pc,
    page_hash,
    page_prefix,
    record_key,
)
from aotc.persist.version import translator_version

BATCH = 256


class PersistentStore:
    """TB records of one cache, validated against the guest memory reachable through `fetch`."""

    def __init__(self, db: CacheDB, fetch: Callable[[int, int], bytes], stats: Stats,
                 version: bytes | None = None) -> None:
        self.db = db
        self.fetch = fetch
        self.stats = stats
        self.version = version if version is not None else translator_version()
        self._pending: list[Write] = []

    def page_hash(self, page: int) -> bytes:
        """The hash of guest page `page` as it is now (its executable bytes)."""
        return page_hash(self.fetch(page * PAGE_SIZE, PAGE_SIZE))

    def load_page(self, page: int) -> list[TBRecord]:
        """The stored records starting in `page` whose checksum holds and whose pages match memory now."""
        return [stored.record for stored in self.load_stored(page)]

    def load_stored(self, page: int) -> list[StoredRecord]:
        """Like load_page, with each record's stored guest bytes and page hashes."""
        hashes = {page: self.page_hash(page)}
        out = []
        for key, value in self.db.scan(page_prefix(self.version, hashes[page])):
            pc = key_pc(key)
            if pc >> 12 != page:
                continue
            try:
                stored = decode(value)
            except CorruptRecord:
                self.db.warn_once("a record failed its checksum; it is translated again")
                self.stats.tbs_discarded += 1
                continue
            if self._valid(stored, pc, hashes):
                out.append(stored)
            else:
                self.stats.tbs_discarded += 1
        return out

    def _valid(self, stored: StoredRecord, pc: int, hashes: dict[int, bytes]) -> bool:
        if stored.version != self.version or stored.record.pc != pc:
            return False
        for p, h in zip(stored.record.pages(), stored.page_hashes, strict=True):
            if p not in hashes:
                hashes[p] = self.page_hash(p)
            if hashes[p] != h:
                return False
        return True

    def save(self, record: TBRecord) -> None:
        """Queue a freshly translated record (its pages hashed now, as it was translated from them)."""
        guest = self.fetch(record.pc, record.size)
        if len(guest) != record.size:
            return
        hashes = tuple(self.page_hash(p) for p in record.pages())
        value = encode(StoredRecord(record, self.version, hashes, guest))
        first = record.pc >> 12
        self._pending.append(Write(record_key(self.version, hashes[0], record.pc), value,
                                   page_prefix(self.version, hashes[0]) + struct.pack(">I", first)))
        if len(self._pending) >= BATCH:
            self.commit()

    def commit(self) -> None:
        """Write the queued records in one transaction."""
        pending, self._pending = self._pending, []
        self.db.write(pending)

    def close(self) -> None:
        self.commit()
        self.db.close()
