"""The flags-at-exit pass: prove that the guest flags are dead when a block leaves, so that the optimizer
may drop the block's last store of them (`Block.dead_at_exit`).

They are dead when every exit is a direct jump and the code at each target overwrites the flags before
reading them. What that code is, is the frontend's to say (it decodes guest code): `lookahead(pc)` gives
the IR of the first instructions at pc, one list of ops per instruction, or None where it cannot tell.
Any op family that reads or writes the flags field (integer ops, FP compares, fcmov) is judged the same
way: by its ld_state and st_state of that field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from aotc.ir.core import Block, Op


def direct_targets(block: Block) -> set[int] | None:
    """The guest pcs of the block's goto_tb exits, or None if it has an indirect or other exit."""
    targets = set()
    for op in block.ops:
        if op.name in ("exit_tb", "lookup_and_goto_ptr"):
            return None
        if op.name == "goto_tb":
            targets.add(op.args["pc"])
    return targets


BRANCHES = frozenset({"label", "br", "brcond", "brcc"})


def written_before_read(insns: Iterable[list[Op]], off: int) -> bool:
    """Whether the field at `off` is stored before it is loaded, instruction by instruction; an
    instruction that ends its block (a TB exit) before either decides nothing, so the answer is no,
    and so does a branch before either (a store it may jump past, as `rep cmps` with a zero count)."""
    for ops in insns:
        for op in ops:
            if op.name in ("ld_state", "st_state") and op.args["off"] == off:
                return op.name == "st_state"
            if op.name in BRANCHES:
                return False
        if any(op.name in ("goto_tb", "exit_tb", "lookup_and_goto_ptr") for op in ops):
            return False
    return False


def mark_dead_at_exit(block: Block, off: int, lookahead: Callable[[int], Iterable[list[Op]] | None]) -> None:
    """Add `off` to block.dead_at_exit when every exit is direct and each target writes it first."""
    targets = direct_targets(block)
    if not targets:
        return
    for pc in targets:
        insns = lookahead(pc)
        if insns is None or not written_before_read(insns, off):
            return
    block.dead_at_exit = block.dead_at_exit | {off}
