"""Optimizer passes on hand-written IR with hand-written expected results."""

import random
from collections.abc import Callable

import pytest

from aotc.ir.core import Block
from aotc.ir.fold import fold_constants
from aotc.ir.interp import run_block
from aotc.ir.ops import CONDS
from aotc.ir.optimize import (
    demote_dead_flags,
    eliminate_dead_code,
    forward_state,
    optimize,
    propagate_copies,
    remove_dead_stores,
    simplify_branches,
)
from aotc.ir.parse import parse_block
from aotc.ir.printer import format_block

HEAD = "t0 = ld_state off=0\nt1 = ld_state off=4\n"


def _body(text: str) -> list[str]:
    return format_block(parse_block(text)).splitlines()[1:]


def _check(run: Callable[[Block], Block], before: str, after: str) -> None:
    block = parse_block(before)
    original = format_block(block)
    assert _body(format_block(run(block))) == _body(after)
    assert format_block(block) == original          # passes leave their input alone


@pytest.mark.parametrize("op, after", [
    ("t2 = add 3, 4", "t2 = mov 7"),
    ("t2 = sub 3, 4", "t2 = mov 0xffffffff"),
    ("t2 = add t0, 0", "t2 = mov t0"),
    ("t2 = add 0, t0", "t2 = mov t0"),
    ("t2 = add 5, t0", "t2 = add t0, 5"),
    ("t2 = sub t0, 0", "t2 = mov t0"),
    ("t2 = sub t0, t0", "t2 = mov 0"),
    ("t2 = sub 0, t0", "t2 = sub 0, t0"),
    ("t2 = mul t0, 1", "t2 = mov t0"),
    ("t2 = mul 0, t0", "t2 = mov 0"),
    ("t2 = and t0, 0xffffffff", "t2 = mov t0"),
    ("t2 = and t0, 0", "t2 = mov 0"),
    ("t2 = and t0, t0", "t2 = mov t0"),
    ("t2 = or t0, 0xffffffff", "t2 = mov 0xffffffff"),
    ("t2 = or t0, t1", "t2 = or t0, t1"),
    ("t2 = xor t0, t0", "t2 = mov 0"),
    ("t2 = xor t1, 0", "t2 = mov t1"),
    ("t2 = shl t0, 0", "t2 = mov t0"),
    ("t2 = shr t0, 32", "t2 = mov t0"),
    ("t2 = sar 0xffffffff, t0", "t2 = mov 0xffffffff"),
    ("t2 = shr 0xffffffff, t0", "t2 = shr 0xffffffff, t0"),
    ("t2 = rotl 0, t0", "t2 = mov 0"),
    ("t2 = shl 1, 31", "t2 = mov 0x80000000"),
    ("t2 = ext8s 0x80", "t2 = mov 0xffffff80"),
    ("t2 = ext16u 0x12345", "t2 = mov 0x2345"),
    ("t2 = bswap 0x11223344", "t2 = mov 0x44332211"),
    ("t2 = deposit 0x12345678, 0xab, pos=4, len=4", "t2 = mov 0x123456b8"),
    ("t2 = deposit t0, t1, pos=0, len=32", "t2 = mov t1"),
    ("t2 = deposit t0, t1, pos=0, len=8", "t2 = deposit t0, t1, pos=0, len=8"),
    ("t2 = setcond 1, 0xffffffff, cond=lt", "t2 = mov 0"),
    ("t2 = setcond 1, 0xffffffff, cond=ltu", "t2 = mov 1"),
    ("t2 = setcond t0, t0, cond=le", "t2 = mov 1"),
    ("t2 = setcond t0, t0, cond=gtu", "t2 = mov 0"),
    ("t2 = setcond t0, 0, cond=ltu", "t2 = mov 0"),
    ("t2 = setcond t0, 0, cond=geu", "t2 = mov 1"),
    ("t2 = setcond t0, 0, cond=gtu", "t2 = setcond t0, 0, cond=gtu"),
    ("t2 = setcond t0, 0xffffffff, cond=leu", "t2 = mov 1"),
    ("t2 = setcond t0, 0xffffffff, cond=gtu", "t2 = mov 0"),
    ("t2 = setcond t0, 0xffffffff, cond=ltu", "t2 = setcond t0, 0xffffffff, cond=ltu"),
    ("t2 = setcond 5, t0, cond=lt", "t2 = setcond t0, 5, cond=gt"),
    ("t2 = movcond 1, 2, t0, t1, cond=lt", "t2 = mov t0"),
    ("t2 = movcond t0, t0, t0, t1, cond=ne", "t2 = mov t1"),
    ("t2 = movcond t0, t1, 7, 7, cond=eq", "t2 = mov 7"),
    ("t2 = movcond 3, t1, t0, 7, cond=geu", "t2 = movcond t1, 3, t0, 7, cond=leu"),
    ("t2 = mov t2", ""),
    ("t2, t3 = add_cc 1, 2, w=32", "t2, t3 = add_cc 1, 2, w=32"),
    ("t2, t3 = shl_cc t0, 0, _, w=32", "t2, t3 = shl_cc t0, 0, _, w=32"),
])
def test_fold_one_op(op: str, after: str) -> None:
    _check(fold_constants, HEAD + op, HEAD + after)


