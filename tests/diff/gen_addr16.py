"""The 16-bit families of the single-instruction differential test (registered in gen_cases.FAMILIES).

16-bit effective addresses are below 64 KiB, so the program maps a fixed region at 0x1000..0x10FFF
(`SETUP`, run once at `_start`). A case that touches memory picks a 64-byte window in the region and the
address it wants, copies the scratch area into the window before the instruction and back after it
(push/pop memory to memory: no register or flag changes), so the record's scratch words are the
window's; the registers of its addressing form are drawn so that the wrapped sum lands there, with
random high halves and base values near the 64 KiB wrap. Branches with a 16-bit operand size truncate
eip below 64 KiB: their code and landing pads (`jmp *slot` back to the case) are stored into two code
pages of the region by the case itself, at addresses the generator knows.

Templates are (lines, fix) as in gen_cases; `fix(state, rng)` only uses State's set/get/scratch, so this
module does not import gen_cases (which imports it).
"""

from __future__ import annotations

import random
from collections.abc import Callable

REGION, REGION_END = 0x1000, 0x11000
CODE_PAGES = (0x2000, 0xE000)            # where branch code and pads are stored; windows avoid them
PAGE = 0x1000
SLOT_TAKEN, SLOT_FALL = 0x10FF0, 0x10FF8  # the words the landing pads jump through
WINDOW = 64                              # gen_cases.SCRATCH: the window is the scratch area's copy
SIZES = {1: "b", 2: "w", 4: "l"}
REG16 = ("ax", "bx", "cx", "dx", "si", "di", "bp")
REGS_BY_SIZE = {1: ("al", "bl", "cl", "dl", "ah", "bh", "ch", "dh"), 2: REG16,
                4: ("eax", "ebx", "ecx", "edx", "esi", "edi", "ebp")}
FULL = {"ax": "eax", "bx": "ebx", "cx": "ecx", "dx": "edx", "si": "esi", "di": "edi", "bp": "ebp"}
MAP_FIXED_ANON_PRIVATE = 0x32
PROT_RWX = 7

SETUP = [
    "movl $192, %eax",                   # mmap2(REGION, size, rwx, MAP_FIXED|MAP_ANONYMOUS|MAP_PRIVATE)
    f"movl ${REGION:#x}, %ebx",
    f"movl ${REGION_END - REGION:#x}, %ecx",
    f"movl ${PROT_RWX}, %edx",
    f"movl ${MAP_FIXED_ANON_PRIVATE:#x}, %esi",
    "movl $-1, %edi",
    "xorl %ebp, %ebp",
    "int $0x80",
    f"cmpl ${REGION:#x}, %eax",
    "jne fail",
]

Fix = Callable[[object, random.Random], bool]
Template = tuple[list[str], Fix | None]

# 16-bit addressing forms: (AT&T operand, with {d} for the displacement; registers summed; disp bits)
FORMS = (
    ("(%bx,%si)", ("bx", "si"), 0),
    ("(%bx,%di)", ("bx", "di"), 0),
    ("(%bp,%si)", ("bp", "si"), 0),
    ("(%bp,%di)", ("bp", "di"), 0),
    ("(%si)", ("si",), 0),
    ("(%di)", ("di",), 0),
    ("(%bx)", ("bx",), 0),
    ("{d}(%bp)", ("bp",), 8),
    ("{d}(%bx)", ("bx",), 16),
    ("{d}(%bx,%si)", ("bx", "si"), 8),
    ("{d}(%bp,%di)", ("bp", "di"), 16),
    ("{d}(%si)", ("si",), 8),
    ("{d}", (), 16),
)
SEG_OVERRIDES = ("", "", "", "", "%ds:", "%ss:", "%es:")


def high(rng: random.Random) -> int:
    """A random high half for a register whose low word is an address."""
    return rng.choice((0, 0xFFFF0000, 0x00010000, rng.getrandbits(16) << 16))


