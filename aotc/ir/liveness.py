"""Temp liveness over a block's control-flow graph: which temps are still needed after each op.

The register allocator and dead-code elimination read it. Nothing is live at the end of a TB: guest
state lives in the CPU state through `st_state`.
"""

from __future__ import annotations

from aotc.ir.core import Block, Label, Op, Temp
from aotc.ir.ops import BB_END, NO_FALLTHROUGH


def basic_blocks(block: Block) -> list[range]:
    """Split a block's ops into basic blocks: a `label` starts one, a branch or TB exit ends one."""
    spans: list[range] = []
    start = 0
    for i, op in enumerate(block.ops):
        if op.name == "label" and i > start:
            spans.append(range(start, i))
            start = i
        if op.opdef.flags & BB_END and op.name != "label":
            spans.append(range(start, i + 1))
            start = i + 1
    if start < len(block.ops):
        spans.append(range(start, len(block.ops)))
    return spans


def successors(block: Block, spans: list[range]) -> list[list[int]]:
    """For each basic block (index into `spans`), the indices of the basic blocks control may go to next."""
    label_span = {op.args["label"]: n for n, span in enumerate(spans)
                  for op in (block.ops[span.start],) if op.name == "label"}
    succs: list[list[int]] = []
    for n, span in enumerate(spans):
        last = block.ops[span[-1]]
        out: list[int] = []
        target = last.args.get("label")
        if last.name != "label" and isinstance(target, Label):
            out.append(label_span[target])
        if not last.opdef.flags & NO_FALLTHROUGH and n + 1 < len(spans):
            out.append(n + 1)
        succs.append(out)
    return succs


def temps_used(op: Op) -> set[Temp]:
    """The temps an op reads."""
    return {v for v in op.ins if isinstance(v, Temp)}


def live_after(block: Block) -> list[frozenset[Temp]]:
    """For each op index i, the temps live right after op i (read later on some path before redefined)."""
    spans = basic_blocks(block)
    succs = successors(block, spans)
    live_in: list[frozenset[Temp]] = [frozenset()] * len(spans)
    result: list[frozenset[Temp]] = [frozenset()] * len(block.ops)
    changed = True
    while changed:
        changed = False
        for n in reversed(range(len(spans))):
            live: frozenset[Temp] = frozenset().union(*(live_in[s] for s in succs[n]))
            for i in reversed(spans[n]):
                result[i] = live
                op = block.ops[i]
                live = (live - set(op.outs)) | temps_used(op)
            if live != live_in[n]:
                live_in[n] = live
                changed = True
    return result
