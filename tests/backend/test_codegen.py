"""Run generated code: prologue + one compiled block in a code buffer, called through ctypes.

Expected values come from a small Python model of x86 results and flags, never from our own output.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from dataclasses import dataclass

import capstone
import pytest

from aotc.backend.codegen import compile_block
from aotc.backend.flags import AF, CF, OF, PF, SF, ZF
from aotc.backend.prologue import build_prologue
from aotc.exec.codebuf import CodeBuffer
from aotc.guest.cpu import OFF_SCRATCH, REG_OFFSETS, CPUState, ExitReason
from aotc.ir.core import Block, Builder, Op, Temp
from aotc.ir.ops import CC_NAMES, OPS
from aotc.ir.ops import CONDS as IR_CONDS
from aotc.ir.optimize import optimize

GUEST_SIZE = 1 << 16
SETCC_AT = 0x100
EDGES = (0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)
ENTER = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_void_p, ctypes.c_void_p)
SCRATCH = tuple(OFF_SCRATCH + 4 * i for i in range(16))


@dataclass
class Run:
    exit: int
    cpu: CPUState
    mem: ctypes.Array


class Machine:
    """A code buffer holding the prologue, guest memory we own, and a way to run one block."""

    def __init__(self) -> None:
        self.buf = CodeBuffer(16 << 20)
        pro = build_prologue()
        base = self.buf.append(pro.code)
        self.enter = ENTER(base + pro.entry)
        self.epilogue = base + pro.epilogue

    def run(self, block: Block, regs: tuple[int, ...] = (), mem: dict[int, bytes] | None = None) -> Run:
        host = compile_block(block)
        if self.buf.used + len(host.code) + 64 > self.buf.size:
            self.__init__()
        addr = self.buf.append(host.code)
        guest = (ctypes.c_uint8 * GUEST_SIZE)()
        for at, data in (mem or {}).items():
            ctypes.memmove(ctypes.addressof(guest) + at, data, len(data))
        cpu = CPUState()
        for i, v in enumerate(regs):
            cpu.regs[i] = v
        cpu.guest_base = ctypes.addressof(guest)
        cpu.epilogue = self.epilogue
        value = self.enter(ctypes.addressof(cpu), addr)
        return Run(value, cpu, guest)


@pytest.fixture(scope="module")
def m() -> Machine:
    return Machine()


def scratch(run: Run, i: int) -> int:
    return run.cpu.scratch[i // 2] >> (32 * (i % 2)) & 0xFFFFFFFF


def block_of(build: Callable[[Builder], None]) -> Block:
    block = Block(0x1000)
    build(Builder(block))
    return block


# ---- a Python model of x86 flags ----

def sign(v: int, w: int) -> int:
    return v >> (w - 1) & 1


def szp(r: int, w: int) -> int:
    r &= (1 << w) - 1
    f = ZF if r == 0 else 0
    f |= SF if sign(r, w) else 0
    f |= PF if bin(r & 0xFF).count("1") % 2 == 0 else 0
    return f


def ref_add(a: int, b: int, w: int, c: int = 0) -> tuple[int, int, int]:
    r = a + b + c
    f = szp(r, w) | (CF if r >> w & 1 else 0) | ((a ^ b ^ r) & AF)
    f |= OF if sign(a, w) == sign(b, w) != sign(r, w) else 0
    return r & (1 << w) - 1, f, CF | PF | AF | ZF | SF | OF


def ref_sub(a: int, b: int, w: int, c: int = 0) -> tuple[int, int, int]:
    r = a - b - c
    f = szp(r, w) | (CF if a < b + c else 0) | ((a ^ b ^ r) & AF)
    f |= OF if sign(a, w) != sign(b, w) and sign(r, w) != sign(a, w) else 0
    return r & (1 << w) - 1, f, CF | PF | AF | ZF | SF | OF


def ref_logic(fn: Callable[[int, int], int]) -> Callable[..., tuple[int, int, int]]:
    def ref(a: int, b: int, w: int) -> tuple[int, int, int]:
        r = fn(a, b) & (1 << w) - 1
        return r, szp(r, w), CF | PF | ZF | SF | OF
    return ref


def cond_holds(cc: int, f: int) -> bool:
    of, cf, zf, sf, pf = (bool(f & x) for x in (OF, CF, ZF, SF, PF))
    base = (of, cf, zf, cf or zf, sf, pf, sf != of, zf or sf != of)[cc >> 1]
    return base != bool(cc & 1)


COND_READS = (OF, CF, ZF, CF | ZF, SF, PF, SF | OF, ZF | SF | OF)


# ---- running one cc op ----

def run_cc(m: Machine, name: str, w: int, ins: list[int], fi: int | None = None,
           const: bool = False) -> tuple[list[int], int, list[int]]:
    """Run name(ins, fi) at width w; inputs from guest registers (or as constants), fi given as EFLAGS.

    Returns the non-flags outputs, the flags as EFLAGS (through cc_to_eflags) and setcc for all 16 cc.
    """
    opdef = OPS[name]

    def build(b: Builder) -> None:
        vals: list = [v if const else b.ld_state(off=REG_OFFSETS[i]) for i, v in enumerate(ins)]
        if "fi" in opdef.ins:
            absent = fi is None and "fi" in opdef.optional
            vals.append(None if absent else b.eflags_to_cc(b.ld_state(off=REG_OFFSETS[7])))
        outs = b.emit(name, vals, w=w)
        f = outs[opdef.outs.index("f")]
        for k, t in enumerate(o for o, n in zip(outs, opdef.outs, strict=True) if n != "f"):
            b.st_state(t, off=SCRATCH[k])
        b.st_state(b.cc_to_eflags(f), off=SCRATCH[15])
        for cc in range(16):
            b.st(b.setcc(f, cc=cc), SETCC_AT + cc, size=1)
        b.exit_tb(reason=ExitReason.SYSCALL)

    regs = [*ins, 0, 0, 0, 0, 0, 0, 0][:7] + [fi or 0]
    run = m.run(block_of(build), tuple(regs))
    assert run.exit == ExitReason.SYSCALL
    nouts = len(opdef.outs) - 1
    return ([scratch(run, k) for k in range(nouts)], scratch(run, 15),
            [run.mem[SETCC_AT + cc] for cc in range(16)])


def check_flags(got: int, conds: list[int], want: int, defined: int) -> None:
    assert got & defined == want & defined, f"eflags {got:#x}, want {want:#x} (mask {defined:#x})"
    assert got & ~(CF | PF | AF | ZF | SF | OF) == 0
    for cc in range(16):
        assert conds[cc] == cond_holds(cc, got), f"setcc {CC_NAMES[cc]} disagrees with the flags value"
        if COND_READS[cc >> 1] & ~defined == 0:
            assert conds[cc] == cond_holds(cc, want), f"set{CC_NAMES[cc]}"


def edges(w: int) -> list[int]:
    return sorted({v & (1 << w) - 1 for v in EDGES})


BINARY_REFS = {
    "add_cc": ref_add, "sub_cc": ref_sub,
    "and_cc": ref_logic(lambda a, b: a & b), "or_cc": ref_logic(lambda a, b: a | b),
    "xor_cc": ref_logic(lambda a, b: a ^ b),
}
WIDTHS = (8, 16, 32)


@pytest.mark.parametrize("w", WIDTHS)
@pytest.mark.parametrize("name", sorted(BINARY_REFS))
def test_binary_cc_edges(m: Machine, name: str, w: int) -> None:
    for a in edges(w):
        for b in edges(w):
            (d,), got, conds = run_cc(m, name, w, [a, b])
            r, f, defined = BINARY_REFS[name](a, b, w)
            assert d == r, f"{name} w={w} {a:#x},{b:#x}: {d:#x} != {r:#x}"
            check_flags(got, conds, f, defined)


@pytest.mark.parametrize("w", WIDTHS)
@pytest.mark.parametrize("name", ["adc_cc", "sbb_cc"])
def test_carry_cc_edges(m: Machine, name: str, w: int) -> None:
    ref = ref_add if name == "adc_cc" else ref_sub
    for carry_in in (0, 1):
        for a in edges(w):
            for b in edges(w):
                (d,), got, conds = run_cc(m, name, w, [a, b], fi=carry_in | ZF | OF)
                r, f, defined = ref(a, b, w, carry_in)
                assert d == r
                check_flags(got, conds, f, defined)


@pytest.mark.parametrize("w", WIDTHS)
def test_inc_dec_neg_edges(m: Machine, w: int) -> None:
    for a in edges(w):
        for fi in (0, CF):
            (d,), got, conds = run_cc(m, "inc_cc", w, [a], fi=fi)
            r, f, defined = ref_add(a, 1, w)
            assert d == r
            check_flags(got, conds, (f & ~CF) | fi, defined)
            (d,), got, conds = run_cc(m, "dec_cc", w, [a], fi=fi)
            r, f, defined = ref_sub(a, 1, w)
            assert d == r
            check_flags(got, conds, (f & ~CF) | fi, defined)
        (d,), got, conds = run_cc(m, "neg_cc", w, [a])
        r, f, defined = ref_sub(0, a, w)
        assert d == r
        check_flags(got, conds, f, defined)


def ref_shift(name: str, a: int, c: int, w: int) -> tuple[int, int, int]:
    """Shifts by 1 <= c < w: CF is the last bit out, OF defined for c == 1, AF undefined."""
    msk = (1 << w) - 1
    if name == "shl_cc":
        r, cf = (a << c) & msk, a >> (w - c) & 1
        of = sign(r, w) ^ cf
    elif name == "shr_cc":
        r, cf, of = a >> c, a >> (c - 1) & 1, sign(a, w)
    else:
        s = a - (1 << w) if sign(a, w) else a
        r, cf, of = (s >> c) & msk, s >> (c - 1) & 1, 0
    f = szp(r, w) | (CF if cf else 0) | (OF if of else 0)
    return r, f, CF | PF | ZF | SF | (OF if c == 1 else 0)


@pytest.mark.parametrize("w", WIDTHS)
@pytest.mark.parametrize("name", ["shl_cc", "shr_cc", "sar_cc"])
def test_shift_cc(m: Machine, name: str, w: int) -> None:
    for a in edges(w):
        for c in sorted({1, 2, w // 2, w - 1}):
            (d,), got, conds = run_cc(m, name, w, [a, c], fi=CF | ZF)
            r, f, defined = ref_shift(name, a, c, w)
            assert d == r, f"{name} w={w} {a:#x} by {c}"
            check_flags(got, conds, f, defined)
            (d,), got, conds = run_cc(m, name, w, [a, c], const=True)
            assert d == r
            check_flags(got, conds, f, defined)


@pytest.mark.parametrize("name", ["shl_cc", "shr_cc", "sar_cc", "rol_cc", "rcr_cc"])
def test_shift_by_zero_keeps_flags(m: Machine, name: str) -> None:
    for fi in (0, CF | ZF | OF, SF | PF | AF):
        (d,), got, _ = run_cc(m, name, 8, [0x81, 32], fi=fi)
        assert d == 0x81
        assert got == fi


def rotate(a: int, c: int, w: int, left: bool) -> int:
    c %= w
    msk = (1 << w) - 1
    return ((a << c) | (a >> (w - c))) & msk if left else ((a >> c) | (a << (w - c))) & msk


@pytest.mark.parametrize("w", WIDTHS)
def test_rotates(m: Machine, w: int) -> None:
    for a in edges(w):
        for c in (1, 3, w - 1):
            (d,), got, _ = run_cc(m, "rol_cc", w, [a, c], fi=ZF)
            r = rotate(a, c, w, True)
            assert d == r and got & CF == r & 1 and got & ZF
            (d,), got, _ = run_cc(m, "ror_cc", w, [a, c], fi=0)
            r = rotate(a, c, w, False)
            assert d == r and bool(got & CF) == bool(sign(r, w))
            for carry in (0, 1):
                wide = a | carry << w                       # rcl rotates w+1 bits through CF
                (d,), got, _ = run_cc(m, "rcl_cc", w, [a, c], fi=carry)
                r = ((wide << c) | (wide >> (w + 1 - c))) & ((1 << (w + 1)) - 1)
                assert d == r & (1 << w) - 1 and got & CF == r >> w
                (d,), got, _ = run_cc(m, "rcr_cc", w, [a, c], fi=carry)
                r = ((wide >> c) | (wide << (w + 1 - c))) & ((1 << (w + 1)) - 1)
                assert d == r & (1 << w) - 1 and got & CF == r >> w


@pytest.mark.parametrize("w", (16, 32))
def test_double_shifts(m: Machine, w: int) -> None:
    msk = (1 << w) - 1
    for a, b in ((0x1234 & msk, 0xFFFF8001 & msk), (0x80000001 & msk, 0x5A5A5A5A & msk)):
        for c in (1, 4, w - 1):
            (d,), got, _ = run_cc(m, "shld_cc", w, [a, b, c], fi=0)
            assert d == ((a << c) | (b >> (w - c))) & msk
            assert got & CF == a >> (w - c) & 1
            (d,), got, _ = run_cc(m, "shrd_cc", w, [a, b, c], fi=0)
            assert d == ((a >> c) | (b << (w - c))) & msk
            assert got & CF == a >> (c - 1) & 1


@pytest.mark.parametrize("w", (16, 32))
def test_bit_tests(m: Machine, w: int) -> None:
    for a in edges(w):
        for bit in (0, 7, w - 1, w + 3):
            old = a >> (bit % w) & 1
            _, got, _ = run_cc(m, "bt_cc", w, [a, bit], fi=ZF)
            assert got & CF == old and got & ZF
            for name, fn in (("bts_cc", lambda v, k: v | k), ("btr_cc", lambda v, k: v & ~k),
                             ("btc_cc", lambda v, k: v ^ k)):
                (d,), got, _ = run_cc(m, name, w, [a, bit], fi=0)
                assert d == fn(a, 1 << (bit % w)) & (1 << w) - 1 and got & CF == old


@pytest.mark.parametrize("w", (16, 32))
def test_bit_scans(m: Machine, w: int) -> None:
    for src in edges(w):
        (d,), got, _ = run_cc(m, "bsf_cc", w, [0x1234, src], fi=0)
        assert d == ((src & -src).bit_length() - 1 if src else 0x1234)
        assert bool(got & ZF) == (src == 0)
        (d,), got, _ = run_cc(m, "bsr_cc", w, [0x4321, src], fi=0)
        assert d == (src.bit_length() - 1 if src else 0x4321)


def signed(v: int, w: int) -> int:
    return v - (1 << w) if sign(v, w) else v


@pytest.mark.parametrize("w", WIDTHS)
def test_widening_multiplies(m: Machine, w: int) -> None:
    msk = (1 << w) - 1
    for a in edges(w):
        for b in edges(w):
            for const in (False, True):
                (lo, hi), got, _ = run_cc(m, "mul_cc", w, [a, b], const=const)
                p = a * b
                assert (lo, hi) == (p & msk, p >> w)
                assert got & (CF | OF) == (CF | OF if p >> w else 0)
                (lo, hi), got, _ = run_cc(m, "imul_cc", w, [a, b], const=const)
                p = signed(a, w) * signed(b, w)
                assert (lo, hi) == (p & msk, (p >> w) & msk)
                assert got & (CF | OF) == (0 if signed(p & msk, w) == p else CF | OF)


@pytest.mark.parametrize("w", (16, 32))
def test_truncating_imul(m: Machine, w: int) -> None:
    msk = (1 << w) - 1
    for a in edges(w):
        for b in edges(w):
            for const in (False, True):
                (d,), got, _ = run_cc(m, "imul2_cc", w, [a, b], const=const)
                p = signed(a, w) * signed(b, w)
                assert d == p & msk
                assert got & (CF | OF) == (0 if signed(p & msk, w) == p else CF | OF)


# ---- division ----

def run_div(m: Machine, name: str, w: int, hi: int, lo: int, d: int) -> tuple[int, int]:
    def build(b: Builder) -> None:
        q, r, _ = b.emit(name, [*(b.ld_state(off=REG_OFFSETS[i]) for i in range(3)), 0], w=w)
        b.st_state(q, off=SCRATCH[0])
        b.st_state(r, off=SCRATCH[1])
        b.exit_tb(reason=0)

    run = m.run(block_of(build), (hi, lo, d))
    return scratch(run, 0), scratch(run, 1)


@pytest.mark.parametrize("w", WIDTHS)
def test_divides(m: Machine, w: int) -> None:
    msk = (1 << w) - 1
    cases = [(0, 100, 7), (0, msk, 1), (0, 0x7F & msk, 0x10), (1, 5, 3), (0, msk, msk), (0, 0, 3)]
    for hi, lo, d in cases:
        q, r = run_div(m, "divu", w, hi, lo, d)
        n = hi << w | lo
        assert (q, r) == (n // d, n % d)
    for hi, lo, d in [(0, 100, 7), (msk, (-100) & msk, 7), (msk, (-100) & msk, (-7) & msk), (0, 100, msk)]:
        q, r = run_div(m, "divs", w, hi, lo, d)
        n, dv = signed(hi << w | lo, 2 * w), signed(d, w)
        qq = abs(n) // abs(dv) * (1 if (n < 0) == (dv < 0) else -1)
        assert (q, r) == (qq & msk, (n - qq * dv) & msk)


# ---- flag-less ops ----

PLAIN = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "and": lambda a, b: a & b, "or": lambda a, b: a | b, "xor": lambda a, b: a ^ b,
    "shl": lambda a, b: a << (b & 31), "shr": lambda a, b: a >> (b & 31),
    "sar": lambda a, b: signed(a, 32) >> (b & 31),
    "rotl": lambda a, b: rotate(a, b & 31, 32, True), "rotr": lambda a, b: rotate(a, b & 31, 32, False),
}
UNARY = {
    "neg": lambda a: -a, "not": lambda a: ~a,
    "bswap": lambda a: int.from_bytes(a.to_bytes(4, "little"), "big"),
    "ext8s": lambda a: signed(a & 0xFF, 8), "ext8u": lambda a: a & 0xFF,
    "ext16s": lambda a: signed(a & 0xFFFF, 16), "ext16u": lambda a: a & 0xFFFF,
}
CONDS = {
    "eq": lambda a, b: a == b, "ne": lambda a, b: a != b,
    "lt": lambda a, b: signed(a, 32) < signed(b, 32), "ge": lambda a, b: signed(a, 32) >= signed(b, 32),
    "le": lambda a, b: signed(a, 32) <= signed(b, 32), "gt": lambda a, b: signed(a, 32) > signed(b, 32),
    "ltu": lambda a, b: a < b, "geu": lambda a, b: a >= b, "leu": lambda a, b: a <= b,
    "gtu": lambda a, b: a > b,
}
VALUES = (0, 1, 5, 31, 32, 33, 0x7F, 0x80, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x12345678)


def run_ops(m: Machine, regs: tuple[int, ...], build: Callable[[Builder, list[Temp]], list]) -> list[int]:
    """Run a block whose inputs are the guest registers; `build` returns values to store in scratch."""
    def body(b: Builder) -> None:
        ins = [b.ld_state(off=REG_OFFSETS[i]) for i in range(len(regs))]
        for k, v in enumerate(build(b, ins)):
            b.st_state(v, off=SCRATCH[k])
        b.exit_tb(reason=0)

    run = m.run(block_of(body), regs)
    return [scratch(run, k) for k in range(16)]


@pytest.mark.parametrize("name", sorted(PLAIN))
def test_plain_binary_ops(m: Machine, name: str) -> None:
    for a in VALUES:
        want = [PLAIN[name](a, b) & 0xFFFFFFFF for b in VALUES]
        got = run_ops(m, (a, *VALUES[:7]),
                      lambda bl, t: [bl.emit(name, [t[0], t[1 + i]])[0] for i in range(7)])
        assert got[:7] == want[:7]
        got = run_ops(m, (a,), lambda bl, t: [bl.emit(name, [t[0], b])[0] for b in VALUES])
        assert got[:len(VALUES)] == want
        got = run_ops(m, VALUES[:8], lambda bl, t, a=a: [bl.emit(name, [a, x])[0] for x in t])
        assert got[:8] == [PLAIN[name](a, b) & 0xFFFFFFFF for b in VALUES[:8]]


def test_output_may_alias_second_input(m: Machine) -> None:
    """d = a - b where b dies here and d takes b's register: the lowering must not clobber b first."""
    got = run_ops(m, (100, 30), lambda b, t: [b.sub(t[0], t[1]), b.shl(t[0], t[1]), t[0]])
    assert got[:3] == [70, (100 << 30) & 0xFFFFFFFF, 100]
    got = run_ops(m, (100, 30), lambda b, t: [b.sub(b.add(t[0], 1), b.add(t[1], 2))])
    assert got[0] == 69


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_ops(m: Machine, name: str) -> None:
    got = run_ops(m, VALUES[:8], lambda b, t: [b.emit(name, [x])[0] for x in t])
    assert got[:8] == [UNARY[name](a) & 0xFFFFFFFF for a in VALUES[:8]]
    got = run_ops(m, (), lambda b, t: [b.emit(name, [a])[0] for a in VALUES])
    assert got[:len(VALUES)] == [UNARY[name](a) & 0xFFFFFFFF for a in VALUES]


