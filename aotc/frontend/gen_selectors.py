"""lar, lsl, verr and verw: what the descriptor a selector names allows, into a register and ZF. The
descriptor tables are Python's (the kernel's GDT, the process's LDT), so each leaves the TB with a
QUERY_SEG helper request (see aotc.guest.cpu.SegQuery) that cpu_loop answers.
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType

from aotc.frontend.context import DisasContext
from aotc.frontend.operands import gpr, read
from aotc.guest.cpu import OFF_HELPER, OFF_HELPER_NEXT, QUERY16, ExitReason, Helper, SegQuery

KINDS = MappingProxyType({"lar": SegQuery.LAR, "lsl": SegQuery.LSL, "verr": SegQuery.VERR,
                          "verw": SegQuery.VERW})


def gen_query(ctx: DisasContext) -> None:
    """lar/lsl r, r/m16 and verr/verw r/m16: a QUERY_SEG request with the selector read now."""
    b = ctx.b
    kind = KINDS[ctx.insn.insn_name()]
    arg = int(kind)
    if kind in (SegQuery.LAR, SegQuery.LSL):
        r, _, width = gpr(ctx.insn.operands[0].reg)
        arg |= r << 2 | (QUERY16 if width == 16 else 0)
    selector = read(ctx, len(ctx.insn.operands) - 1, size=2)
    head = Helper.QUERY_SEG | arg << 8
    if isinstance(selector, int):
        b.st_state(head | selector << 16, off=OFF_HELPER)
    else:
        b.st_state(ctx.or_(b.shl(selector, 16), head), off=OFF_HELPER)
    b.st_state(ctx.next_pc, off=OFF_HELPER_NEXT)
    ctx.exit_with(ExitReason.HELPER, ctx.pc)


HANDLERS: MappingProxyType[str, Callable[[DisasContext], None]] = MappingProxyType(
    dict.fromkeys(KINDS, gen_query))
