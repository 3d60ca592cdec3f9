"""The engine's TBStore over a CacheDB: load a (linear) page's records, of every mode and code segment
base, checked against guest memory now, check again at install time a record that reaches into a later
page, and write newly translated records back in batches."""

from __future__ import annotations

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
    key_later_hashes,
    key_pc,
    linear_pc,
    page_hash,
    page_prefix,
    record_key,
)
from aotc.persist.version import translator_version
from aotc.persist.worker import CacheWorker

BATCH = 256


class PersistentStore:
    """TB records of one cache, validated against the guest memory reachable through `fetch`."""

    def __init__(self, db: CacheDB | CacheWorker, fetch: Callable[[int, int], bytes], stats: Stats,
                 version: bytes | None = None) -> None:
        self.db = db
        self.fetch = fetch
        self.stats = stats
        self.version = version if version is not None else translator_version()
        self._pending: list[Write] = []
        self._spanning: dict[int, tuple[TBRecord, tuple[bytes, ...]]] = {}   # TB key -> record, hashes

    def page_hash(self, page: int) -> bytes:
        """The hash of linear page `page` as it is now (its executable bytes)."""
        return page_hash(self.fetch(page * PAGE_SIZE, PAGE_SIZE))

    def load_page(self, page: int) -> list[TBRecord]:
        """The stored records starting in linear page `page` (whatever their mode and cs base) whose
        checksum holds and whose pages match memory now."""
        out = []
        for stored in self.load_stored(page):
            if len(stored.page_hashes) > 1:
                self._spanning[stored.record.key] = (stored.record, stored.page_hashes)
            out.append(stored.record)
        return out

    def still_valid(self, record: TBRecord) -> bool:
        """Whether a record spanning several pages that load_page gave still matches memory in all of
        them (the engine installs it later, when first reached; only its first page is watched)."""
        loaded = self._spanning.pop(record.key, None)
        if loaded is None or loaded[0] is not record:
            return False
        return all(self.page_hash(p) == h for p, h in zip(record.pages(), loaded[1], strict=True))

    def load_stored(self, page: int) -> list[StoredRecord]:
        """Like load_page, with each record's stored guest bytes and page hashes."""
        hashes = {page: self.page_hash(page)}
        out = []
        for key, value in self.db.scan(page_prefix(self.version, hashes[page])):
            if key_pc(key) >> 12 != page:
                continue
            if not self._later_pages_match(key, page, hashes):
                self.stats.tbs_discarded += 1
                continue
            try:
                stored = decode(value)
            except CorruptRecord as e:
                self.db.warn_once(f"a record is damaged ({e}); it is translated again")
                self.stats.tbs_discarded += 1
                continue
            if self._valid(stored, key):
                out.append(stored)
            else:
                self.stats.tbs_discarded += 1
        return out

    def _later_pages_match(self, key: bytes, page: int, hashes: dict[int, bytes]) -> bool:
        """Whether the pages after `page` that a record key names hash as it says (before decoding)."""
        for p, h in enumerate(key_later_hashes(key), page + 1):
            if p not in hashes:
                hashes[p] = self.page_hash(p)
            if hashes[p] != h:
                return False
        return True

    def _valid(self, stored: StoredRecord, key: bytes) -> bool:
        """Whether a decoded record is of this translator and is the one its (checked) key names: the
        same pages, linear address, mode and cs base."""
        r = stored.record
        return stored.version == self.version and \
            record_key(self.version, stored.page_hashes, r.pc, r.mode, r.cs_base) == key

    def save(self, record: TBRecord) -> None:
        """Queue a freshly translated record (its pages hashed now, as it was translated from them)."""
        guest = self.fetch(linear_pc(record.pc, record.cs_base), record.size)
        if len(guest) != record.size:
            return
        hashes = tuple(self.page_hash(p) for p in record.pages())
        value = encode(StoredRecord(record, self.version, hashes, guest))
        key = record_key(self.version, hashes, record.pc, record.mode, record.cs_base)
        self._pending.append(Write(key, value))
        if len(self._pending) >= BATCH:
            self.commit()

    def commit(self) -> None:
        """Write the queued records in one transaction."""
        pending, self._pending = self._pending, []
        self.db.write(pending)

    def close(self) -> None:
        self.commit()
        self.db.close()
