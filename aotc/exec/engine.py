"""The execution engine: the code buffer with its prologue, the TB cache, chaining and the jump cache.

Frontend → optimizer → backend for a guest pc, the result copied into the code buffer and remembered
by guest pc; `enter` runs from a TB through the prologue and returns the exit value. Direct exits are
chained (patched to jump straight into the next TB) and indirect ones find their target in the jump
cache, so generated code returns to Python only for syscalls, misses and faults.
"""

from __future__ import annotations

import bisect
import ctypes
import struct
import time
from collections.abc import Callable
from typing import Protocol

from aotc.backend.hostcode import CHAIN_PATCH_SIZE
from aotc.backend.jmpcache import EMPTY_PC, JMP_CACHE_ENTRIES, JmpCacheEntry, jmp_cache_index
from aotc.backend.prologue import build_prologue
from aotc.exec.codebuf import CodeBuffer
from aotc.exec.debuglog import DebugLog
from aotc.exec.hostsig import FAULT_SIGNALS, HostSignals
from aotc.exec.stats import Stats
from aotc.exec.tb import TBRecord, TranslationBlock, tb_key
from aotc.guest.cpu import FPU_ALIGN, CPUState

_ENTER = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_void_p, ctypes.c_void_p)


class TBStore(Protocol):
    """A persistent home for TB records (aotc.persist implements it)."""

    def load_page(self, page: int) -> list[TBRecord]:
        """The stored records whose guest code starts in `page` and still matches guest memory now."""

    def still_valid(self, record: TBRecord) -> bool:
        """Whether every page a record from load_page spans still holds what it held when stored."""

    def save(self, record: TBRecord) -> None:
        """Keep a newly translated record (written back in batches)."""


class StoredRecords:
    """Records fetched from the store page by page and not installed yet, by TB key: under the linear page
    each starts in, and listed under every later page it reaches into, so that a change to any of its
    pages drops it."""

    def __init__(self) -> None:
        self.by_page: dict[int, dict[int, TBRecord]] = {}   # fetched page -> its records by TB key
        self.reaching: dict[int, dict[int, int]] = {}       # page -> {TB key: first page} reaching in

    def fetched(self, page: int) -> bool:
        """Whether the records of `page` were fetched (since it last changed)."""
        return page in self.by_page

    def add_page(self, page: int, records: list[TBRecord]) -> None:
        """Keep what the store has for `page` (one record per TB key)."""
        by_key = self.by_page[page] = {r.key: r for r in records}
        for key, r in by_key.items():
            if len(r.pages()) > 1:
                for later in r.pages()[1:]:
                    self.reaching.setdefault(later, {})[key] = page

    def take(self, key: int, page: int) -> TBRecord | None:
        """Remove and return the record for TB key `key` starting in linear page `page`, if that page
        was fetched and holds one."""
        records = self.by_page.get(page)
        record = records.pop(key, None) if records else None
        if record is not None and len(record.pages()) > 1:
            self._unlist(record)
        return record

    def forget(self, page: int) -> None:
        """Drop the records of `page` and those reaching into it; the page is fetched again when next
        looked up (against its contents then)."""
        for record in self.by_page.pop(page, {}).values():
            self._unlist(record)
        for key, first in self.reaching.pop(page, {}).items():
            self._unlist(self.by_page[first].pop(key))

    def holds(self, page: int) -> bool:
        """Whether `page` was fetched or a record fetched and not installed reaches into it."""
        return page in self.by_page or page in self.reaching

    def pages(self) -> set[int]:
        """Every page that holds() is true of."""
        return self.by_page.keys() | self.reaching.keys()

    def page_count(self) -> int:
        """An upper bound of len(pages()), in constant time."""
        return len(self.by_page) + len(self.reaching)

    def clear(self) -> None:
        self.by_page.clear()
        self.reaching.clear()

    def _unlist(self, record: TBRecord) -> None:
        for later in record.pages()[1:]:
            keys = self.reaching.get(later)
            if keys is not None:
                keys.pop(record.key, None)
                if not keys:
                    del self.reaching[later]


