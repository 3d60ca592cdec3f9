"""The segment-load families of the single-instruction differential test (registered in
gen_cases.FAMILIES): mov to and from ds/es/fs/gs (and reads of cs/ss), push/pop of segment registers,
lds/les/lfs/lgs from a far pointer in the scratch area, and lar/lsl/verr/verw, over selectors drawn
from the flat ones with every RPL, null ones, GDT entries that exist but may not be loaded (kernel
segments, 64-bit code, the TSS and LDT descriptors, empty and set TLS entries, the per-CPU one),
the LDT entries `SETUP` makes with modify_ldt at start-up, and random ones.

A load may fault (#GP/#NP/#SS: SIGSEGV or SIGBUS): `SETUP` installs `seg_handler` (`HANDLER`) for
both, which counts the fault and keeps its signal, si_code, trap number and error code for the
record (gen_cases' fault words), resets ds/es/fs/gs in the saved context to 0x2b/0x2b/0/0 and resumes
at the address the case stored in `recover_eip` before the instruction (%ss-relative: ds may be a
based segment by then). A case reads the selector left in the register back, loads through a based
data segment once (so its base is checked: a wrong one reads other bytes or faults), and ends by
putting ds/es back to 0x2b and fs/gs to 0, the baseline every case starts from.

The LDT: modify_ldt(1) cannot make a DPL-0 entry (fill_ldt always gives DPL 3), so there is none.
Not here, since aotc does not do them (yet): the kernel reloading a segment register whose TLS entry
set_thread_area rewrites, and the CPU's checks on accesses through a segment (a null one's #GP(0),
limits, writes through read-only data): every load-through stays inside its segment's limit.

The fault word is count << 24 | si_code << 16 | signal << 8 | trap number (`describe_fault`).

Templates are (lines, fix) as in gen_cases; `fix(state, rng)` only uses State's set/get/scratch, so
this module does not import gen_cases (which imports it).
"""

from __future__ import annotations

import random
from collections.abc import Callable

Fix = Callable[[object, random.Random], bool]
Template = tuple[list[str], Fix | None]

SCRATCH = 64                                   # gen_cases.SCRATCH
REG16 = ("ax", "bx", "cx", "dx", "si", "di", "bp")
REG32 = ("eax", "ebx", "ecx", "edx", "esi", "edi", "ebp")
DATA_SEGS = ("ds", "es", "fs", "gs")
ALL_SEGS = ("es", "cs", "ss", "ds", "fs", "gs")
USER_DS, USER32_CS = 0x2B, 0x23
BASELINE = {"ds": USER_DS, "es": USER_DS, "fs": 0, "gs": 0}

# user_desc flag bits
SEG_32BIT, READ_EXEC_ONLY, LIMIT_IN_PAGES, SEG_NOT_PRESENT = 0x1, 0x8, 0x10, 0x20
CONTENTS_EXPAND_DOWN, CONTENTS_CODE = 1 << 1, 2 << 1

