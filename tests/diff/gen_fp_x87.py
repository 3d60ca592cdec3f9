"""x87 case templates for the FP differential test: each returns (asm lines, fix of the inputs)."""

from __future__ import annotations

import random
from fractions import Fraction

import fp_values as V
from fp_harness import FTW, FpState, Template, fixes, mem, rand_fcw

ARITH = ("fadd", "fsub", "fsubr", "fmul", "fdiv", "fdivr")
CMOVS = ("fcmovb", "fcmove", "fcmovbe", "fcmovu", "fcmovnb", "fcmovne", "fcmovnbe", "fcmovnu")
CONDS = ("b", "ae", "e", "ne", "be", "a", "p", "np", "s", "o")
INT_SUFFIX = {2: "s", 4: "l", 8: "ll"}  # fild/fist: m16int, m32int, m64int
CONSTS = ("fld1", "fldz", "fldpi", "fldl2e", "fldl2t", "fldlg2", "fldln2")


def sti(rng: random.Random) -> int:
    return rng.choice((1, 1, 2, 3, 0, 4, 5, 6, 7))


def depth(n: int, chance: float = 0.9):
    """A fix making ST(0)..ST(n-1) valid, and maybe more, most of the time (else the random tags stay)."""

    def fix(state: FpState, rng: random.Random) -> bool:
        if rng.random() < chance:
            state.set_depth(rng.choice((n, n, rng.randrange(n, 9))))
        return True

    return fix


def st_values(*makers):
    """A fix writing ST(i) from makers[i] (a function of rng, or None to keep) most of the time."""

    def fix(state: FpState, rng: random.Random) -> bool:
        for i, make in enumerate(makers):
            if make is not None and rng.random() < 0.8:
                state.set_st(i, make(rng), valid=bool(state.fx[FTW] >> (state.top + i) % 8 & 1))
        return True

    return fix


def near(*centres: float | Fraction):
    """A maker of 80-bit values at or just around one of `centres` (either sign), rounded to 64 bits."""

    def make(rng: random.Random) -> int:
        delta = rng.choice((0, 0, 0, Fraction(1, 4), Fraction(-1, 4), Fraction(1, 2), Fraction(-1, 2), 1, -1))
        return V.f80_of((Fraction(rng.choice(centres)) + delta) * rng.choice((1, -1)))

    return make


def gen_arith(rng: random.Random) -> Template:
    """fadd/fsub/fsubr/fmul/fdiv/fdivr: st(i),st / st,st(i) / ...p / m32fp / m64fp / m16int / m32int."""
    op = rng.choice(ARITH)
    form = rng.choice(("st0", "sti", "pop", "pop0", "m32", "m64", "i16", "i32"))
    i = sti(rng)
    if form == "st0":
        return [f"{op} %st({i}), %st"], depth(i + 1)
    if form == "sti":
        return [f"{op} %st, %st({i})"], depth(i + 1)
    if form == "pop":
        return [f"{op}p %st, %st({i})"], depth(i + 1)
    if form == "pop0":
        return [f"{op}p"], depth(2)
    size = {"m32": 4, "m64": 8, "i16": 2, "i32": 4}[form]
    kind = {"m32": "f32", "m64": "f64"}.get(form, "i")
    lines, text, _, fill = mem(rng, size, kind)
    insn = f"{op}{'s' if form == 'm32' else 'l'}" if form[0] == "m" else f"fi{op[1:]}{INT_SUFFIX[size]}"
    return [*lines, f"{insn} {text}"], fixes(depth(1), fill)


def gen_precision(rng: random.Random) -> Template:
    """fldcw (varied precision and rounding control) followed by arithmetic, a store or frndint."""
    lines, text, off, _ = mem(rng, 2)
    op = rng.choice(ARITH + ("frndint", "fsqrt", "fst"))
    if op == "frndint" or op == "fsqrt":
        after = [op]
    elif op == "fst":
        slines, stext, _, _ = mem(rng, 4)
        after = [*slines, f"fsts {stext}"]
    else:
        after = [f"{op} %st({sti(rng)}), %st"]

    def fix(state: FpState, rng: random.Random) -> bool:
        state.put(off, rand_fcw(rng).to_bytes(2, "little"))
        return True

    return [*lines, f"fldcw {text}", *after], fixes(fix, depth(8 if op in ARITH else 1))