@pytest.mark.parametrize("cond", sorted(CONDS))
def test_setcond_movcond_brcond(m: Machine, cond: str) -> None:
    pairs = [(a, b) for a in (0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)
             for b in (0, 1, 0x80000000, 0xFFFFFFFF)]
    for a, b in pairs:
        want = CONDS[cond](a, b)

        def build(bl: Builder, t: list[Temp], a: int = a, b: int = b) -> list:
            c = IR_CONDS.index(cond)
            out = [bl.setcond(t[0], t[1], cond=c), bl.setcond(a, t[1], cond=c),
                   bl.setcond(t[0], b, cond=c), bl.movcond(t[0], t[1], t[2], t[3], cond=c),
                   bl.movcond(t[0], t[1], 11, 22, cond=c)]
            skip = bl.new_label()
            bl.brcond(t[0], t[1], cond=IR_CONDS.index(cond), label=skip)
            bl.st_state(t[3], off=REG_OFFSETS[2])
            bl.label(label=skip)
            out.append(bl.ld_state(off=REG_OFFSETS[2]))
            return out

        got = run_ops(m, (a, b, 0xAAAA, 0xBBBB), build)
        assert got[:6] == [int(want)] * 3 + [0xAAAA if want else 0xBBBB, 11 if want else 22,
                                              0xAAAA if want else 0xBBBB]