class Engine:
    """Translates guest blocks on demand, links them together and runs them."""

    def __init__(self, fetch: Callable[[int, int], bytes], log: DebugLog, stats: Stats,
                 buffer_size: int = 64 << 20, store: TBStore | None = None,
                 write_protect: Callable[[int, bool], None] | None = None) -> None:
        self.fetch = fetch
        self.write_protect = write_protect   # (page, on): keep a page holding code read-only on the host
        self.log = log
        self.stats = stats
        self.store = store
        self.stored = StoredRecords()
        self.buf = CodeBuffer(buffer_size)
        prologue = build_prologue()
        base = self.buf.append(prologue.code)
        self._enter = _ENTER(base + prologue.entry)
        self.epilogue = base + prologue.epilogue
        self.miss = base + prologue.miss
        self.host_signals = HostSignals(self.buf)
        self.host_signals.install(FAULT_SIGNALS)
        self._fixed_code = self.buf.used
        self.jmp_cache = (JmpCacheEntry * JMP_CACHE_ENTRIES)()
        self._empty_jmp_cache = struct.pack("<IIQ", EMPTY_PC, 0, self.miss) * JMP_CACHE_ENTRIES
        self.tbs: dict[int, TranslationBlock] = {}
        self.page_tbs: dict[int, list[TranslationBlock]] = {}   # PageDesc: guest page -> its TBs
        self.flushes = 0
        self._starts: list[int] = []
        self._by_start: dict[int, TranslationBlock] = {}
        self.flush()

    def attach(self, cpu: CPUState) -> None:
        """Point the CPU state at our epilogue and jump cache, and host signals at its exit_request."""
        if ctypes.addressof(cpu.fpu) % FPU_ALIGN:
            raise RuntimeError("the CPU state's fxsave area is not 16-byte aligned")
        cpu.epilogue = self.epilogue
        cpu.jmp_cache = ctypes.addressof(self.jmp_cache)
        self.host_signals.attach(cpu, self.jmp_cache, self.miss)

    def close(self) -> None:
        """Done running: host signals stop reaching the CPU state, jump cache and handler we own."""
        self.host_signals.release()

    def flush(self) -> None:
        """Forget every TB and empty the code buffer past the fixed code (QEMU's tb_flush)."""
        for tb in self.tbs.values():
            tb.valid = False
        self.tbs.clear()
        if self.write_protect is not None:
            for page in self.page_tbs:
                self.write_protect(page, False)
        self.page_tbs.clear()
        self.stored.clear()
        self._starts.clear()
        self._by_start.clear()
        ctypes.memmove(self.jmp_cache, self._empty_jmp_cache, len(self._empty_jmp_cache))
        self.buf.reset(self._fixed_code)
        self.flushes += 1

    def lookup(self, pc: int, mode: int = 0, cs_base: int = 0) -> TranslationBlock:
        """The TB for guest eip `pc` (under `mode` in a code segment at `cs_base`): from the TB cache,
        else from the persistent store (which loads the whole linear page's records at once), else
        translated now (and stored). A flat one enters the jump cache, which knows flat 32-bit code
        only."""
        key = tb_key(pc, mode, cs_base)
        tb = self.tbs.get(key)
        if tb is None:
            store = self.store
            if store is not None:
                tb = self._from_store(key, (cs_base + pc) & 0xFFFFFFFF)
            if tb is None:
                tb = self.translate(pc, mode=mode, cs_base=cs_base)
                if store is not None:
                    store.save(tb.record)
        if key == pc:
            entry = self.jmp_cache[jmp_cache_index(pc)]
            entry.pc, entry.host = pc, tb.host
        return tb

    def _from_store(self, key: int, linear: int) -> TranslationBlock | None:
        """Install the stored record for TB key `key` whose code is at linear address `linear`, if there
        is a valid one. The first lookup in a page fetches all its records; from then on the page is
        watched (it holds installed code, see _leave_pages), but a later page a record reaches into
        may not be, so such a record is checked again now."""
        page = linear >> 12
        if not self.stored.fetched(page):
            self.stored.add_page(page, self.store.load_page(page))
        record = self.stored.take(key, page)
        if record is None:
            return None
        if len(record.pages()) > 1 and not self.store.still_valid(record):
            self.stats.tbs_discarded += 1
            return None
        self.stats.tbs_from_cache += 1
        return self.install(record)

    def translate(self, pc: int, once: bool = False, mode: int = 0, cs_base: int = 0) -> TranslationBlock:
        """Run the pipeline for the block at `pc` and install it (FetchError if pc is not executable).

        A `once` TB holds a single instruction and is neither remembered nor registered in its page:
        it re-runs a store that faulted on its own page's code (see CpuLoop._fault).
        """
        from aotc.exec import pipeline  # on first use: see the pipeline module's docstring

        t0 = time.perf_counter()
        record = pipeline.translate(self.fetch, pc, self.log, max_insns=1 if once else 512, mode=mode,
                                    cs_base=cs_base)
        tb = self.install(record, register=not once)
        if self.log.on("out_asm"):
            self.log.write(f"OUT: [size={len(record.code)}]\n" + self.log.host_code(record.code, tb.host)
                           + "\n")
        self.stats.tbs_translated += 1
        self.stats.guest_insns_translated += record.ninsns
        self.stats.translate_seconds += time.perf_counter() - t0
        return tb

    def install(self, record: TBRecord, register: bool = True) -> TranslationBlock:
        """Copy a record's code into the buffer (flushing it first when full) and, unless told not
        to, remember the TB by guest pc and host address and in the PageDesc of each page it spans."""
        try:
            host = self.buf.append(record.code)
        except MemoryError:
            self.flush()
            host = self.buf.append(record.code)
        tb = TranslationBlock(record, host)
        if register:
            self._register(tb)
        return tb

    def _register(self, tb: TranslationBlock) -> None:
        self.tbs[tb.key] = tb
        bisect.insort(self._starts, tb.host)
        self._by_start[tb.host] = tb
        for page in tb.record.pages():
            tbs = self.page_tbs.setdefault(page, [])
            if not tbs and self.write_protect is not None:
                self.write_protect(page, True)
            tbs.append(tb)

    def invalidate(self, tb: TranslationBlock) -> None:
        """Drop tb: forget it, unchain every jump into it and out of it (QEMU's tb_phys_invalidate)."""
        tb.valid = False
        if self.tbs.get(tb.key) is tb:
            del self.tbs[tb.key]
        self._leave_pages(tb)
        entry = self.jmp_cache[jmp_cache_index(tb.pc)]
        if entry.host == tb.host:     # a jump to pc EMPTY_PC matches an empty entry: it must miss
            entry.pc, entry.host = EMPTY_PC, self.miss
        for src, slot in tb.jmp_in:
            original = src.unchained.pop(slot)
            if src.valid:
                self.buf.patch(src.exit_site(slot), original)
            del src.jmp_out[slot]
        tb.jmp_in.clear()
        for slot, dst in tb.jmp_out.items():
            dst.jmp_in.remove((tb, slot))
        tb.jmp_out.clear()
        self.stats.tbs_invalidated += 1

    def invalidate_page(self, page: int) -> None:
        """Drop every TB and stored record with code in guest page `page`; its host page becomes
        writable again."""
        self.stored.forget(page)
        for tb in list(self.page_tbs.get(page, ())):
            self.invalidate(tb)

    def _leave_pages(self, tb: TranslationBlock) -> None:
        """Take tb out of its pages' PageDescs. A page left without code is writable again, so nothing
        sees a store into it any more: its stored records go too."""
        for page in tb.record.pages():
            tbs = self.page_tbs.get(page)
            if tbs is not None and tb in tbs:
                tbs.remove(tb)
                if not tbs:
                    del self.page_tbs[page]
                    self.stored.forget(page)
                    if self.write_protect is not None:
                        self.write_protect(page, False)

    def holds_code(self, page: int) -> bool:
        """Whether TBs were translated from guest page `page` (its PageDesc is not empty)."""
        return bool(self.page_tbs.get(page))

    def invalidate_range(self, addr: int, size: int) -> None:
        """Guest memory [addr, addr+size) changed outside generated code (a syscall, mprotect, munmap)."""
        first, last = addr >> 12, (addr + max(size, 1) - 1) >> 12
        for page in self._watched(first, last):
            self.invalidate_page(page)

    def _watched(self, first: int, last: int) -> list[int]:
        """The pages of [first, last] with installed code or stored records, found by walking the range
        or the pages we know, whichever is shorter (a munmap may cover a million pages)."""
        pages: range | set[int] = range(first, last + 1)
        if len(pages) > len(self.page_tbs) + self.stored.page_count():
            pages = {*self.page_tbs, *self.stored.pages()}
        return [p for p in pages if first <= p <= last and (p in self.page_tbs or self.stored.holds(p))]

    def tb_at_host(self, host_addr: int) -> TranslationBlock | None:
        """The TB whose host code contains `host_addr`, if any."""
        i = bisect.bisect_right(self._starts, host_addr) - 1
        if i < 0:
            return None
        tb = self._by_start[self._starts[i]]
        return tb if host_addr < tb.host + tb.host_size else None

    def chain(self, src: TranslationBlock, slot: int, dst: TranslationBlock) -> None:
        """Patch goto_tb exit `slot` of `src` into a direct jump to `dst` (QEMU's tb_add_jump), if `dst` is
        the block that exit goes to: a signal delivered at the exit sends the guest elsewhere first."""
        if (not (src.valid and dst.valid) or slot in src.jmp_out or src.exit_pc(slot) != dst.pc
                or (src.record.mode, src.record.cs_base) != (dst.record.mode, dst.record.cs_base)):
            return
        site = src.exit_site(slot)
        src.unchained[slot] = ctypes.string_at(site, CHAIN_PATCH_SIZE)
        self.buf.patch(site, b"\xe9" + struct.pack("<i", dst.host - (site + CHAIN_PATCH_SIZE)))
        src.jmp_out[slot] = dst
        dst.jmp_in.append((src, slot))
        self.stats.tbs_chained += 1

    def enter(self, cpu: CPUState, tb: TranslationBlock) -> int:
        """Run generated code from `tb` until it exits; return the exit value."""
        return self._enter(ctypes.addressof(cpu), tb.host)

