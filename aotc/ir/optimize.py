"""The IR optimizer: dead-flags demotion, copy propagation, constant folding, CPU-state forwarding,
dead stores, branch cleanup and dead-code elimination, run in rounds until nothing changes.

Every pass is a function Block → Block that leaves its input alone. Temps need not be single-assignment:
what a pass learns about a temp is forgotten when the temp is redefined or control may join (a label).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from aotc.ir.core import Block, Label, Op, Temp, Value
from aotc.ir.fold import fold_constants
from aotc.ir.liveness import basic_blocks, is_acyclic, live_out, successors
from aotc.ir.ops import BB_END, CAN_FAULT, NO_FALLTHROUGH, OPS, SIDE_EFFECTS

MAX_ROUNDS = 8
FIELD_SIZE = 4

# the plain op computing a `*_cc` op's result (inc/dec add/sub 1), and what input a needs first at w < 32
PLAIN_OF_CC = {"add_cc": "add", "sub_cc": "sub", "and_cc": "and", "or_cc": "or", "xor_cc": "xor",
               "inc_cc": "add", "dec_cc": "sub", "neg_cc": "neg", "imul2_cc": "mul", "shl_cc": "shl",
               "shr_cc": "shr", "sar_cc": "sar"}
EXTEND_FIRST = {"shr_cc": {8: "ext8u", 16: "ext16u"}, "sar_cc": {8: "ext8s", 16: "ext16s"}}
ZERO_EXTEND = {8: "ext8u", 16: "ext16u"}
SHIFTS_CC = ("shl_cc", "shr_cc", "sar_cc")


def _with_ops(block: Block, ops: list[Op]) -> Block:
    return Block(block.pc, ops, block.ntemps, block.nlabels, block.dead_at_exit)


def _plain_inputs(op: Op) -> list[Value] | None:
    """The inputs of the plain op that computes a `*_cc` op's result, or None if there is none."""
    if op.name in ("inc_cc", "dec_cc"):
        return [op.ins[0], 1]
    if op.name in SHIFTS_CC:
        cnt = op.ins[1]
        return [op.ins[0], cnt & 31] if isinstance(cnt, int) and cnt & 31 else None
    return [v for v, name in zip(op.ins, op.opdef.ins, strict=True) if name != "fi"]


def _demoted(op: Op, block: Block) -> list[Op] | None:
    """The plain ops computing `op`'s result (the low w bits, zero-extended), new temps from `block`."""
    plain = OPS[PLAIN_OF_CC[op.name]]
    ins = _plain_inputs(op)
    if ins is None:
        return None
    w, d = op.args["w"], op.outs[0]
    if w == 32:
        return [Op(plain, [d], ins)]
    ops = []
    if op.name in EXTEND_FIRST:
        a = block.new_temp()
        ops.append(Op(OPS[EXTEND_FIRST[op.name][w]], [a], [ins[0]]))
        ins = [a, *ins[1:]]
    t = block.new_temp()
    return [*ops, Op(plain, [t], ins), Op(OPS[ZERO_EXTEND[w]], [d], [t])]


def _dead_flags(block: Block) -> set[int]:
    """The indices of the `*_cc` ops with a plain form whose flags output is dead right after them."""
    ops = block.ops
    spans = basic_blocks(block)
    succs = successors(block, spans)
    ends = None if is_acyclic(succs) else live_out(block, spans, succs)
    live_in: list[set[Temp]] = [set()] * len(spans)
    dead: set[int] = set()
    for n in reversed(range(len(spans))):
        live = set().union(*(live_in[s] for s in succs[n])) if ends is None else set(ends[n])
        for i in reversed(spans[n]):
            op = ops[i]
            if op.name in PLAIN_OF_CC and op.outs[1] not in live:
                dead.add(i)
            live.difference_update(op.outs)
            live.update(op.ins)         # constants too: harmless, only temps are looked up
        live_in[n] = live
    return dead


def demote_dead_flags(block: Block) -> Block:
    """A `*_cc` op whose flags are dead becomes the plain op(s) computing the same result, so folding
    and copy propagation see through it (`xor_cc t, t` becomes 0)."""
    if not any(op.name in PLAIN_OF_CC for op in block.ops):
        return block
    dead = _dead_flags(block)
    out = _with_ops(block, [])
    for i, op in enumerate(block.ops):
        plain = _demoted(op, out) if i in dead else None
        out.ops.extend(plain or [op])
    return out