def test_deposit(m: Machine) -> None:
    cases = [(0, 8), (8, 8), (0, 16), (16, 16), (4, 1), (31, 1), (0, 32), (3, 20)]
    a, b = 0x12345678, 0xFEDCBA98
    got = run_ops(m, (a, b), lambda bl, t: [bl.deposit(t[0], t[1], pos=p, len=n) for p, n in cases])
    for k, (p, n) in enumerate(cases):
        fld = ((1 << n) - 1) << p
        assert got[k] == (a & ~fld | (b << p) & fld) & 0xFFFFFFFF, (p, n)


# ---- memory, state, exits ----

def test_loads_and_stores(m: Machine) -> None:
    mem = {0x200: bytes([0x81, 0x92, 0xA3, 0xB4])}

    def build(b: Builder, t: list[Temp]) -> list:
        out = [b.ld(t[0], size=s, signed=sg) for s in (1, 2, 4) for sg in (0, 1)]
        out.append(b.ld(0x201, size=2, signed=0))
        b.st(t[1], 0x300, size=4)
        b.st(t[1], 0x310, size=2)
        b.st(t[1], 0x320, size=1)
        b.st(0xCAFEBABE, 0x330, size=4)
        b.st(0xBEEF, t[2], size=2)
        return out

    def body(b: Builder) -> None:
        t = [b.ld_state(off=REG_OFFSETS[i]) for i in range(3)]
        for k, v in enumerate(build(b, t)):
            b.st_state(v, off=SCRATCH[k])
        b.exit_tb(reason=0)

    run = m.run(block_of(body), (0x200, 0x11223344, 0x340), mem)
    got = [scratch(run, k) for k in range(7)]
    assert got == [0x81, 0xFFFFFF81, 0x9281, 0xFFFF9281, 0xB4A39281, 0xB4A39281, 0xA392]
    assert bytes(run.mem[0x300:0x304]) == bytes.fromhex("44332211")
    assert bytes(run.mem[0x310:0x314]) == bytes.fromhex("44330000")
    assert bytes(run.mem[0x320:0x322]) == bytes.fromhex("4400")
    assert bytes(run.mem[0x330:0x334]) == bytes.fromhex("bebafeca")
    assert bytes(run.mem[0x340:0x343]) == bytes.fromhex("efbe00")


