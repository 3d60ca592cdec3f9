"""MMX, SSE, SSE2, SSE3 and SSSE3 case templates for the FP differential test."""

from __future__ import annotations

import random

import fp_values as V
from fp_harness import FpState, Template, fill_vectors, fixes, mem, offset, rand_mxcsr
from gen_cases import REGS
from gen_fp_x87 import INT_CENTRES, depth, near, st_values


def _table(text: str) -> tuple[tuple[str, str], ...]:
    """'mnemonic:kind ...' as pairs."""
    return tuple(tuple(item.split(":")) for item in text.split())  # type: ignore[misc]


INT_BIN = _table(
    "paddb:b paddw:w paddd:d paddq:q paddsb:b paddsw:w paddusb:b paddusw:w psubb:b psubw:w psubd:d psubq:q "
    "psubsb:b psubsw:w psubusb:b psubusw:w pmullw:w pmulhw:w pmuludq:d pmaddwd:w pcmpeqb:b pcmpeqw:w "
    "pcmpeqd:d pcmpgtb:b pcmpgtw:w pcmpgtd:d pand:q pandn:q por:q pxor:q packsswb:w packssdw:d packuswb:w "
    "punpcklbw:b punpcklwd:w punpckldq:d punpckhbw:b punpckhwd:w punpckhdq:d"
)
MMXEXT_BIN = _table("pavgb:b pavgw:w pmaxub:b pmaxsw:w pminub:b pminsw:w pmulhuw:w psadbw:b")
SSSE3_BIN = _table(
    "pshufb:b phaddw:w phaddd:d phaddsw:w phsubw:w phsubd:d phsubsw:w pmaddubsw:b pmulhrsw:w psignb:b "
    "psignw:w psignd:d pabsb:b pabsw:w pabsd:d"
)
SHIFTS = _table("psllw:w psrlw:w psraw:w pslld:d psrld:d psrad:d psllq:q psrlq:q")
PS_BIN = _table(
    "addps:ps subps:ps mulps:ps divps:ps minps:ps maxps:ps sqrtps:ps rcpps:ps rsqrtps:ps andps:ps "
    "andnps:ps orps:ps xorps:ps unpcklps:ps unpckhps:ps"
)
SS_BIN = _table("addss:ps subss:ps mulss:ps divss:ps minss:ps maxss:ps sqrtss:ps rcpss:ps rsqrtss:ps")
PD_BIN = _table(
    "addpd:pd subpd:pd mulpd:pd divpd:pd minpd:pd maxpd:pd sqrtpd:pd andpd:pd andnpd:pd orpd:pd xorpd:pd "
    "unpcklpd:pd unpckhpd:pd"
)
SD_BIN = _table("addsd:pd subsd:pd mulsd:pd divsd:pd minsd:pd maxsd:pd sqrtsd:pd")
SSE3_BIN = _table("addsubps:ps addsubpd:pd haddps:ps haddpd:pd hsubps:ps hsubpd:pd movshdup:ps movsldup:ps")
PREDICATES = ("eq", "lt", "le", "unord", "neq", "nlt", "nle", "ord")
CONDS = ("b", "ae", "e", "ne", "be", "a", "p", "np", "s", "o", "l", "g")
# conversions: mnemonic, source kind, source file (xmm/mm/r32), memory size, alignment, destination file
CONVERSIONS = {
    "sse": (
        ("cvtps2pi", "ps", "xmm", 8, 0, "mm"),
        ("cvttps2pi", "ps", "xmm", 8, 0, "mm"),
        ("cvtpi2ps", "d", "mm", 8, 0, "xmm"),
        ("cvtss2si", "ps", "xmm", 4, 0, "r32"),
        ("cvttss2si", "ps", "xmm", 4, 0, "r32"),
        ("cvtsi2ss", "d", "r32", 4, 0, "xmm"),
    ),
    "sse2": (
        ("cvtsd2ss", "pd", "xmm", 8, 0, "xmm"),
        ("cvtss2sd", "ps", "xmm", 4, 0, "xmm"),
        ("cvtdq2ps", "d", "xmm", 16, 16, "xmm"),
        ("cvtps2dq", "ps", "xmm", 16, 16, "xmm"),
        ("cvttps2dq", "ps", "xmm", 16, 16, "xmm"),
        ("cvtdq2pd", "d", "xmm", 8, 0, "xmm"),
        ("cvtpd2dq", "pd", "xmm", 16, 16, "xmm"),
        ("cvttpd2dq", "pd", "xmm", 16, 16, "xmm"),
        ("cvtpd2ps", "pd", "xmm", 16, 16, "xmm"),
        ("cvtps2pd", "ps", "xmm", 8, 0, "xmm"),
        ("cvtsi2sd", "d", "r32", 4, 0, "xmm"),
        ("cvtsd2si", "pd", "xmm", 8, 0, "r32"),
        ("cvttsd2si", "pd", "xmm", 8, 0, "r32"),
        ("cvtpd2pi", "pd", "xmm", 16, 16, "mm"),
        ("cvttpd2pi", "pd", "xmm", 16, 16, "mm"),
        ("cvtpi2pd", "d", "mm", 8, 0, "xmm"),
    ),
}
SHIFT_COUNTS = (0, 1, 3, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 255, 1 << 32, 1 << 63)