def propagate_copies(block: Block) -> Block:
    """Replace uses of `d` after `mov d, v` by `v`: a constant everywhere if `d` has one definition,
    otherwise (and for temp copies) up to the next label or redefinition of either side."""
    movs = {op.outs[0] for op in block.ops if op.name == "mov" and isinstance(op.ins[0], int)}
    ndefs = Counter([t for op in block.ops for t in op.outs if t in movs]) if movs else Counter()
    constants: dict[Temp, Value] = {op.outs[0]: op.ins[0] for op in block.ops
                                    if op.name == "mov" and isinstance(op.ins[0], int)
                                    and ndefs[op.outs[0]] == 1}
    known: dict[Temp, Value] = dict(constants)
    copies: dict[Temp, list[Temp]] = {}     # temp v -> the temps d that `known` may say hold v
    ops = []
    for op in block.ops:
        if op.name == "label":
            known, copies = dict(constants), {}
        new = op
        if known and op.ins:
            ins = [known.get(v, v) for v in op.ins]
            if ins != op.ins:
                new = Op(op.opdef, op.outs, ins, op.args)
        for t in op.outs:
            known.pop(t, None)
            for d in copies.pop(t, ()):
                if known.get(d) == t:
                    del known[d]
        if new.name == "mov" and new.ins[0] != new.outs[0]:
            v = known[new.outs[0]] = new.ins[0]
            if isinstance(v, Temp):
                copies.setdefault(v, []).append(new.outs[0])
        ops.append(new)
    return _with_ops(block, ops)


def _overlaps(a: int, b: int) -> bool:
    return abs(a - b) < FIELD_SIZE


def forward_state(block: Block) -> Block:
    """`ld_state off` after `st_state v, off` or an earlier `ld_state off` becomes `mov d, v`, and
    `st_state v, off` of the value the field already holds goes, up to the next label (control may join
    there with other state)."""
    known: dict[int, Value] = {}
    holders: dict[Temp, list[int]] = {}    # temp v -> the offsets that `known` may say hold v
    ops = []
    for op in block.ops:
        name = op.name
        if name == "label":
            known, holders = {}, {}
        for t in op.outs:
            for off in holders.pop(t, ()):
                if known.get(off) == t:
                    del known[off]
        if name == "ld_state":
            off = op.args["off"]
            if off in known:
                op = Op(OPS["mov"], op.outs, [known[off]])
            else:
                known[off] = op.outs[0]
                holders.setdefault(op.outs[0], []).append(off)
        elif name == "st_state":
            off, v = op.args["off"], op.ins[0]
            if off in known and known[off] == v:
                continue
            for other in range(off - FIELD_SIZE + 1, off + FIELD_SIZE):
                known.pop(other, None)
            known[off] = v
            if isinstance(v, Temp):
                holders.setdefault(v, []).append(off)
        ops.append(op)
    return _with_ops(block, ops)


def remove_dead_stores(block: Block) -> Block:
    """Drop `st_state off` when the same basic block stores `off` again with no read of it and no op that
    may fault in between (a fault must see exact guest state)."""
    keep = [True] * len(block.ops)
    overwritten: set[int] = set()
    for i in reversed(range(len(block.ops))):
        op = block.ops[i]
        if op.opdef.flags & (BB_END | CAN_FAULT):
            overwritten = set()
        elif op.name == "st_state":
            off = op.args["off"]
            if off in overwritten:
                keep[i] = False
            else:
                overwritten.add(off)
        elif op.name == "ld_state" and overwritten:
            off = op.args["off"]
            overwritten = {o for o in overwritten if not _overlaps(o, off)}
    if all(keep):
        return block
    return _with_ops(block, [op for op, k in zip(block.ops, keep, strict=True) if k])