def test_goto_tb_exit(m: Machine) -> None:
    block = block_of(lambda b: (b.insn_start(pc=0x1000), b.insn_start(pc=0x1002),
                                b.goto_tb(slot=1, pc=0x4242)))
    host = compile_block(block)
    assert [(e.slot, e.pc) for e in host.exits] == [(1, 0x4242)]
    assert host.insn_offsets == [(0, 0x1000), (0, 0x1002)]
    assert len(host.code) - host.exits[0].offset >= 5
    run = m.run(block)
    assert run.exit == ExitReason.JUMP | 2 << 8
    assert run.cpu.eip == 0x4242


@pytest.mark.parametrize("reason", list(ExitReason))
def test_exit_tb(m: Machine, reason: ExitReason) -> None:
    run = m.run(block_of(lambda b: b.exit_tb(reason=reason)), (1, 2, 3))
    assert run.exit == reason
    assert list(run.cpu.regs)[:3] == [1, 2, 3]


def test_block_must_end_with_an_exit() -> None:
    with pytest.raises(ValueError):
        compile_block(block_of(lambda b: b.ld_state(off=0)))


def test_rdtsc_moves_forward(m: Machine) -> None:
    got = run_ops(m, (), lambda b, t: [*b.rdtsc(), *b.rdtsc()])
    first, second = got[1] << 32 | got[0], got[3] << 32 | got[2]
    assert 0 < first < second


