"""Linear-scan register allocation over one TB: every temp gets one host register or spill slot.

A temp keeps its location for its whole lifetime (the hull of the points where it is live; liveness
flows around back edges, so a loop-carried temp's hull spans the loop), so every label sees the same
locations whichever way control reaches it. Positions: op i reads
its inputs at 2i and writes its outputs at 2i+1, so an input that dies at op i may share a register with
an output of op i, but two outputs of one op never share.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aotc.backend.prologue import PINNED
from aotc.ir.core import Block, Temp
from aotc.ir.liveness import live_after

# rbx rbp rsi rdi r8 r9 r10 r12 r13; those with an 8-bit form without REX first
ALLOCATABLE = tuple(r for r in (3, 6, 7, 5, 8, 9, 10, 12, 13) if r not in PINNED.values())


@dataclass(frozen=True)
class Reg:
    """A host register (0..15, x86-64 encoding order)."""

    r: int


@dataclass(frozen=True)
class Slot:
    """A spill slot in the fixed TB frame."""

    index: int


Loc = Reg | Slot


@dataclass
class Allocation:
    """Where each temp lives, and how many spill slots the block needs."""

    locs: dict[Temp, Loc] = field(default_factory=dict)
    nslots: int = 0
    live: list[frozenset[Temp]] = field(default_factory=list)   # live_after of the block, for codegen

    def __getitem__(self, t: Temp) -> Loc:
        return self.locs[t]


def live_intervals(block: Block, live: list[frozenset[Temp]]) -> dict[Temp, tuple[int, int]]:
    """For each temp, the [first, last] position at which it is defined, read or live (`live`: live_after)."""
    first: dict[Temp, int] = {}
    last: dict[Temp, int] = {}
    for i, op in enumerate(block.ops):      # positions only grow: the first touch is the lowest
        for v in op.ins:
            if isinstance(v, Temp):
                first.setdefault(v, 2 * i)
                last[v] = 2 * i
        for t in (*op.outs, *live[i]):
            first.setdefault(t, 2 * i + 1)
            last[t] = 2 * i + 1
    return {t: (lo, last[t]) for t, lo in first.items()}


def allocate(block: Block, regs: tuple[int, ...] = ALLOCATABLE) -> Allocation:
    """Poletto-style linear scan: spill the interval that ends last when no register is free."""
    live = live_after(block)
    spans = live_intervals(block, live)
    alloc = Allocation(live=live)
    free_regs = list(regs)
    free_slots: dict[int, int] = {}   # slot index -> the position its last occupant was live until
    active: list[Temp] = []        # temps in registers, live at the current position
    in_slots: list[Temp] = []      # temps in spill slots, live at the current position

    def give_slot(t: Temp) -> None:
        """A slot for t's whole interval: a spilled victim's interval began before now, so a slot freed
        at or after its start would still hold another temp for part of it."""
        usable = [i for i, until in free_slots.items() if until < spans[t][0]]
        if usable:
            index = min(usable)
            del free_slots[index]
        else:
            index = alloc.nslots
            alloc.nslots += 1
        alloc.locs[t] = Slot(index)
        in_slots.append(t)

    for t in sorted(spans, key=lambda t: (spans[t][0], t.id)):
        start, end = spans[t]
        for old in [o for o in active if spans[o][1] < start]:
            active.remove(old)
            free_regs.insert(0, alloc.locs[old].r)
        for old in [o for o in in_slots if spans[o][1] < start]:
            in_slots.remove(old)
            free_slots[alloc.locs[old].index] = spans[old][1]
        if free_regs:
            alloc.locs[t] = Reg(free_regs.pop(0))
            active.append(t)
            continue
        victim = max(active, key=lambda o: (spans[o][1], o.id))
        if spans[victim][1] > end:
            alloc.locs[t] = alloc.locs[victim]
            active.remove(victim)
            active.append(t)
            give_slot(victim)
        else:
            give_slot(t)
    return alloc
