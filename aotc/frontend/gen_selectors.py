"""What user mode may ask of the descriptor tables. lar, lsl, verr and verw: what the descriptor a
selector names allows, into a register and ZF; the tables are Python's (the kernel's GDT, the
process's LDT), so each leaves the TB with a QUERY_SEG helper request (see aotc.guest.cpu.SegQuery)
that cpu_loop answers. sgdt, sidt, smsw, sldt and str: with UMIP (this CPU has it) they fault and Linux
emulates them with fixed dummy values, which are constants here.
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType

from aotc.frontend.context import DisasContext
from aotc.frontend.operands import address, gpr, loc, mem_loc, read, store
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


# Linux's UMIP emulation (arch/x86/kernel/umip.c) for a 32-bit task, as measured natively: the table
# registers' base and limit, the machine status word, and the LDT (none) and TSS selectors
UMIP_TABLES = MappingProxyType({"sgdt": 0xFFFE0000, "sidt": 0xFFFF0000})
UMIP_WORDS = MappingProxyType({"smsw": 0x80050033, "sldt": 0, "str": 0x40})


def gen_umip_table(ctx: DisasContext) -> None:
    """sgdt/sidt m: limit 0 and the dummy base, all 32 bits of it whatever the operand size (the
    kernel's emulation writes them all)."""
    base = UMIP_TABLES[ctx.insn.insn_name()]
    at = address(ctx, ctx.insn.operands[0].mem)
    store(ctx, mem_loc(ctx, at, 2), 0)
    store(ctx, mem_loc(ctx, ctx.b.add(at, 2), 4), base)


def gen_umip_word(ctx: DisasContext) -> None:
    """smsw/sldt/str r/m: the dummy value, the whole register or 16 bits of memory."""
    dst = loc(ctx, 0)
    store(ctx, dst, UMIP_WORDS[ctx.insn.insn_name()] & (0xFFFF if dst.size == 2 else 0xFFFFFFFF))


HANDLERS: MappingProxyType[str, Callable[[DisasContext], None]] = MappingProxyType({
    **dict.fromkeys(KINDS, gen_query),
    **dict.fromkeys(UMIP_TABLES, gen_umip_table),
    **dict.fromkeys(UMIP_WORDS, gen_umip_word),
})
