"""Temp liveness over a block's control-flow graph: which temps are still needed after each op.

The register allocator and dead-code elimination read it. Nothing is live at the end of a TB: guest
state lives in the CPU state through `st_state`. The fixpoint runs over whole basic blocks (their
upward-exposed uses and definitions), so a straight-line TB costs one backward walk.
"""

from __future__ import annotations

from aotc.ir.core import Block, Label, Op, Temp
from aotc.ir.ops import BB_END, NO_FALLTHROUGH


def basic_blocks(block: Block) -> list[range]:
    """Split a block's ops into basic blocks: a `label` starts one, a branch or TB exit ends one."""
    spans: list[range] = []
    start = 0
    for i, op in enumerate(block.ops):
        if not op.opdef.flags & BB_END:
            continue
        if op.name != "label":
            spans.append(range(start, i + 1))
            start = i + 1
        elif i > start:
            spans.append(range(start, i))
            start = i
    if start < len(block.ops):
        spans.append(range(start, len(block.ops)))
    return spans


def successors(block: Block, spans: list[range]) -> list[list[int]]:
    """For each basic block (index into `spans`), the indices of the basic blocks control may go to next."""
    ops = block.ops
    label_span = {ops[span.start].args["label"]: n for n, span in enumerate(spans)
                  if ops[span.start].name == "label"}
    succs: list[list[int]] = []
    for n, span in enumerate(spans):
        last = ops[span[-1]]
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


def _uses_and_defs(ops: list[Op], span: range) -> tuple[set[Temp], set[Temp]]:
    """A basic block's upward-exposed uses (read before any definition in it) and the temps it defines."""
    uses: set[Temp] = set()
    defs: set[Temp] = set()
    for i in reversed(span):
        op = ops[i]
        defs.update(op.outs)
        uses.difference_update(op.outs)
        uses.update(v for v in op.ins if isinstance(v, Temp))
    return uses, defs


def is_acyclic(succs: list[list[int]]) -> bool:
    """Whether every edge goes forward, so one walk from the last basic block to the first is exact."""
    return all(s > n for n, out in enumerate(succs) for s in out)


def live_out(block: Block, spans: list[range], succs: list[list[int]]) -> list[frozenset[Temp]]:
    """For each basic block, the temps live at its end (the least fixpoint of the dataflow equations)."""
    none: frozenset[Temp] = frozenset()
    if not any(succs):
        return [none] * len(spans)
    once = is_acyclic(succs)
    summary = [_uses_and_defs(block.ops, span) for span in spans]
    live_in: list[frozenset[Temp]] = [none] * len(spans)
    out: list[frozenset[Temp]] = [none] * len(spans)
    changed = True
    while changed:
        changed = False
        for n in reversed(range(len(spans))):
            out[n] = none.union(*(live_in[s] for s in succs[n]))
            uses, defs = summary[n]
            new_in = (out[n] - defs) | uses
            if new_in != live_in[n]:
                live_in[n] = new_in
                changed = not once
    return out


def live_after(block: Block) -> list[frozenset[Temp]]:
    """For each op index i, the temps live right after op i (read later on some path before redefined)."""
    ops = block.ops
    spans = basic_blocks(block)
    succs = successors(block, spans)
    ends = None if is_acyclic(succs) else live_out(block, spans, succs)
    none: frozenset[Temp] = frozenset()
    live_in = [none] * len(spans)
    result = [none] * len(ops)
    for n in reversed(range(len(spans))):
        live = none.union(*(live_in[s] for s in succs[n])) if ends is None else ends[n]
        for i in reversed(spans[n]):
            result[i] = live
            op = ops[i]
            used = [v for v in op.ins if isinstance(v, Temp)]
            if used or not live.isdisjoint(op.outs):
                live = live.difference(op.outs).union(used)
        live_in[n] = live
    return result
