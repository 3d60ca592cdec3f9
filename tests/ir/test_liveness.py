"""Liveness across straight-line code, forward and backward branches, and TB exits."""

from aotc.ir.core import Block, Builder, Op, Temp
from aotc.ir.liveness import basic_blocks, live_after
from aotc.ir.ops import OPS


def _new() -> tuple[Block, Builder]:
    block = Block(pc=0x1000)
    return block, Builder(block)


def test_straight_line_last_use_ends_liveness() -> None:
    block, b = _new()
    t0 = b.ld_state(off=0)
    t1 = b.ld_state(off=4)
    t2 = b.add(t0, t1)
    b.st_state(t2, off=0)
    b.exit_tb(reason=0)
    live = live_after(block)
    assert live == [{t0}, {t0, t1}, {t2}, set(), set()]


def test_redefinition_is_not_a_use() -> None:
    block, b = _new()
    t0 = b.ld_state(off=0)
    dead = b.ld_state(off=4)
    block.ops.append(Op(OPS["ld_state"], [dead], [], {"off": 8}))   # redefine dead
    b.st_state(dead, off=0)
    b.st_state(t0, off=4)
    live = live_after(block)
    assert dead not in live[1]
    assert live[2] == {dead, t0}


def test_forward_branch_keeps_values_for_both_paths() -> None:
    block, b = _new()
    skip = b.new_label()
    t0 = b.ld_state(off=0)
    t1 = b.ld_state(off=4)
    b.brcond(t0, 0, cond=0, label=skip)
    b.st_state(t0, off=8)
    b.label(label=skip)
    b.st_state(t1, off=12)
    b.exit_tb(reason=0)
    live = live_after(block)
    assert live[2] == {t0, t1}
    assert live[3] == {t1}
    assert live[4] == {t1}
    assert live[5] == set()


def test_loop_backward_branch_keeps_loop_carried_value_live() -> None:
    block, b = _new()
    top = b.new_label()
    t0 = b.ld_state(off=0)
    t5 = b.ld_state(off=4)
    b.label(label=top)
    t1 = b.add(t0, 1)
    b.st_state(t1, off=0)
    b.brcond(t1, 10, cond=2, label=top)
    b.st_state(t5, off=8)
    b.exit_tb(reason=0)
    live = live_after(block)
    # t0 is read at the top of the loop on every iteration, t5 after it
    assert live[1] == {t0, t5}
    assert live[2] == {t0, t5}
    assert live[3] == {t0, t1, t5}
    assert live[4] == {t0, t1, t5}
    assert live[5] == {t0, t5}
    assert live[6] == set()


def test_br_and_exit_do_not_fall_through() -> None:
    block, b = _new()
    out = b.new_label()
    t0 = b.ld_state(off=0)
    t1 = b.ld_state(off=4)
    b.br(label=out)
    b.st_state(t1, off=0)      # unreachable: t1 is not live across the br
    b.label(label=out)
    b.st_state(t0, off=4)
    b.goto_tb(slot=0, pc=0x2000)
    b.st_state(t1, off=8)      # after goto_tb: unreachable as well
    live = live_after(block)
    assert live[1] == {t0}
    assert live[2] == {t0}
    assert live[6] == set()


def test_nothing_live_at_block_end_and_optional_none_input() -> None:
    block, b = _new()
    t0 = b.ld_state(off=0)
    t1, t2 = b.shl_cc(t0, 3, None, w=32)
    b.st_state(t2, off=0)
    live = live_after(block)
    assert live == [{t0}, {t2}, set()]
    assert isinstance(next(iter(live[0])), Temp)


def test_basic_blocks_split_at_labels_and_branches() -> None:
    block, b = _new()
    lab = b.new_label()
    t0 = b.ld_state(off=0)
    b.brcond(t0, 0, cond=0, label=lab)
    b.st_state(t0, off=0)
    b.label(label=lab)
    b.exit_tb(reason=0)
    assert basic_blocks(block) == [range(0, 2), range(2, 3), range(3, 5)]
