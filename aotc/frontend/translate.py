"""The TB loop: decode guest instructions with capstone and lower each through the dispatch table until a
control transfer, a page change, max_insns, or an instruction that cannot be translated.

The code segment's default size (4 bytes, or 2 for a 16-bit code segment) picks the decoder and is
every instruction's default operand and address size; in 16-bit code eip wraps at 64 KiB.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import MappingProxyType

from capstone import CS_ARCH_X86, CS_MODE_16, CS_MODE_32, Cs, CsInsn

from aotc.frontend import (
    gen_alu,
    gen_bits,
    gen_control,
    gen_far,
    gen_legacy,
    gen_misc,
    gen_mov,
    gen_selectors,
    gen_simd,
    gen_string,
    gen_x87,
)
from aotc.frontend.context import MASK32, DisasContext, Invalid, Unsupported
from aotc.frontend.fetch import FetchError
from aotc.guest.cpu import OFF_CC, ExitReason
from aotc.ir.core import Block, Builder, Op
from aotc.ir.flags_at_exit import mark_dead_at_exit

MAX_INSN_LEN = 15
PAGE_MASK = ~0xFFF
CS_MODES = MappingProxyType({4: CS_MODE_32, 2: CS_MODE_16})    # default size -> capstone mode
EIP_MASK = MappingProxyType({4: MASK32, 2: 0xFFFF})            # default size -> how eip wraps

DISPATCH: MappingProxyType[str, Callable[[DisasContext], None]] = MappingProxyType({
    **gen_alu.HANDLERS,
    **gen_mov.HANDLERS,
    **gen_control.HANDLERS,
    **gen_far.HANDLERS,
    **gen_selectors.HANDLERS,
    **gen_string.HANDLERS,
    **gen_bits.HANDLERS,
    **gen_misc.HANDLERS,
    **gen_legacy.HANDLERS,
})


@dataclass
class TranslatedBlock:
    """The IR of one TB and the guest bytes it covers; insns = (addr, bytes, text) for `-d in_asm`."""

    block: Block
    pc: int
    size: int
    ninsns: int
    insns: list[tuple[int, bytes, str]]


@functools.cache
def _decoder(default_size: int = 4) -> Cs:
    """One capstone decoder per code size for the process: making one costs as much as decoding a block."""
    md = Cs(CS_ARCH_X86, CS_MODES[default_size])
    md.detail = True
    return md


def _decode(md: Cs, fetch: Callable[[int, int], bytes], pc: int) -> tuple[CsInsn | None, bytes, bool]:
    """Decode one instruction at pc: (insn or None, fetched bytes, whether the bytes ran out first).

    Undecodable bytes are invalid only if they stay undecodable when padded to the longest instruction.
    """
    code = fetch(pc, MAX_INSN_LEN)
    insn = next(md.disasm(code, pc, 1), None) if code else None
    truncated = not code
    if insn is None and code:
        insn = gen_x87.undecoded_register_form(code, pc)
    if insn is None and code and len(code) < MAX_INSN_LEN:
        truncated = next(md.disasm(code.ljust(MAX_INSN_LEN, b"\0"), pc, 1), None) is not None
    return insn, code, truncated


def _lower(b: Builder, insn: CsInsn, default_size: int = 4, segmented: bool = False,
           single: bool = False) -> DisasContext:
    """Emit the IR of one instruction; raise Invalid or Unsupported (leaving the block as it was)."""
    code = bytes(insn.bytes)
    if gen_simd.is_simd(code):      # by opcode: capstone names SSE2's movsd and cmpsd as the string ones
        handler = gen_simd.gen_simd
    elif gen_x87.is_x87(code):
        handler = gen_x87.gen_x87
    else:
        handler = DISPATCH.get(insn.insn_name())
    if handler is None:
        raise Unsupported(insn.insn_name())
    next_pc = (insn.address + insn.size) & EIP_MASK[default_size]
    ctx = DisasContext(b, insn, insn.address, next_pc, default_size=default_size, segmented=segmented,
                       single=single)
    mark = len(b.block.ops)
    b.insn_start(pc=insn.address)
    try:
        handler(ctx)
    except (Invalid, Unsupported):
        del b.block.ops[mark:]
        raise
    return ctx


def _fault_block(b: Builder, pc: int, reason: ExitReason) -> None:
    """A whole TB that stops at pc with SIGILL or UNSUPPORTED."""
    b.insn_start(pc=pc)
    DisasContext(b, None, pc, pc).exit_with(reason, pc)


def translate_block(fetch: Callable[[int, int], bytes], pc: int, max_insns: int = 512,
                    default_size: int = 4, segmented: bool = False) -> TranslatedBlock:
    """Translate the TB starting at guest pc into IR, in code of `default_size` (4: 32-bit, 2: 16-bit);
    `segmented` code adds every segment's base to its memory operands (ds, es, ss or cs has one)."""
    md = _decoder(default_size)
    eip_mask = EIP_MASK[default_size]
    block = Block(pc)
    b = Builder(block)
    insns: list[tuple[int, bytes, str]] = []
    cur = pc
    size = 0
    while True:
        insn, code, truncated = _decode(md, fetch, cur)
        if truncated and not insns:
            raise FetchError(pc)
        reason = None
        if truncated:
            b.goto_tb(slot=0, pc=cur)
            break
        if insn is None:
            reason = ExitReason.SIGILL
        else:
            try:
                ctx = _lower(b, insn, default_size, segmented, max_insns == 1)
            except Invalid:
                reason = ExitReason.SIGILL
            except Unsupported:
                reason = ExitReason.UNSUPPORTED
        if reason is not None:
            if insns:
                b.goto_tb(slot=0, pc=cur)
                break
            _fault_block(b, pc, reason)
            size = insn.size if insn is not None else len(code)   # all the bytes that made it invalid
            text = f"{insn.mnemonic} {insn.op_str}".strip() if insn is not None else "(bad)"
            insns.append((pc, bytes(code[:size]), text))
            break
        insns.append((cur, bytes(insn.bytes), f"{insn.mnemonic} {insn.op_str}".strip()))
        size += insn.size
        cur = (cur + insn.size) & eip_mask
        if ctx.ended:
            break
        if len(insns) >= max_insns or (cur & PAGE_MASK) != (pc & PAGE_MASK):
            b.goto_tb(slot=0, pc=cur)
            break
    pages = range(pc >> 12, ((pc + max(size, 1) - 1) >> 12) + 1)
    lookahead = functools.partial(_lookahead, md, fetch, pages, default_size, segmented)
    mark_dead_at_exit(block, OFF_CC, lookahead)
    return TranslatedBlock(block, pc, size, len(insns), insns)


FLAGS_LOOKAHEAD = 6


def _lookahead(md: Cs, fetch: Callable[[int, int], bytes], pages: range, default_size: int, segmented: bool,
               pc: int) -> Iterator[list[Op]]:
    """The IR of the first FLAGS_LOOKAHEAD instructions at pc, one list per instruction, as long as they
    lie in the block's own pages (so rewriting them also drops this block's code) and translate."""
    scratch = Builder(Block(pc))
    for _ in range(FLAGS_LOOKAHEAD):
        insn, _code, truncated = _decode(md, fetch, pc)
        if insn is None or truncated or pc >> 12 not in pages or (pc + insn.size - 1) >> 12 not in pages:
            return
        mark = len(scratch.block.ops)
        try:
            ctx = _lower(scratch, insn, default_size, segmented)
        except (Invalid, Unsupported):
            return
        yield scratch.block.ops[mark:]
        if ctx.ended:
            return
        pc = (pc + insn.size) & EIP_MASK[default_size]