@pytest.mark.parametrize("cond, after", [
    ("brcond 3, 4, cond=ltu, label=L0", "br label=L0"),
    ("brcond 3, 4, cond=gtu, label=L0", ""),
    ("brcond t0, t0, cond=eq, label=L0", "br label=L0"),
    ("brcond 4, t0, cond=gtu, label=L0", "brcond t0, 4, cond=ltu, label=L0"),
])
def test_fold_brcond(cond: str, after: str) -> None:
    tail = "\nst_state 1, off=0\nlabel label=L0\nexit_tb reason=0\n"
    _check(fold_constants, HEAD + cond + tail, HEAD + after + tail)


def test_copy_propagation_through_chains_and_into_cc_inputs() -> None:
    _check(propagate_copies, HEAD + """
        t2 = mov t0
        t3 = mov t2
        t4 = mov 7
        t5, t6 = shld_cc t3, t4, t2, _, w=32
        st_state t3, off=8
    """, HEAD + """
        t2 = mov t0
        t3 = mov t0
        t4 = mov 7
        t5, t6 = shld_cc t0, 7, t0, _, w=32
        st_state t0, off=8
    """)


def test_copies_stop_at_labels_and_redefinition_but_single_def_constants_do_not() -> None:
    _check(propagate_copies, HEAD + """
        t2 = mov t0
        t3 = mov 9
        t4 = mov t1
        t4 = add t4, 1           # t4 redefined: no longer a copy of t1
        st_state t4, off=0
        t1 = ld_state off=8      # t1 redefined: copies of it are stale
        label label=L0
        st_state t2, off=0
        st_state t3, off=4
        brcond t0, 0, cond=eq, label=L0
    """, HEAD + """
        t2 = mov t0
        t3 = mov 9
        t4 = mov t1
        t4 = add t1, 1
        st_state t4, off=0
        t1 = ld_state off=8
        label label=L0
        st_state t2, off=0
        st_state 9, off=4
        brcond t0, 0, cond=eq, label=L0
    """)


def test_state_forwarding_within_a_basic_block() -> None:
    _check(forward_state, """
        t0 = ld_state off=0
        t1 = ld_state off=0
        st_state t1, off=4
        t2 = ld_state off=4
        st_state 5, off=8
        t3 = ld 0x1000, size=4, signed=0
        t4 = ld_state off=8
        st_state t4, off=2         # overlaps offsets 0 and 4
        t5 = ld_state off=4
        label label=L0
        t6 = ld_state off=8
    """, """
        t0 = ld_state off=0
        t1 = mov t0
        st_state t1, off=4
        t2 = mov t1
        st_state 5, off=8
        t3 = ld 0x1000, size=4, signed=0
        t4 = mov 5
        st_state t4, off=2
        t5 = ld_state off=4
        label label=L0
        t6 = ld_state off=8
    """)


