"""Lowering of the flag-less 32-bit ops: moves, arithmetic, logic, shifts, extensions, compares."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from aotc.backend.asm import RAX, RCX, RDX, Asm, Mem
from aotc.backend.asm import Reg as HostReg
from aotc.ir.core import Op, Temp, Value

if TYPE_CHECKING:
    from aotc.backend.lowerctx import Ctx

# IR comparison condition → x86 condition code
# host condition code of each IR comparison condition, in aotc.ir.ops.CONDS order
COND_CC = (4, 5, 12, 13, 14, 15, 2, 3, 6, 7)

BINARY = {"add": Asm.add, "sub": Asm.sub, "and": Asm.and_, "or": Asm.or_, "xor": Asm.xor}
SHIFTS = {"shl": Asm.shl, "shr": Asm.shr, "sar": Asm.sar, "rotl": Asm.rol, "rotr": Asm.ror}
UNARY = {"neg": Asm.neg, "not": Asm.not_, "bswap": Asm.bswap}
EXTEND = {"ext8s": (Asm.movsx, 8), "ext8u": (Asm.movzx, 8), "ext16s": (Asm.movsx, 16),
          "ext16u": (Asm.movzx, 16)}


def target(ctx: Ctx, d: Temp, src: object = None) -> HostReg:
    """Where to compute d: its own register, or rax if d is spilled or its register is the operand `src`."""
    return ctx.work_reg(d, RAX, src)


def two_address(ctx: Ctx, op: Op, emit: Callable[[HostReg, object], None], src: object) -> None:
    """d = a <op> src as `mov r, a; op r, src`, with r = d's register unless that would clobber src."""
    d, a = op.outs[0], op.ins[0]
    r = target(ctx, d, src)
    ctx.load(r, a)
    emit(r, src)
    ctx.put(d, r)


def in_place_on_b(ctx: Ctx, op: Op) -> bool:
    """Whether d lives in b's register (b dies here) while a is elsewhere: then `op d, a` computes a
    commutative op without a scratch register."""
    d, (a, b) = op.outs[0], op.ins
    return isinstance(b, Temp) and a != b and ctx.loc(d) == ctx.loc(b) and isinstance(ctx.loc(d), HostReg)


def lower_mov(ctx: Ctx, op: Op) -> None:
    ctx.assign(op.outs[0], op.ins[0])
    ctx.next_held = ctx.held


def signed32(v: int) -> int:
    """A 32-bit constant as the signed displacement that adds the same modulo 2^32."""
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


def lower_lea(ctx: Ctx, op: Op) -> bool:
    """add/sub into a register other than a's, with a in a register and b a constant or (add) another
    register: one `lea d, [a + b]` (32-bit, so it wraps like add). Whether it applied."""
    d, (a, b) = op.outs[0], op.ins
    r, x, y = ctx.loc(d), ctx.opnd(a), ctx.opnd(b)
    if op.name not in ("add", "sub") or not isinstance(r, HostReg) or not isinstance(x, HostReg) or r == x:
        return False
    if isinstance(b, int):
        ctx.a.lea(32, r, Mem(x, disp=signed32(-b if op.name == "sub" else b)))
    elif op.name == "add" and isinstance(y, HostReg) and r != y:
        ctx.a.lea(32, r, Mem(x, index=y))
    else:
        return False
    return True


def lower_binary(ctx: Ctx, op: Op) -> None:
    fn = BINARY[op.name]
    d, (a, b) = op.outs[0], op.ins
    if lower_lea(ctx, op):
        return
    if in_place_on_b(ctx, op):
        r = ctx.loc(d)
        if op.name == "sub":
            ctx.a.neg(32, r)
            ctx.a.add(32, r, ctx.opnd(a))
        else:
            fn(ctx.a, 32, r, ctx.opnd(a))
        return
    two_address(ctx, op, lambda r, s: fn(ctx.a, 32, r, s), ctx.opnd(b))