def kind_fill(kind: str):
    """A fix filling every mm, xmm register and the scratch area with `kind` lanes."""

    def fix(state: FpState, rng: random.Random) -> bool:
        fill_vectors(state, rng, kind)
        return True

    return fix


def gpr(rng: random.Random, avoid: tuple[str, ...] = ()) -> str:
    return rng.choice([r for r in REGS if r not in avoid])


def binop(
    rng: random.Random,
    mnem: str,
    kind: str,
    file: str,
    msize: int,
    align: int,
    imm: str = "",
    mem_p: float = 0.35,
) -> Template:
    """`mnem [imm,] src, dst`: src a register of `file` or memory of `msize` bytes aligned to `align`."""
    dst, src = rng.randrange(8), rng.randrange(8)
    if rng.random() < mem_p:
        lines, text, _, _ = mem(rng, msize, align=align)
        return [*lines, f"{mnem} {imm}{text}, %{file}{dst}"], kind_fill(kind)
    return [f"{mnem} {imm}%{file}{src}, %{file}{dst}"], kind_fill(kind)


def ints(rng: random.Random, table, file: str) -> Template:
    """An integer SIMD binary op on mm (m64) or xmm (aligned m128)."""
    mnem, kind = rng.choice(table)
    if file == "mm":
        msize = 4 if mnem.startswith("punpckl") else 8
        return binop(rng, mnem, kind, "mm", msize, 0)
    return binop(rng, mnem, kind, "xmm", 16, 16)


def shift(rng: random.Random, file: str) -> Template:
    """psll/psrl/psra by register, memory or immediate count (edge counts), and pslldq/psrldq on xmm."""
    mnem, kind = rng.choice(SHIFTS)
    dst, size = rng.randrange(8), 8 if file == "mm" else 16
    pick = rng.random()
    if file == "xmm" and pick < 0.15:
        count = rng.choice((0, 1, 4, 7, 8, 15, 16, 17, 255))
        return [f"{rng.choice(('pslldq', 'psrldq'))} ${count}, %xmm{dst}"], kind_fill(kind)
    if pick < 0.5:
        return [f"{mnem} ${rng.choice(SHIFT_COUNTS[:-2])}, %{file}{dst}"], kind_fill(kind)
    count = rng.choice(SHIFT_COUNTS) if rng.random() < 0.85 else rng.getrandbits(64)
    if pick < 0.7:
        lines, text, off, _ = mem(rng, size, align=size if file == "xmm" else 0)

        def at_mem(state: FpState, rng: random.Random) -> bool:
            state.put(off, count.to_bytes(8, "little"))
            return True

        return [*lines, f"{mnem} {text}, %{file}{dst}"], fixes(kind_fill(kind), at_mem)
    src = rng.randrange(8)

    def at_reg(state: FpState, rng: random.Random) -> bool:
        if file == "mm":
            state.set_mm(src, count)
        else:
            state.set_xmm(src, count.to_bytes(8, "little") + V.rand_bytes(rng, 8))
        return True

    return [f"{mnem} %{file}{src}, %{file}{dst}"], fixes(kind_fill(kind), at_reg)