# the LDT: entry -> (base as an assembler expression, limit, flags, based data segment to load through)
LDT = {
    0: ("scratch-0x1000", 0xFFFFF, SEG_32BIT | LIMIT_IN_PAGES, True),            # 32-bit data, based
    1: ("scratch-0x200", 0xFFFF, SEG_32BIT | READ_EXEC_ONLY, True),              # read-only data
    2: ("0", 0xFFFF, CONTENTS_CODE, False),                                      # 16-bit readable code
    3: ("scratch-0x10", 0xFFFFF, SEG_32BIT | LIMIT_IN_PAGES | SEG_NOT_PRESENT, False),  # not present
    4: ("0", 0xFFFFF, SEG_32BIT | CONTENTS_CODE | READ_EXEC_ONLY | LIMIT_IN_PAGES, False),  # exec-only
    5: ("0", 0x10, SEG_32BIT | CONTENTS_EXPAND_DOWN | LIMIT_IN_PAGES, False),     # expand-down data
    6: ("0xf0000000", 0xFFFFF, SEG_32BIT | LIMIT_IN_PAGES, True),                # base wraps at 4 GiB
    9: ("scratch-0x20", 0xFFFFF, LIMIT_IN_PAGES, True),                          # 16-bit data, based
}
LDT_SIZE = max(LDT) + 1                        # entries 7 and 8 are empty, 10.. beyond the table
BASED = {entry for entry, (_, _, _, based) in LDT.items() if based}
TLS_ENTRIES = (12, 13, 14)
TLS_BASE = "scratch-0x400"                     # the data segment a case may put in a TLS entry
CPUNODE = 15                                   # its limit is the CPU we run on: lsl of it is not stable
GDT_UNUSABLE = (0x08, 0x10, 0x18, 0x30, 0x33, 0x38, 0x40, 0x48, 0x50, 0x58, 0x7B, 0x80, 0x83, 0xFFFB)

SYS_RT_SIGACTION, SYS_RT_SIGRETURN, SYS_MODIFY_LDT, SYS_SET_THREAD_AREA = 174, 173, 123, 243
SIGBUS, SIGSEGV = 7, 11
SA_SIGINFO, SA_RESTORER = 0x4, 0x04000000
MCONTEXT = 20                                  # uc_flags, uc_link, uc_stack (12)
SC = {"gs": 0, "fs": 4, "es": 8, "ds": 12, "trapno": 48, "err": 52, "eip": 56}


def _user_desc(label: str, entry: int, base: str, limit: int, flags: int) -> list[str]:
    return [f"{label}: .long {entry}, {base}, {limit:#x}, {flags:#x}"]


def data_text() -> list[str]:
    """The user_desc structs SETUP and the TLS cases pass, the sigaction and the handler's words."""
    out = ["    .data", "    .align 4"]
    for entry, (base, limit, flags, _) in LDT.items():
        out += _user_desc(f"ldt_desc_{entry}", entry, base, limit, flags)
    for entry in TLS_ENTRIES:
        out += _user_desc(f"tls_set_{entry}", entry, TLS_BASE, 0xFFFFF, SEG_32BIT | LIMIT_IN_PAGES)
        out += _user_desc(f"tls_clear_{entry}", entry, "0", 0, READ_EXEC_ONLY | SEG_NOT_PRESENT)
    out += [
        f"seg_sigaction: .long seg_handler, {SA_SIGINFO | SA_RESTORER:#x}, seg_restorer, 0, 0",
        "recover_eip: .long 0",
        "fault: .long 0",
        "fault_err: .long 0",
    ]
    return out


def _syscall(number: int, *args: str) -> list[str]:
    regs = ("%ebx", "%ecx", "%edx", "%esi")
    return [f"movl ${number}, %eax", *(f"movl {a}, {r}" for a, r in zip(args, regs, strict=False)),
            "int $0x80", "testl %eax, %eax", "jne fail"]


SETUP = [
    *(line for entry in LDT for line in _syscall(SYS_MODIFY_LDT, "$1", f"$ldt_desc_{entry}", "$16")),
    *(line for sig in (SIGSEGV, SIGBUS)
      for line in _syscall(SYS_RT_SIGACTION, f"${sig}", "$seg_sigaction", "$0", "$8")),
]

