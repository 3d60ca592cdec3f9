"""IR → x86-64 host code for one TB: allocate registers, then lower each op through a dispatch table.

Lowering functions live in `lower_alu`, `lower_cc`, `lower_ctl` and `lower_fp`; the per-block context they
share (operand locations, scratch moves, flags save/restore) is `lowerctx.Ctx`.
"""

from __future__ import annotations

from aotc.backend import lower_alu, lower_cc, lower_ctl, lower_fp
from aotc.backend.hostcode import HostCode
from aotc.backend.lowerctx import Ctx
from aotc.backend.prologue import SPILL_SLOTS
from aotc.backend.regalloc import allocate
from aotc.ir.core import Block, Op
from aotc.ir.ops import NO_FALLTHROUGH

LOWER = {**lower_alu.LOWER, **lower_cc.LOWER, **lower_ctl.LOWER, **lower_fp.LOWER}


def compile_block(block: Block) -> HostCode:
    """Translate one TB's IR into host code; the block must end in an op that does not fall through."""
    if not block.ops or not block.ops[-1].opdef.flags & NO_FALLTHROUGH:
        raise ValueError(f"TB {block.pc:#x} does not end with a TB exit")
    alloc = allocate(block)
    if alloc.nslots > SPILL_SLOTS:
        raise ValueError(f"TB {block.pc:#x} needs {alloc.nslots} spill slots, the frame has {SPILL_SLOTS}")
    ctx = Ctx(alloc, block.ops, block.pc)
    op: Op
    for i, op in enumerate(block.ops):
        ctx.begin(i)
        LOWER[op.name](ctx, op)
    for emit in ctx.cold:
        emit()
    return HostCode(ctx.a.code(), ctx.exits, ctx.insn_offsets)
