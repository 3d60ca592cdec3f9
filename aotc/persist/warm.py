"""`aotc warm`: translate programs into the cache ahead of time, without running them.

Recursive traversal from the entry point and every function symbol: each block's direct exits; the
fall-through after a block that ends in anything but an unconditional transfer (a call, `int 0x80`, a
segment load); after an unconditional transfer, the first instruction past alignment padding (where
compilers put the labels of computed jumps); and the targets of jump tables (`jmp [table + reg*4]`
whose entries point into executable segments).
"""

from __future__ import annotations

import re
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass

from capstone import CS_ARCH_X86, CS_MODE_32, Cs
from capstone.x86 import X86_OP_MEM
from elftools.elf.elffile import ELFFile

from aotc.exec.debuglog import DebugLog
from aotc.exec.engine import Engine
from aotc.exec.stats import Stats
from aotc.exec.tb import TBRecord
from aotc.frontend.fetch import FetchError
from aotc.guest.memory import PROT_EXEC, GuestMemory
from aotc.loader import Sysroot, load_with_libraries
from aotc.persist.db import CacheDB
from aotc.persist.store import PersistentStore

MAX_TABLE = 1024
MAX_PADDING = 16
UNCONDITIONAL = frozenset({"jmp", "ljmp", "ret", "retf", "iret", "iretd", "hlt", "ud2"})
_SELF_LEA = re.compile(r"^(\w+), \[\1( \+ eiz(\*1)?)?( \+ 0)?\]$")
WARM_BUFFER = 32 << 20


@dataclass
class WarmSummary:
    """What warming did: blocks reached (translated now or found cached), guest bytes they cover, time."""

    programs: int = 0
    blocks: int = 0
    translated: int = 0
    guest_bytes: int = 0
    seconds: float = 0.0


def function_symbols(path: str, bias: int, executable: Callable[[int], bool]) -> list[int]:
    """Addresses (plus the load bias) of the STT_FUNC symbols of `path` (.symtab, else the exported
    ones in .dynsym) that lie in executable memory."""
    with open(path, "rb") as f:
        elf = ELFFile(f)
        symtab = elf.get_section_by_name(".symtab") or elf.get_section_by_name(".dynsym")
        if symtab is None:
            return []
        kinds = ("STT_FUNC", "STT_GNU_IFUNC")
        found = {s["st_value"] + bias for s in symtab.iter_symbols()
                 if s["st_info"]["type"] in kinds and s["st_value"]}
        return sorted(a for a in found if executable(a))


class Walker:
    """The traversal of one program loaded in `mem`."""

    def __init__(self, mem: GuestMemory, engine: Engine, ranges: list[tuple[int, int]]) -> None:
        self.mem = mem
        self.engine = engine
        self.ranges = ranges
        self.md = Cs(CS_ARCH_X86, CS_MODE_32)
        self.md.detail = True

    def executable(self, addr: int) -> bool:
        return any(lo <= addr < hi for lo, hi in self.ranges)

    def successors(self, record: TBRecord) -> list[int]:
        """Direct exits, the return point after a trailing call, jump-table targets."""
        out = [e.pc for e in record.exits]
        if not record.insn_offsets:
            return out
        last = record.insn_offsets[-1][1]
        end = record.pc + record.size
        insn = next(self.md.disasm(self.mem.fetch_code(last, end - last), last, 1), None)
        if insn is None:
            return out
        if insn.mnemonic not in UNCONDITIONAL:
            out.append(end)
            return out
        out.append(self.past_padding(end))
        if insn.mnemonic == "jmp" and insn.operands and insn.operands[0].type == X86_OP_MEM:
            out += self.table(insn.operands[0].mem)
        return out

    def past_padding(self, pc: int) -> int:
        """The first instruction at or after `pc` that is not alignment padding."""
        for insn in self.md.disasm(self.mem.fetch_code(pc, MAX_PADDING * 8), pc, MAX_PADDING):
            if insn.mnemonic not in ("nop", "int3") and not (insn.mnemonic == "lea" and
                                                            _SELF_LEA.match(insn.op_str)):
                return insn.address
        return pc

    def table(self, mem_op: object) -> list[int]:
        """The entries of `jmp [disp + index*scale]` (no base register) that point at code."""
        if mem_op.base != 0 or mem_op.disp <= 0:
            return []
        out = []
        addr = mem_op.disp & 0xFFFFFFFF
        step = mem_op.scale if mem_op.index != 0 else MAX_TABLE * 4
        for i in range(MAX_TABLE):
            entry = addr + i * step
            if i and mem_op.index == 0 or not self.mem.check(entry, 4, False):
                break
            target = struct.unpack("<I", self.mem.read(entry, 4))[0]
            if not self.executable(target):
                break
            out.append(target)
        return out

    def walk(self, roots: list[int], tick: Callable[[int, int], None]) -> tuple[int, int]:
        """Translate (or find cached) every block reachable from `roots`; (blocks, guest bytes)."""
        seen: set[int] = set()
        todo = list(reversed(roots))
        covered = 0
        while todo:
            pc = todo.pop()
            if pc in seen or not self.executable(pc):
                continue
            seen.add(pc)
            try:
                tb = self.engine.lookup(pc)
            except FetchError:
                continue
            covered += tb.record.size
            todo += reversed(self.successors(tb.record))
            tick(len(seen), len(seen) + len(todo))
        return len(seen), covered


def warm_program(path: str, db: CacheDB, tick: Callable[[int, int], None],
                 sysroot: Sysroot | None = None) -> WarmSummary:
    """Warm one program, with its interpreter and libraries at the addresses a run gives them
    (LoadError if it cannot be loaded)."""
    t0 = time.perf_counter()
    mem = GuestMemory()
    try:
        prog = load_with_libraries(path, mem, sysroot)
        ranges = [(start, start + size) for start, size, prot in prog.segments if prot & PROT_EXEC]
        stats = Stats()
        store = PersistentStore(db, mem.fetch_code, stats)
        engine = Engine(mem.fetch_code, DebugLog(), stats, buffer_size=WARM_BUFFER, store=store)
        walker = Walker(mem, engine, ranges)
        roots = [prog.entry, *(pc for image, bias in prog.images
                               for pc in function_symbols(image, bias, walker.executable))]
        blocks, covered = walker.walk(roots, tick)
        store.commit()
        engine.close()
    finally:
        mem.close()
    return WarmSummary(1, blocks, stats.tbs_translated, covered, time.perf_counter() - t0)


def warm_programs(paths: list[str], db: CacheDB, show_progress: bool,
                  sysroot: Sysroot | None = None) -> WarmSummary:
    """Warm each program in turn, with a progress bar when asked; the summed summary."""
    from rich.progress import Progress

    total = WarmSummary()
    with Progress(disable=not show_progress, transient=True) as progress:
        for path in paths:
            task = progress.add_task(f"warming {path}", total=None)
            part = warm_program(path, db, lambda done, known, t=task: progress.update(t, completed=done,
                                                                                     total=known),
                                sysroot)
            total.programs += 1
            total.blocks += part.blocks
            total.translated += part.translated
            total.guest_bytes += part.guest_bytes
            total.seconds += part.seconds
    return total