def word_near_wrap(rng: random.Random) -> int:
    """A 16-bit base value, often close to 0 or to 0xFFFF so that sums wrap."""
    pick = rng.random()
    if pick < 0.3:
        return 0xFFFF - rng.randrange(0x100)
    if pick < 0.45:
        return rng.randrange(0x100)
    if pick < 0.55:
        return rng.choice((0x8000, 0x7FFF, 0xFFFF, 0))
    return rng.getrandbits(16)


def _window_ok(w: int) -> bool:
    """Whether a window starting at w lies in the region, off the code pages and below the slots."""
    if w < REGION or w + WINDOW > SLOT_TAKEN:
        return False
    return all(w + WINDOW <= page or w >= page + PAGE for page in CODE_PAGES)


def window_at(rng: random.Random, size: int) -> tuple[int, int]:
    """(window start, an address for an access of `size` in it): the address is a 16-bit offset,
    often near 0xFFFF so that the access itself runs past 64 KiB."""
    while True:
        target = 0xFFFF - rng.randrange(WINDOW) if rng.random() < 0.3 else rng.randrange(REGION, 0x10000)
        w = target - rng.randrange(WINDOW - size + 1)
        if _window_ok(w) and target + size <= w + WINDOW:
            return w, target


def copy_lines(w: int, into: bool) -> list[str]:
    """Copy the scratch area into the window at w (into=True) or back, by pushl/popl memory pairs."""
    lines = []
    for k in range(0, WINDOW, 4):
        src, dst = (f"scratch+{k}", f"{w + k:#x}") if into else (f"{w + k:#x}", f"scratch+{k}")
        lines += [f"pushl {src}", f"popl {dst}"]
    return lines


def in_window(w: int, body: list[str]) -> list[str]:
    """`body` with the window copied in before and out after."""
    return [*copy_lines(w, True), *body, *copy_lines(w, False)]


def address_form(rng: random.Random, target: int) -> tuple[str, dict[str, int]]:
    """A random 16-bit addressing form and the low words of its registers that make it `target`."""
    operand, regs, bits = rng.choice(FORMS)
    disp = 0
    if bits == 8:
        disp = rng.randrange(-128, 128)
    elif bits == 16:
        disp = target if not regs else rng.getrandbits(16)
    values: dict[str, int] = {}
    if len(regs) == 2:
        values[regs[0]] = word_near_wrap(rng)
        values[regs[1]] = (target - disp - values[regs[0]]) & 0xFFFF
    elif regs:
        values[regs[0]] = (target - disp) & 0xFFFF
    if bits == 16 and disp >= 0x8000:
        disp -= 0x10000
    text = operand.format(d=f"{disp:#x}" if disp >= 0 else f"-{-disp:#x}")
    if not regs:
        text = f"{target:#x}"
    return rng.choice(SEG_OVERRIDES) + text, values


def set_words(values: dict[str, int]) -> Fix:
    """A fix that gives each named 16-bit register its low word (and a random high half)."""
    def fix(state, rng: random.Random) -> bool:
        for name, low in values.items():
            state.set(FULL[name], high(rng) | low)
        return True

    return fix


def _other_reg(rng: random.Random, size: int, avoid: tuple[str, ...] = ()) -> str:
    """A register of `size` bytes whose 32-bit register is not in `avoid` (16-bit names)."""
    full_avoid = {FULL[a] for a in avoid}
    names = [r for r in REGS_BY_SIZE[size]
             if {"al": "eax", "ah": "eax", "bl": "ebx", "bh": "ebx", "cl": "ecx", "ch": "ecx", "dl": "edx",
                 "dh": "edx"}.get(r, FULL.get(r, r)) not in full_avoid]
    return "%" + rng.choice(names)


def _imm(rng: random.Random, size: int) -> str:
    return f"${rng.choice((0, 1, 0x7F, 0x80, 0xFF, rng.getrandbits(8 * size))) & ((1 << 8 * size) - 1):#x}"


ALU = ("add", "or", "adc", "sbb", "and", "sub", "xor", "cmp")