def alt(rng: random.Random) -> str:
    """A gas pseudo-prefix choosing the load (0f 28, 0f 6f...) or the store (0f 29, 0f 7f...) encoding."""
    return rng.choice(("", "{load} ", "{store} "))


def moves_mm(rng: random.Random) -> Template:
    """movd/movq between mm, GPRs and memory in every direction; emms."""
    m, r = rng.randrange(8), gpr(rng)
    form = rng.choice(("r2m", "m2r", "ld32", "st32", "ld64", "st64", "mm", "emms"))
    if form == "emms":
        return ["emms"], kind_fill("any")
    if form in ("r2m", "m2r"):
        return [f"movd %{r}, %mm{m}" if form == "r2m" else f"movd %mm{m}, %{r}"], kind_fill("d")
    if form == "mm":
        return [f"{alt(rng)}movq %mm{rng.randrange(8)}, %mm{m}"], kind_fill("q")
    lines, text, _, _ = mem(rng, 4 if form.endswith("32") else 8)
    op = "movd" if form.endswith("32") else "movq"
    return [*lines, f"{op} {text}, %mm{m}" if form.startswith("ld") else f"{op} %mm{m}, {text}"], kind_fill(
        "q"
    )


def moves_xmm(rng: random.Random, names: tuple[str, ...], kind: str) -> Template:
    """Full, scalar, half and non-temporal moves of xmm registers to and from memory and registers."""
    name = rng.choice(names)
    a, b = rng.randrange(8), rng.randrange(8)
    aligned = name in ("movaps", "movapd", "movdqa", "movntps", "movntpd", "movntdq")
    if name in ("movhlps", "movlhps"):
        return [f"{name} %xmm{a}, %xmm{b}"], kind_fill(kind)
    size = (
        8
        if name[:4] in ("movl", "movh") or name in ("movsd", "movq")
        else 4
        if name in ("movss", "movd")
        else 16
    )
    form = rng.choice(
        ("load", "store", "reg") if name not in ("movntps", "movntpd", "movntdq") else ("store",)
    )
    if form == "reg" and size == 8 and name != "movq" and name != "movsd":
        form = "load"
    if form == "reg":
        if name == "movd":
            r = gpr(rng)
            return [rng.choice((f"movd %{r}, %xmm{a}", f"movd %xmm{a}, %{r}"))], kind_fill(kind)
        return [f"{alt(rng)}{name} %xmm{a}, %xmm{b}"], kind_fill(kind)
    lines, text, _, _ = mem(rng, size, align=16 if aligned else 0)
    return [*lines, f"{name} {text}, %xmm{a}" if form == "load" else f"{name} %xmm{a}, {text}"], kind_fill(
        kind
    )


def fp_arith(rng: random.Random, packed, scalar, kind: str) -> Template:
    """Packed (aligned m128) and scalar (m32/m64) float arithmetic, logic and unpacks."""
    if rng.random() < 0.5:
        mnem, _ = rng.choice(packed)
        return binop(rng, mnem, kind, "xmm", 16, 16)
    mnem, _ = rng.choice(scalar)
    return binop(rng, mnem, kind, "xmm", 4 if kind == "ps" else 8, 0)


