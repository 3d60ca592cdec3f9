"""Every form of our x86-64 assembler, byte for byte against GNU `as --64`, plus labels and errors.

Each case pairs a call on `Asm` with the Intel-syntax instruction it must encode; all cases are
assembled by one `as` run, each behind its own symbol, and the bytes between symbols are compared.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from collections.abc import Callable, Iterator

import pytest
from elftools.elf.elffile import ELFFile

from aotc.backend.asm import (
    CC_NAMES,
    R8,
    R9,
    R10,
    R11,
    R12,
    R13,
    R14,
    R15,
    RAX,
    RBP,
    RBX,
    RCX,
    RDI,
    RDX,
    RSI,
    RSP,
    Asm,
    AsmError,
    Mem,
)
from aotc.exec.codebuf import CodeBuffer

Case = tuple[Callable[[Asm], None], str]

_N64 = ["rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi"] + [f"r{i}" for i in range(8, 16)]
_N32 = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"] + [f"r{i}d" for i in range(8, 16)]
_N16 = ["ax", "cx", "dx", "bx", "sp", "bp", "si", "di"] + [f"r{i}w" for i in range(8, 16)]
_N8 = ["al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil"] + [f"r{i}b" for i in range(8, 16)]
NAMES = {8: _N8, 16: _N16, 32: _N32, 64: _N64}
PTR = {8: "byte", 16: "word", 32: "dword", 64: "qword"}
WIDTHS = (8, 16, 32, 64)

REGS_BY_W = {
    8: (RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R12, R15),
    16: (RAX, RCX, RSP, RBP, R9, R13),
    32: (RAX, RCX, RDX, RSP, RBP, RDI, R8, R12, R13, R15),
    64: (RAX, RCX, RBX, RSP, RBP, RSI, R8, R11, R12, R13, R15),
}
MEMS = (
    Mem(RAX), Mem(RSP), Mem(RBP), Mem(R12), Mem(R13), Mem(RCX, disp=127), Mem(RDX, disp=-128),
    Mem(RSI, disp=128), Mem(RDI, disp=-129), Mem(R15, disp=0x7FFFFFFF), Mem(R11, disp=-0x80000000),
    Mem(RAX, RCX, 4, 8), Mem(RSP, RBP, 2, -4), Mem(RBP, R13, 8), Mem(R12, R9, 1, 1000),
    Mem(R13, RAX, 1), Mem(R14, R12, 8, -0x12345), Mem(RBX, R15, 2, 0x7FFFFFFF),
    Mem(None, disp=0x1234), Mem(None, RCX, 2, 8), Mem(None, R10, 8, -8),
)
FEW_MEMS = (Mem(RSP), Mem(R13, disp=-8), Mem(RAX, R12, 8, 0x1000), Mem(None, disp=0x40))
IMMS = {
    8: (0, 1, 127, -128, 255, -1),
    16: (1, 127, 128, -128, -129, 0x7FFF, -0x8000, 0xFFFF),
    32: (0, 1, 127, 128, -128, -129, 0x7FFFFFFF, -0x80000000, 0xFFFFFFFF, 0x80000000),
    64: (1, 127, 128, -128, -129, 0x7FFFFFFF, -0x80000000, 0xFFFFFFFFFFFFFFFF),
}


def mem_text(m: Mem, w: int | None) -> str:
    """Intel-syntax text of a memory operand, with a size prefix unless w is None."""
    prefix = "" if w is None else f"{PTR[w]} ptr "
    if m.base is None and m.index is None:
        return f"{prefix}ds:{m.disp:#x}"
    parts = ([_N64[m.base]] if m.base is not None else []) + (
        [f"{_N64[m.index]}*{m.scale}"] if m.index is not None else [])
    return f"{prefix}[{'+'.join(parts)}{m.disp:+#x}]"


def txt(x: int | Mem, w: int) -> str:
    """Intel-syntax text of a register (an int) or memory operand at width w."""
    return mem_text(x, w) if isinstance(x, Mem) else NAMES[w][x]


def pairs(regs: tuple[int, ...]) -> Iterator[tuple[int, int]]:
    """Register pairs covering each register in both ModRM positions."""
    yield from zip(regs, regs[1:] + regs[:1], strict=True)
    yield from zip(regs[::-1], regs, strict=True)


def call(method: str, *args: object) -> Callable[[Asm], None]:
    """A case action: call `method` on the assembler with args."""
    return lambda a: getattr(a, method)(*args)


def alu_cases() -> Iterator[Case]:
    for method in ("add", "or_", "adc", "sbb", "and_", "sub", "xor", "cmp"):
        mn = method.rstrip("_")
        for w in WIDTHS:
            regs = REGS_BY_W[w]
            for d, s in pairs(regs):
                yield call(method, w, d, s), f"{mn} {txt(d, w)}, {txt(s, w)}"
            for i, m in enumerate(MEMS):
                r = regs[i % len(regs)]
                yield call(method, w, r, m), f"{mn} {txt(r, w)}, {txt(m, w)}"
                yield call(method, w, m, r), f"{mn} {txt(m, w)}, {txt(r, w)}"
            for i, v in enumerate(IMMS[w]):
                for d in (RAX, regs[1 + i % (len(regs) - 1)], MEMS[i % len(MEMS)]):
                    yield call(method, w, d, v), f"{mn} {txt(d, w)}, {v}"


def flag_test_cases() -> Iterator[Case]:
    for w in WIDTHS:
        regs = REGS_BY_W[w]
        for d, s in pairs(regs):
            yield call("test", w, d, s), f"test {txt(d, w)}, {txt(s, w)}"
        for i, m in enumerate(MEMS):
            r = regs[i % len(regs)]
            yield call("test", w, m, r), f"test {txt(m, w)}, {txt(r, w)}"
            yield call("test", w, r, m), f"test {txt(r, w)}, {txt(m, w)}"
        for i, v in enumerate(IMMS[w]):
            for d in (RAX, regs[1 + i % (len(regs) - 1)], MEMS[i % len(MEMS)]):
                yield call("test", w, d, v), f"test {txt(d, w)}, {v}"


def mov64_imm_text(r: int, v: int) -> str:
    """The shortest exact x86-64 load of v into r: mov r32 (zero-extends), mov r64 imm32, or movabs."""
    s = v - (1 << 64) if v >= 1 << 63 else v
    if 0 <= v < 1 << 32:
        return f"mov {_N32[r]}, {v}"
    if -(1 << 31) <= s < 1 << 31:
        return f"mov {_N64[r]}, {s}"
    return f"movabs {_N64[r]}, {s}"


def mov_cases() -> Iterator[Case]:
    for w in WIDTHS:
        regs = REGS_BY_W[w]
        for d, s in pairs(regs):
            yield call("mov", w, d, s), f"mov {txt(d, w)}, {txt(s, w)}"
        for i, m in enumerate(MEMS):
            r = regs[i % len(regs)]
            yield call("mov", w, r, m), f"mov {txt(r, w)}, {txt(m, w)}"
            yield call("mov", w, m, r), f"mov {txt(m, w)}, {txt(r, w)}"
        for i, v in enumerate(IMMS[w]):
            m = MEMS[i % len(MEMS)]
            yield call("mov", w, m, v), f"mov {txt(m, w)}, {v}"
            if w != 64:
                for r in regs:
                    yield call("mov", w, r, v), f"mov {txt(r, w)}, {v}"
    big = (0, 1, 0xFFFFFFFF, 0x80000000, -1, -0x80000000, 0x7FFFFFFF, 0x123456789, -0x80000001,
           0xFFFFFFFFFFFFFFFF, 1 << 63, 0xFFFFFFFF00000000, 1 << 32)
    for i, v in enumerate(big):
        for r in (RAX, REGS_BY_W[64][i % 11], R15):
            yield call("mov", 64, r, v), mov64_imm_text(r, v)


def extend_cases() -> Iterator[Case]:
    for method in ("movzx", "movsx"):
        for dst_w in (16, 32, 64):
            for src_w in (8, 16):
                if src_w >= dst_w:
                    continue
                for d, s in pairs(REGS_BY_W[8]):
                    yield call(method, dst_w, src_w, d, s), f"{method} {NAMES[dst_w][d]}, {NAMES[src_w][s]}"
                for i, m in enumerate(MEMS):
                    d = REGS_BY_W[64][i % 11]
                    text = f"{method} {NAMES[dst_w][d]}, {mem_text(m, src_w)}"
                    yield call(method, dst_w, src_w, d, m), text


def lea_xchg_cases() -> Iterator[Case]:
    for w in (16, 32, 64):
        for i, m in enumerate(MEMS):
            d = REGS_BY_W[w][i % len(REGS_BY_W[w])]
            yield call("lea", w, d, m), f"lea {NAMES[w][d]}, {mem_text(m, None)}"
    for w in WIDTHS:
        regs = REGS_BY_W[w]
        for d, s in pairs(regs):
            # as emits a bare 90 for xchg rax, rax (and 66 90 for ax); ours is 48 90, just as exact
            if not (d == s == RAX and w != 32):
                yield call("xchg", w, d, s), f"xchg {txt(d, w)}, {txt(s, w)}"
        for r in regs[1:]:
            yield call("xchg", w, RAX, r), f"xchg {txt(RAX, w)}, {txt(r, w)}"
            yield call("xchg", w, r, RAX), f"xchg {txt(r, w)}, {txt(RAX, w)}"
        for i, m in enumerate(FEW_MEMS):
            r = regs[i]
            yield call("xchg", w, m, r), f"xchg {txt(m, w)}, {txt(r, w)}"
            yield call("xchg", w, r, m), f"xchg {txt(r, w)}, {txt(m, w)}"
    yield call("xchg", 32, RAX, RAX), "xchg eax, eax"


def unary_cases() -> Iterator[Case]:
    methods = {"inc": "inc", "dec": "dec", "neg": "neg", "not_": "not", "mul": "mul", "imul1": "imul",
               "div": "div", "idiv": "idiv"}
    for method, mn in methods.items():
        for w in WIDTHS:
            for x in REGS_BY_W[w] + FEW_MEMS:
                yield call(method, w, x), f"{mn} {txt(x, w)}"


def imul_cases() -> Iterator[Case]:
    for w in (16, 32, 64):
        regs = REGS_BY_W[w]
        for d, s in pairs(regs):
            yield call("imul", w, d, s), f"imul {NAMES[w][d]}, {NAMES[w][s]}"
        for i, m in enumerate(MEMS):
            d = regs[i % len(regs)]
            yield call("imul", w, d, m), f"imul {NAMES[w][d]}, {mem_text(m, w)}"
        for i, v in enumerate(IMMS[w]):
            d, s = regs[i % len(regs)], regs[(i + 3) % len(regs)]
            for src in (s, FEW_MEMS[i % len(FEW_MEMS)]):
                yield call("imul3", w, d, src, v), f"imul {NAMES[w][d]}, {txt(src, w)}, {v}"


def shift_cases() -> Iterator[Case]:
    for method in ("shl", "shr", "sar", "rol", "ror", "rcl", "rcr"):
        for w in WIDTHS:
            for i, x in enumerate(REGS_BY_W[w] + FEW_MEMS):
                for count in (1, RCX, (0, 2, 7, 31, 255)[i % 5]):
                    ctext = "cl" if count is RCX else str(count)
                    yield call(method, w, x, count), f"{method} {txt(x, w)}, {ctext}"
    for method in ("shld", "shrd"):
        for w in (16, 32, 64):
            regs = REGS_BY_W[w]
            for i, (d, s) in enumerate(pairs(regs)):
                for dst in (d, FEW_MEMS[i % len(FEW_MEMS)]):
                    for count in (RCX, (0, 1, 5, 31, 255)[i % 5]):
                        ctext = "cl" if count is RCX else str(count)
                        text = f"{method} {txt(dst, w)}, {NAMES[w][s]}, {ctext}"
                        yield call(method, w, dst, s, count), text


def bit_cases() -> Iterator[Case]:
    for method in ("bt", "bts", "btr", "btc"):
        for w in (16, 32, 64):
            regs = REGS_BY_W[w]
            for i, (d, s) in enumerate(pairs(regs)):
                for dst in (d, MEMS[i % len(MEMS)]):
                    yield call(method, w, dst, s), f"{method} {txt(dst, w)}, {NAMES[w][s]}"
                    bit = (0, 1, 31, 63, 255)[i % 5]
                    yield call(method, w, dst, bit), f"{method} {txt(dst, w)}, {bit}"
    for method in ("bsf", "bsr"):
        for w in (16, 32, 64):
            regs = REGS_BY_W[w]
            for i, (d, s) in enumerate(pairs(regs)):
                yield call(method, w, d, s), f"{method} {NAMES[w][d]}, {NAMES[w][s]}"
                m = MEMS[i % len(MEMS)]
                yield call(method, w, d, m), f"{method} {NAMES[w][d]}, {mem_text(m, w)}"
    for w in (32, 64):
        for r in range(16):
            yield call("bswap", w, r), f"bswap {NAMES[w][r]}"


def cond_cases() -> Iterator[Case]:
    for cc, name in enumerate(CC_NAMES):
        for i, x in enumerate(REGS_BY_W[8] + FEW_MEMS):
            if i % 4 == cc % 4 or isinstance(x, Mem):
                yield call("setcc", cc, x), f"set{name} {txt(x, 8)}"
        for w in (16, 32, 64):
            regs = REGS_BY_W[w]
            d, s = regs[cc % len(regs)], regs[(cc + 5) % len(regs)]
            yield call("cmovcc", cc, w, d, s), f"cmov{name} {NAMES[w][d]}, {NAMES[w][s]}"
            m = MEMS[cc % len(MEMS)]
            yield call("cmovcc", cc, w, d, m), f"cmov{name} {NAMES[w][d]}, {mem_text(m, w)}"


def misc_cases() -> Iterator[Case]:
    for method in ("jmp", "call"):
        for r in range(16):
            yield call(method, r), f"{method} {_N64[r]}"
        for m in MEMS:
            yield call(method, m), f"{method} {mem_text(m, 64)}"
    for method in ("push", "pop"):
        for r in range(16):
            yield call(method, r), f"{method} {_N64[r]}"
    for method in ("ret", "lahf", "sahf", "cdq", "cqo", "pushfq", "popfq", "rdtsc", "ud2", "syscall", "int3",
                   "nop"):
        yield call(method), method
    yield call("add", 32, 1, 2), "add ecx, 2"  # plain ints: a register where only a register fits


def fpu_state_cases() -> Iterator[Case]:
    sizes = {"fxsave": None, "fxrstor": None, "ldmxcsr": 32, "stmxcsr": 32, "fldcw": 16, "fnstcw": 16}
    for method, w in sizes.items():
        for m in MEMS:
            yield call(method, m), f"{method} {mem_text(m, w)}"
    yield call("fninit"), "fninit"


FAMILIES: dict[str, list[Case]] = {
    gen.__name__: list(gen())
    for gen in (alu_cases, flag_test_cases, mov_cases, extend_cases, lea_xchg_cases, unary_cases,
                imul_cases, shift_cases, bit_cases, cond_cases, misc_cases, fpu_state_cases)
}


@pytest.fixture(scope="module")
def gas_bytes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Assemble every case text with one `as --64` run; map each text to its bytes."""
    if shutil.which("as") is None:
        pytest.skip("GNU as not installed")
    d = tmp_path_factory.mktemp("gas")
    texts = sorted({t for cases in FAMILIES.values() for _, t in cases})
    body = "".join(f"c{i}:\n\t{t}\n" for i, t in enumerate(texts))
    (d / "all.s").write_text(f".intel_syntax noprefix\n.text\n{body}cend:\n")
    subprocess.run(["as", "--64", "-o", str(d / "all.o"), str(d / "all.s")], check=True)
    with open(d / "all.o", "rb") as f:
        elf = ELFFile(f)
        text = elf.get_section_by_name(".text").data()
        syms = {s.name: s["st_value"] for s in elf.get_section_by_name(".symtab").iter_symbols()}
    starts = [syms[f"c{i}"] for i in range(len(texts))] + [syms["cend"]]
    return {t: text[starts[i]:starts[i + 1]] for i, t in enumerate(texts)}