def _mem_insn(rng: random.Random, size: int, m: str) -> list[str]:
    """One instruction (or a push/pop pair) on the 16-bit memory operand m; its register operand may
    be one of the address registers (that is as legal as any other)."""
    sfx = SIZES[size]
    r = _other_reg(rng, size)
    kind = rng.choice(("mov", "mov", "alu", "alu", "unary", "xchg", "ext", "stack", "set", "shift", "bt",
                       "mul"))
    if kind == "mov":
        return [rng.choice((f"mov{sfx} {m}, {r}", f"mov{sfx} {r}, {m}",
                            f"mov{sfx} {_imm(rng, size)}, {m}"))]
    if kind == "alu":
        op = rng.choice(ALU)
        return [rng.choice((f"{op}{sfx} {m}, {r}", f"{op}{sfx} {r}, {m}", f"{op}{sfx} {_imm(rng, size)}, {m}",
                            f"test{sfx} {r}, {m}"))]
    if kind == "unary":
        return [f"{rng.choice(('inc', 'dec', 'not', 'neg'))}{sfx} {m}"]
    if kind == "xchg":
        return [f"{rng.choice(('xchg', 'xadd', 'cmpxchg'))}{sfx} {r}, {m}"]
    if kind == "ext" and size < 4:
        return [f"mov{rng.choice('zs')}{sfx}l {m}, {_other_reg(rng, 4)}"]
    if kind == "stack" and size > 1:
        if rng.random() < 0.5:
            return [f"push{sfx} {m}", f"pop{sfx} {_other_reg(rng, size)}"]
        return [f"push{sfx} {_imm(rng, size)}", f"pop{sfx} {m}"]
    if kind == "set":
        return [f"set{rng.choice(('e', 'ne', 'b', 'l', 'o', 'p'))} {m}"]
    if kind == "shift":
        return [f"{rng.choice(('shl', 'shr', 'sar', 'rol', 'rcr'))}{sfx} ${rng.choice((1, 3, 7))}, {m}"]
    if kind == "bt" and size > 1:
        return [f"{rng.choice(('bt', 'bts', 'btr', 'btc'))}{sfx} ${rng.randrange(8 * size)}, {m}"]
    if kind == "mul" and size > 1:
        return [f"imul{sfx} {m}, {_other_reg(rng, size)}"]
    return [f"mov{sfx} {m}, {r}"]


def gen_mem16(rng: random.Random) -> Template:
    """Instructions with a 16-bit memory operand ([bx+si], [bp+disp], [disp16]...) in 8/16/32-bit
    sizes, the sum wrapping at 64 KiB; and lea of those forms."""
    size = rng.choice((1, 2, 4))
    w, target = window_at(rng, size)
    m, values = address_form(rng, target)
    if rng.random() < 0.15:
        dst = _other_reg(rng, rng.choice((2, 4)))
        sfx = "w" if dst[1:] in REG16 else "l"
        return [f"addr16 lea{sfx} {m.split(':')[-1]}, {dst}"], set_words(values)
    lines = _mem_insn(rng, size, m)
    if not values:                      # [disp16]: gas needs the prefix spelled out
        lines = [f"addr16 {lines[0]}", *lines[1:]]
    return in_window(w, lines), set_words(values)