HANDLER = f"""
seg_handler:
    movl 12(%esp), %edx
    movl fault, %eax
    addl $0x01000000, %eax
    andl $0xff000000, %eax
    movl 8(%esp), %ecx
    movzbl 8(%ecx), %ecx
    shll $16, %ecx
    orl %ecx, %eax
    movl 4(%esp), %ecx
    shll $8, %ecx
    orl %ecx, %eax
    orl {MCONTEXT + SC['trapno']}(%edx), %eax
    movl %eax, fault
    movl {MCONTEXT + SC['err']}(%edx), %eax
    movl %eax, fault_err
    movl ${USER_DS}, {MCONTEXT + SC['ds']}(%edx)
    movl ${USER_DS}, {MCONTEXT + SC['es']}(%edx)
    movl $0, {MCONTEXT + SC['fs']}(%edx)
    movl $0, {MCONTEXT + SC['gs']}(%edx)
    movl recover_eip, %eax
    testl %eax, %eax
    je seg_lost
    movl %eax, {MCONTEXT + SC['eip']}(%edx)
    movl $0, recover_eip
    ret
seg_lost:
    movl $1, %eax
    movl $4, %ebx
    int $0x80
seg_restorer:
    movl ${SYS_RT_SIGRETURN}, %eax
    int $0x80
"""


def describe_fault(word: int, err: int) -> str:
    """A fault word and its error code as text."""
    if word == 0:
        return "none"
    count, code, signo, trapno = word >> 24, word >> 16 & 0xFF, word >> 8 & 0xFF, word & 0xFF
    return f"{count} fault(s), last signal {signo} si_code {code:#x} trap {trapno} err {err:#x}"


# -- selectors ---------------------------------------------------------------------------------


def ldt_selector(entry: int, rpl: int) -> int:
    return entry << 3 | 4 | rpl


def selector(rng: random.Random, lsl: bool = False) -> int:
    """A selector from one of the pools (with lsl, never the per-CPU entry)."""
    pick = rng.random()
    if pick < 0.2:
        value = rng.choice((USER_DS, USER32_CS)) & ~3 | rng.randrange(4)
    elif pick < 0.28:
        value = rng.randrange(4)
    elif pick < 0.45:
        value = rng.choice(GDT_UNUSABLE)
    elif pick < 0.55:
        value = rng.choice(TLS_ENTRIES) << 3 | rng.choice((3, 3, 3, 0, 1, 2))
    elif pick < 0.85:
        entry = rng.choice((*LDT, *LDT, 7, 8, LDT_SIZE, LDT_SIZE + 1, 100))
        value = ldt_selector(entry, rng.choice((3, 3, 3, 0, 1, 2)))
    else:
        value = rng.getrandbits(16)
    if lsl and value >> 3 == CPUNODE and not value & 4:
        value = USER_DS
    return value


def tls_lines(sel: int, rng: random.Random) -> tuple[list[str], list[str]]:
    """For a TLS selector: now and then set its entry before the case and clear it after (else the
    entry stays empty). Registers and flags are kept (pushal/pushfl around the syscall)."""
    entry = sel >> 3
    if sel & 4 or entry not in TLS_ENTRIES or rng.random() < 0.4:
        return [], []

    def call(desc: str) -> list[str]:
        return ["pushal", "pushfl", f"movl ${SYS_SET_THREAD_AREA}, %eax", f"movl ${desc}, %ebx",
                "int $0x80", "popfl", "popal"]

    return call(f"tls_set_{entry}"), call(f"tls_clear_{entry}")


ARM = "%ss:recover_eip"                         # what a case that may fault stores its recovery label in


def _arm(label: str) -> str:
    return f"movl ${label}, {ARM}"


RESTORE = [line for seg, sel in BASELINE.items() for line in (f"pushl ${sel:#x}", f"popl %{seg}")]


def _mem16(rng: random.Random) -> int:
    return rng.randrange(0, SCRATCH - 1, 2) if rng.random() < 0.8 else rng.randrange(SCRATCH - 1)