def test_state_forwarding_forgets_a_redefined_temp() -> None:
    _check(forward_state, """
        t0 = ld_state off=0
        st_state t0, off=4
        t0 = ld_state off=8
        t1 = ld_state off=4
    """, """
        t0 = ld_state off=0
        st_state t0, off=4
        t0 = ld_state off=8
        t1 = ld_state off=4
    """)


def test_dead_state_stores() -> None:
    _check(remove_dead_stores, HEAD + """
        st_state t0, off=8         # dead: overwritten below, nothing reads it
        st_state t1, off=12        # kept: read below
        t2 = ld_state off=12
        st_state t2, off=8
        st_state t0, off=12
        st_state t0, off=16        # kept: a load that may fault comes before the next store
        t3 = ld t0, size=1, signed=0
        st_state t3, off=16
        st_state t1, off=20        # kept: the next store is in another basic block
        brcond t0, 0, cond=eq, label=L0
        st_state t0, off=20
        label label=L0
        exit_tb reason=0
    """, HEAD + """
        st_state t1, off=12
        t2 = ld_state off=12
        st_state t2, off=8
        st_state t0, off=12
        st_state t0, off=16
        t3 = ld t0, size=1, signed=0
        st_state t3, off=16
        st_state t1, off=20
        brcond t0, 0, cond=eq, label=L0
        st_state t0, off=20
        label label=L0
        exit_tb reason=0
    """)


def test_dead_store_not_removed_across_division() -> None:
    text = HEAD + "st_state t0, off=8\nt2, t3, t4 = divu 0, t0, t1, 0, w=32\nst_state t2, off=8\n"
    _check(remove_dead_stores, text, text)


def test_simplify_branches() -> None:
    _check(simplify_branches, HEAD + """
        brcond t0, 0, cond=eq, label=L0
        label label=L0
        br label=L1
        st_state t0, off=0        # unreachable
        label label=L2            # unused
        st_state t1, off=0
        label label=L1
        goto_tb slot=0, pc=0x1000
        st_state t1, off=4        # unreachable
    """, HEAD + """
        goto_tb slot=0, pc=0x1000
    """)


def test_dead_code_elimination() -> None:
    _check(eliminate_dead_code, HEAD + """
        t2 = add t0, t1            # dead chain: t3 only feeds t4, t4 is dead
        t3 = mul t2, 3
        t4 = xor t3, t3
        t5, t6 = add_cc t0, t1, w=32   # d dead, f live: stays
        t7, t8 = sub_cc t0, t1, w=32   # both dead: goes
        t9 = ld t0, size=4, signed=0   # may fault: stays
        t10, t11, t12 = divu 0, t0, t1, 0, w=32
        t12 = add t0, 1            # used in a later basic block
        brcond t0, 0, cond=eq, label=L0
        st_state t6, off=0
        label label=L0
        st_state t12, off=4
        exit_tb reason=0
    """, HEAD + """
        t5, t6 = add_cc t0, t1, w=32
        t9 = ld t0, size=4, signed=0
        t10, t11, t12 = divu 0, t0, t1, 0, w=32
        t12 = add t0, 1
        brcond t0, 0, cond=eq, label=L0
        st_state t6, off=0
        label label=L0
        st_state t12, off=4
        exit_tb reason=0
    """)


def test_dead_code_in_a_loop_keeps_loop_carried_values() -> None:
    text = """
        t0 = ld_state off=0
        label label=L0
        t1 = add t0, 1
        t0 = mov t1
        brcond t1, 100, cond=ltu, label=L0
        st_state t0, off=0
        exit_tb reason=0
    """
    _check(eliminate_dead_code, text, text)


