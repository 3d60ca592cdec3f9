"""The flags-at-exit pass on IR: dead only when every exit is direct and every target writes first."""

from __future__ import annotations

from aotc.ir.flags_at_exit import direct_targets, mark_dead_at_exit, written_before_read
from aotc.ir.parse import parse_block

CC = 0x24


def insns(*texts: str) -> list[list]:
    """One list of ops per instruction, each given as IR text."""
    return [parse_block(t).ops for t in texts]


WRITES = insns("t0 = ld_state off=0x0\nt1, t2 = add_cc t0, 1, w=32\nst_state t2, off=0x24")
READS = insns("t0 = ld_state off=0x24\nt1 = setcc t0, cc=e")
FP_COMPARE = insns("t0 = fp_cc _, insn=0\nst_state t0, off=0x24")


def block(exits: str) -> object:
    return parse_block("t0 = ld_state off=0x0\nst_state t0, off=0x24\n" + exits)


def test_direct_targets() -> None:
    assert direct_targets(block("goto_tb slot=0, pc=0x100")) == {0x100}
    assert direct_targets(block("t1 = ld_state off=0x0\nlookup_and_goto_ptr t1")) is None
    assert direct_targets(block("exit_tb reason=1")) is None


def test_written_before_read_per_instruction() -> None:
    assert written_before_read(WRITES, CC)
    assert not written_before_read(READS, CC)
    assert written_before_read(FP_COMPARE, CC)          # comiss and fcomi write the flags too
    assert not written_before_read(insns("t0 = ld_state off=0x24\nfp_fi t0, insn=0"), CC)   # fcmov reads
    assert not written_before_read(insns("goto_tb slot=0, pc=0x10"), CC)
    assert not written_before_read([], CC)
    # rep cmps: the flags are written inside a loop that a zero count skips
    rep_cmps = insns("t0 = ld_state off=0x4\nbrcond t0, 0, cond=eq, label=L0\n"
                     "t1, t2 = sub_cc t0, 1, w=8\nst_state t2, off=0x24\nlabel label=L0")
    assert not written_before_read(rep_cmps, CC)


def test_mark_dead_at_exit() -> None:
    b = block("goto_tb slot=0, pc=0x100")
    mark_dead_at_exit(b, CC, lambda pc: WRITES)
    assert b.dead_at_exit == {CC}
    b = block("goto_tb slot=0, pc=0x100")
    mark_dead_at_exit(b, CC, lambda pc: READS)
    assert b.dead_at_exit == frozenset()
    b = block("goto_tb slot=0, pc=0x100")
    mark_dead_at_exit(b, CC, lambda pc: None)
    assert b.dead_at_exit == frozenset()
