"""The text form of IR: parse what the printer prints, and read hand-written IR."""

import pytest

from aotc.ir.core import Block, Builder, Label, Temp
from aotc.ir.ops import CONDS
from aotc.ir.parse import ParseError, parse_block
from aotc.ir.printer import format_block


def _sample() -> Block:
    block = Block(pc=0x8048000)
    b = Builder(block)
    lab = b.new_label()
    b.insn_start(pc=0x8048000)
    t0 = b.ld_state(off=0x24)
    d, f = b.add_cc(t0, 5, w=32)
    r, f2 = b.shl_cc(d, 3, None, w=16)
    lo, hi, f3 = b.mul_cc(r, t0, 0, w=32)
    b.brcc(f3, cc=4, label=lab)
    s = b.setcond(lo, hi, cond=CONDS.index("ltu"))
    b.st(s, 0x1000, size=2)
    b.label(label=lab)
    m = b.movcond(t0, 0, d, 0xFFFFFFFF, cond=CONDS.index("gt"))
    b.st_state(m, off=0)
    b.goto_tb(slot=1, pc=0x8048010)
    return block


def test_round_trip_of_printed_block() -> None:
    block = _sample()
    text = format_block(block)
    parsed = parse_block(text)
    assert parsed.pc == 0x8048000
    assert parsed.ops == block.ops
    assert parsed.ntemps == block.ntemps
    assert parsed.nlabels == block.nlabels
    assert format_block(parsed) == text


def test_hand_written_ir() -> None:
    block = parse_block("""
        # a comment
        t0 = ld_state off=0
        t2 = add t0, 1          # plain constants
        t3 = setcond t2, $0x10, cond=lt
        t4, t5 = shr_cc t3, 1, _, w=8
        label label=L0
        brcond t4, 0, cond=ne, label=L0
        exit_tb reason=0
    """)
    ops = block.ops
    assert [op.name for op in ops] == ["ld_state", "add", "setcond", "shr_cc", "label", "brcond", "exit_tb"]
    assert ops[1].outs == [Temp(2)] and ops[1].ins == [Temp(0), 1]
    assert ops[2].args == {"cond": CONDS.index("lt")}
    assert ops[3].ins == [Temp(3), 1, None]
    assert ops[5].args == {"cond": CONDS.index("ne"), "label": Label(0)}
    assert block.ntemps == 6 and block.nlabels == 1 and block.pc == 0


def test_printer_names_conditions() -> None:
    block = parse_block("t1 = setcond t0, 3, cond=geu\n")
    assert "cond=geu" in format_block(block)


@pytest.mark.parametrize("line", [
    "t1 = add t0",                     # too few inputs
    "t1 = frob t0",                    # no such op
    "add t0, t1",                      # missing output
    "t1 = add t0, _",                  # None where not optional
    "t1 = add t0, 0x100000000",        # not 32-bit
    "st_state t0",                     # missing arg
    "t1 = setcond t0, 1, cond=bogus",  # unknown condition
])
def test_bad_lines_are_rejected_with_line_number(line: str) -> None:
    with pytest.raises(ParseError, match="line 2"):
        parse_block("t0 = ld_state off=0\n" + line + "\n")
