"""IR values, ops and the builder the frontend uses to emit them.

A `Block` is the IR of one TB: a flat list of `Op`s over virtual registers (`Temp`). Builder methods
are made from the op table: `d = b.add(x, y)`, `d, f = b.add_cc(x, y, w=32)`, `b.st_state(v, off=36)`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from operator import itemgetter
from types import MappingProxyType

from aotc.ir.ops import OPS, OpDef


class Temp(tuple):
    """A virtual 32-bit register, equal and hashing by its id.

    A one-element tuple rather than a dataclass so that hashing and comparing (in every liveness set and
    optimizer table) run in C; it equals no `Label` and no int.
    """

    __slots__ = ()

    def __new__(cls, id: int) -> Temp:
        return tuple.__new__(cls, (id,))

    id = property(itemgetter(0), doc="The temp's number.")

    def __getnewargs__(self) -> tuple[int]:
        return (self[0],)

    def __repr__(self) -> str:
        return f"t{self[0]}"


@dataclass(frozen=True)
class Label:
    """A branch target inside one block."""

    id: int

    def __repr__(self) -> str:
        return f"L{self.id}"


Value = Temp | int


@dataclass(slots=True)
class Op:
    """One IR instruction: `outs = name(ins) [args]`. An input may be None only where the def allows it."""

    opdef: OpDef
    outs: list[Temp]
    ins: list[Value | None]
    args: dict[str, int | Label] = field(default_factory=dict)
    name: str = field(init=False, repr=False, compare=False)   # opdef.name, read everywhere

    def __init__(self, opdef: OpDef, outs: list[Temp], ins: list[Value | None],
                 args: dict[str, int | Label] | None = None) -> None:
        self.opdef = opdef
        self.name = opdef.name
        self.outs = outs
        self.ins = ins
        self.args = {} if args is None else args

    def __repr__(self) -> str:
        from aotc.ir.printer import format_op

        return format_op(self)


@dataclass
class Block:
    """The IR of one translation block: its guest pc and ops, plus the counters that name new values.

    `dead_at_exit` names CPU-state offsets that no code after this block reads before writing them
    (the frontend proves it for the flags when every exit is a direct jump), so a store to one of
    them that nothing in the block reads afterwards is dead.
    """

    pc: int
    ops: list[Op] = field(default_factory=list)
    ntemps: int = 0
    nlabels: int = 0
    dead_at_exit: frozenset[int] = frozenset()

    def new_temp(self) -> Temp:
        self.ntemps += 1
        return Temp(self.ntemps - 1)

    def new_label(self) -> Label:
        self.nlabels += 1
        return Label(self.nlabels - 1)


class Builder:
    """Appends ops to a `Block`; one method per op in the table, returning the new output temps."""

    def __init__(self, block: Block) -> None:
        self.block = block

    def temp(self) -> Temp:
        return self.block.new_temp()

    def new_label(self) -> Label:
        return self.block.new_label()

    def emit(self, name: str, ins: list[Value | None], **args: int | Label) -> list[Temp]:
        """Append op `name` with fresh output temps; return them."""
        opdef = OPS[name]
        if len(ins) != len(opdef.ins):
            raise TypeError(f"{name} takes {len(opdef.ins)} inputs, got {len(ins)}")
        if args.keys() != _ARG_SETS[name]:
            raise TypeError(f"{name} takes args {opdef.args}, got {tuple(args)}")
        for v in ins:
            if type(v) is not Temp:
                _check_inputs(opdef, ins)
                break
        block = self.block
        first = block.ntemps
        block.ntemps += len(opdef.outs)
        outs = [Temp(n) for n in range(first, block.ntemps)]
        block.ops.append(Op(opdef, outs, list(ins), args))
        return outs


def _check_inputs(opdef: OpDef, ins: list[Value | None]) -> None:
    """Raise if an input is None where the op needs a value or a constant is not 32-bit unsigned."""
    for iname, v in zip(opdef.ins, ins, strict=True):
        if v is None and iname not in opdef.optional:
            raise TypeError(f"{opdef.name}: input {iname} may not be None")
        if isinstance(v, int) and not 0 <= v <= 0xFFFFFFFF:
            raise ValueError(f"{opdef.name}: constant {v:#x} is not a 32-bit unsigned value")


_ARG_SETS = MappingProxyType({name: frozenset(opdef.args) for name, opdef in OPS.items()})


def _op_method(opdef: OpDef) -> Callable[..., Temp | tuple[Temp, ...] | None]:
    """The builder method for one op: its single output, a tuple of several, or None."""
    name, nouts = opdef.name, len(opdef.outs)

    def method(self: Builder, *ins: Value | None, **args: int | Label) -> Temp | tuple[Temp, ...] | None:
        outs = self.emit(name, list(ins), **args)
        if nouts == 1:
            return outs[0]
        return tuple(outs) if outs else None

    method.__name__ = name
    method.__doc__ = f"Emit `{name}`."
    return method


def _add_op_methods(cls: type[Builder]) -> None:
    """Give the builder one method per op of the table (`b.add(x, y)`, `b.st_state(v, off=36)`)."""
    for opdef in OPS.values():
        setattr(cls, opdef.name, _op_method(opdef))


_add_op_methods(Builder)
