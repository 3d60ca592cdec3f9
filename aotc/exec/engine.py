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
from aotc.exec.faults import build_fault_stub, build_handler, install_handler
from aotc.exec.stats import Stats
from aotc.exec.tb import TBRecord, TranslationBlock
from aotc.guest.cpu import CPUState

_ENTER = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_void_p, ctypes.c_void_p)


class TBStore(Protocol):
    """A persistent home for TB records (aotc.persist implements it)."""

    def load_page(self, page: int) -> list[TBRecord]:
        """The stored records whose guest code starts in `page` and still matches guest memory now."""

    def save(self, record: TBRecord) -> None:
        """Keep a newly translated record (written back in batches)."""


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
        self.loaded_pages: set[int] = set()   # pages whose stored records were already fetched
        self.stored: dict[int, TBRecord] = {}  # fetched records not installed yet, by guest pc
        self.buf = CodeBuffer(buffer_size)
        prologue = build_prologue()
        base = self.buf.append(prologue.code)
        self._enter = _ENTER(base + prologue.entry)
        self.epilogue = base + prologue.epilogue
        self.fault_stub = self.buf.append(build_fault_stub())
        handler = build_handler(self.buf.base, self.buf.base + self.buf.size, self.fault_stub)
        self.handler = self.buf.append(handler)
        self._fixed_code = self.buf.used
        self.jmp_cache = (JmpCacheEntry * JMP_CACHE_ENTRIES)()
        self.tbs: dict[int, TranslationBlock] = {}
        self.page_tbs: dict[int, list[TranslationBlock]] = {}   # PageDesc: guest page -> its TBs
        self.flushes = 0
        self._starts: list[int] = []
        self._by_start: dict[int, TranslationBlock] = {}
        self.flush()
        self.arm_fault_handler()

    def arm_fault_handler(self) -> None:
        """(Re)install the fault handler; it resets itself after each fault."""
        install_handler(self.handler)

    def attach(self, cpu: CPUState) -> None:
        """Point the CPU state at our epilogue and jump cache."""
        cpu.epilogue = self.epilogue
        cpu.jmp_cache = ctypes.addressof(self.jmp_cache)

    def flush(self) -> None:
        """Forget every TB and empty the code buffer past the fixed code (QEMU's tb_flush)."""
        for tb in self.tbs.values():
            tb.valid = False
        self.tbs.clear()
        if self.write_protect is not None:
            for page in self.page_tbs:
                self.write_protect(page, False)
        self.page_tbs.clear()
        self.loaded_pages.clear()
        self.stored.clear()
        self._starts.clear()
        self._by_start.clear()
        ctypes.memset(self.jmp_cache, 0xFF, ctypes.sizeof(self.jmp_cache))
        self.buf.reset(self._fixed_code)
        self.flushes += 1

    def lookup(self, pc: int) -> TranslationBlock:
        """The TB for guest `pc`: from the TB cache, else from the persistent store (which loads the
        whole page's records at once), else translated now. It enters the jump cache."""
        tb = self.tbs.get(pc)
        if tb is None and self.store is not None:
            if pc >> 12 not in self.loaded_pages:
                self._load_page(pc >> 12)
            record = self.stored.pop(pc, None)
            if record is not None:
                tb = self.install(record)
                self.stats.tbs_from_cache += 1
        if tb is None:
            tb = self.translate(pc)
            if self.store is not None:
                self.store.save(tb.record)
        entry = self.jmp_cache[jmp_cache_index(pc)]
        entry.pc, entry.host = pc, tb.host
        return tb

    def _load_page(self, page: int) -> None:
        """Fetch a page's stored records in one go; each is installed when first looked up."""
        self.loaded_pages.add(page)
        for record in self.store.load_page(page):
            self.stored.setdefault(record.pc, record)

    def translate(self, pc: int, once: bool = False) -> TranslationBlock:
        """Run the pipeline for the block at `pc` and install it (FetchError if pc is not executable).

        A `once` TB holds a single instruction and is neither remembered nor registered in its page:
        it re-runs a store that faulted on its own page's code (see CpuLoop._fault).
        """
        from aotc.exec import pipeline  # on first use: see the pipeline module's docstring

        t0 = time.perf_counter()
        record = pipeline.translate(self.fetch, pc, self.log, max_insns=1 if once else 512)
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
        self.tbs[tb.pc] = tb
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
        if self.tbs.get(tb.pc) is tb:
            del self.tbs[tb.pc]
        self._leave_pages(tb)
        entry = self.jmp_cache[jmp_cache_index(tb.pc)]
        if entry.host == tb.host:
            entry.pc = EMPTY_PC
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
        """Drop every TB with code in guest page `page`; its host page becomes writable again."""
        self.loaded_pages.discard(page)
        for pc in [pc for pc, record in self.stored.items() if page in record.pages()]:
            del self.stored[pc]
        for tb in list(self.page_tbs.get(page, ())):
            self.invalidate(tb)

    def _leave_pages(self, tb: TranslationBlock) -> None:
        """Take tb out of its pages' PageDescs; a page left without code is writable again."""
        for page in tb.record.pages():
            tbs = self.page_tbs.get(page)
            if tbs is not None and tb in tbs:
                tbs.remove(tb)
                if not tbs:
                    del self.page_tbs[page]
                    if self.write_protect is not None:
                        self.write_protect(page, False)

    def holds_code(self, page: int) -> bool:
        """Whether TBs were translated from guest page `page` (its PageDesc is not empty)."""
        return bool(self.page_tbs.get(page))

    def invalidate_range(self, addr: int, size: int) -> None:
        """Guest memory [addr, addr+size) changed outside generated code (a syscall, mprotect, munmap)."""
        for page in range(addr >> 12, ((addr + max(size, 1) - 1) >> 12) + 1):
            if page in self.page_tbs:
                self.invalidate_page(page)

    def tb_at_host(self, host_addr: int) -> TranslationBlock | None:
        """The TB whose host code contains `host_addr`, if any."""
        i = bisect.bisect_right(self._starts, host_addr) - 1
        if i < 0:
            return None
        tb = self._by_start[self._starts[i]]
        return tb if host_addr < tb.host + tb.host_size else None

    def chain(self, src: TranslationBlock, slot: int, dst: TranslationBlock) -> None:
        """Patch goto_tb exit `slot` of `src` into a direct jump to `dst` (QEMU's tb_add_jump)."""
        if not (src.valid and dst.valid) or slot in src.jmp_out:
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