def drop_stores_dead_at_exit(block: Block) -> Block:
    """Drop `st_state off` for an offset in `block.dead_at_exit` when no path from it reads `off`
    before leaving: no later `ld_state off`, no later branch back to it, no later op that may fault
    (a fault resumes inside this block, which may then read it) and no exit other than goto_tb."""
    if not block.dead_at_exit:
        return block
    ops = block.ops
    label_at = {op.args["label"]: i for i, op in enumerate(ops) if op.name == "label"}
    keep = [True] * len(ops)
    read_later: set[int] = set()
    earliest_target = len(ops)
    unsafe_later = False
    for i in reversed(range(len(ops))):
        op = ops[i]
        if op.name == "st_state":
            off = op.args["off"]
            if (off in block.dead_at_exit and off not in read_later and not unsafe_later
                    and earliest_target > i):
                keep[i] = False
        elif op.name == "ld_state":
            read_later.add(op.args["off"])
        elif op.name in ("exit_tb", "lookup_and_goto_ptr") or op.opdef.flags & CAN_FAULT:
            unsafe_later = True
        target = op.args.get("label") if op.name != "label" else None
        if target is not None:
            earliest_target = min(earliest_target, label_at[target])
    if all(keep):
        return block
    return _with_ops(block, [op for op, k in zip(block.ops, keep, strict=True) if k])


def _is_branch_to_next(ops: list[Op], i: int) -> bool:
    target = ops[i].args.get("label")
    return (ops[i].name != "label" and isinstance(target, Label) and i + 1 < len(ops)
            and ops[i + 1].name == "label" and ops[i + 1].args["label"] == target)


def simplify_branches(block: Block) -> Block:
    """Drop labels no branch targets, code no path reaches (after an op that never falls through, up to
    the next used label) and branches to the very next op; repeat until nothing changes."""
    ops = block.ops
    if not any("label" in op.args for op in ops):
        end = next((i + 1 for i, op in enumerate(ops) if op.opdef.flags & NO_FALLTHROUGH), len(ops))
        return block if end == len(ops) else _with_ops(block, ops[:end])
    while True:
        targets = {op.args["label"] for op in ops if op.name != "label" and "label" in op.args}
        kept: list[Op] = []
        reachable = True
        for op in ops:
            used_label = op.name == "label" and op.args["label"] in targets
            reachable = reachable or used_label
            if reachable and (op.name != "label" or used_label):
                kept.append(op)
            reachable = reachable and not op.opdef.flags & NO_FALLTHROUGH
        kept = [op for i, op in enumerate(kept) if not _is_branch_to_next(kept, i)]
        if kept == ops:
            return _with_ops(block, kept)
        ops = kept


def _dead_code_pass(block: Block) -> tuple[list[bool], bool]:
    """Which ops to keep after one backward walk, and whether that walk was exact.

    Where every edge goes forward, basic blocks are walked last to first and a block's live-out is made
    of what its successors' kept ops read, which removes in one walk what repeating would. Otherwise
    live-out comes from the full liveness and the walk must be repeated until it removes nothing.
    """
    ops = block.ops
    spans = basic_blocks(block)
    succs = successors(block, spans)
    exact = is_acyclic(succs)
    ends = None if exact else live_out(block, spans, succs)
    live_in: list[set[Temp]] = [set()] * len(spans)
    keep = [True] * len(ops)
    for n in reversed(range(len(spans))):
        live = set().union(*(live_in[s] for s in succs[n])) if ends is None else set(ends[n])
        for i in reversed(spans[n]):
            op = ops[i]
            if not op.opdef.flags & SIDE_EFFECTS and live.isdisjoint(op.outs):
                keep[i] = False
                continue
            live.difference_update(op.outs)
            live.update(op.ins)         # constants too: harmless, only temps are looked up
        live_in[n] = live
    return keep, exact


def eliminate_dead_code(block: Block) -> Block:
    """Drop ops without side effects whose outputs are all dead, until none is left."""
    while True:
        keep, exact = _dead_code_pass(block)
        if all(keep):
            return block
        block = _with_ops(block, [op for op, k in zip(block.ops, keep, strict=True) if k])
        if exact:
            return block


PASSES: tuple[Callable[[Block], Block], ...] = (
    demote_dead_flags, propagate_copies, fold_constants, forward_state, remove_dead_stores,
    drop_stores_dead_at_exit, simplify_branches, eliminate_dead_code,
)


def optimize(block: Block) -> Block:
    """Run all passes in rounds until a round changes nothing (at most `MAX_ROUNDS`)."""
    for _ in range(MAX_ROUNDS):
        before = block.ops
        for run_pass in PASSES:
            block = run_pass(block)
        if block.ops == before:
            break
    return block