def test_eflags_conversions_in_code(m: Machine) -> None:
    vals = (0, CF, OF, 0x8D5, 0xFFFFFFFF, 0x246)
    got = run_ops(m, vals, lambda b, t: [b.cc_to_eflags(b.eflags_to_cc(x)) for x in t])
    assert got[:len(vals)] == [v & (CF | PF | AF | ZF | SF | OF) for v in vals]


def test_spill_heavy_block(m: Machine) -> None:
    """30 values live at once: most are in spill slots and flow through every kind of op."""
    def build(b: Builder, t: list[Temp]) -> list:
        vals = [b.add(t[0], k) for k in range(30)]
        muls = [b.mul(v, t[1]) for v in vals]
        sums = [b.sub(x, v) for x, v in zip(muls, vals, strict=True)]
        flags = [b.add_cc(x, t[1], w=8)[0] for x in sums[:5]]
        b.st(sums[3], vals[0], size=4)
        loaded = b.ld(vals[0], size=4, signed=0)
        return [*sums[:8], *flags, loaded, b.setcond(vals[29], vals[0], cond=IR_CONDS.index("gtu"))]

    got = run_ops(m, (0x100, 3), build)
    sums = [((0x100 + k) * 3 - (0x100 + k)) & 0xFFFFFFFF for k in range(30)]
    assert got[:8] == sums[:8]
    assert got[8:13] == [(s + 3) & 0xFF for s in sums[:5]]
    assert got[13:15] == [sums[3], 1]