def check_lines(seg: str, sel: int, tls_set: bool, rng: random.Random) -> list[str]:
    """After a load into `seg`: read the selector back, and through a based segment load one dword."""
    out = []
    back = rng.random()
    if back < 0.4:
        out.append(f"movl %{seg}, %{rng.choice(REG32)}")
    elif back < 0.7:
        out.append(f"movw %{seg}, %{rng.choice(REG16)}")
    else:
        out.append(f"movw %{seg}, %ss:scratch+{_mem16(rng)}")
    entry = sel >> 3
    base = None
    if sel & 4 and entry in BASED:
        base = LDT[entry][0]
    elif tls_set:
        base = TLS_BASE
    if base is not None:
        off = rng.randrange(0, SCRATCH - 3, 4)
        size, reg = rng.choice(((4, rng.choice(REG32)), (2, rng.choice(REG16))))
        insn = "movl" if size == 4 else "movw"
        out += [_arm("8f"), f"{insn} %{seg}:scratch+{off}-({base}), %{reg}", "8:"]
    return out


def _set_selector_reg(reg: str, sel: int) -> Fix:
    """Put `sel` in the low word of 32-bit register `reg`, its upper half random."""

    def fix(state, rng: random.Random) -> bool:
        state.set(reg, state.get(reg) & 0xFFFF0000 | sel)
        return True

    return fix


def _set_selector_mem(off: int, sel: int) -> Fix:
    """Put `sel` in the scratch word at `off`."""

    def fix(state, rng: random.Random) -> bool:
        state.scratch[off : off + 2] = sel.to_bytes(2, "little")
        return True

    return fix


def _wrap(pre: list[str], body: list[str], seg: str, sel: int, tls_set: bool,
          rng: random.Random, post: list[str]) -> list[str]:
    return [*pre, _arm("7f"), *body, "7:", *check_lines(seg, sel, tls_set, rng), *RESTORE, *post]


def gen_seg_load(rng: random.Random) -> Template:
    """mov r16/r32/m16 to ds/es/fs/gs (and now and then ss, with selectors that leave the stack flat
    or fault), then the checks."""
    seg = rng.choice(DATA_SEGS) if rng.random() < 0.95 else "ss"
    sel = selector(rng) if seg != "ss" else rng.choice((0x2B, 0x28, 0x29, 0x23, 0, 3, ldt_selector(1, 3),
                                                       ldt_selector(3, 3), 0x63, 0x7B))
    pre, post = tls_lines(sel, rng) if seg != "ss" else ([], [])   # a based stack would lose the case
    form = rng.random()
    if form < 0.5:
        reg = rng.choice(REG32)
        body = [f"movl %{reg}, %{seg}" if rng.random() < 0.5 else f"data16 movw %{reg[1:]}, %{seg}"]
        fix = _set_selector_reg(reg, sel)
    else:
        off = _mem16(rng)
        body = [f"{rng.choice(('mov', 'data16 movw'))} scratch+{off}, %{seg}"]
        fix = _set_selector_mem(off, sel)
    if seg == "ss":
        post = [*post, "pushl $0x2b", "popl %ss"]
        return [*pre, _arm("7f"), *body, "7:", f"movl %ss, %{rng.choice(REG32)}", *RESTORE, *post], fix
    return _wrap(pre, body, seg, sel, bool(pre), rng, post), fix


def _pop_lines(push: str, size: int, seg: str) -> list[str]:
    """Push a slot, pop it into `seg`; after a fault the slot is still there, so pop succeeding or
    not, the lea after the recovery label drops it."""
    sfx = "l" if size == 4 else "w"
    return [push, _arm("7f"), f"pop{sfx} %{seg}", f"leal -{size}(%esp), %esp", "7:",
            f"leal {size}(%esp), %esp"]


