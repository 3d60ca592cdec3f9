"""Read the printer's text form of IR back into a `Block`, so tests and tools can write IR as text.

Accepts what `format_block` prints (`t2 = add t0, $0x1`, `label label=L0`), plus plain numbers as
constants (`t2 = add t0, 1`), condition names or numbers, an optional `TB <pc>` header, blank lines
and `#` comments.
"""

from __future__ import annotations

import re

from aotc.ir.core import Block, Label, Op, Temp, Value
from aotc.ir.ops import OPS
from aotc.ir.printer import ARG_NAMES

_LINE = re.compile(r"^(?:(?P<outs>t\d+(?:\s*,\s*t\d+)*)\s*=\s*)?(?P<name>\w+)(?:\s+(?P<rest>.*))?$")
_TEMP = re.compile(r"^t(\d+)$")
_LABEL = re.compile(r"^L(\d+)$")


class ParseError(ValueError):
    """The text is not valid IR; the message names the line."""


def _number(text: str) -> int:
    value = int(text.removeprefix("$"), 0)
    if not 0 <= value <= 0xFFFFFFFF:
        raise ValueError(f"constant {text} is not a 32-bit unsigned value")
    return value


def _value(text: str) -> Value | None:
    if text == "_":
        return None
    m = _TEMP.match(text)
    return Temp(int(m.group(1))) if m else _number(text)


def _arg(name: str, text: str) -> int | Label:
    m = _LABEL.match(text)
    if m:
        return Label(int(m.group(1)))
    if name in ARG_NAMES and text in ARG_NAMES[name]:
        return ARG_NAMES[name].index(text)
    return int(text, 0)


def parse_op(line: str) -> Op:
    """One op from one line of text."""
    m = _LINE.match(line.strip())
    if not m or m.group("name") not in OPS:
        raise ValueError(f"not an op: {line.strip()!r}")
    opdef = OPS[m.group("name")]
    outs = [Temp(int(t.strip()[1:])) for t in m.group("outs").split(",")] if m.group("outs") else []
    ins: list[Value | None] = []
    args: dict[str, int | Label] = {}
    for part in (p.strip() for p in (m.group("rest") or "").split(",") if p.strip()):
        key, eq, text = part.partition("=")
        if eq:
            args[key.strip()] = _arg(key.strip(), text.strip())
        elif args:
            raise ValueError(f"input {part!r} after args")
        else:
            ins.append(_value(part))
    if len(outs) != len(opdef.outs) or len(ins) != len(opdef.ins) or set(args) != set(opdef.args):
        raise ValueError(f"{opdef.name} wants outs {opdef.outs}, ins {opdef.ins}, args {opdef.args}")
    for iname, v in zip(opdef.ins, ins, strict=True):
        if v is None and iname not in opdef.optional:
            raise ValueError(f"{opdef.name}: input {iname} may not be _")
    return Op(opdef, outs, ins, args)


def parse_block(text: str) -> Block:
    """A block from its text form; temp and label counters are set past the highest id used."""
    block = Block(pc=0)
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("TB "):
            block.pc = int(line[3:], 0)
            continue
        try:
            block.ops.append(parse_op(line))
        except ValueError as e:
            raise ParseError(f"line {lineno}: {e}") from None
    for op in block.ops:
        temps = [v for v in (*op.outs, *op.ins) if isinstance(v, Temp)]
        block.ntemps = max([block.ntemps, *(t.id + 1 for t in temps)])
        labels = [v for v in op.args.values() if isinstance(v, Label)]
        block.nlabels = max([block.nlabels, *(lab.id + 1 for lab in labels)])
    return block