def redefine(b: Builder, name: str, outs: list[Temp], ins: list, **args) -> None:
    b.block.ops.append(Op(OPS[name], outs, ins, args))


def test_loop_with_backward_branch(m: Machine) -> None:
    """sum 1..n with loop-carried temps and a loop-invariant value held across the loop."""
    def build(b: Builder) -> None:
        n = b.ld_state(off=REG_OFFSETS[0])
        k = b.ld_state(off=REG_OFFSETS[1])
        acc = b.mov(0)
        i = b.mov(0)
        top = b.new_label()
        b.label(label=top)
        redefine(b, "add", [i], [i, 1])
        step = b.mul(i, k)
        redefine(b, "add", [acc], [acc, step])
        noise = [b.add(step, j) for j in range(12)]      # pressure inside the loop body
        b.st(noise[11], 0x400, size=4)
        b.brcond(i, n, cond=IR_CONDS.index("ltu"), label=top)
        b.st_state(acc, off=REG_OFFSETS[2])
        b.st_state(i, off=REG_OFFSETS[3])
        b.st_state(k, off=REG_OFFSETS[4])
        b.exit_tb(reason=ExitReason.SYSCALL)

    run = m.run(block_of(build), (100, 3))
    assert run.exit == ExitReason.SYSCALL
    assert list(run.cpu.regs)[2:5] == [3 * 5050, 100, 3]