def fp_compare(rng: random.Random, kind: str) -> Template:
    """cmpps/cmpss/cmppd/cmpsd with all 8 predicates (named and $imm forms), comis/ucomis with setcc."""
    sfx, ssfx = ("ps", "ss") if kind == "ps" else ("pd", "sd")
    scalar_size = 4 if kind == "ps" else 8
    form = rng.choice(("p", "s", "comi", "comi"))
    if form == "comi":
        op = rng.choice(("comi", "ucomi")) + ssfx
        lines, fix = binop(rng, op, kind, "xmm", scalar_size, 0)
        tail = rng.choice((f"set{rng.choice(CONDS)} %al", "pushfl; popl %edx", ""))
        return [*lines, *tail.split("; ")] if tail else lines, fixes(fix, equal_lanes)
    pred = rng.randrange(8)
    base = sfx if form == "p" else ssfx
    named = rng.random() < 0.5
    mnem, imm = (f"cmp{PREDICATES[pred]}{base}", "") if named else (f"cmp{base}", f"${pred}, ")
    lines, fix = binop(
        rng, mnem, kind, "xmm", 16 if form == "p" else scalar_size, 16 if form == "p" else 0, imm
    )
    return lines, fixes(fix, equal_lanes)


def equal_lanes(state: FpState, rng: random.Random) -> bool:
    """Now and then make two registers equal (so compares also see equality)."""
    if rng.random() < 0.2:
        a, b = rng.sample(range(8), 2)
        state.set_xmm(a, state.xmm(b).to_bytes(16, "little"))
    return True


def conversion(rng: random.Random, isa: str) -> Template:
    """Conversions between floats, packed ints, mm and GPRs (boundary values from the pools)."""
    mnem, kind, src_file, msize, align, dst_file = rng.choice(CONVERSIONS[isa])
    r = gpr(rng)
    dst = f"%{r}" if dst_file == "r32" else f"%{dst_file}{rng.randrange(8)}"
    if rng.random() < 0.35:
        lines, text, _, _ = mem(rng, msize, align=align, avoid=(r,))
        op = mnem + "l" if src_file == "r32" else mnem
        return [*lines, f"{op} {text}, {dst}"], kind_fill(kind)
    src = f"%{gpr(rng)}" if src_file == "r32" else f"%{src_file}{rng.randrange(8)}"
    return [f"{mnem} {src}, {dst}"], fixes(kind_fill(kind), int_gprs if src_file == "r32" else None)


def int_gprs(state: FpState, rng: random.Random) -> bool:
    """GPR inputs for cvtsi2ss/sd: edges, small values and random."""
    for r in REGS:
        state.regs[r] = V.rand_int(rng, 4)
    return True


def shuffles(rng: random.Random, isa: str) -> Template:
    """shufps/shufpd, pshufd/pshufhw/pshuflw, pshufw, pextrw/pinsrw, pmovmskb, movmskps/pd."""
    imm = f"${rng.getrandbits(8):#x}, "
    if isa == "sse":
        form = rng.choice(("shufps", "pshufw", "pextrw", "pinsrw", "pmovmskb", "movmskps"))
        file = "mm"
    else:
        form = rng.choice(
            ("shufpd", "pshufd", "pshufhw", "pshuflw", "pextrw", "pinsrw", "pmovmskb", "movmskpd")
        )
        file = "xmm"
    if form in ("shufps", "shufpd", "pshufd", "pshufhw", "pshuflw"):
        return binop(
            rng, form, "pd" if form == "shufpd" else "ps" if form == "shufps" else "w", "xmm", 16, 16, imm
        )
    if form == "pshufw":
        return binop(rng, form, "w", "mm", 8, 0, imm)
    r, v = gpr(rng), rng.randrange(8)
    if form == "pextrw":
        return [f"pextrw ${rng.randrange(16)}, %{file}{v}, %{r}"], kind_fill("w")
    if form == "pinsrw":
        if rng.random() < 0.4:
            lines, text, _, _ = mem(rng, 2)
            return [*lines, f"pinsrw ${rng.randrange(16)}, {text}, %{file}{v}"], kind_fill("w")
        return [f"pinsrw ${rng.randrange(16)}, %{r}, %{file}{v}"], kind_fill("w")
    if form == "pmovmskb":
        return [f"pmovmskb %{file}{v}, %{r}"], kind_fill("b")
    return [f"{form} %xmm{v}, %{r}"], kind_fill(form[-2:])


