"""The reference interpreter against values worked out by hand from x86 semantics."""

import pytest

from aotc.ir.interp import Exit, run_block
from aotc.ir.parse import parse_block


def _result(text: str, state: dict[int, int] | None = None, memory: dict[int, int] | None = None):
    return run_block(parse_block(text), state or {}, memory or {})


def _compute(expr: str, **consts: int) -> int:
    """Value of one op `t9 = <expr>` over t0..t3 given as state fields 0, 4, 8, 12."""
    loads = "".join(f"t{i} = ld_state off={4 * i}\n" for i in range(4))
    ex, state, _ = _result(loads + f"t9 = {expr}\nst_state t9, off=0x40\nexit_tb reason=0\n",
                           {4 * i: consts.get(f"t{i}", 0) for i in range(4)})
    assert ex == Exit("exit_tb", (0,))
    return state[0x40]


@pytest.mark.parametrize("expr, t0, t1, want", [
    ("add t0, t1", 0xFFFFFFFF, 1, 0),
    ("sub t0, t1", 0, 1, 0xFFFFFFFF),
    ("mul t0, t1", 0x10001, 0x10001, 0x20001),
    ("and t0, t1", 0xF0F0, 0xFF00, 0xF000),
    ("or t0, t1", 0xF0F0, 0xFF00, 0xFFF0),
    ("xor t0, t1", 0xF0F0, 0xFF00, 0x0FF0),
    ("shl t0, t1", 1, 33, 2),
    ("shr t0, t1", 0x80000000, 31, 1),
    ("sar t0, t1", 0x80000000, 4, 0xF8000000),
    ("sar t0, t1", 0x40000000, 4, 0x04000000),
    ("rotl t0, t1", 0x80000001, 1, 3),
    ("rotl t0, t1", 0x12345678, 32, 0x12345678),
    ("rotr t0, t1", 1, 1, 0x80000000),
    ("rotr t0, t1", 0x12345678, 8, 0x78123456),
    ("neg t0", 1, 0, 0xFFFFFFFF),
    ("not t0", 0, 0, 0xFFFFFFFF),
    ("bswap t0", 0x12345678, 0, 0x78563412),
    ("ext8s t0", 0x1280, 0, 0xFFFFFF80),
    ("ext8u t0", 0x1FF, 0, 0xFF),
    ("ext16s t0", 0x18000, 0, 0xFFFF8000),
    ("ext16u t0", 0x12345678, 0, 0x5678),
    ("setcond t0, t1, cond=lt", 0xFFFFFFFF, 0, 1),
    ("setcond t0, t1, cond=ltu", 0xFFFFFFFF, 0, 0),
    ("setcond t0, t1, cond=gt", 5, 0x80000000, 1),
    ("setcond t0, t1, cond=leu", 5, 5, 1),
    ("setcond t0, t1, cond=ne", 5, 5, 0),
    ("movcond t0, t1, t0, t1, cond=geu", 3, 7, 7),
    ("movcond t0, t1, t0, t1, cond=ge", 3, 0xFFFFFFF9, 3),
    ("deposit t0, t1, pos=8, len=8", 0x12345678, 0x1AB, 0x1234AB78),
    ("deposit t0, t1, pos=0, len=32", 0x12345678, 0x9ABCDEF0, 0x9ABCDEF0),
])
def test_pure_ops(expr: str, t0: int, t1: int, want: int) -> None:
    assert _compute(expr, t0=t0, t1=t1) == want


MEM = {0x1000 + i: b for i, b in enumerate([0x78, 0x56, 0x34, 0x82])}


@pytest.mark.parametrize("size, signed, want", [
    (1, 0, 0x78), (2, 0, 0x5678), (4, 0, 0x82345678), (1, 1, 0x78),
])
def test_loads_are_little_endian(size: int, signed: int, want: int) -> None:
    _, state, _ = _result(f"t0 = ld 0x1000, size={size}, signed={signed}\nst_state t0, off=0\n", {}, MEM)
    assert state[0] == want