def gen_load(rng: random.Random) -> Template:
    """fld m32/m64/m80/st(i), fild m16/m32/m64, fbld, and the constants (with varied RC)."""
    form = rng.choice(("m32", "m64", "m80", "sti", "i", "i", "bcd", "const", "const"))
    full = depth(rng.choice((1, 2, 7, 8)), chance=0.3)
    if form == "sti":
        return [f"fld %st({sti(rng)})"], full
    if form == "const":
        return [rng.choice(CONSTS)], full
    size = {"m32": 4, "m64": 8, "m80": 10, "bcd": 10}.get(form) or rng.choice((2, 4, 8))
    kind = {"m32": "f32", "m64": "f64", "m80": "f80", "bcd": "bcd"}.get(form, "i")
    lines, text, _, fill = mem(rng, size, kind)
    insn = {"m32": "flds", "m64": "fldl", "m80": "fldt", "bcd": "fbld"}.get(form) or f"fild{INT_SUFFIX[size]}"
    return [*lines, f"{insn} {text}"], fixes(fill, full)


INT_CENTRES = (2**15, 2**16, 2**31, 2**32, 2**63, 2**64, Fraction(1, 2), Fraction(3, 2), 0, 1)
BCD_CENTRES = (10**18, 10**18 - 1, 10**17, Fraction(1, 2), 12345)


def gen_store(rng: random.Random) -> Template:
    """fst/fstp m32/m64/m80/st(i), fist/fistp/fisttp m16/m32/m64 (boundaries, RC varied), fbstp."""
    form = rng.choice(("m32", "m64", "m80", "sti", "int", "int", "int", "bcd"))
    value = st_values(V.rand_f80)
    if form == "sti":
        return [f"{rng.choice(('fst', 'fstp'))} %st({rng.randrange(8)})"], fixes(depth(1), value)
    if form == "int":
        size = rng.choice((2, 4, 8))
        op = rng.choice(("fist", "fistp", "fisttp") if size < 8 else ("fistp", "fisttp"))
        lines, text, _, _ = mem(rng, size)
        return [*lines, f"{op}{INT_SUFFIX[size]} {text}"], fixes(depth(1), st_values(near(*INT_CENTRES)))
    if form == "bcd":
        lines, text, _, _ = mem(rng, 10)
        return [*lines, f"fbstp {text}"], fixes(depth(1), st_values(near(*BCD_CENTRES)))
    size = {"m32": 4, "m64": 8, "m80": 10}[form]
    op = "fstpt" if size == 10 else rng.choice(("fst", "fstp")) + ("s" if size == 4 else "l")
    lines, text, _, _ = mem(rng, size)
    return [*lines, f"{op} {text}"], fixes(depth(1), value)


def gen_unary(rng: random.Random) -> Template:
    """fchs fabs ftst fxam fsqrt frndint fscale fxtract fprem fprem1."""
    op = rng.choice(
        ("fchs", "fabs", "ftst", "fxam", "fsqrt", "frndint", "fscale", "fxtract", "fprem", "fprem1")
    )
    if op == "fscale":
        scale = near(0, 1, 2, 3, Fraction(5, 2), 16, 100, 16000, 2**20, Fraction(1, 2))
        return [op], fixes(depth(2), st_values(None, scale))
    if op in ("fprem", "fprem1"):

        def close(state: FpState, rng: random.Random) -> bool:
            if rng.random() < 0.7:
                e0, e1 = 16383 + rng.randrange(-30, 30), 16383 + rng.randrange(-30, 30)
                e0 = max(e0, e1 - 2) + rng.choice((0, 1, 10, 63, 64, 100))
                for i, e in enumerate((e0, e1)):
                    state.set_st(i, rng.getrandbits(1) << 79 | e << 64 | 1 << 63 | rng.getrandbits(63))
            return True

        return [op], fixes(depth(2), close)
    if op == "frndint":
        return [op], fixes(
            depth(1), st_values(near(Fraction(1, 2), Fraction(3, 2), Fraction(5, 2), 2**62, 2**63))
        )
    return [op], depth(1)


def gen_transcendental(rng: random.Random) -> Template:
    """fsin fcos fsincos fptan fpatan f2xm1 fyl2x fyl2xp1 with in-range, boundary and huge arguments."""
    op = rng.choice(("fsin", "fcos", "fsincos", "fptan", "fpatan", "f2xm1", "fyl2x", "fyl2xp1"))

    def arg(rng: random.Random) -> int:
        pick = rng.random()
        if op == "f2xm1" and pick < 0.6:
            return V.f80_of(rng.uniform(-1, 1))
        if op == "fyl2xp1" and pick < 0.6:
            return V.f80_of(rng.uniform(-0.29, 0.29))
        if op in ("fsin", "fcos", "fsincos", "fptan") and pick < 0.6:
            return V.f80_of(rng.uniform(-10, 10) * 2.0 ** rng.choice((0, 0, 10, 40, 62, 63, 64)))
        if op in ("fyl2x", "fpatan") and pick < 0.6:
            return V.f80_of(abs(rng.uniform(-1, 1)) * 2.0 ** rng.randrange(-60, 60))
        return V.rand_f80(rng)

    full = op in ("fsincos", "fptan")
    return [op], fixes(depth(2, 0.95) if not full else depth(1), st_values(arg, V.rand_f80))


