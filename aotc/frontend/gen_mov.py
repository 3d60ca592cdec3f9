"""Data movement: mov (incl. moffs and segment registers), movzx/movsx, lea, xchg, xadd, cmpxchg,
cmpxchg8b, bswap, xlatb, setcc/cmovcc, and the stack forms push/pop/enter/leave/pusha/popa.
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType

from capstone import x86_const as X

from aotc.frontend.context import COND, DisasContext, Invalid
from aotc.frontend.operands import (
    SEG_REGS,
    Loc,
    address,
    gpr,
    in_segment,
    load,
    loc,
    read,
    read_reg,
    segment_of,
    store,
    wrap_offset,
    write_reg,
)
from aotc.frontend.stack import pop, push, stack_addr
from aotc.guest.cpu import (
    CS,
    DS,
    EAX,
    EBP,
    EBX,
    ECX,
    EDI,
    EDX,
    ES,
    ESI,
    ESP,
    FS,
    GS,
    OFF_HELPER,
    OFF_HELPER_NEXT,
    OFF_HELPER_VAL,
    SEG_SEL_OFFSETS,
    SS,
    ExitReason,
    Helper,
    LoadSeg,
    Vector,
)
from aotc.ir.core import Value
from aotc.ir.ops import CC_NAMES


def cond_code(ctx: DisasContext, stem: str) -> int:
    """The x86 condition number of a jcc/setcc/cmovcc mnemonic with the given stem ("j", "set", "cmov")."""
    return CC_NAMES.index(ctx.insn.insn_name()[len(stem):])


def load_segment(ctx: DisasContext, seg: int, sel: Value, flags: int = 0, val: Value = 0) -> None:
    """Leave the TB for Python to load segment register `seg` with selector `sel` as the CPU does
    (checking the descriptor, or faulting at this instruction); `flags` (LoadSeg) and `val` say what
    else the instruction does once the load succeeds."""
    if seg == CS:
        raise Invalid("load of cs")
    b = ctx.b
    request = Helper.LOAD_SEG | (seg | flags) << 8
    b.st_state(ctx.or_(b.shl(b.ext16u(sel), 16), request) if not isinstance(sel, int)
               else request | (sel & 0xFFFF) << 16, off=OFF_HELPER)
    b.st_state(ctx.next_pc, off=OFF_HELPER_NEXT)
    if flags:
        b.st_state(val, off=OFF_HELPER_VAL)
    ctx.exit_with(ExitReason.HELPER, ctx.pc)


LXS_SEGS = MappingProxyType({"lds": DS, "les": ES, "lfs": FS, "lgs": GS, "lss": SS})


def gen_lxs(ctx: DisasContext) -> None:
    """lds/les/lfs/lgs/lss r, m16:32 (m16:16): the offset goes into r once the selector has loaded."""
    ops = ctx.insn.operands
    if ops[1].type != X.X86_OP_MEM:
        raise Invalid("lxs with a register operand")
    size = ctx.opsize
    addr = address(ctx, ops[1].mem)
    offset = ctx.b.ld(addr, size=size, signed=0)
    sel = ctx.b.ld(ctx.b.add(addr, size), size=2, signed=0)
    r, _, width = gpr(ops[0].reg)
    value = offset if width == 32 else ctx.b.deposit(ctx.ld_reg(r), offset, pos=0, len=16)
    load_segment(ctx, LXS_SEGS[ctx.insn.insn_name()], sel, LoadSeg.LXS | r << 3, value)


SYSTEM_REGS = frozenset(getattr(X, f"X86_REG_{kind}{i}") for kind in ("CR", "DR") for i in range(16)
                        if hasattr(X, f"X86_REG_{kind}{i}"))


def gen_mov(ctx: DisasContext) -> None:
    """mov in all its forms, including to and from segment registers (control and debug registers
    are ring 0's: #GP)."""
    ops = ctx.insn.operands
    if any(op.type == X.X86_OP_REG and op.reg in SYSTEM_REGS for op in ops):
        ctx.trap(Vector.GP, ctx.pc)
        return
    if ops[0].type == X.X86_OP_REG and ops[0].reg in SEG_REGS:
        load_segment(ctx, SEG_REGS[ops[0].reg], read(ctx, 1))
        return
    if ops[1].type == X.X86_OP_REG and ops[1].reg in SEG_REGS:
        store(ctx, loc(ctx, 0), ctx.b.ld_state(off=SEG_SEL_OFFSETS[SEG_REGS[ops[1].reg]]))
        return
    dst = loc(ctx, 0)
    store(ctx, dst, read(ctx, 1, size=dst.size))


def gen_movx(ctx: DisasContext) -> None:
    """movzx / movsx: extend a narrower source into the destination register."""
    store(ctx, loc(ctx, 0), read(ctx, 1, signed=ctx.insn.insn_name() == "movsx"))


def gen_lea(ctx: DisasContext) -> None:
    """lea: the effective address, without any segment base."""
    store(ctx, loc(ctx, 0), address(ctx, ctx.insn.operands[1].mem, with_segment=False))


def gen_xchg(ctx: DisasContext) -> None:
    """xchg: swap two operands."""
    a, b = loc(ctx, 0), loc(ctx, 1)
    va, vb = load(ctx, a), load(ctx, b)
    store(ctx, a, vb)
    store(ctx, b, va)


def _write_both(ctx: DisasContext, dst: Loc, value: Value, write_other: Callable[[], None]) -> None:
    """dst = value and the instruction's other register write: a memory dst first (a store that
    faults leaves the register as it was), a register dst last (it wins when both name one register)."""
    if dst.kind == "mem":
        store(ctx, dst, value)
        write_other()
    else:
        write_other()
        store(ctx, dst, value)


def gen_xadd(ctx: DisasContext) -> None:
    """xadd dst, src: src = dst; dst = dst + src (flags of the add).

    A memory destination is stored first, so a store that faults (a read-only page) leaves the source
    register as it was; between registers the destination is written last (`xadd eax, eax` is the sum).
    """
    dst, src = loc(ctx, 0), loc(ctx, 1)
    vd = load(ctx, dst)
    s, f = ctx.b.add_cc(vd, load(ctx, src), w=dst.bits)
    _write_both(ctx, dst, s, lambda: store(ctx, src, vd))
    ctx.st_cc(f)


def gen_cmpxchg(ctx: DisasContext) -> None:
    """cmpxchg dst, src: if acc == dst then dst = src else acc = dst; flags of cmp acc, dst.

    The accumulator always ends up equal to the old dst; memory is always written (as the CPU does).
    """
    dst, src = loc(ctx, 0), loc(ctx, 1)
    acc = {1: X.X86_REG_AL, 2: X.X86_REG_AX, 4: X.X86_REG_EAX}[dst.size]
    va = read_reg(ctx, acc)
    vd = load(ctx, dst)
    _, f = ctx.b.sub_cc(va, vd, w=dst.bits)
    new = ctx.b.movcond(va, vd, load(ctx, src), vd, cond=COND["eq"])
    _write_both(ctx, dst, new, lambda: write_reg(ctx, acc, vd))
    ctx.st_cc(f)


def gen_cmpxchg8b(ctx: DisasContext) -> None:
    """cmpxchg8b m64: compare edx:eax with m64; equal: m64 = ecx:ebx, else edx:eax = m64. Only ZF changes.

    m64 is always written, as one access on the CPU: when it straddles two pages and either is read-only
    nothing changes. The low half is first stored back unchanged, which faults if its page is read-only;
    then the high half takes its new value (faulting if its page is), and only then the low half.
    """
    b = ctx.b
    addr = address(ctx, ctx.insn.operands[0].mem)
    addr_hi = b.add(addr, 4)
    lo, hi = b.ld(addr, size=4, signed=0), b.ld(addr_hi, size=4, signed=0)
    eq_lo = b.setcond(lo, ctx.ld_reg(EAX), cond=COND["eq"])
    eq = ctx.and_(eq_lo, b.setcond(hi, ctx.ld_reg(EDX), cond=COND["eq"]))
    b.st(lo, addr, size=4)
    b.st(b.movcond(eq, 0, ctx.ld_reg(ECX), hi, cond=COND["ne"]), addr_hi, size=4)
    b.st(b.movcond(eq, 0, ctx.ld_reg(EBX), lo, cond=COND["ne"]), addr, size=4)
    ctx.st_reg(EAX, lo)
    ctx.st_reg(EDX, hi)
    eflags = ctx.and_(b.cc_to_eflags(ctx.ld_cc()), ~0x40 & 0xFFFFFFFF)
    ctx.st_cc(b.eflags_to_cc(ctx.or_(eflags, b.shl(eq, 6))))


def gen_bswap(ctx: DisasContext) -> None:
    """bswap r32; bswap r16 (undefined in the manuals) clears the low word, as this CPU does (measured
    on an AMD EPYC, as on Intel's)."""
    if ctx.insn.operands[0].size != 4:
        store(ctx, loc(ctx, 0), 0)
        return
    store(ctx, loc(ctx, 0), ctx.b.bswap(read(ctx, 0)))


def gen_xlat(ctx: DisasContext) -> None:
    """xlatb: al = [ebx + al] (16-bit addressing: [bx + al], wrapping at 64 KiB), in ds or the override."""
    b = ctx.b
    base = X.X86_REG_EBX if ctx.addrsize == 4 else X.X86_REG_BX
    offset = wrap_offset(ctx, b.add(read_reg(ctx, base), read_reg(ctx, X.X86_REG_AL)))
    addr = in_segment(ctx, segment_of(ctx, base), offset)
    write_reg(ctx, X.X86_REG_AL, b.ld(addr, size=1, signed=0))


def gen_setcc(ctx: DisasContext) -> None:
    """setcc r/m8."""
    store(ctx, loc(ctx, 0), ctx.b.setcc(ctx.ld_cc(), cc=cond_code(ctx, "set")))


def gen_cmov(ctx: DisasContext) -> None:
    """cmovcc: the source is always read (a memory source always loads)."""
    dst = loc(ctx, 0)
    src = read(ctx, 1)
    c = ctx.b.setcc(ctx.ld_cc(), cc=cond_code(ctx, "cmov"))
    store(ctx, dst, ctx.b.movcond(c, 0, src, load(ctx, dst), cond=COND["ne"]))


def gen_push(ctx: DisasContext) -> None:
    """push r/m/imm/sreg; an esp-relative operand is read before the decrement."""
    op = ctx.insn.operands[0]
    if op.type == X.X86_OP_REG and op.reg in SEG_REGS:
        push(ctx, ctx.b.ld_state(off=SEG_SEL_OFFSETS[SEG_REGS[op.reg]]), ctx.opsize)
        return
    size = ctx.opsize if op.type == X.X86_OP_IMM else op.size
    push(ctx, read(ctx, 0, size=size), size)


def gen_pop(ctx: DisasContext) -> None:
    """pop r/m/sreg; a memory operand's address is computed as after the increment.

    A memory destination is stored before esp moves, so a store that faults leaves esp as it was: its
    address is computed from the old esp, plus the operand size when esp is the base.
    """
    op = ctx.insn.operands[0]
    if op.type == X.X86_OP_REG and op.reg in SEG_REGS:
        esp = ctx.ld_reg(ESP)
        sel = ctx.b.ld(stack_addr(ctx, esp), size=2, signed=0)
        load_segment(ctx, SEG_REGS[op.reg], sel, LoadSeg.POP, ctx.b.add(esp, ctx.opsize))
        return
    if op.type != X.X86_OP_MEM:
        write_reg(ctx, op.reg, pop(ctx, op.size))
        return
    esp = ctx.ld_reg(ESP)
    v = ctx.b.ld(stack_addr(ctx, esp), size=op.size, signed=0)
    ctx.b.st(v, address(ctx, op.mem, extra=op.size if op.mem.base == X.X86_REG_ESP else 0), size=op.size)
    ctx.st_reg(ESP, ctx.b.add(esp, op.size))


def _frame_reg(size: int) -> int:
    """ebp, or bp for a 16-bit operand size."""
    return X.X86_REG_BP if size == 2 else X.X86_REG_EBP


def gen_enter(ctx: DisasContext) -> None:
    """enter imm16, level: push ebp; copy level-1 frame pointers from [ebp - size], [ebp - 2*size]...;
    push the new frame pointer (level > 0); ebp = it; esp -= imm16. enterw pushes words and writes bp.
    The registers are written last, so a fault in any access leaves them as they were."""
    b = ctx.b
    size = ctx.opsize
    frame_size, level = ctx.insn.operands[0].imm & 0xFFFF, ctx.insn.operands[1].imm & 31
    ebp = ctx.ld_reg(EBP)
    sp = b.sub(ctx.ld_reg(ESP), size)
    b.st(ebp, stack_addr(ctx, sp), size=size)
    frame = sp
    for i in range(1, level):
        outer = b.ld(stack_addr(ctx, b.sub(ebp, size * i)), size=size, signed=0)
        sp = b.sub(sp, size)
        b.st(outer, stack_addr(ctx, sp), size=size)
    if level:
        sp = b.sub(sp, size)
        b.st(frame, stack_addr(ctx, sp), size=size)
    write_reg(ctx, _frame_reg(size), frame)
    ctx.st_reg(ESP, b.sub(sp, frame_size))


def gen_leave(ctx: DisasContext) -> None:
    """leave: esp = ebp; pop ebp (leavew: bp). The load from [ebp] comes before any register is written,
    so when it faults esp and ebp are as they were, as on the CPU."""
    size = ctx.opsize
    ebp = ctx.ld_reg(EBP)
    v = ctx.b.ld(stack_addr(ctx, ebp), size=size, signed=0)
    ctx.st_reg(ESP, ctx.b.add(ebp, size))
    write_reg(ctx, _frame_reg(size), v)


def gen_pusha(ctx: DisasContext) -> None:
    """pushal: push eax, ecx, edx, ebx, the original esp, ebp, esi, edi; esp moves last (pushaw: the
    low words).

    A store that faults keeps the stores before it and esp as it was, as the CPU does.
    """
    esp = ctx.ld_reg(ESP)
    size = ctx.opsize
    for r in range(8):
        slot = stack_addr(ctx, ctx.b.sub(esp, size * (r + 1)))
        ctx.b.st(esp if r == ESP else ctx.ld_reg(r), slot, size=size)
    ctx.st_reg(ESP, ctx.b.sub(esp, 8 * size))


POPA_ORDER = (EDI, ESI, EBP, ESP, EBX, EDX, ECX, EAX)  # the stack slots from esp upwards


def gen_popa(ctx: DisasContext) -> None:
    """popal: pop edi, esi, ebp, (the esp slot), ebx, edx, ecx, eax, then esp += 32 (popaw: the low
    words, and esp += 16).

    As the CPU does (an AMD EPYC, measured by tests/guests/precise_faults.c), the slots are read upwards,
    the skipped esp slot included, and each register is written as soon as its slot is read: a fault at
    a later slot leaves the registers already popped changed, and esp as it was.
    """
    esp = ctx.ld_reg(ESP)
    size = ctx.opsize
    for slot, r in enumerate(POPA_ORDER):
        v = ctx.b.ld(stack_addr(ctx, ctx.b.add(esp, size * slot)), size=size, signed=0)
        if r == ESP:
            continue
        if size == 4:
            ctx.st_reg(r, v)
        else:
            ctx.st_reg(r, ctx.b.deposit(ctx.ld_reg(r), v, pos=0, len=16))
    ctx.st_reg(ESP, ctx.b.add(esp, 8 * size))


def _cc_handlers(stem: str, gen: Callable[[DisasContext], None]) -> dict[str, Callable[[DisasContext], None]]:
    return {stem + cc: gen for cc in CC_NAMES}


HANDLERS: MappingProxyType[str, Callable[[DisasContext], None]] = MappingProxyType({
    "mov": gen_mov,
    "movabs": gen_mov,
    "movzx": gen_movx,
    "movsx": gen_movx,
    "lea": gen_lea,
    "xchg": gen_xchg,
    "xadd": gen_xadd,
    "cmpxchg": gen_cmpxchg,
    "cmpxchg8b": gen_cmpxchg8b,
    "bswap": gen_bswap,
    "xlatb": gen_xlat,
    **dict.fromkeys(LXS_SEGS, gen_lxs),
    "push": gen_push,
    "pop": gen_pop,
    "enter": gen_enter,
    "leave": gen_leave,
    "pushal": gen_pusha,
    "pushaw": gen_pusha,
    "popal": gen_popa,
    "popaw": gen_popa,
    **_cc_handlers("set", gen_setcc),
    **_cc_handlers("cmov", gen_cmov),
})