@pytest.mark.parametrize("family", FAMILIES)
def test_matches_gnu_as(family: str, gas_bytes: dict[str, bytes]) -> None:
    wrong = []
    for action, text in FAMILIES[family]:
        a = Asm()
        action(a)
        ours = a.code()
        if ours != gas_bytes[text]:
            wrong.append(f"{text}: ours {ours.hex(' ')}, as {gas_bytes[text].hex(' ')}")
    assert not wrong, "\n".join(wrong)


def test_every_family_has_many_cases() -> None:
    assert all(len(cases) >= 50 for cases in FAMILIES.values())


def test_forward_and_backward_labels() -> None:
    a = Asm()
    top, out = a.label(), a.label()
    a.bind(top)                 # 0
    a.jcc(4, out)               # 0: 0f 84 rel32 -> 6 bytes
    a.nop()                     # 6
    a.jmp(top)                  # 7: e9 rel32 -> 5 bytes, back to 0: -12
    a.jcc(15, top)              # 12: 0f 8f rel32, back to 0: -18
    a.bind(out)                 # 18
    a.jmp(out)                  # 18: e9, to 18: -5
    code = a.code()
    assert code[0:2] == b"\x0f\x84" and int.from_bytes(code[2:6], "little", signed=True) == 12
    assert code[6] == 0x90
    assert code[7] == 0xE9 and int.from_bytes(code[8:12], "little", signed=True) == -12
    assert code[12:14] == b"\x0f\x8f" and int.from_bytes(code[14:18], "little", signed=True) == -18
    assert code[18] == 0xE9 and int.from_bytes(code[19:23], "little", signed=True) == -5
    assert a.pos == 23