def mxcsr_ops(rng: random.Random, kind: str) -> Template:
    """ldmxcsr (valid values: RC, FTZ, DAZ, sticky flags) followed by arithmetic, and stmxcsr."""
    lines, text, off, _ = mem(rng, 4)
    if rng.random() < 0.3:
        return [*lines, f"stmxcsr {text}"], kind_fill(kind)

    def value(state: FpState, rng: random.Random) -> bool:
        state.put(off, rand_mxcsr(rng).to_bytes(4, "little"))
        return True

    op = rng.choice(
        ("addps", "mulps", "divps", "sqrtps", "cvtps2dq")
        if kind == "ps"
        else ("addpd", "mulpd", "divpd", "sqrtpd", "cvtpd2dq")
    )
    return [*lines, f"ldmxcsr {text}", f"{op} %xmm{rng.randrange(8)}, %xmm{rng.randrange(8)}"], fixes(
        kind_fill(kind), value
    )


def misc(rng: random.Random, isa: str) -> Template:
    """Non-temporal stores, masked stores (through %edi), fences, prefetches, pause, movq2dq/movdq2q."""
    v, m = rng.randrange(8), rng.randrange(8)
    if isa == "sse":
        form = rng.choice(("movntq", "maskmovq", "sfence", "prefetch"))
    else:
        form = rng.choice(("movnti", "maskmovdqu", "lfence", "mfence", "pause", "movq2dq", "movdq2q"))
    if form in ("maskmovq", "maskmovdqu"):
        file, size = ("mm", 8) if form == "maskmovq" else ("xmm", 16)
        off = offset(rng, size, align=1)
        return [f"leal scratch{off:+d}, %edi", f"{form} %{file}{v}, %{file}{m}"], kind_fill("b")
    if form in ("movntq", "movnti", "clflush", "prefetch"):
        size = {"movntq": 8, "movnti": 4}.get(form, 1)
        lines, text, _, _ = mem(rng, size, avoid=("eax",))
        insn = {
            "movntq": f"movntq %mm{v}, {text}",
            "movnti": f"movnti %eax, {text}",
            "clflush": f"clflush {text}",
        }
        pre = rng.choice(("prefetchnta", "prefetcht0", "prefetcht1", "prefetcht2"))
        return [*lines, insn.get(form, f"{pre} {text}")], kind_fill("any")
    if form == "movq2dq":
        return [f"movq2dq %mm{m}, %xmm{v}"], kind_fill("q")
    if form == "movdq2q":
        return [f"movdq2q %xmm{v}, %mm{m}"], kind_fill("q")
    return [form], kind_fill("any")


def cache_ops(rng: random.Random) -> Template:
    """clflush (SSE2's CLFSH) and the prefetches, every addressing form, around fences."""
    lines, text, _, _ = mem(rng, 1)
    op = rng.choice(("clflush", "clflush", "prefetchnta", "prefetcht0", "prefetcht1", "prefetcht2"))
    fence = [rng.choice(("mfence", "sfence", "lfence"))] if rng.random() < 0.3 else []
    return [*lines, f"{op} {text}", *fence], kind_fill("any")


