"""The execution engine: the code buffer with its prologue, the TB cache and the translation pipeline.

Frontend → optimizer → backend for a guest pc, the result copied into the code buffer and remembered
by guest pc; `enter` runs a TB through the prologue and returns the exit value.
"""

from __future__ import annotations

import bisect
import ctypes
import time
from collections.abc import Callable

from aotc.backend.codegen import compile_block
from aotc.backend.prologue import build_prologue
from aotc.exec.codebuf import CodeBuffer
from aotc.exec.debuglog import DebugLog
from aotc.exec.faults import build_fault_stub, build_handler, install_handler
from aotc.exec.stats import Stats
from aotc.exec.tb import TranslationBlock
from aotc.frontend.translate import translate_block
from aotc.guest.cpu import CPUState
from aotc.ir.optimize import optimize
from aotc.ir.printer import format_block

_ENTER = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_void_p, ctypes.c_void_p)
_HANDLER_SLACK = 256


class Engine:
    """Translates guest blocks on demand and runs them."""

    def __init__(self, fetch: Callable[[int, int], bytes], log: DebugLog, stats: Stats,
                 buffer_size: int = 64 << 20) -> None:
        self.fetch = fetch
        self.log = log
        self.stats = stats
        self.buf = CodeBuffer(buffer_size)
        prologue = build_prologue()
        base = self.buf.append(prologue.code)
        self._enter = _ENTER(base + prologue.entry)
        self.epilogue = base + prologue.epilogue
        self.fault_stub = self.buf.append(build_fault_stub())
        handler = build_handler(self.buf.base, self.buf.base + self.buf.size, self.fault_stub)
        self.handler = self.buf.append(handler)
        self.tbs: dict[int, TranslationBlock] = {}
        self._starts: list[int] = []
        self._by_start: dict[int, TranslationBlock] = {}
        self.arm_fault_handler()

    def arm_fault_handler(self) -> None:
        """(Re)install the fault handler; it resets itself after each fault."""
        install_handler(self.handler)

    def attach(self, cpu: CPUState) -> None:
        """Point the CPU state's epilogue field at our epilogue."""
        cpu.epilogue = self.epilogue

    def lookup(self, pc: int) -> TranslationBlock:
        """The TB for guest `pc`, translated now if not yet in the cache."""
        tb = self.tbs.get(pc)
        if tb is None:
            tb = self.translate(pc)
        return tb

    def translate(self, pc: int) -> TranslationBlock:
        """Run the pipeline for the block at `pc` and install it (FetchError if pc is not executable)."""
        t0 = time.perf_counter()
        tblock = translate_block(self.fetch, pc)
        log = self.log
        if log.on("in_asm"):
            lines = "".join(f"0x{a:08x}:  {b.hex():<16} {t}\n" for a, b, t in tblock.insns)
            log.write("IN:\n" + lines + "\n")
        if log.on("op"):
            log.write("OP:\n" + format_block(tblock.block) + "\n")
        block = optimize(tblock.block)
        if log.on("op_opt"):
            log.write("OP after optimization:\n" + format_block(block) + "\n")
        host = compile_block(block)
        addr = self.buf.append(host.code)
        if log.on("out_asm"):
            log.write(f"OUT: [size={len(host.code)}]\n" + log.host_code(host.code, addr) + "\n")
        tb = TranslationBlock(pc, tblock.size, tblock.ninsns, addr, len(host.code), host.insn_offsets)
        self.tbs[pc] = tb
        bisect.insort(self._starts, addr)
        self._by_start[addr] = tb
        self.stats.tbs_translated += 1
        self.stats.guest_insns_translated += tblock.ninsns
        self.stats.translate_seconds += time.perf_counter() - t0
        return tb

    def tb_at_host(self, host_addr: int) -> TranslationBlock | None:
        """The TB whose host code contains `host_addr`, if any."""
        i = bisect.bisect_right(self._starts, host_addr) - 1
        if i < 0:
            return None
        tb = self._by_start[self._starts[i]]
        return tb if host_addr < tb.host + tb.host_size else None

    def enter(self, cpu: CPUState, tb: TranslationBlock) -> int:
        """Run generated code from `tb` until it exits; return the exit value."""
        return self._enter(ctypes.addressof(cpu), tb.host)
