"""The linear-scan allocator on IR: no two simultaneously-live temps share a location."""

from __future__ import annotations

import itertools

from aotc.backend.regalloc import ALLOCATABLE, Allocation, Reg, Slot, allocate, live_intervals
from aotc.ir.core import Block, Builder, Op, Temp
from aotc.ir.liveness import live_after
from aotc.ir.ops import OPS


def redefine(b: Builder, name: str, outs: list[Temp], ins: list, **args) -> None:
    """Append an op that writes existing temps (a loop-carried value), which the builder never does."""
    b.block.ops.append(Op(OPS[name], outs, ins, args))


def check_no_conflicts(block: Block, alloc: Allocation) -> None:
    """At every read point and every write point, the temps live there have pairwise distinct locations."""
    live = live_after(block)
    for i, op in enumerate(block.ops):
        reads = {v for v in op.ins if isinstance(v, Temp)} | (live[i] - set(op.outs))
        writes = set(op.outs) | live[i]
        for group in (reads, writes):
            locs = [alloc[t] for t in group]
            assert len(locs) == len(set(locs)), f"op {i} ({op}): {sorted(group, key=lambda t: t.id)}"


def test_straight_line_uses_registers_and_reuses_dead_inputs() -> None:
    block = Block(0x1000)
    b = Builder(block)
    x = b.ld_state(off=0)
    y = b.ld_state(off=4)
    z = b.add(x, y)
    b.st_state(z, off=0)
    b.exit_tb(reason=0)
    alloc = allocate(block)
    check_no_conflicts(block, alloc)
    assert all(isinstance(alloc[t], Reg) and alloc[t].r in ALLOCATABLE for t in (x, y, z))
    assert alloc[x] != alloc[y]
    assert alloc[z] in (alloc[x], alloc[y])
    assert alloc.nslots == 0


def test_output_never_shares_with_input_live_after() -> None:
    block = Block(0x1000)
    b = Builder(block)
    x = b.ld_state(off=0)
    y = b.neg(x)
    b.st_state(x, off=4)
    b.st_state(y, off=8)
    b.exit_tb(reason=0)
    alloc = allocate(block)
    check_no_conflicts(block, alloc)
    assert alloc[x] != alloc[y]


def test_two_outputs_of_one_op_get_distinct_locations_even_if_dead() -> None:
    block = Block(0x1000)
    b = Builder(block)
    x = b.ld_state(off=0)
    lo, hi, f = b.mul_cc(x, x, 0, w=32)
    b.exit_tb(reason=0)
    alloc = allocate(block)
    assert len({alloc[lo], alloc[hi], alloc[f]}) == 3


def test_loop_carried_temp_keeps_its_location_over_the_loop() -> None:
    block = Block(0x1000)
    b = Builder(block)
    acc = b.ld_state(off=0)
    n = b.ld_state(off=4)
    top = b.new_label()
    b.label(label=top)
    k = b.ld_state(off=8)          # defined after acc's last textual use below, before the back edge
    redefine(b, "add", [acc], [acc, k])
    s = b.ld_state(off=12)
    redefine(b, "sub", [n], [n, 1])
    b.st_state(s, off=16)
    b.brcond(n, 0, cond="ne", label=top)
    b.st_state(acc, off=0)
    b.exit_tb(reason=0)
    alloc = allocate(block)
    check_no_conflicts(block, alloc)
    assert alloc[s] not in (alloc[acc], alloc[n])
    assert alloc[k] not in (alloc[acc], alloc[n])


def test_temp_used_only_at_loop_head_stays_live_through_the_body() -> None:
    block = Block(0x1000)
    b = Builder(block)
    x = b.ld_state(off=0)
    top = b.new_label()
    b.label(label=top)
    b.st_state(x, off=4)           # last textual use of x
    later = [b.ld_state(off=8 + 4 * i) for i in range(3)]
    for t in later:
        b.st_state(t, off=0)
    b.brcond(later[0], 0, cond="ne", label=top)
    b.exit_tb(reason=0)
    alloc = allocate(block)
    check_no_conflicts(block, alloc)
    assert all(alloc[t] != alloc[x] for t in later)


def test_spills_under_pressure() -> None:
    block = Block(0x1000)
    b = Builder(block)
    vals = [b.ld_state(off=4 * i) for i in range(20)]
    total = vals[0]
    for v in vals[1:]:
        total = b.add(total, v)
    b.st_state(total, off=0)
    b.exit_tb(reason=0)
    alloc = allocate(block)
    check_no_conflicts(block, alloc)
    slots = [t for t in vals if isinstance(alloc[t], Slot)]
    assert len(slots) >= 20 - len(ALLOCATABLE)
    assert alloc.nslots >= 20 - len(ALLOCATABLE)
    assert sum(isinstance(alloc[t], Reg) for t in vals) <= len(ALLOCATABLE)


def test_spill_slots_are_reused_after_their_temps_die() -> None:
    block = Block(0x1000)
    b = Builder(block)
    for rnd in range(3):
        vals = [b.ld_state(off=4 * i) for i in range(12)]
        for i, v in enumerate(vals):
            b.st_state(v, off=4 * i + rnd)
    b.exit_tb(reason=0)
    alloc = allocate(block)
    check_no_conflicts(block, alloc)
    assert 0 < alloc.nslots <= 12 - len(ALLOCATABLE)


def test_fewer_registers_forces_more_spills() -> None:
    block = Block(0x1000)
    b = Builder(block)
    vals = [b.ld_state(off=4 * i) for i in range(6)]
    for v in vals:
        b.st_state(v, off=0)
    b.exit_tb(reason=0)
    alloc = allocate(block, regs=(3, 6))
    check_no_conflicts(block, alloc)
    assert {alloc[t] for t in vals if isinstance(alloc[t], Reg)} <= {Reg(3), Reg(6)}
    assert alloc.nslots == 4


def test_a_spilled_victim_never_shares_a_slot_with_a_temp_live_in_its_past() -> None:
    """A victim spilled late lives in its slot from its start: a slot freed since then is taken."""
    b = Builder(Block(0x1000))
    ins = [b.ld_state(off=4 * i) for i in range(6)]
    outs = [b.cc_to_eflags(b.eflags_to_cc(x)) for x in ins]
    for k, v in enumerate(outs):
        b.st_state(v, off=200 + 4 * k)
    b.exit_tb(reason=0)
    block = b.block
    alloc = allocate(block, regs=(6, 7, 8, 9, 10))
    spans = live_intervals(block, alloc.live)
    for t, u in itertools.combinations(alloc.locs, 2):
        overlap = spans[t][0] <= spans[u][1] and spans[u][0] <= spans[t][1]
        assert not (overlap and alloc[t] == alloc[u]), (t, u, alloc[t])