def sse3_ops(rng: random.Random) -> Template:
    """addsub/hadd/hsub ps/pd, movshdup/movsldup, movddup (m64), lddqu (unaligned m128), fisttp."""
    pick = rng.random()
    if pick < 0.6:
        mnem, kind = rng.choice(SSE3_BIN)
        return binop(rng, mnem, kind, "xmm", 16, 16)
    if pick < 0.7:
        return binop(rng, "movddup", "pd", "xmm", 8, 0)
    if pick < 0.8:
        lines, text, _, _ = mem(rng, 16, align=1)
        return [*lines, f"lddqu {text}, %xmm{rng.randrange(8)}"], kind_fill("any")
    size = rng.choice((2, 4, 8))
    lines, text, _, _ = mem(rng, size)
    sfx = {2: "s", 4: "l", 8: "ll"}[size]
    return [*lines, f"fisttp{sfx} {text}"], fixes(kind_fill("any"), depth(1), st_values(near(*INT_CENTRES)))


def ssse3_ops(rng: random.Random) -> Template:
    """pshufb, phadd*/phsub*, pmaddubsw, pmulhrsw, psign*, pabs*, palignr on mm and xmm."""
    file = rng.choice(("mm", "xmm"))
    size = 8 if file == "mm" else 16
    if rng.random() < 0.15:
        imm = f"${rng.choice((0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 255))}, "
        return binop(rng, "palignr", "b", file, size, size if file == "xmm" else 0, imm)
    mnem, kind = rng.choice(SSSE3_BIN)
    return binop(rng, mnem, kind, file, size, size if file == "xmm" else 0)


def gen_nop(rng: random.Random) -> Template:
    """nop: the whole state must come back as loaded (a harness check)."""
    return ["nop"], None


PS_MOVES = ("movaps", "movups", "movss", "movlps", "movhps", "movhlps", "movlhps", "movntps")
PD_MOVES = ("movapd", "movupd", "movsd", "movlpd", "movhpd", "movntpd")
INT_MOVES = ("movdqa", "movdqu", "movq", "movd", "movntdq")

FAMILIES = {
    "mmx": (
        (lambda rng: ints(rng, INT_BIN, "mm"), 10),
        (lambda rng: shift(rng, "mm"), 3),
        (moves_mm, 3),
        (gen_nop, 0.2),
    ),
    "sse": (
        (lambda rng: fp_arith(rng, PS_BIN, SS_BIN, "ps"), 8),
        (lambda rng: fp_compare(rng, "ps"), 4),
        (lambda rng: conversion(rng, "sse"), 4),
        (lambda rng: moves_xmm(rng, PS_MOVES, "ps"), 4),
        (lambda rng: shuffles(rng, "sse"), 3),
        (lambda rng: ints(rng, MMXEXT_BIN, "mm"), 3),
        (lambda rng: mxcsr_ops(rng, "ps"), 1),
        (lambda rng: misc(rng, "sse"), 1),
        (gen_nop, 0.2),
    ),
    "sse2_float": (
        (lambda rng: fp_arith(rng, PD_BIN, SD_BIN, "pd"), 8),
        (lambda rng: fp_compare(rng, "pd"), 4),
        (lambda rng: conversion(rng, "sse2"), 8),
        (lambda rng: moves_xmm(rng, PD_MOVES, "pd"), 3),
        (lambda rng: mxcsr_ops(rng, "pd"), 1),
        (gen_nop, 0.2),
    ),
    "sse2_int": (
        (lambda rng: ints(rng, INT_BIN + MMXEXT_BIN + _table("punpcklqdq:q punpckhqdq:q"), "xmm"), 10),
        (lambda rng: shift(rng, "xmm"), 4),
        (lambda rng: moves_xmm(rng, INT_MOVES, "any"), 3),
        (lambda rng: shuffles(rng, "sse2"), 3),
        (lambda rng: binop(rng, rng.choice(("paddq", "psubq", "pmuludq")), "q", "mm", 8, 0), 1),
        (lambda rng: misc(rng, "sse2"), 2),
        (gen_nop, 0.2),
    ),
    "sse3": ((sse3_ops, 10), (gen_nop, 0.2)),
    "cache": ((cache_ops, 10), (gen_nop, 0.3)),
    "ssse3": ((ssse3_ops, 10), (gen_nop, 0.2)),
}