def gen_bt16(rng: random.Random) -> Template:
    """bt/bts/btr/btc with a register bit offset on a 16-bit memory operand (offsets inside the window)."""
    size = rng.choice((2, 4))
    w, target = window_at(rng, size)
    m, values = address_form(rng, target)
    offset = _other_reg(rng, size, avoid=tuple(values))[1:]
    op = rng.choice(("bt", "bts", "btr", "btc"))
    lines = [f"{op}{SIZES[size]} %{offset}, {m}"]
    if not values:
        lines = [f"addr16 {lines[0]}"]
    base_fix = set_words(values)

    def fix(state, rng: random.Random) -> bool:
        base_fix(state, rng)
        # whole units that keep the access in the window, its (wrapping) offset below 64 KiB
        lo, hi = -((target - w) // size), min(w + WINDOW - size - target, 0xFFFF - target) // size
        bits = rng.randrange(lo, hi + 1) * 8 * size + rng.randrange(8 * size)
        state.set(offset, bits & ((1 << 8 * size) - 1))
        return True

    return in_window(w, lines), fix


def gen_string16(rng: random.Random) -> Template:
    """movs/stos/lods/cmps/scas with 16-bit addressing: si/di/cx, their high halves random (rep counts
    cx alone: ecx = 0x30000 does nothing)."""
    op, size = rng.choice(("movs", "stos", "lods", "cmps", "scas")), rng.choice((1, 2, 4))
    pre = rng.choice({"movs": ("", "rep "), "stos": ("", "rep "), "lods": ("", "rep "),
                      "cmps": ("", "repe ", "repne "), "scas": ("", "repe ", "repne ")}[op])
    w, _ = window_at(rng, size)

    def fix(state, rng: random.Random) -> bool:
        count = rng.randrange(6) if pre else 1
        state.set("ecx", high(rng) | count if pre else state.get("ecx"))
        down = bool(state.eflags >> 10 & 1)
        span = max(count, 1) * size
        for name in ("esi", "edi"):
            first, last = (span - size, WINDOW - size) if down else (0, WINDOW - span)
            start = w + rng.randrange(first, last + 1)
            lowest, highest = (start - span + size, start) if down else (start, start + span - size)
            if highest > 0xFFFF or lowest < REGION:    # the index would wrap into unmapped memory
                return False
            state.set(name, high(rng) | start)
        return True

    return in_window(w, [f"addr16 {pre}{op}{SIZES[size]}"]), fix


def gen_xlat16(rng: random.Random) -> Template:
    """xlat on bx + al (the high half of ebx ignored), and on ebx."""
    w, target = window_at(rng, 1)
    sixteen = rng.random() < 0.7

    def fix(state, rng: random.Random) -> bool:
        al = rng.randrange(256)
        state.set("al", al)
        state.set("ebx", high(rng) | (target - al) & 0xFFFF if sixteen else (target - al) & 0xFFFFFFFF)
        return True

    return in_window(w, ["addr16 xlat" if sixteen else "xlat"]), fix


COUNTS16 = (0, 1, 2, 0x10000, 0x10001, 0x10002, 0xFFFF0000, 0xFFFF0001, 0x1FFFF, 0xFFFF, 0xFFFFFFFF)


def _set_ecx(state, rng: random.Random) -> bool:
    state.set("ecx", rng.choice(COUNTS16) if rng.random() < 0.8 else rng.getrandbits(32))
    return True


def gen_loop16(rng: random.Random) -> Template:
    """jcxz and loopw/loopzw/loopnzw (0x67): they count and test cx, keeping the high half of ecx."""
    insn = rng.choice(("jcxz", "addr16 loop", "addr16 loope", "addr16 loopne"))
    return [f"{insn} 1f", "incl %edx", "1:"], _set_ecx


def store_bytes(code: dict[int, int]) -> list[str]:
    """mov stores of immediate bytes into memory (no register or flag changes), a dword where it can."""
    lines, addrs, i = [], sorted(code), 0
    while i < len(addrs):
        a, n = addrs[i], 1
        while i + n < len(addrs) and addrs[i + n] == a + n and n < 4:
            n += 1
        n = 2 if n == 3 else n
        value = int.from_bytes(bytes(code[a + j] for j in range(n)), "little")
        lines.append(f"mov{SIZES[n]} ${value:#x}, {a:#x}")
        i += n
    return lines


def pad(at: int, slot: int) -> dict[int, int]:
    """A landing pad at `at`: jmp *slot (ff 25 slot32)."""
    return dict(enumerate(b"\xff\x25" + slot.to_bytes(4, "little"), start=at))


def _pad_target(rng: random.Random, busy: range) -> int:
    """A pad address in a code page, not overlapping `busy`."""
    while True:
        page = rng.choice(CODE_PAGES)
        t = page + rng.randrange(PAGE - 6)
        if t + 6 <= busy.start or t >= busy.stop:
            return t


CC_NUMS = range(16)
# low-code branch forms: (bytes before the displacement, displacement bytes, what fixes the inputs)
LOW_BRANCHES = (
    ("jmpw rel16", b"\x66\xe9", 2, None),
    ("callw rel16", b"\x66\xe8", 2, None),
    ("jccw rel16", b"\x66\x0f\x80", 2, None),
    ("jccw rel8", b"\x66\x70", 1, None),
    ("jmpw rel8", b"\x66\xeb", 1, None),
    ("jecxz, 16-bit eip", b"\x66\xe3", 1, _set_ecx),
    ("jcxz, 16-bit eip", b"\x66\x67\xe3", 1, _set_ecx),
    ("loop, 16-bit eip", b"\x66\xe2", 1, _set_ecx),
    ("loopw, 16-bit eip", b"\x66\x67\xe2", 1, _set_ecx),
    ("loopzw, 16-bit eip", b"\x66\x67\xe1", 1, _set_ecx),
    ("loopnz, 16-bit eip", b"\x66\xe0", 1, _set_ecx),
)


def gen_branch16(rng: random.Random) -> Template:
    """Direct branches with a 16-bit operand size, run from code stored below 64 KiB: the new eip is
    (next + rel) & 0xffff (rel16 targets in the other code page wrap around 64 KiB); callw pushes a word."""
    name, head, width, fix = rng.choice(LOW_BRANCHES)
    if name.startswith("jcc"):
        head = head[:-1] + bytes((head[-1] | rng.choice(CC_NUMS),))
    length = len(head) + width
    page = rng.choice(CODE_PAGES)
    c = page + rng.randrange(0x100, PAGE - 0x100)
    busy = range(c, c + length + 6)
    if width == 2:
        target = _pad_target(rng, busy)
    else:
        rel = rng.choice((rng.randrange(-128, -(length + 6) + 1), rng.randrange(6, 128)))
        target = c + length + rel
    rel = (target - (c + length)) & ((1 << 8 * width) - 1)
    code = dict(enumerate(head + rel.to_bytes(width, "little"), start=c))
    code |= pad(c + length, SLOT_FALL) | pad(target, SLOT_TAKEN)
    taken = "popw %dx" if name.startswith("call") else "notl %edx"
    lines = [*store_bytes(code), f"movl $1f, {SLOT_TAKEN:#x}", f"movl $2f, {SLOT_FALL:#x}",
             f"jmp {c:#x}  /* {name} to {target:#x} */", f"1: {taken}", "2:"]
    return lines, fix


def gen_indirect16(rng: random.Random) -> Template:
    """jmpw/callw through a register or memory (32- or 16-bit addressed) and retw/retw imm16: the new
    eip is the zero-extended word; callw pushes the low word of the return address."""
    target = _pad_target(rng, range(0))
    form = rng.choice(("jmp reg", "call reg", "jmp mem", "call mem", "jmp mem16", "ret", "ret imm"))
    lines = [*store_bytes(pad(target, SLOT_TAKEN)), f"movl $1f, {SLOT_TAKEN:#x}"]
    land = ["1: popw %dx"] if form.startswith("call") else ["1:"]
    if form.endswith("reg"):
        reg = rng.choice(REG16)

        def fix(state, rng: random.Random) -> bool:
            state.set(FULL[reg], high(rng) | target)
            return True

        return [*lines, f"{form.split()[0]}w *%{reg}", *land], fix
    if form == "ret":
        return [*lines, f"pushw ${target:#x}", "retw", *land], None
    if form == "ret imm":
        n = rng.choice((0, 2, 6, 0x10))
        return [*lines, f"pushw ${target:#x}", f"retw ${n}", "1:", f"leal -{n}(%esp), %esp"], None
    insn = form.split()[0] + "w"
    if form.endswith("mem16"):
        w, at = window_at(rng, 2)
        m, values = address_form(rng, at)
        body = [*copy_lines(w, True), *lines, f"{'addr16 ' if not values else ''}{insn} *{m}", *land,
                *copy_lines(w, False)]
        words = set_words(values)

        def fix16(state, rng: random.Random) -> bool:
            words(state, rng)
            state.scratch[at - w:at - w + 2] = target.to_bytes(2, "little")
            return True

        return body, fix16
    off = rng.randrange(0, WINDOW - 1)

    def fixm(state, rng: random.Random) -> bool:
        state.scratch[off:off + 2] = target.to_bytes(2, "little")
        return True

    return [*lines, f"{insn} *scratch+{off}", *land], fixm


def gen_stack16(rng: random.Random) -> Template:
    """pushw imm, enterw/enter with nesting levels (the copied frame pointers recorded), enterw's
    bp-only write, pushaw/popaw, and bswap r16 (undefined in the manuals: the CPU clears the word)."""
    form = rng.choice(("pushw", "enter", "enter", "enterw-bp", "pushaw", "popaw", "bswapw"))
    if form == "bswapw":
        number = rng.choice((0, 1, 2, 3, 5, 6, 7))        # ax, cx, dx, bx, bp, si, di
        return [f".byte 0x66, 0x0f, {0xC8 + number:#x}  /* bswap r16 */"], None
    if form == "pushw":
        imm = rng.choice((rng.randrange(-128, 128), rng.getrandbits(16)))
        return [f"pushw ${imm & 0xFFFF:#x}", f"popw %{rng.choice(REG16)}"], None
    if form == "pushaw":
        lines = ["pushaw"] + [f"popw scratch+{2 * i}" for i in range(8)] + ["movw $0, scratch+6"]
        return lines, None
    if form == "popaw":
        return [f"pushw scratch+{2 * i}" for i in reversed(range(8))] + ["popaw"], None
    if form == "enterw-bp":
        keep = rng.getrandbits(32) | 1
        n = rng.choice((0, 2, 8))
        return [f"enterw ${n}, $0", "pushl %ebp", "popl scratch+0", "movw $0, scratch+0",
                f"leal {n + 2}(%esp), %esp", f"movl ${keep:#x}, %ebp"], set_ebp(keep)
    size = rng.choice((2, 4))
    sfx = SIZES[size]
    level, n = rng.choice((0, 1, 2, 3, 5, 33)), rng.choice((0, 4, 10))
    w, _ = window_at(rng, 4)
    ebp = w + WINDOW - rng.randrange(0, 16, 2)
    lines = [f"enter{sfx} ${n}, ${level}"]
    # the frame: [frame] = old ebp, [frame - size*i] for i < level: the copies, then frame itself
    copies = max(level % 32 - 1, 0)
    for i in range(copies + 1):
        lines += [f"push{sfx} {n + size * (copies + 1 - i) if level % 32 else n}(%esp)",
                  f"pop{sfx} {w + size * i:#x}"]
    frame_words = (copies + 2) if level % 32 else 1
    lines += [f"leal {n + size * frame_words}(%esp), %esp", f"movl ${ebp:#x}, %ebp"]
    return in_window(w, lines), set_ebp(ebp)


def set_ebp(value: int) -> Fix:
    """A fix that sets ebp to `value` (the lines put it back after the instruction)."""
    def fix(state, rng: random.Random) -> bool:
        state.set("ebp", value)
        return True

    return fix


FAMILIES: tuple[tuple[Callable[[random.Random], Template], int], ...] = (
    (gen_mem16, 4),
    (gen_bt16, 1),
    (gen_string16, 2),
    (gen_xlat16, 1),
    (gen_loop16, 1),
    (gen_branch16, 2),
    (gen_indirect16, 1),
    (gen_stack16, 1),
)