def test_brcc_loop_on_flags(m: Machine) -> None:
    """A dec_cc; brcc ne loop: the classic counted loop, flags carried straight into the branch."""
    def build(b: Builder) -> None:
        n = b.ld_state(off=REG_OFFSETS[0])
        acc = b.mov(7)
        f0 = b.eflags_to_cc(0)
        top = b.new_label()
        b.label(label=top)
        redefine(b, "add", [acc], [acc, n])
        d, f = b.dec_cc(n, f0, w=32)
        redefine(b, "mov", [n], [d])
        b.brcc(f, cc=CC_NAMES.index("ne"), label=top)
        b.st_state(acc, off=REG_OFFSETS[1])
        b.goto_tb(slot=0, pc=0x2000)

    run = m.run(block_of(build), (10,))
    assert run.exit == ExitReason.JUMP | 1 << 8
    assert run.cpu.regs[1] == 7 + 55
    assert run.cpu.eip == 0x2000


# ---- code after the optimizer, and the lowering paths it opens ----

def mnemonics(block: Block) -> list[str]:
    """The host instructions of a compiled block, as `mnemonic operands` text."""
    md = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    return [f"{i.mnemonic} {i.op_str}" for i in md.disasm(compile_block(block).code, 0)]


DEMOTED = {
    "add_cc": lambda a, b, w: a + b, "sub_cc": lambda a, b, w: a - b, "and_cc": lambda a, b, w: a & b,
    "or_cc": lambda a, b, w: a | b, "xor_cc": lambda a, b, w: a ^ b, "inc_cc": lambda a, b, w: a + 1,
    "dec_cc": lambda a, b, w: a - 1, "neg_cc": lambda a, b, w: -a, "imul2_cc": lambda a, b, w: a * b,
    "shl_cc": lambda a, c, w: a << c, "shr_cc": lambda a, c, w: (a & (1 << w) - 1) >> c,
    "sar_cc": lambda a, c, w: signed(a & (1 << w) - 1, w) >> c,
}
GARBAGE_HIGH = (0, 1, 0x7F, 0x80, 0xFF, 0x8000, 0xFFFF, 0xABCD1234, 0x80000000, 0xFFFFFFFF)