def gen_compare(rng: random.Random) -> Template:
    """fcom/fcomp/fcompp/fucom*/ficom*/fcomi*/fucomi*/ftst/fxam, then an idiom reading the result."""
    form = rng.choice(("fcom", "fcom", "fucom", "ficom", "fcomi", "fcomi", "pp"))
    i = sti(rng)
    pop = rng.choice(("", "p"))
    if form in ("fcom", "fucom"):
        if rng.random() < 0.6 or form == "fucom":
            body = [f"{form}{pop} %st({i})" if rng.random() < 0.8 else f"{form}{pop}"]
            fix = depth(i + 1)
        else:
            size = rng.choice((4, 8))
            lines, text, _, fill = mem(rng, size, "f32" if size == 4 else "f64")
            body, fix = [*lines, f"fcom{pop}{'s' if size == 4 else 'l'} {text}"], fixes(depth(1), fill)
    elif form == "ficom":
        size = rng.choice((2, 4))
        lines, text, _, fill = mem(rng, size, "i")
        body, fix = [*lines, f"ficom{pop}{INT_SUFFIX[size]} {text}"], fixes(depth(1), fill)
    elif form == "pp":
        body, fix = [rng.choice(("fcompp", "fucompp"))], depth(2)
    else:
        op = rng.choice(("fcomi", "fucomi")) + pop
        fix = depth(i + 1)
        tail = rng.choice((f"set{rng.choice(CONDS)} %dl", f"cmov{rng.choice(CONDS)}l %ecx, %edx", ""))
        return [f"{op} %st({i}), %st", *([tail] if tail else [])], fixes(fix, equal_sometimes(i))
    tail = rng.choice(
        (
            ["fnstsw %ax"],
            ["fnstsw %ax", "sahf", f"set{rng.choice(CONDS)} %al"],
            ["fnstsw %ax", "testb $0x45, %ah"],
            [],
        )
    )
    return [*body, *tail], fixes(fix, equal_sometimes(i))


def equal_sometimes(i: int):
    """A fix making ST(0) and ST(i) equal now and then (the other compare outcomes come by chance)."""

    def fix(state: FpState, rng: random.Random) -> bool:
        if rng.random() < 0.2:
            state.set_st(i, state.st(0), valid=bool(state.fx[FTW] >> (state.top + i) % 8 & 1))
        return True

    return fix


def gen_fcmov(rng: random.Random) -> Template:
    """fcmovcc (all 8) with varied EFLAGS, and fxch."""
    i = sti(rng)
    if rng.random() < 0.25:
        return [f"fxch %st({i})" if rng.random() < 0.8 else "fxch"], depth(i + 1, 0.8)
    return [f"{rng.choice(CMOVS)} %st({i}), %st"], depth(i + 1)


def gen_control(rng: random.Random) -> Template:
    """fldcw/fnstcw/fnstsw (m16 and %ax), fnclex/fninit/ffree/fincstp/fdecstp/fnop, fnstenv/fldenv,
    fnsave/frstor, stack overflow and underflow (masked)."""
    form = rng.choice(("cw", "sw", "simple", "simple", "env", "env", "over", "under"))
    if form == "cw":
        lines, text, off, _ = mem(rng, 2)
        if rng.random() < 0.5:
            return [*lines, f"{rng.choice(('fnstcw', 'fstcw'))} {text}"], None

        def cw(state: FpState, rng: random.Random) -> bool:
            state.put(off, rand_fcw(rng).to_bytes(2, "little"))
            return True

        return [*lines, f"fldcw {text}", "fnstcw scratch+120"], cw
    if form == "sw":
        if rng.random() < 0.5:
            return [rng.choice(("fnstsw %ax", "fstsw %ax"))], None
        lines, text, _, _ = mem(rng, 2)
        return [*lines, f"{rng.choice(('fnstsw', 'fstsw'))} {text}"], None
    if form == "simple":
        insn = rng.choice(
            (
                "fnclex",
                "fclex",
                "fninit",
                "finit",
                "fincstp",
                "fdecstp",
                "fnop",
                "fwait",
                f"ffree %st({rng.randrange(8)})",
                f"ffreep %st({rng.randrange(8)})",
            )
        )
        return [insn], None
    if form == "over":
        op = rng.choice((*CONSTS, "fld %st(3)", "flds scratch", "fildl scratch+8", "fsincos", "fptan"))
        return [op], depth(8)
    if form == "under":
        op = rng.choice(
            (
                "fadd %st(1), %st",
                "fsqrt",
                "fchs",
                "fstps scratch",
                "fistpl scratch",
                "fcom",
                "fcomip %st(1), %st",
                "fxch %st(2)",
                "fstpt scratch+16",
                "fbstp scratch+32",
            )
        )
        return [op], lambda s, r: s.set_depth(r.choice((0, 1))) or True
    return gen_env(rng)


