"""Text form of IR, as `-d op` prints it: `t2, t3 = add_cc t0, t1, w=32`; `aotc.ir.parse` reads it back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from aotc.ir.ops import CC_NAMES, CONDS


class Op(Protocol):
    """What the printer reads of an `aotc.ir.core.Op` (a protocol, so that core, whose ops print
    themselves with this module, need not be imported here)."""

    name: str
    outs: Sequence[object]
    ins: Sequence[object]
    args: dict[str, object]


class Block(Protocol):
    """What the printer reads of an `aotc.ir.core.Block`."""

    pc: int
    ops: Sequence[Op]

# args whose int value is an index into a table of names
ARG_NAMES: dict[str, tuple[str, ...]] = {"cond": CONDS, "cc": CC_NAMES}


def format_value(v: object) -> str:
    """A temp prints as t<n>, a constant as $<hex>, an absent optional input as _."""
    if v is None:
        return "_"
    if isinstance(v, int):
        return f"${v:#x}"
    return repr(v)


def format_arg(name: str, v: object) -> str:
    """A constant arg: conditions by name, offsets and pcs in hex, the rest as they are."""
    if name in ARG_NAMES and isinstance(v, int):
        return ARG_NAMES[name][v]
    if name in ("pc", "off") and isinstance(v, int):
        return f"{v:#x}"
    return str(v)


def format_op(op: Op) -> str:
    """One op on one line."""
    text = op.name
    if op.outs:
        text = ", ".join(map(repr, op.outs)) + " = " + text
    parts = [format_value(v) for v in op.ins]
    parts += [f"{k}={format_arg(k, v)}" for k, v in op.args.items()]
    return text + (" " + ", ".join(parts) if parts else "")


def format_block(block: Block) -> str:
    """All ops of a block, one per line, labels flush left."""
    lines = [f"TB {block.pc:#010x}"]
    for op in block.ops:
        lines.append(("" if op.name == "label" else "  ") + format_op(op))
    return "\n".join(lines) + "\n"