def gen_seg_stack(rng: random.Random) -> Template:
    """push of every segment register (32-bit: what the CPU writes over the slot's upper half, preset
    to a register's value) and pop into ds/es/fs/gs from a 32- or 16-bit slot."""
    if rng.random() < 0.35:
        seg, sfx = rng.choice(ALL_SEGS), rng.choice(("l", "w"))
        dst = rng.choice(REG32 if sfx == "l" else REG16)
        return [f"movl %{rng.choice(REG32)}, -4(%esp)", f"push{sfx} %{seg}", f"pop{sfx} %{dst}"], None
    seg = rng.choice(DATA_SEGS)
    sel = selector(rng)
    pre, post = tls_lines(sel, rng)
    reg = rng.choice(REG32)
    form = rng.random()
    if form < 0.45:
        body, fix = _pop_lines(f"pushl %{reg}", 4, seg), _set_selector_reg(reg, sel)
    elif form < 0.7:
        body, fix = _pop_lines(f"pushw %{reg[1:]}", 2, seg), _set_selector_reg(reg, sel)
    else:
        off = rng.randrange(0, SCRATCH - 3, 2)
        body, fix = _pop_lines(f"pushl scratch+{off}", 4, seg), _set_selector_mem(off, sel)
    return [*pre, *body, *check_lines(seg, sel, bool(pre), rng), *RESTORE, *post], fix


def gen_seg_far(rng: random.Random) -> Template:
    """lds/les/lfs/lgs r32/r16 from a 16:32 or 16:16 far pointer in scratch."""
    seg = rng.choice(DATA_SEGS)
    sel = selector(rng)
    pre, post = tls_lines(sel, rng)
    wide = rng.random() < 0.7
    off = rng.randrange(0, SCRATCH - (6 if wide else 4) + 1, 2)
    reg = rng.choice(REG32) if wide else rng.choice(REG16)
    body = [f"l{seg}{'l' if wide else 'w'} scratch+{off}, %{reg}"]
    return _wrap(pre, body, seg, sel, bool(pre), rng, post), _set_selector_mem(off + (4 if wide else 2), sel)


def gen_seg_read(rng: random.Random) -> Template:
    """mov from a segment register (after loading a usable selector into it) to a 16-bit memory word
    (with and without an operand-size prefix) or a 16/32-bit register."""
    seg = rng.choice(ALL_SEGS)
    pre = []
    if seg in DATA_SEGS and rng.random() < 0.5:
        sel = rng.choice((0x2B, 0x28, 0x2A, 0x23, 0x20, 1, 2, 0x7B, ldt_selector(0, 3), ldt_selector(2, 1),
                          ldt_selector(5, 3)))
        pre = [f"pushl ${sel}", f"popl %{seg}"]
    form = rng.random()
    if form < 0.4:
        body = f"movl %{seg}, %{rng.choice(REG32)}"
    elif form < 0.7:
        body = f"movw %{seg}, %{rng.choice(REG16)}"
    elif form < 0.85:
        body = f"movw %{seg}, %ss:scratch+{_mem16(rng)}"
    else:
        body = f"data16 movw %{seg}, %ss:scratch+{_mem16(rng)}"   # still a 16-bit store
    return [*pre, body, *RESTORE], None


def gen_seg_query(rng: random.Random) -> Template:
    """lar/lsl r16/r32 from a register or memory selector, and verr/verw, ZF random before."""
    op = rng.choice(("lar", "lsl", "verr", "verw"))
    sel = selector(rng, lsl=op == "lsl")
    pre, post = tls_lines(sel, rng)
    src_reg = rng.choice(REG32)
    if rng.random() < 0.5:
        src, fix = f"%{src_reg[1:]}", _set_selector_reg(src_reg, sel)
    else:
        off = _mem16(rng)
        src, fix = f"scratch+{off}", _set_selector_mem(off, sel)
    if op in ("verr", "verw"):
        return [*pre, f"{op} {src}", *post], fix
    if rng.random() < 0.5:
        insn = f"{op}l {f'%{src_reg}' if src.startswith('%') else src}, %{rng.choice(REG32)}"
    else:
        insn = f"{op}w {src}, %{rng.choice(REG16)}"
    return [*pre, insn, *post], fix


FAMILIES: tuple[tuple[Callable[[random.Random], Template], int], ...] = (
    (gen_seg_load, 2),
    (gen_seg_stack, 1),
    (gen_seg_far, 1),
    (gen_seg_read, 1),
    (gen_seg_query, 2),
)