def test_optimize_whole_block() -> None:
    _check(optimize, """
        insn_start pc=0x1000
        t0 = ld_state off=0
        t1 = mov 5
        t2 = add t1, 3
        t3 = add t0, t2
        st_state t3, off=0
        insn_start pc=0x1003
        t4 = ld_state off=0
        t5 = xor t4, t4
        t6 = or t4, t5
        st_state t6, off=4
        st_state t6, off=4
        t7 = setcond t2, 8, cond=eq
        brcond t7, 0, cond=ne, label=L0
        st_state 1, off=8
        label label=L0
        t8, t9 = sub_cc t6, t1, w=32
        st_state t9, off=12
        exit_tb reason=0
    """, """
        insn_start pc=0x1000
        t0 = ld_state off=0
        t3 = add t0, 8
        st_state t3, off=0
        insn_start pc=0x1003
        st_state t3, off=4
        t8, t9 = sub_cc t3, 5, w=32
        st_state t9, off=12
        exit_tb reason=0
    """)


# --- randomized: optimized blocks mean what the originals mean -------------------------------------

BINARY = ("add", "sub", "mul", "and", "or", "xor", "shl", "shr", "sar", "rotl", "rotr")
UNARY = ("neg", "not", "bswap", "ext8s", "ext8u", "ext16s", "ext16u", "mov")
CONSTS = (0, 1, 2, 8, 31, 32, 0x80, 0x8000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)
STATE_OFFS = (0, 4, 8, 12)
MAPPED = range(0x1000, 0x1010)
ADDRS = (0x1000, 0x1004, 0x100C, 0x100E, 0x2000)   # 0x100e + 4 and 0x2000 fault