def lower_mul(ctx: Ctx, op: Op) -> None:
    d, (a, b) = op.outs[0], op.ins
    if in_place_on_b(ctx, op) and isinstance(a, Temp):
        ctx.a.imul(32, ctx.loc(d), ctx.loc(a))
        return
    if isinstance(b, Temp):
        two_address(ctx, op, lambda r, s: ctx.a.imul(32, r, s), ctx.loc(b))
        return
    r = target(ctx, d)
    ctx.a.imul3(32, r, ctx.rm(a, RCX), b)
    ctx.put(d, r)


def lower_shift(ctx: Ctx, op: Op) -> None:
    fn = SHIFTS[op.name]
    count = op.ins[1]
    if isinstance(count, Temp):
        ctx.load(RCX, count)
        two_address(ctx, op, lambda r, s: fn(ctx.a, 32, r, s), RCX)
    elif count & 31:
        two_address(ctx, op, lambda r, s: fn(ctx.a, 32, r, s), count & 31)
    else:
        ctx.assign(op.outs[0], op.ins[0])


def lower_unary(ctx: Ctx, op: Op) -> None:
    d, a = op.outs[0], op.ins[0]
    r = target(ctx, d)
    ctx.load(r, a)
    UNARY[op.name](ctx.a, 32, r)
    ctx.put(d, r)


def lower_extend(ctx: Ctx, op: Op) -> None:
    fn, w = EXTEND[op.name]
    d = op.outs[0]
    r = target(ctx, d)
    fn(ctx.a, 32, w, r, ctx.rm(op.ins[0], RAX))
    ctx.put(d, r)


def compare(ctx: Ctx, a: Value, b: Value) -> None:
    """Host flags = cmp a, b (32-bit); loads a into rcx when it is a constant or both are in memory."""
    x, y = ctx.opnd(a), ctx.opnd(b)
    if not isinstance(a, Temp) or (isinstance(x, Mem) and isinstance(y, Mem)):
        ctx.load(RCX, a)
        x = RCX
    ctx.a.cmp(32, x, y)


def lower_setcond(ctx: Ctx, op: Op) -> None:
    d = op.outs[0]
    r = target(ctx, d)
    compare(ctx, *op.ins)
    ctx.a.setcc(COND_CC[op.args["cond"]], r)
    ctx.a.movzx(32, 8, r, r)
    ctx.put(d, r)


def lower_movcond(ctx: Ctx, op: Op) -> None:
    d, (c1, c2, v1, v2) = op.outs[0], op.ins
    ctx.load(RAX, v2)
    chosen = ctx.rm(v1, RDX)
    compare(ctx, c1, c2)
    ctx.a.cmovcc(COND_CC[op.args["cond"]], 32, RAX, chosen)
    ctx.put(d, RAX)


def lower_deposit(ctx: Ctx, op: Op) -> None:
    d, (a, b) = op.outs[0], op.ins
    pos, length = op.args["pos"], op.args["len"]
    field = ((1 << length) - 1) << pos & 0xFFFFFFFF
    if field == 0xFFFFFFFF:
        ctx.assign(d, b)
        return
    ctx.load(RAX, a)
    ctx.a.and_(32, RAX, ~field & 0xFFFFFFFF)
    ctx.load(RCX, b)
    ctx.a.and_(32, RCX, field >> pos)
    if pos:
        ctx.a.shl(32, RCX, pos)
    ctx.a.or_(32, RAX, RCX)
    ctx.put(d, RAX)


LOWER: dict[str, Callable[[Ctx, Op], None]] = {
    "mov": lower_mov, "mul": lower_mul, "setcond": lower_setcond, "movcond": lower_movcond,
    "deposit": lower_deposit,
    **dict.fromkeys(BINARY, lower_binary), **dict.fromkeys(SHIFTS, lower_shift),
    **dict.fromkeys(UNARY, lower_unary), **dict.fromkeys(EXTEND, lower_extend),
}