def test_lea_rip_matches_gnu_as(tmp_path) -> None:
    """lea reg, [rip + label] for a backward and a forward label, every register."""
    a = Asm()
    back, fwd = a.label(), a.label()
    a.bind(back)
    lines = ["back:"]
    for r, name in enumerate(_N64):
        a.lea_rip(r, back if r % 2 else fwd)
        lines.append(f"lea {name}, [rip + {'back' if r % 2 else 'fwd'}]")
    a.bind(fwd)
    lines.append("fwd:")
    src = tmp_path / "rip.s"
    src.write_text(".intel_syntax noprefix\n.text\n" + "\n".join(lines) + "\n")
    subprocess.run(["as", "--64", "-o", str(tmp_path / "rip.o"), str(src)], check=True)
    with open(tmp_path / "rip.o", "rb") as f:
        text = ELFFile(f).get_section_by_name(".text").data()
    assert a.code() == text


def test_generated_loop_runs_on_the_host() -> None:
    """sum(n, k) = k * (n + (n-1) + ... + 1) + 0x123456789, through labels, imul, movabs and 32-bit ops."""
    a = Asm()
    top, out = a.label(), a.label()
    a.xor(32, RAX, RAX)
    a.bind(top)
    a.test(64, RDI, RDI)
    a.jcc(CC_NAMES.index("e"), out)
    a.add(64, RAX, RDI)
    a.dec(64, RDI)
    a.jmp(top)
    a.bind(out)
    a.imul(64, RAX, RSI)
    a.mov(64, R11, 0x123456789)
    a.add(64, RAX, R11)
    a.ret()
    buf = CodeBuffer(1 << 16)
    fn = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64, ctypes.c_int64)(buf.append(a.code()))
    assert fn(100, 3) == 3 * 5050 + 0x123456789
    assert fn(0, 7) == 0x123456789