def gen_env(rng: random.Random) -> Template:
    """fnstenv/fstenv/fldenv and fnsave/fsave/frstor, in the 32-bit (28/108-byte) and the 16-bit (data16,
    14/94-byte) formats; the saved instruction and data pointers are not compared (see env_ignore)."""
    save, short, whole = rng.random() < 0.5, rng.random() < 0.25, rng.random() < 0.4
    env_size = 14 if short else 28
    size = env_size + (80 if whole else 0)
    off = rng.randrange(0, 128 - size + 1, rng.choice((1, 4, 4)))
    sfx = "s" if short else ""
    if save:
        names = ("fnsave", "fsave") if whole else ("fnstenv", "fstenv")
        return [f"{rng.choice(names)}{sfx} scratch{off:+d}"], None
    step = 2 if short else 4

    def image(state: FpState, rng: random.Random) -> bool:
        env = bytearray(V.rand_bytes(rng, env_size))
        fields = (rand_fcw(rng), rng.getrandbits(16) & 0x7F7F, rng.choice((0xFFFF, 0, rng.getrandbits(16))))
        for i, value in enumerate(fields):
            env[step * i : step * i + step] = (value | 0xFFFF0000).to_bytes(4, "little")[:step]
        regs = b"".join(V.rand_f80(rng).to_bytes(10, "little") for _ in range(8))
        state.put(off, bytes(env) + (regs if whole else b""))
        return True

    reader = ("frstor" if whole else "fldenv") + sfx
    return [f"{reader} scratch{off:+d}", "fnstsw %ax", "fxam"], image


SAVERS = {"fnstenv": (12, 28), "fstenv": (12, 28), "fnsave": (12, 28), "fsave": (12, 28)}
SAVERS |= {name + "s": (6, 14) for name in SAVERS}


def env_ignore(lines: list[str]) -> tuple[tuple[int, int], ...]:
    """The scratch ranges a case's fnstenv/fnsave writes FIP/FCS/FOP/FDP/FDS to (32-bit format: env bytes
    12..27; 16-bit format: bytes 6..13)."""
    out = []
    for line in lines:
        name, _, operand = line.partition(" ")
        if name in SAVERS:
            off = int(operand.removeprefix("scratch") or 0)
            start, end = SAVERS[name]
            out.append((off + start, off + end))
    return tuple(out)


# reserved x87 encodings every x86 CPU executes as aliases: (opcode bytes, name)
ALIASES = (
    (0xDC, 0xD0, "fcom2"),
    (0xDC, 0xD8, "fcomp3"),
    (0xDD, 0xC8, "fxch4"),
    (0xDE, 0xD0, "fcomp5"),
    (0xDF, 0xC8, "fxch7"),
    (0xDF, 0xD0, "fstp8"),
    (0xDF, 0xD8, "fstp9"),
    (0xD9, 0xD8, "fstp1"),
    (0xDF, 0xC0, "ffreep"),
)


def gen_alias(rng: random.Random) -> Template:
    """The undocumented x87 aliases (fcom2 fcomp3 fxch4 fcomp5 fxch7 fstp8 fstp9 fstp1 ffreep)."""
    first, second, name = rng.choice(ALIASES)
    i = sti(rng)
    return [f".byte {first:#04x}, {second + i:#04x}  /* {name} %st({i}) */"], depth(i + 1)


def gen_nop(rng: random.Random) -> Template:
    """nop: the whole state must come back as loaded (a harness check)."""
    return ["nop"], None


FAMILIES = {
    "x87_arith": ((gen_arith, 10), (gen_precision, 3), (gen_nop, 0.2)),
    "x87_loadstore": ((gen_load, 5), (gen_store, 6), (gen_nop, 0.2)),
    "x87_compare": ((gen_compare, 8), (gen_fcmov, 4), (gen_nop, 0.2)),
    "x87_misc": ((gen_unary, 6), (gen_control, 6), (gen_nop, 0.2)),
    "x87_transcendental": ((gen_transcendental, 10), (gen_unary, 1), (gen_nop, 0.2)),
    "x87_aliases": ((gen_alias, 10), (gen_nop, 0.3)),
}
