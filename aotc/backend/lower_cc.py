"""Lowering of the condition-code ops: each runs the guest's own instruction at width w on scratch
registers and captures the host flags (see `aotc.backend.flags`), so every flag is exact.

Results are computed in the output's own register when that clobbers no input still to be read, else
in r11; rcx holds a count or second operand, rdx a second register operand, rax the flags. Multi-output
ops write their outputs only after reading every input.
"""

from __future__ import annotations

from collections.abc import Callable

from aotc.backend.asm import R11, RAX, RCX, RDX, Asm, Mem
from aotc.backend.asm import Reg as HostReg
from aotc.backend.flags import AH_FIXED, AH_FLAGS, OF_SHIFT
from aotc.backend.lowerctx import Ctx, mask
from aotc.ir.core import Op, Temp, Value

ARITH = {"add_cc": Asm.add, "sub_cc": Asm.sub, "and_cc": Asm.and_, "or_cc": Asm.or_, "xor_cc": Asm.xor,
         "adc_cc": Asm.adc, "sbb_cc": Asm.sbb}
UNARY = {"inc_cc": Asm.inc, "dec_cc": Asm.dec, "neg_cc": Asm.neg}
SHIFTS = {"shl_cc": Asm.shl, "shr_cc": Asm.shr, "sar_cc": Asm.sar, "rol_cc": Asm.rol, "ror_cc": Asm.ror,
          "rcl_cc": Asm.rcl, "rcr_cc": Asm.rcr}
DOUBLE_SHIFTS = {"shld_cc": Asm.shld, "shrd_cc": Asm.shrd}
BIT_TESTS = {"bt_cc": Asm.bt, "bts_cc": Asm.bts, "btr_cc": Asm.btr, "btc_cc": Asm.btc}
BIT_SCANS = {"bsf_cc": Asm.bsf, "bsr_cc": Asm.bsr}
WIDENING = {"mul_cc": Asm.mul, "imul_cc": Asm.imul1}
DIVIDES = {"divu": Asm.div, "divs": Asm.idiv}
COMPARES = {"sub_cc": Asm.cmp, "and_cc": Asm.test}


def count_operand(ctx: Ctx, cnt: Value) -> HostReg | int:
    """A shift count as x86 takes it: an immediate masked to 5 bits, or cl."""
    if isinstance(cnt, Temp):
        ctx.load(RCX, cnt)
        return RCX
    return cnt & 31


def finish(ctx: Ctx, r: HostReg, d: Temp | None, f: Temp, w: int) -> None:
    """Capture the host flags into f, then store r (zero-extended from w bits) into d."""
    if d is not None and w < 32 and ctx.is_live(d):
        ctx.a.movzx(32, w, r, r)
    ctx.capture_flags(f)
    if d is not None:
        ctx.put(d, r)


def operand_reg(ctx: Ctx, v: Value) -> HostReg:
    """A register holding v to run a read-only op on: its own, or r11."""
    where = ctx.opnd(v)
    if isinstance(where, HostReg):
        return where
    ctx.load(R11, v)
    return R11


def lower_compare(ctx: Ctx, op: Op) -> bool:
    """sub_cc / and_cc whose result is dead: `cmp` / `test` on the operands in place. Whether it applied."""
    if op.name not in COMPARES or ctx.is_live(op.outs[0]):
        return False
    (a, b), w = op.ins, op.args["w"]
    src = ctx.opnd(b, w)
    x = ctx.opnd(a)
    if isinstance(src, Mem) or not isinstance(a, Temp):
        x = operand_reg(ctx, a)
    COMPARES[op.name](ctx.a, w, x, src)
    ctx.capture_flags(op.outs[1])
    return True


def lower_arith(ctx: Ctx, op: Op) -> None:
    if lower_compare(ctx, op):
        return
    (d, f), (a, b, *fi), w = op.outs, op.ins, op.args["w"]
    if fi:
        ctx.restore_flags(fi[0])
    src = ctx.opnd(b, w)
    r = ctx.work_reg(d, R11, src)
    ctx.load(r, a)
    ARITH[op.name](ctx.a, w, r, src)
    finish(ctx, r, d, f, w)


def lower_unary(ctx: Ctx, op: Op) -> None:
    (d, f), (a, *fi), w = op.outs, op.ins, op.args["w"]
    if fi:
        ctx.restore_flags(fi[0])
    r = ctx.work_reg(d, R11)
    ctx.load(r, a)
    UNARY[op.name](ctx.a, w, r)
    finish(ctx, r, d, f, w)


def lower_shift(ctx: Ctx, op: Op) -> None:
    (d, f), (a, cnt, fi), w = op.outs, op.ins, op.args["w"]
    if fi is not None:
        ctx.restore_flags(fi)
    count = count_operand(ctx, cnt)
    r = ctx.work_reg(d, R11)
    ctx.load(r, a)
    SHIFTS[op.name](ctx.a, w, r, count)
    finish(ctx, r, d, f, w)


def lower_double_shift(ctx: Ctx, op: Op) -> None:
    (d, f), (a, b, cnt, fi), w = op.outs, op.ins, op.args["w"]
    if fi is not None:
        ctx.restore_flags(fi)
    ctx.load(RDX, b)
    count = count_operand(ctx, cnt)
    r = ctx.work_reg(d, R11)
    ctx.load(r, a)
    DOUBLE_SHIFTS[op.name](ctx.a, w, r, RDX, count)
    finish(ctx, r, d, f, w)


