"""`aotc inspect`: what the cache holds, per block, and one block's guest code, optimized IR and host
code (like `qemu -d in_asm,op_opt,out_asm`, but from the cache: the IR is derived again from the
stored guest bytes)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TextIO

import capstone

from aotc.exec.stats import Stats
from aotc.exec.tb import TBRecord
from aotc.frontend.translate import translate_block
from aotc.guest.cpu import TBMode
from aotc.guest.memory import PAGE_SHIFT, PROT_EXEC, GuestMemory, page_up
from aotc.ir.optimize import optimize
from aotc.ir.printer import format_block
from aotc.loader import Sysroot, load_with_libraries
from aotc.persist.db import CacheDB
from aotc.persist.record import CorruptRecord, StoredRecord, decode, linear_pc
from aotc.persist.store import PersistentStore
from aotc.persist.version import translator_version


def cached_records(db: CacheDB, program: str | None,
                   sysroot: Sysroot | None = None) -> Iterator[StoredRecord]:
    """Records of this translator version: all of them, or those valid for `program` loaded now."""
    if program is None:
        version = translator_version()
        for _key, value in db.items():
            try:
                stored = decode(value)
            except CorruptRecord:
                continue
            if stored.version == version:
                yield stored
        return
    mem = GuestMemory()
    try:
        prog = load_with_libraries(program, mem, sysroot)
        store = PersistentStore(db, mem.fetch_code, Stats())
        for start, size, prot in prog.segments:
            if prot & PROT_EXEC:
                for page in range(start >> PAGE_SHIFT, page_up(start + size) >> PAGE_SHIFT):
                    yield from sorted(store.load_stored(page), key=_order)
    finally:
        mem.close()


def _order(stored: StoredRecord) -> tuple[int, int, int]:
    """Blocks by linear address, then mode and cs base."""
    r = stored.record
    return linear_pc(r.pc, r.cs_base), r.mode, r.cs_base


def mode_text(record: TBRecord) -> str:
    """How a block that is not flat 32-bit code was translated ('' for a flat one): 16- or 32-bit code,
    segmented data, the code segment's base."""
    if not (record.mode or record.cs_base):
        return ""
    parts = ["code16" if record.mode & TBMode.CODE16 else "code32"]
    if record.mode & TBMode.SEGMENTED:
        parts.append("segmented")
    if record.mode & TBMode.CS_BASE or record.cs_base:
        parts.append(f"cs_base={record.cs_base:#x}")
    return " ".join(parts)


def list_blocks(db: CacheDB, program: str | None, out: TextIO, sysroot: Sysroot | None = None) -> None:
    """One line per cached block: guest pc (eip), guest length, (linear) pages, host code size, exits
    (slot->pc), and in brackets the mode of a block that is not flat 32-bit code."""
    out.write(f"{'pc':>10} {'len':>5} {'pages':<19} {'host':>6}  exits\n")
    count = 0
    for stored in sorted(cached_records(db, program, sysroot), key=_order):
        r = stored.record
        pages = ",".join(f"{p:#x}" for p in r.pages())
        exits = " ".join(f"{e.slot}->{e.pc:#x}" for e in r.exits)
        mode = f"  [{mode_text(r)}]" if r.mode or r.cs_base else ""
        out.write(f"{r.pc:#10x} {r.size:5} {pages:<19} {len(r.code):6}  {exits}{mode}\n")
        count += 1
    out.write(f"{count} blocks\n")


def describe_block(db: CacheDB, program: str | None, pc: int, out: TextIO,
                   sysroot: Sysroot | None = None) -> bool:
    """Guest disassembly, optimized IR and host disassembly of the cached block(s) at `pc` (an eip, or
    the linear address of a block in a code segment with a base), of every mode."""
    found = False
    for stored in cached_records(db, program, sysroot):
        if pc in (stored.record.pc, linear_pc(stored.record.pc, stored.record.cs_base)):
            found = True
            out.write(_describe(stored))
    return found


def _describe(stored: StoredRecord) -> str:
    r, guest = stored.record, stored.guest
    hashes = " ".join(h.hex() for h in stored.page_hashes)
    code16 = bool(r.mode & TBMode.CODE16)
    guest_md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_16 if code16 else capstone.CS_MODE_32)
    host_md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    mode = mode_text(r)
    where = f" ({mode}, at linear {linear_pc(r.pc, r.cs_base):#x})" if mode else ""
    lines = [f"block {r.pc:#x}{where}: {r.size} guest bytes, {r.ninsns} insns, {len(r.code)} host bytes, "
             f"page hashes {hashes}", "IN:"]
    lines += [f"0x{i.address:08x}:  {bytes(i.bytes).hex():<16} {i.mnemonic} {i.op_str}".rstrip()
              for i in guest_md.disasm(guest, r.pc)]

    def fetch(addr: int, n: int) -> bytes:
        return guest[addr - r.pc:addr - r.pc + n] if r.pc <= addr < r.pc + len(guest) else b""

    segmented = bool(r.mode & (TBMode.SEGMENTED | TBMode.CS_BASE))
    ir = format_block(optimize(translate_block(fetch, r.pc, default_size=2 if code16 else 4,
                                               segmented=segmented).block))
    lines += ["", "OP after optimization:", ir.rstrip()]
    lines += ["", f"OUT: [size={len(r.code)}]"]
    lines += [f"  0x{i.address:04x}:  {i.mnemonic} {i.op_str}".rstrip() for i in host_md.disasm(r.code, 0)]
    lines += ["exits: " + " ".join(f"slot {e.slot} -> {e.pc:#x} at +{e.offset:#x}" for e in r.exits), "", ""]
    return "\n".join(lines)
