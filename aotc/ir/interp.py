"""A reference interpreter for IR: the meaning an optimized or compiled block must keep.

Slow and simple on purpose. Guest memory is a sparse byte map: touching an absent byte is a page fault.
The condition-code family (`*_cc`, setcc, brcc, cc_to_eflags, eflags_to_cc) and rdtsc mean whatever
the host instruction does, so they are not interpreted here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aotc.ir.core import Block, Label, Op, Temp, Value

MASK = 0xFFFFFFFF
MAX_STEPS = 100_000


@dataclass(frozen=True)
class Exit:
    """How a block ended: `goto_tb` (slot, pc), `exit_tb` (reason), `lookup_and_goto_ptr` (pc),
    `page_fault` (addr), `divide_error` or `end` (ran off its last op)."""

    kind: str
    args: tuple[int, ...] = ()


class GuestFault(Exception):
    """A guest fault raised by an op; `exit` says which."""

    def __init__(self, exit: Exit) -> None:
        super().__init__(exit)
        self.exit = exit


def _s32(v: int) -> int:
    return v - (1 << 32) if v & 0x80000000 else v


def _sext(v: int, bits: int) -> int:
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


COND_EVAL: tuple[Callable[[int, int], bool], ...] = (
    lambda a, b: a == b,
    lambda a, b: a != b,
    lambda a, b: _s32(a) < _s32(b),
    lambda a, b: _s32(a) >= _s32(b),
    lambda a, b: _s32(a) <= _s32(b),
    lambda a, b: _s32(a) > _s32(b),
    lambda a, b: a < b,
    lambda a, b: a >= b,
    lambda a, b: a <= b,
    lambda a, b: a > b,
)
"""Comparison of two 32-bit values, indexed like `ops.CONDS`."""


def eval_cond(cond: int, a: int, b: int) -> bool:
    """Whether `a cond b` holds for 32-bit unsigned inputs `a`, `b` (signed conds read them signed)."""
    return COND_EVAL[cond](a, b)


def _deposit(a: int, b: int, pos: int, length: int) -> int:
    mask = ((1 << length) - 1) << pos
    return (a & ~mask | (b << pos) & mask) & MASK


PURE: dict[str, Callable[[list[int], dict], int]] = {
    "mov": lambda i, _: i[0],
    "add": lambda i, _: (i[0] + i[1]) & MASK,
    "sub": lambda i, _: (i[0] - i[1]) & MASK,
    "mul": lambda i, _: (i[0] * i[1]) & MASK,
    "and": lambda i, _: i[0] & i[1],
    "or": lambda i, _: i[0] | i[1],
    "xor": lambda i, _: i[0] ^ i[1],
    "shl": lambda i, _: (i[0] << (i[1] & 31)) & MASK,
    "shr": lambda i, _: i[0] >> (i[1] & 31),
    "sar": lambda i, _: (_s32(i[0]) >> (i[1] & 31)) & MASK,
    "rotl": lambda i, _: (i[0] << (i[1] & 31) | i[0] >> (32 - (i[1] & 31))) & MASK,
    "rotr": lambda i, _: (i[0] >> (i[1] & 31) | i[0] << (32 - (i[1] & 31))) & MASK,
    "neg": lambda i, _: -i[0] & MASK,
    "not": lambda i, _: ~i[0] & MASK,
    "bswap": lambda i, _: int.from_bytes(i[0].to_bytes(4, "little"), "big"),
    "ext8s": lambda i, _: _sext(i[0], 8) & MASK,
    "ext8u": lambda i, _: i[0] & 0xFF,
    "ext16s": lambda i, _: _sext(i[0], 16) & MASK,
    "ext16u": lambda i, _: i[0] & 0xFFFF,
    "setcond": lambda i, a: int(eval_cond(a["cond"], i[0], i[1])),
    "movcond": lambda i, a: i[2] if eval_cond(a["cond"], i[0], i[1]) else i[3],
    "deposit": lambda i, a: _deposit(i[0], i[1], a["pos"], a["len"]),
}
"""Ops whose outputs depend only on their inputs and args: ins, args → the single output."""


def _divide(ins: list[int], w: int, signed: bool) -> list[int]:
    """Quotient, remainder, and for the flags the input flags value: what the CPU leaves is its own."""
    mask = (1 << w) - 1
    dividend = (ins[0] & mask) << w | ins[1] & mask
    divisor = ins[2] & mask
    if divisor == 0:
        raise GuestFault(Exit("divide_error"))
    if signed:
        n, d = _sext(dividend, 2 * w), _sext(divisor, w)
        q = abs(n) // abs(d) * (1 if (n < 0) == (d < 0) else -1)
        if not -(1 << (w - 1)) <= q < 1 << (w - 1):
            raise GuestFault(Exit("divide_error"))
        return [q & mask, (n - q * d) & mask, ins[3]]
    q = dividend // divisor
    if q > mask:
        raise GuestFault(Exit("divide_error"))
    return [q, dividend % divisor, ins[3]]


class _Machine:
    """The state of one run: temps, CPU state, memory."""

    def __init__(self, state: dict[int, int], memory: dict[int, int]) -> None:
        self.temps: dict[Temp, int] = {}
        self.state = dict(state)
        self.memory = dict(memory)

    def value(self, v: Value | None) -> int:
        if isinstance(v, Temp):
            return self.temps[v]
        if v is None:
            raise ValueError("an absent optional input has no value")
        return v

    def load(self, addr: int, size: int) -> int:
        addrs = [(addr + k) & MASK for k in range(size)]
        missing = [a for a in addrs if a not in self.memory]
        if missing:
            raise GuestFault(Exit("page_fault", (missing[0],)))
        return int.from_bytes(bytes(self.memory[a] for a in addrs), "little")

    def store(self, addr: int, size: int, value: int) -> None:
        addrs = [(addr + k) & MASK for k in range(size)]
        missing = [a for a in addrs if a not in self.memory]
        if missing:
            raise GuestFault(Exit("page_fault", (missing[0],)))
        for a, byte in zip(addrs, value.to_bytes(4, "little")[:size], strict=True):
            self.memory[a] = byte


def _exec_ld(m: _Machine, op: Op, ins: list[int]) -> list[int]:
    size = op.args["size"]
    v = m.load(ins[0], size)
    return [_sext(v, 8 * size) & MASK if op.args["signed"] else v]


def _exec_st(m: _Machine, op: Op, ins: list[int]) -> list[int]:
    m.store(ins[1], op.args["size"], ins[0])
    return []


def _exec_st_state(m: _Machine, op: Op, ins: list[int]) -> list[int]:
    m.state[op.args["off"]] = ins[0]
    return []


EFFECTS: dict[str, Callable[[_Machine, Op, list[int]], list[int]]] = {
    "ld": _exec_ld,
    "st": _exec_st,
    "ld_state": lambda m, op, _: [m.state.get(op.args["off"], 0)],
    "st_state": _exec_st_state,
    "divu": lambda m, op, i: _divide(i, op.args["w"], signed=False),
    "divs": lambda m, op, i: _divide(i, op.args["w"], signed=True),
    "insn_start": lambda m, op, i: [],
    "label": lambda m, op, i: [],
}
"""Ops that touch the machine (memory, CPU state) or may fault: machine, op, input values → outputs."""


CONTROL: dict[str, Callable[[Op, list[int]], Label | Exit | None]] = {
    "br": lambda op, i: op.args["label"],
    "brcond": lambda op, i: op.args["label"] if eval_cond(op.args["cond"], *i) else None,
    "goto_tb": lambda op, i: Exit("goto_tb", (op.args["slot"], op.args["pc"])),
    "exit_tb": lambda op, i: Exit("exit_tb", (op.args["reason"],)),
    "lookup_and_goto_ptr": lambda op, i: Exit("lookup_and_goto_ptr", (i[0],)),
}
"""Ops that end a block or branch: op, input values → the label to go to, an exit, or None (go on)."""


def run_block(block: Block, state: dict[int, int], memory: dict[int, int]
              ) -> tuple[Exit, dict[int, int], dict[int, int]]:
    """Run a block from its first op; return how it ended and the CPU state and memory after it.

    `state` maps a CPU-state byte offset to a 32-bit value (absent fields read as 0); `memory` maps a
    guest byte address to a byte. The inputs are not modified.
    """
    m = _Machine(state, memory)
    where = {op.args["label"]: i for i, op in enumerate(block.ops) if op.name == "label"}
    pc = 0
    for _ in range(MAX_STEPS):
        if pc == len(block.ops):
            return Exit("end"), m.state, m.memory
        op = block.ops[pc]
        pc += 1
        ins = [m.value(v) for v in op.ins]
        if op.name in PURE:
            m.temps[op.outs[0]] = PURE[op.name](ins, op.args)
        elif op.name in EFFECTS:
            try:
                m.temps.update(zip(op.outs, EFFECTS[op.name](m, op, ins), strict=True))
            except GuestFault as fault:
                return fault.exit, m.state, m.memory
        elif op.name in CONTROL:
            go = CONTROL[op.name](op, ins)
            if isinstance(go, Exit):
                return go, m.state, m.memory
            if go is not None:
                pc = where[go]
        else:
            raise NotImplementedError(f"{op.name} means what the host instruction does")
    raise RuntimeError(f"block did not end within {MAX_STEPS} ops")