def lower_bit_test(ctx: Ctx, op: Op) -> None:
    (a, bit, fi), w = op.ins, op.args["w"]
    d, f = (None, op.outs[0]) if op.name == "bt_cc" else op.outs
    ctx.restore_flags(fi)
    if isinstance(bit, Temp):
        ctx.load(RCX, bit)
        index: HostReg | int = RCX
    else:
        index = bit & (w - 1)
    if d is None:
        r = operand_reg(ctx, a)
    else:
        r = ctx.work_reg(d, R11)
        ctx.load(r, a)
    BIT_TESTS[op.name](ctx.a, w, r, index)
    finish(ctx, r, d, f, w)


def lower_bit_scan(ctx: Ctx, op: Op) -> None:
    (d, f), (old, src, fi), w = op.outs, op.ins, op.args["w"]
    ctx.restore_flags(fi)
    operand = ctx.rm(src, RCX)
    r = ctx.work_reg(d, R11, operand)
    ctx.load(r, old)
    BIT_SCANS[op.name](ctx.a, w, r, operand)
    finish(ctx, r, d, f, w)


def lower_widening(ctx: Ctx, op: Op) -> None:
    (lo, hi, f), (a, b, fi), w = op.outs, op.ins, op.args["w"]
    ctx.restore_flags(fi)
    ctx.load(RAX, a)
    WIDENING[op.name](ctx.a, w, ctx.rm(b, RCX))
    accumulator_pair(ctx, lo, hi, f, w)


def accumulator_pair(ctx: Ctx, low: Temp, high: Temp, f: Temp, w: int) -> None:
    """After a one-operand mul/div at width w: capture flags into f, then low = al/ax/eax and
    high = ah/dx/edx (zero-extended)."""
    ctx.a.mov(32, R11, RAX)
    ctx.capture_flags(f)
    if w == 8:
        ctx.a.mov(32, RDX, R11)
        ctx.a.shr(32, RDX, 8)
        ctx.next_held = None
    if w < 32:
        ctx.a.movzx(32, w, R11, R11)
        ctx.a.movzx(32, w, RDX, RDX)
    ctx.put(low, R11)
    ctx.put(high, RDX)


def lower_imul2(ctx: Ctx, op: Op) -> None:
    (d, f), (a, b, fi), w = op.outs, op.ins, op.args["w"]
    ctx.restore_flags(fi)
    if isinstance(b, Temp):
        r = ctx.work_reg(d, R11, ctx.loc(b))
        ctx.load(r, a)
        ctx.a.imul(w, r, ctx.loc(b))
    else:
        r = ctx.work_reg(d, R11)
        ctx.a.imul3(w, r, ctx.rm(a, r), b & mask(w))
    finish(ctx, r, d, f, w)


def lower_divide(ctx: Ctx, op: Op) -> None:
    (q, r, f), (hi, lo, divisor, fi), w = op.outs, op.ins, op.args["w"]
    if w == 8:
        ctx.load(RCX, lo)
        ctx.load(RAX, hi)
        ctx.a.shl(32, RAX, 8)
        ctx.a.mov(8, RAX, RCX)
    else:
        ctx.load(RAX, lo)
        ctx.load(RDX, hi)
    ctx.a.mov(32, R11, RAX)
    ctx.restore_flags(fi)
    ctx.a.mov(32, RAX, R11)
    DIVIDES[op.name](ctx.a, w, ctx.rm(divisor, RCX))
    accumulator_pair(ctx, q, r, f, w)


def lower_setcc(ctx: Ctx, op: Op) -> None:
    d, f = op.outs[0], op.ins[0]
    ctx.restore_flags(f)
    where = ctx.loc(d)
    r = where if isinstance(where, HostReg) else RCX
    ctx.a.setcc(op.args["cc"], r)
    ctx.a.movzx(32, 8, r, r)
    ctx.put(d, r)
    ctx.next_held = f


def lower_cc_to_eflags(ctx: Ctx, op: Op) -> None:
    ctx.load(RAX, op.ins[0])
    ctx.a.mov(32, RCX, RAX)
    ctx.a.shr(32, RAX, 8)
    ctx.a.and_(32, RAX, AH_FLAGS)
    ctx.a.and_(32, RCX, 1)
    ctx.a.shl(32, RCX, OF_SHIFT)
    ctx.a.or_(32, RAX, RCX)
    ctx.put(op.outs[0], RAX)


def lower_eflags_to_cc(ctx: Ctx, op: Op) -> None:
    ctx.load(RAX, op.ins[0])
    ctx.a.mov(32, RCX, RAX)
    ctx.a.and_(32, RAX, AH_FLAGS)
    ctx.a.or_(32, RAX, AH_FIXED)
    ctx.a.shl(32, RAX, 8)
    ctx.a.shr(32, RCX, OF_SHIFT)
    ctx.a.and_(32, RCX, 1)
    ctx.a.or_(32, RAX, RCX)
    ctx.put(op.outs[0], RAX)


def lower_rdtsc(ctx: Ctx, op: Op) -> None:
    ctx.a.rdtsc()
    ctx.put(op.outs[0], RAX)
    ctx.put(op.outs[1], RDX)


LOWER: dict[str, Callable[[Ctx, Op], None]] = {
    "imul2_cc": lower_imul2, "setcc": lower_setcc, "cc_to_eflags": lower_cc_to_eflags,
    "eflags_to_cc": lower_eflags_to_cc, "rdtsc": lower_rdtsc,
    **dict.fromkeys(ARITH, lower_arith), **dict.fromkeys(UNARY, lower_unary),
    **dict.fromkeys(SHIFTS, lower_shift), **dict.fromkeys(DOUBLE_SHIFTS, lower_double_shift),
    **dict.fromkeys(BIT_TESTS, lower_bit_test), **dict.fromkeys(BIT_SCANS, lower_bit_scan),
    **dict.fromkeys(WIDENING, lower_widening), **dict.fromkeys(DIVIDES, lower_divide),
}