class _Gen:
    """Emits random IR text: straight-line ops, state and memory traffic, nested forward branches."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.lines: list[str] = []
        self.ntemps = 0
        self.nlabels = 0

    def value(self, avail: list[str]) -> str:
        if avail and self.rng.random() < 0.7:
            return self.rng.choice(avail)
        return str(self.rng.choice(CONSTS) if self.rng.random() < 0.7 else self.rng.getrandbits(32))

    def out(self, avail: list[str]) -> str:
        if avail and self.rng.random() < 0.1:
            return self.rng.choice(avail)          # redefine: temps need not be single-assignment
        self.ntemps += 1
        avail.append(f"t{self.ntemps - 1}")
        return avail[-1]

    def cond(self) -> str:
        return self.rng.choice(CONDS)

    def op(self, avail: list[str]) -> None:
        r, v = self.rng, self.value
        kind = r.randrange(12)
        if kind < 3:
            a, b = v(avail), v(avail)
            self.lines.append(f"{self.out(avail)} = {r.choice(BINARY)} {a}, {b}")
        elif kind == 3:
            a = v(avail)
            self.lines.append(f"{self.out(avail)} = {r.choice(UNARY)} {a}")
        elif kind == 4:
            ins = ", ".join(v(avail) for _ in range(2 if r.random() < 0.5 else 4))
            name = "setcond" if ins.count(",") == 1 else "movcond"
            self.lines.append(f"{self.out(avail)} = {name} {ins}, cond={self.cond()}")
        elif kind == 5:
            pos = r.randrange(32)
            ins = f"{v(avail)}, {v(avail)}"
            self.lines.append(f"{self.out(avail)} = deposit {ins}, pos={pos}, len={r.randint(1, 32 - pos)}")
        elif kind in (6, 7):
            self.lines.append(f"{self.out(avail)} = ld_state off={r.choice(STATE_OFFS)}")
        elif kind in (8, 9):
            self.lines.append(f"st_state {v(avail)}, off={r.choice(STATE_OFFS)}")
        elif kind == 10:
            size = r.choice((1, 2, 4))
            if r.random() < 0.5:
                addr, signed = r.choice(ADDRS), r.randrange(2)
                self.lines.append(f"{self.out(avail)} = ld {addr}, size={size}, signed={signed}")
            else:
                self.lines.append(f"st {v(avail)}, {r.choice(ADDRS)}, size={size}")
        elif r.random() < 0.7:
            ins = f"{v(avail)}, {v(avail)}, {v(avail)}, {v(avail)}"
            q, rem, f = self.out(avail), self.out(avail), self.out(avail)
            op = r.choice(('divu', 'divs'))
            self.lines.append(f"{q}, {rem}, {f} = {op} {ins}, w={r.choice((8, 16, 32))}")
        else:
            self.lines.append(f"exit_tb reason={r.randrange(4)}")

    def body(self, avail: list[str], depth: int) -> None:
        for _ in range(self.rng.randrange(1, 12)):
            if depth < 3 and self.rng.random() < 0.15:
                label = f"L{self.nlabels}"
                self.nlabels += 1
                self.lines.append(f"brcond {self.value(avail)}, {self.value(avail)}, cond={self.cond()}, "
                                  f"label={label}")
                self.body(list(avail), depth + 1)   # temps first defined inside are not defined after
                self.lines.append(f"label label={label}")
            else:
                self.op(avail)

    def block(self) -> str:
        avail: list[str] = []
        self.body(avail, 0)
        self.lines.append(self.rng.choice(("exit_tb reason=0", "goto_tb slot=1, pc=0x8048000")))
        return "\n".join(self.lines) + "\n"


@pytest.mark.parametrize("seed", range(300))
def test_random_blocks_keep_their_meaning(seed: int) -> None:
    rng = random.Random(seed)
    block = parse_block(_Gen(rng).block())
    opt = optimize(block)
    assert len(opt.ops) <= len(block.ops)
    for _ in range(4):
        state = {off: rng.choice(CONSTS) if rng.random() < 0.5 else rng.getrandbits(32) for off in STATE_OFFS}
        memory = {a: rng.getrandbits(8) for a in MAPPED}
        assert run_block(opt, state, memory) == run_block(block, state, memory), format_block(opt)


@pytest.mark.parametrize("op, after", [
    ("t2, t3 = add_cc t0, t1, w=32", "t2 = add t0, t1"),
    ("t2, t3 = sub_cc t0, 5, w=32", "t2 = sub t0, 5"),
    ("t2, t3 = and_cc t0, t1, w=32", "t2 = and t0, t1"),
    ("t2, t3 = or_cc t0, t1, w=32", "t2 = or t0, t1"),
    ("t2, t3 = xor_cc t0, t0, w=32", "t2 = xor t0, t0"),
    ("t2, t3 = inc_cc t0, t1, w=32", "t2 = add t0, 1"),
    ("t2, t3 = dec_cc t0, t1, w=32", "t2 = sub t0, 1"),
    ("t2, t3 = neg_cc t0, w=32", "t2 = neg t0"),
    ("t2, t3 = imul2_cc t0, t1, t1, w=32", "t2 = mul t0, t1"),
    ("t2, t3 = shl_cc t0, 33, _, w=32", "t2 = shl t0, 1"),
    ("t2, t3 = sar_cc t0, 31, t1, w=32", "t2 = sar t0, 31"),
    ("t2, t3 = add_cc t0, t1, w=8", "t4 = add t0, t1\nt2 = ext8u t4"),
    ("t2, t3 = imul2_cc t0, 7, t1, w=16", "t4 = mul t0, 7\nt2 = ext16u t4"),
    ("t2, t3 = shl_cc t0, 3, _, w=16", "t4 = shl t0, 3\nt2 = ext16u t4"),
    ("t2, t3 = shr_cc t0, 3, _, w=8", "t4 = ext8u t0\nt5 = shr t4, 3\nt2 = ext8u t5"),
    ("t2, t3 = sar_cc t0, 3, _, w=16", "t4 = ext16s t0\nt5 = sar t4, 3\nt2 = ext16u t5"),
    # no plain equivalent: a shift by a register or by zero (keeps flags), rotates, carries
    ("t2, t3 = shl_cc t0, t1, t1, w=32", None),
    ("t2, t3 = shr_cc t0, 32, t1, w=32", None),
    ("t2, t3 = rol_cc t0, 3, t1, w=32", None),
    ("t2, t3 = adc_cc t0, t1, t1, w=32", None),
])
def test_dead_flags_demote_cc_ops(op: str, after: str | None) -> None:
    tail = "st_state t2, off=8\nexit_tb reason=0\n"
    _check(demote_dead_flags, HEAD + op + "\n" + tail, HEAD + (after or op) + "\n" + tail)


def test_live_flags_keep_the_cc_op() -> None:
    text = HEAD + "t2, t3 = add_cc t0, t1, w=32\nst_state t2, off=8\nst_state t3, off=12\nexit_tb reason=0\n"
    _check(demote_dead_flags, text, text)
    looped = """
        t0 = ld_state off=0
        label label=L0
        t1, t2 = sub_cc t0, 1, w=32       # flags read on the next pass round the loop
        t3, t4 = adc_cc t1, 0, t2, w=32
        t0 = mov t3
        brcond t0, 0, cond=ne, label=L0
        exit_tb reason=0
    """
    _check(demote_dead_flags, looped, looped)


def test_demoted_xor_folds_to_zero() -> None:
    text = HEAD + "t2, t3 = xor_cc t0, t0, w=32\nst_state t2, off=8\nexit_tb reason=0\n"
    block = optimize(parse_block(text))
    assert _body(format_block(block)) == _body("st_state 0, off=8\nexit_tb reason=0\n")


def test_storing_the_value_a_field_holds_is_dropped() -> None:
    _check(forward_state, """
        t0 = ld_state off=0
        st_state t0, off=0           # the field already holds t0
        t1 = ld_state off=4
        st_state 7, off=4
        st_state 7, off=4            # and now 7
        st_state t0, off=2           # overlaps both fields
        st_state t0, off=0           # kept: the overlapping store changed field 0
        t2 = ld_state off=8
        t2 = add t2, 1
        st_state t2, off=8           # kept: t2 is not what was loaded any more
        label label=L0
        t3 = ld_state off=12
        st_state t3, off=12
        label label=L1
        st_state t3, off=12          # kept: control may join here with other state
        exit_tb reason=0
    """, """
        t0 = ld_state off=0
        t1 = ld_state off=4
        st_state 7, off=4
        st_state t0, off=2
        st_state t0, off=0
        t2 = ld_state off=8
        t2 = add t2, 1
        st_state t2, off=8
        label label=L0
        t3 = ld_state off=12
        label label=L1
        st_state t3, off=12
        exit_tb reason=0
    """)


def test_dead_code_chain_across_basic_blocks_goes_in_one_call() -> None:
    _check(eliminate_dead_code, HEAD + """
        t2 = add t0, 1             # read only by t3, in a later basic block
        brcond t0, 0, cond=eq, label=L0
        t3 = add t2, 2             # dead
        label label=L0
        st_state t1, off=0
        exit_tb reason=0
    """, HEAD + """
        brcond t0, 0, cond=eq, label=L0
        label label=L0
        st_state t1, off=0
        exit_tb reason=0
    """)


def test_a_flags_store_dead_at_every_exit_goes_but_not_before_a_fault_or_a_loop() -> None:
    """`dead_at_exit` lets a final flags store go only where no path reads it again."""
    text = """
        t0 = ld_state off=0
        t1, t2 = sub_cc t0, 5, w=32
        st_state t2, off=36
        brcc t2, cc=4, label=L0
        goto_tb slot=1, pc=0x100
        label label=L0
        goto_tb slot=0, pc=0x200
    """
    block = parse_block(text)
    block.dead_at_exit = frozenset({36})
    assert not any(op.name == "st_state" for op in optimize(block).ops)
    assert any(op.name == "st_state" for op in optimize(parse_block(text)).ops)   # not known dead

    faulting = parse_block(text.replace("brcc t2", "t9 = ld t0, size=4, signed=0\n        brcc t2"))
    faulting.dead_at_exit = frozenset({36})
    assert any(op.name == "st_state" for op in optimize(faulting).ops)

    loop = parse_block("""
        label label=L1
        t0 = ld_state off=36
        t1 = eflags_to_cc t0
        t3, t4 = add_cc t1, 1, w=32
        st_state t4, off=36
        brcc t4, cc=4, label=L1
        goto_tb slot=0, pc=0x200
    """)
    loop.dead_at_exit = frozenset({36})
    assert any(op.name == "st_state" for op in optimize(loop).ops)