@pytest.mark.parametrize("w", WIDTHS)
@pytest.mark.parametrize("name", sorted(DEMOTED))
def test_cc_ops_with_dead_flags_keep_their_result(m: Machine, name: str, w: int) -> None:
    """The optimizer turns these into plain ops; inputs carry garbage above bit w."""
    if name == "imul2_cc" and w == 8:
        return
    opdef = OPS[name]
    counts = (1, w - 1, 31) if name in ("shl_cc", "shr_cc", "sar_cc") else (None,)
    for a in GARBAGE_HIGH:
        for c in counts:
            def build(b: Builder, c: int | None = c) -> None:
                ins: list = [b.ld_state(off=REG_OFFSETS[0])]
                for n in opdef.ins[1:]:
                    if n == "fi":
                        ins.append(b.eflags_to_cc(b.ld_state(off=REG_OFFSETS[2])))
                    else:
                        ins.append(b.ld_state(off=REG_OFFSETS[1]) if c is None else c)
                d = b.emit(name, ins, w=w)[0]
                b.st_state(d, off=SCRATCH[0])
                b.exit_tb(reason=0)

            block = optimize(block_of(build))
            assert not any(op.name.endswith("_cc") for op in block.ops)
            for bv in GARBAGE_HIGH[::3]:
                run = m.run(block, (a, bv, CF | OF))
                want = DEMOTED[name](a, bv if c is None else c, w) & (1 << w) - 1
                assert scratch(run, 0) == want, f"{name} w={w} a={a:#x} b={bv:#x} c={c}"


def store_all(b: Builder, vals: list) -> None:
    for k, v in enumerate(vals):
        b.st_state(v, off=SCRATCH[k])
    b.exit_tb(reason=0)


def test_add_sub_into_another_register_use_lea(m: Machine) -> None:
    def build(b: Builder) -> None:
        x, y = b.ld_state(off=REG_OFFSETS[0]), b.ld_state(off=REG_OFFSETS[1])
        store_all(b, [b.add(x, 5), b.sub(x, 0x80000000), b.add(x, y), b.add(y, 0xFFFFFFFF), x, y])

    block = block_of(build)
    assert sum(t.startswith("lea") for t in mnemonics(block)) == 4
    for x, y in ((0, 0), (0xFFFFFFFF, 1), (0x7FFFFFFF, 0x80000001), (0xFFFFFFFB, 0)):
        run = m.run(block, (x, y))
        want = [(x + 5), (x - 0x80000000), x + y, y - 1, x, y]
        assert [scratch(run, k) for k in range(6)] == [v & 0xFFFFFFFF for v in want]


@pytest.mark.parametrize("name", ["add", "sub", "and", "or", "xor", "mul"])
def test_result_in_the_second_inputs_register(m: Machine, name: str) -> None:
    """d takes the register of b, which dies here, while a stays live: computed in place on b."""
    def build(b: Builder) -> None:
        x, y = b.ld_state(off=REG_OFFSETS[0]), b.ld_state(off=REG_OFFSETS[1])
        z = b.add(y, 0)
        redefine(b, "mov", [z], [y])
        d = b.emit(name, [x, z])[0]
        store_all(b, [d, x])

    block = block_of(build)
    body = mnemonics(block)[:-2]             # before the exit's `mov eax, reason; jmp [epilogue]`
    assert body[-1].startswith("mov dword ptr [r14") and not any("ax" in t or "r11" in t for t in body)
    for x, y in ((7, 3), (3, 7), (0xFFFFFFFF, 0x80000000), (0x12345678, 0x9ABCDEF0)):
        run = m.run(block, (x, y))
        assert [scratch(run, 0), scratch(run, 1)] == [PLAIN[name](x, y) & 0xFFFFFFFF, x]


@pytest.mark.parametrize("name, mnemonic", [("sub_cc", "cmp"), ("and_cc", "test")])
def test_cc_ops_with_dead_result_compare_in_place(m: Machine, name: str, mnemonic: str) -> None:
    fn = BINARY_REFS[name]
    for w in WIDTHS:
        for const_a in (False, True):
            def build(b: Builder, w: int = w, const_a: bool = const_a) -> None:
                x = 0x1234 if const_a else b.ld_state(off=REG_OFFSETS[0])
                _, f = b.emit(name, [x, b.ld_state(off=REG_OFFSETS[1])], w=w)
                store_all(b, [b.cc_to_eflags(f)])

            block = block_of(build)
            assert any(t.startswith(mnemonic) for t in mnemonics(block))
            for x, y in ((0x1234, 0x1234), (0x80, 0x7F), (0xFFFF0000, 0x10000), (5, 0xFFFFFFFF)):
                run = m.run(block, (x, y))
                msk = (1 << w) - 1
                _, f, defined = fn((0x1234 if const_a else x) & msk, y & msk, w)
                assert scratch(run, 0) & defined == f & defined, f"{name} w={w} {x:#x} {y:#x}"
