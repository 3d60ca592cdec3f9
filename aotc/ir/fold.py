"""Constant folding and algebraic identities, one `fold_<op>` per op (QEMU's tcg/optimize.c as a table).

A folder gets an op and returns the op to keep in its place (itself, a simpler op such as `mov`, a `br`)
or None to drop it. Constants fold with the reference interpreter's own semantics, so the two cannot
disagree. Ops with no folder (the `*_cc` family, memory, state, control) pass through unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from aotc.ir.core import Block, Op, Temp, Value
from aotc.ir.interp import MASK, PURE, eval_cond
from aotc.ir.ops import CONDS, OPS

Folder = Callable[[Op], Op | None]

_SWAP_NAMES = {"eq": "eq", "ne": "ne", "lt": "gt", "ge": "le", "le": "ge", "gt": "lt",
               "ltu": "gtu", "geu": "leu", "leu": "geu", "gtu": "ltu"}
SWAPPED_COND = tuple(CONDS.index(_SWAP_NAMES[c]) for c in CONDS)
"""For each condition, the one that gives the same answer with its two operands swapped."""


def _mov(op: Op, v: Value) -> Op:
    return Op(OPS["mov"], op.outs, [v])


def _is(v: Value | None, c: int) -> bool:
    return isinstance(v, int) and v == c


def _all_const(op: Op) -> Op | None:
    """The op as `mov d, constant` if all its inputs are constants, else None."""
    if all(isinstance(v, int) for v in op.ins):
        return _mov(op, PURE[op.name](op.ins, op.args))
    return None


def _commute(op: Op) -> Op:
    """Put a constant operand of a commutative op second, where the backend takes immediates."""
    a, b = op.ins
    return replace(op, ins=[b, a]) if isinstance(a, int) and isinstance(b, Temp) else op


def _swap_cond(op: Op) -> Op:
    """Put a constant first operand of a comparison second, swapping the condition to match."""
    a, b, *rest = op.ins
    if isinstance(a, int) and isinstance(b, Temp):
        return replace(op, ins=[b, a, *rest], args={**op.args, "cond": SWAPPED_COND[op.args["cond"]]})
    return op


def decide(cond: int, a: Value | None, b: Value | None) -> bool | None:
    """Whether `a cond b` is known without running: both constant, the same temp, or a trivial bound."""
    name = CONDS[cond]
    if isinstance(a, int) and isinstance(b, int):
        return eval_cond(cond, a, b)
    if isinstance(a, Temp) and a == b:
        return eval_cond(cond, 0, 0)
    if _is(b, 0) and name in ("ltu", "geu"):
        return name == "geu"
    if _is(b, MASK) and name in ("leu", "gtu"):
        return name == "leu"
    return None


def _binary(commutative: bool, right_identity: int | None = None, right_zero: int | None = None,
            self_result: str | None = None) -> Folder:
    """A folder for `d = a op b`: constants, `a op identity = a`, `a op zero = zero`, and `a op a`.

    `self_result` is what `a op a` is: "a" (and, or) or "0" (sub, xor).
    """
    def fold(op: Op) -> Op | None:
        folded = _all_const(op)
        if folded:
            return folded
        op = _commute(op) if commutative else op
        a, b = op.ins
        if right_identity is not None and _is(b, right_identity):
            return _mov(op, a)
        if right_zero is not None and _is(b, right_zero):
            return _mov(op, right_zero)
        if self_result and isinstance(a, Temp) and a == b:
            return _mov(op, a if self_result == "a" else 0)
        return op
    return fold


def _fold_shift(op: Op) -> Op | None:
    folded = _all_const(op)
    if folded:
        return folded
    a, b = op.ins
    if isinstance(b, int) and b & 31 == 0:
        return _mov(op, a)
    if _is(a, 0) or op.name in ("sar", "rotl", "rotr") and _is(a, MASK):
        return _mov(op, a)
    return op


def fold_mov(op: Op) -> Op | None:
    return None if op.ins[0] == op.outs[0] else op


def fold_unary(op: Op) -> Op | None:
    return _all_const(op) or op


def fold_setcond(op: Op) -> Op | None:
    op = _swap_cond(op)
    known = decide(op.args["cond"], *op.ins)
    return op if known is None else _mov(op, int(known))


def fold_movcond(op: Op) -> Op | None:
    op = _swap_cond(op)
    c1, c2, v1, v2 = op.ins
    if v1 == v2:
        return _mov(op, v1)
    known = decide(op.args["cond"], c1, c2)
    return op if known is None else _mov(op, v1 if known else v2)


def fold_deposit(op: Op) -> Op | None:
    folded = _all_const(op)
    if folded:
        return folded
    if op.args["pos"] == 0 and op.args["len"] == 32:
        return _mov(op, op.ins[1])
    return op


def fold_brcond(op: Op) -> Op | None:
    op = _swap_cond(op)
    known = decide(op.args["cond"], *op.ins)
    if known is None:
        return op
    return Op(OPS["br"], [], [], {"label": op.args["label"]}) if known else None


FOLDERS: dict[str, Folder] = {
    "mov": fold_mov,
    "add": _binary(True, right_identity=0),
    "sub": _binary(False, right_identity=0, self_result="0"),
    "mul": _binary(True, right_identity=1, right_zero=0),
    "and": _binary(True, right_identity=MASK, right_zero=0, self_result="a"),
    "or": _binary(True, right_identity=0, right_zero=MASK, self_result="a"),
    "xor": _binary(True, right_identity=0, self_result="0"),
    **{name: _fold_shift for name in ("shl", "shr", "sar", "rotl", "rotr")},
    **{name: fold_unary for name in ("neg", "not", "bswap", "ext8s", "ext8u", "ext16s", "ext16u")},
    "setcond": fold_setcond,
    "movcond": fold_movcond,
    "deposit": fold_deposit,
    "brcond": fold_brcond,
}


def fold_constants(block: Block) -> Block:
    """Fold every op that has a folder; ops a folder drops (a never-taken brcond) go."""
    ops = []
    for op in block.ops:
        folder = FOLDERS.get(op.name)
        new = folder(op) if folder else op
        if new is not None:
            ops.append(new)
    return Block(block.pc, ops, block.ntemps, block.nlabels, block.dead_at_exit)