def test_signed_loads_extend() -> None:
    _, state, _ = _result("t0 = ld 0x1003, size=1, signed=1\nst_state t0, off=0\n"
                          "t1 = ld 0x1002, size=2, signed=1\nst_state t1, off=4\n", {}, MEM)
    assert state == {0: 0xFFFFFF82, 4: 0xFFFF8234}


def test_store_writes_bytes_and_leaves_inputs_alone() -> None:
    memory = dict(MEM)
    ex, _, after = _result("st 0xAABBCCDD, 0x1001, size=2\nexit_tb reason=3\n", {}, memory)
    assert ex == Exit("exit_tb", (3,))
    assert [after[0x1000 + i] for i in range(4)] == [0x78, 0xDD, 0xCC, 0x82]
    assert memory == MEM


def test_page_fault_keeps_state_stored_before_it() -> None:
    ex, state, memory = _result("""
        st_state 7, off=0
        st 1, 0x1003, size=2        # second byte 0x1004 is not mapped: no byte is written
        st_state 8, off=0
    """, {}, MEM)
    assert ex == Exit("page_fault", (0x1004,))
    assert state == {0: 7}
    assert memory == MEM


@pytest.mark.parametrize("op, w, hi, lo, d, want", [
    ("divu", 32, 0, 7, 2, (3, 1)),
    ("divu", 32, 1, 0, 2, (0x80000000, 0)),
    ("divu", 8, 0x01, 0x07, 2, (0x83, 1)),          # ax = 0x107 = 263
    ("divu", 16, 0xFFFF1234, 0xFFFF0000, 0x2000, (0x91A0, 0)),  # only the low w bits count
    ("divs", 32, 0xFFFFFFFF, 0xFFFFFFF9, 2, (0xFFFFFFFD, 0xFFFFFFFF)),   # -7 / 2 = -3 rem -1
    ("divs", 32, 0, 7, 0xFFFFFFFE, (0xFFFFFFFD, 1)),                     # 7 / -2 = -3 rem 1
    ("divs", 8, 0xFF, 0x80, 0xFF, None),            # -128 / -1 = 128 does not fit in 8 bits
    ("divs", 8, 0xFF, 0x81, 0xFF, (0x7F, 0)),       # -127 / -1 = 127
    ("divu", 32, 1, 0, 1, None),                    # quotient 2**32 overflows
    ("divu", 32, 0, 5, 0, None),                    # divide by zero
])
def test_division(op: str, w: int, hi: int, lo: int, d: int, want: tuple[int, int] | None) -> None:
    ex, state, _ = _result(f"t0, t1, t2 = {op} {hi}, {lo}, {d}, 0, w={w}\nst_state t0, off=0\n"
                           "st_state t1, off=4\nexit_tb reason=0\n")
    if want is None:
        assert ex == Exit("divide_error")
        assert state == {}
    else:
        assert (state[0], state[4]) == want


def test_loop_sums_one_to_ten() -> None:
    ex, state, _ = _result("""
        st_state 0, off=0
        st_state 1, off=4
        label label=L0
        t0 = ld_state off=0
        t1 = ld_state off=4
        t2 = add t0, t1
        st_state t2, off=0
        t3 = add t1, 1
        st_state t3, off=4
        brcond t3, 10, cond=leu, label=L0
        goto_tb slot=1, pc=0x8049000
    """)
    assert ex == Exit("goto_tb", (1, 0x8049000))
    assert state == {0: 55, 4: 11}


def test_br_skips_and_end_is_reported() -> None:
    ex, state, _ = _result("br label=L1\nst_state 1, off=0\nlabel label=L1\nst_state 2, off=4\n")
    assert ex == Exit("end")
    assert state == {4: 2}


@pytest.mark.parametrize("line", ["t1, t2 = add_cc t0, 1, w=32", "t1 = setcc t0, cc=e", "t1, t2 = rdtsc"])
def test_condition_code_ops_are_not_interpreted(line: str) -> None:
    with pytest.raises(NotImplementedError):
        _result("t0 = ld_state off=0\n" + line + "\n")