def test_unbound_label_raises() -> None:
    a = Asm()
    a.jmp(a.label())
    with pytest.raises(AsmError, match="never bound"):
        a.code()


def test_label_bound_twice_raises() -> None:
    a = Asm()
    lab = a.label()
    a.bind(lab)
    with pytest.raises(AsmError):
        a.bind(lab)


@pytest.mark.parametrize("emit", [
    call("add", 64, RAX, 0x80000000),         # 64-bit ALU immediates are sign-extended imm32
    call("cmp", 64, Mem(RAX), -0x80000001),
    call("mov", 64, Mem(RAX), 0xFFFFFFFF),
    call("add", 32, RAX, 1 << 32),
    call("add", 8, RCX, 256),
    call("mov", 16, RCX, -0x8001),
    call("imul3", 32, RAX, RCX, 1 << 32),
    call("shl", 32, RAX, 256),
    call("shl", 32, RAX, -1),
    call("bt", 32, RAX, 256),
])
def test_immediate_out_of_range_raises(emit: Callable[[Asm], None]) -> None:
    with pytest.raises(ValueError):
        emit(Asm())


@pytest.mark.parametrize("emit", [
    call("add", 32, Mem(RAX), Mem(RCX)),      # no memory-to-memory form
    call("test", 32, RAX, 5.0),
    call("shl", 32, RAX, RDX),                # only CL can hold a shift count
    call("shld", 8, RAX, RCX, 1),
    call("imul", 8, RAX, RCX),
    call("lea", 32, RAX, RCX),
    call("movzx", 32, 32, RAX, RCX),
    call("bswap", 16, RAX),
    call("setcc", 16, RAX),
    call("cmovcc", 3, 8, RAX, RCX),
    call("mov", 32, 16, RAX),                 # a destination is never an immediate: 16 is no register
    call("bt", 8, RAX, 1),
])
def test_unsupported_operands_raise(emit: Callable[[Asm], None]) -> None:
    with pytest.raises(AsmError):
        emit(Asm())


@pytest.mark.parametrize("make", [
    lambda: Mem(RAX, RSP),                     # rsp is not an index
    lambda: Mem(RAX, RCX, 3),
    lambda: Mem(RAX, disp=1 << 31),
    lambda: Mem(16),
])
def test_bad_memory_operands_raise(make: Callable[[], Mem]) -> None:
    with pytest.raises(AsmError):
        make()


def test_register_and_equal_immediate_encode_apart() -> None:
    a = Asm()
    a.add(32, RCX, RDX)        # 01 /r: add ecx, edx
    a.add(32, RCX, 2)          # 83 /0 ib: add ecx, 2 (RDX is register 2)
    a.add(32, RCX, RDX)
    assert a.code() == bytes.fromhex("01d1" "83c102" "01d1")
