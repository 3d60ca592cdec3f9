"""The translation pipeline for one block: frontend, optimizer, backend, with the `-d` logs between.

The engine imports this module on first use, so a run served entirely from the persistent cache never
loads capstone or the compiler stages (a few tens of milliseconds of start-up).
"""

from __future__ import annotations

from collections.abc import Callable

from aotc.backend.codegen import compile_block
from aotc.exec.debuglog import DebugLog
from aotc.exec.tb import TBRecord
from aotc.frontend.translate import translate_block
from aotc.guest.cpu import TBMode
from aotc.ir.optimize import optimize
from aotc.ir.printer import format_block


def translate(fetch: Callable[[int, int], bytes], pc: int, log: DebugLog, max_insns: int = 512,
              mode: int = 0, cs_base: int = 0) -> TBRecord:
    """Translate the guest block at eip `pc` under TBMode `mode` in a code segment at `cs_base`
    (FetchError if it is not executable)."""
    if cs_base:
        linear_fetch = fetch
        fetch = lambda addr, n: linear_fetch((addr + cs_base) & 0xFFFFFFFF, n)  # noqa: E731
    tblock = translate_block(fetch, pc, max_insns=max_insns, default_size=2 if mode & TBMode.CODE16 else 4,
                             segmented=bool(mode & (TBMode.SEGMENTED | TBMode.CS_BASE)))
    if log.on("in_asm"):
        lines = "".join(f"0x{a:08x}:  {b.hex():<16} {t}\n" for a, b, t in tblock.insns)
        log.write("IN:\n" + lines + "\n")
    if log.on("op"):
        log.write("OP:\n" + format_block(tblock.block) + "\n")
    block = optimize(tblock.block)
    if log.on("op_opt"):
        log.write("OP after optimization:\n" + format_block(block) + "\n")
    host = compile_block(block)
    return TBRecord(pc, tblock.size, tblock.ninsns, host.code, tuple(host.exits), tuple(host.insn_offsets),
                    mode, cs_base)
