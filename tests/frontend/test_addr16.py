"""16-bit addressing (0x67), 16-bit operand-size control transfers and stack forms, and code of a 16-bit
code segment (`default_size=2`), run through the reference IR interpreter against hand-worked x86."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from capstone import x86_const as X
from i386asm import assemble_i386

from aotc.frontend.operands import segment_of
from aotc.frontend.translate import translate_block
from aotc.guest.cpu import (
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
    OFF_DF,
    OFF_EIP,
    REG_OFFSETS,
    SEG_BASE_OFFSETS,
    SS,
)
from aotc.ir.interp import Exit, run_block

BASE = 0x8049000
REGS = {"eax": EAX, "ecx": ECX, "edx": EDX, "ebx": EBX, "esp": ESP, "ebp": EBP, "esi": ESI, "edi": EDI}


class Run:
    """One TB of `src` (Intel syntax; `.code16` for 16-bit code) run by the IR interpreter."""

    def __init__(self, src: str, regs: dict[str, int] | None = None, mem: dict[int, bytes] | None = None,
                 state: dict[int, int] | None = None, base: int = BASE, default_size: int = 4) -> None:
        code = assemble_i386(src)
        fetch = lambda a, n: code[a - base:a - base + n] if 0 <= a - base < len(code) else b""  # noqa: E731
        self.tb = translate_block(fetch, base, default_size=default_size)
        st = dict(state or {})
        st.update({REG_OFFSETS[REGS[r]]: v for r, v in (regs or {}).items()})
        memory = {a + i: byte for a, data in (mem or {}).items() for i, byte in enumerate(data)}
        self.exit, self.state, self.memory = run_block(self.tb.block, st, memory)

    def __getitem__(self, reg: str) -> int:
        return self.state.get(REG_OFFSETS[REGS[reg]], 0)

    def word(self, addr: int, size: int = 4) -> int:
        return int.from_bytes(bytes(self.memory[addr + i] for i in range(size)), "little")


def w(v: int, size: int = 4) -> bytes:
    return v.to_bytes(size, "little")


STACK = {0xF00: bytes(0x200)}
HIGH = 0xABCD0000   # high halves that 16-bit addressing must ignore


@pytest.mark.parametrize("operand,regs,ea", [
    ("[bx+si]", {"ebx": HIGH | 0x1200, "esi": HIGH | 0x0034}, 0x1234),
    ("[bx+di]", {"ebx": HIGH | 0xFFFF, "edi": HIGH | 0x2001}, 0x2000),         # wraps at 64 KiB
    ("[bp+si]", {"ebp": HIGH | 0x8000, "esi": HIGH | 0x9000}, 0x1000),
    ("[bp+di]", {"ebp": HIGH | 0x1000, "edi": HIGH | 0x0100}, 0x1100),
    ("[si]", {"esi": HIGH | 0x3000}, 0x3000),
    ("[di]", {"edi": HIGH | 0x3004}, 0x3004),
    ("[bx]", {"ebx": HIGH | 0x3008}, 0x3008),
    ("[bp+0x10]", {"ebp": HIGH | 0xFFF8}, 0x0008),
    ("[bp-2]", {"ebp": HIGH | 0x1002}, 0x1000),
    ("[bx+si+0x7000]", {"ebx": HIGH | 0xC000, "esi": HIGH | 0x4000}, 0x4000 + 0xC000 + 0x7000 - 0x10000),
    ("[bx-0x1000]", {"ebx": HIGH | 0x0800}, 0xF800),                         # wraps below 0
    ("ds:0x1ffe", {}, 0x1FFE),
])
def test_16bit_effective_addresses_wrap_at_64k(operand, regs, ea):
    ea &= 0xFFFF
    r = Run(f"addr16 mov eax, dword ptr {operand}\naddr16 lea ecx, {operand}\nint 0x80",
            {**regs, "ecx": 0xFFFFFFFF}, {ea: w(0xCAFEF00D)})
    assert r["eax"] == 0xCAFEF00D
    assert r["ecx"] == ea      # lea: the 16-bit offset, zero-extended into ecx


def test_16bit_address_is_wrapped_before_the_segment_base():
    r = Run("addr16 mov al, fs:[bx+si]\nint 0x80", {"ebx": 0xFFFF, "esi": 2, "eax": 0},
            {0x20001: b"\x5a"}, {SEG_BASE_OFFSETS[FS]: 0x20000})
    assert r["eax"] == 0x5A


def test_16bit_stores_and_read_modify_write():
    r = Run("addr16 mov word ptr [bp+di+4], ax\naddr16 not byte ptr [bx]\nint 0x80",
            {"ebp": 0x1FFFE, "edi": 0x70000, "eax": 0x1234, "ebx": 0x44000},
            {0x0002: w(0x1111, 2), 0x4000: b"\x7f"})
    assert r.word(0x0002, 2) == 0x1234 and r.memory[0x4000] == 0x80


def test_bt_register_offset_wraps_with_the_16bit_address():
    r = Run("addr16 bts dword ptr [bx], eax\nint 0x80", {"ebx": 0x0002, "eax": 0xFFFFFFE0 | 5})
    assert r.exit == Exit("page_fault", (0xFFFE,))      # [bx] - 4 wraps to 0xfffe, as the CPU does


def _seg(insn_prefix: int, base: int = 0, string_dst: bool = False) -> int:
    ctx = SimpleNamespace(insn=SimpleNamespace(prefix=[0, insn_prefix, 0, 0]))
    return segment_of(ctx, base, string_dst)


@pytest.mark.parametrize("prefix,base,string_dst,seg", [
    (0, X.X86_REG_EAX, False, DS),
    (0, X.X86_REG_BX, False, DS),
    (0, 0, False, DS),                      # [disp16] / [disp32]
    (0, X.X86_REG_ESP, False, SS),
    (0, X.X86_REG_EBP, False, SS),
    (0, X.X86_REG_BP, False, SS),           # [bp+si], [bp+disp]
    (0x3E, X.X86_REG_BP, False, DS),        # ds: override
    (0x64, X.X86_REG_EBP, False, FS),
    (0x26, X.X86_REG_ESI, False, ES),
    (0, X.X86_REG_EDI, True, ES),           # string destination
    (0x64, X.X86_REG_DI, True, ES),         # no override of the string destination
])
def test_segment_of_an_operand(prefix, base, string_dst, seg):
    assert _seg(prefix, base, string_dst) == seg


@pytest.mark.parametrize("ecx,taken", [(0x10001, False), (0x10000, True), (0x2, True), (0xFFFF0001, False)])
def test_loopw_counts_in_cx(ecx, taken):
    r = Run("1: addr16 loop 1b", {"ecx": ecx})
    assert r["ecx"] == ecx & 0xFFFF0000 | (ecx - 1) & 0xFFFF
    assert r.exit == Exit("goto_tb", (0, BASE) if taken else (1, BASE + 3))


@pytest.mark.parametrize("ecx,slot", [(0x10000, 0), (0, 0), (1, 1), (0xFFFF0001, 1)])
def test_jcxz_tests_cx(ecx, slot):
    r = Run("jcxz 1f\nnop\n1: nop", {"ecx": ecx})
    assert r.exit.args[0] == slot


@pytest.mark.parametrize("df", [0, 1])
def test_rep_movsb_on_si_di_cx_wraps_and_keeps_high_halves(df):
    si, di = (0xFFFE, 0x3000) if df == 0 else (0x0001, 0x3003)
    data = {0xFFFE: b"ab", 0x0000: b"cd", 0x3000: bytes(4)}
    r = Run("addr16 rep movsb\nint 0x80", {"esi": HIGH | si, "edi": HIGH | di, "ecx": 0x50004},
            data, {OFF_DF: df})
    got = bytes(r.memory[0x3000 + i] for i in range(4))
    assert got == b"abcd"
    step = 4 if df == 0 else -4
    assert r["esi"] == HIGH | (si + step) & 0xFFFF and r["edi"] == HIGH | (di + step) & 0xFFFF
    assert r["ecx"] == 0x50000


def test_rep_with_cx_zero_but_ecx_not_does_nothing():
    r = Run("addr16 rep stosd\nint 0x80", {"edi": 0x200, "ecx": 0x30000, "eax": 9}, {0x200: bytes(4)})
    assert r.word(0x200) == 0 and r["edi"] == 0x200 and r["ecx"] == 0x30000


def test_lods_and_scas_forms_use_si_and_es_di():
    r = Run("addr16 lodsw\naddr16 stosw\nint 0x80", {"esi": 0x7000FFFF, "edi": 0x9000FFFF, "eax": 0},
            {0xFFFF: b"\x34\x12\0"})
    assert r["eax"] == 0x1234 and r["esi"] == 0x70000001 and r["edi"] == 0x90000001
    assert r.word(0xFFFF, 2) == 0x1234


def test_xlat_on_ebx_and_on_bx():
    r = Run("xlatb\nmov edx, eax\nmov eax, 3\naddr16 xlatb\nint 0x80", {"ebx": 0x10000 | 0xFFF0, "eax": 5},
            {0x1FFF5: b"\x11", 0xFFF3: b"\x22"})
    assert r["edx"] == 0x11 and r["eax"] == 0x22


def test_pushw_imm_and_popw_memory():
    r = Run("pushw -2\npushw 0x1234\npop word ptr [ebx]\nint 0x80", {"esp": 0x1000, "ebx": 0x2000},
            {**STACK, 0x2000: w(0xAAAAAAAA)})
    assert r["esp"] == 0xFFE and r.word(0xFFE, 2) == 0xFFFE and r.word(0x2000) == 0xAAAA1234


def test_push_word_from_16bit_address():
    r = Run("addr16 push word ptr [bx+si]\nint 0x80", {"esp": 0x1000, "ebx": 0x1FFF0, "esi": 0x20},
            {**STACK, 0x10: w(0x4321, 2)})
    assert r["esp"] == 0xFFE and r.word(0xFFE, 2) == 0x4321


def test_retw_pops_a_16bit_eip():
    r = Run(".byte 0x66, 0xc3", {"esp": 0x1000}, {0x1000: w(0x87654321)})
    assert r.exit == Exit("lookup_and_goto_ptr", (0x4321,)) and r["esp"] == 0x1002
    r = Run(".byte 0x66, 0xc2, 0x06, 0x00", {"esp": 0x1000}, {0x1000: w(0x87654321)})
    assert r.state[OFF_EIP] == 0x4321 and r["esp"] == 0x1008


def test_16bit_call_and_jmp_truncate_eip():
    # 66 e9 rel16 / 66 e8 rel16 at BASE: the new eip is (next + rel16) & 0xffff
    r = Run(".byte 0x66, 0xe9, 0x10, 0x00")
    assert r.exit == Exit("goto_tb", (0, (BASE + 4 + 0x10) & 0xFFFF))
    r = Run(".byte 0x66, 0xe8, 0x00, 0x80", {"esp": 0x1000}, STACK)
    assert r.exit == Exit("goto_tb", (0, (BASE + 4 + 0x8000 - 0x10000) & 0xFFFF))
    assert r["esp"] == 0xFFE and r.word(0xFFE, 2) == (BASE + 4) & 0xFFFF
    r = Run("jmp ax", {"eax": 0x12345678})
    assert r.state[OFF_EIP] == 0x5678
    r = Run("call word ptr [ebx]", {"esp": 0x1000, "ebx": 0x2000}, {**STACK, 0x2000: w(0x9ABCDEF0)})
    assert r.state[OFF_EIP] == 0xDEF0 and r["esp"] == 0xFFE and r.word(0xFFE, 2) == (BASE + 3) & 0xFFFF
    code = bytes((0x66, 0x74, 0x00))                  # je rel8 with 0x66: the taken eip is truncated
    tb = translate_block(lambda a, n: code[a - BASE:a - BASE + n] if a >= BASE else b"", BASE)
    assert {op.args["pc"] for op in tb.block.ops if op.name == "goto_tb"} == {(BASE + 3) & 0xFFFF, BASE + 3}


def test_enterw_and_leavew():
    r = Run("enterw 0x10, 0\nint 0x80", {"esp": 0x1000, "ebp": 0x56782222}, STACK)
    assert r.word(0xFFE, 2) == 0x2222 and r["ebp"] == 0x56780FFE and r["esp"] == 0xFEE
    r = Run("leavew\nint 0x80", {"esp": 0x500, "ebp": 0xFFC}, {0xFFC: w(0x33334444)})
    assert r["esp"] == 0xFFE and r["ebp"] == 0x4444


def test_enter_with_nesting_level_copies_frame_pointers():
    mem = {0xF00: bytes(0x100), 0x1F00: w(0x22222222) + w(0x33333333) + w(0x44444444)}
    r = Run("enter 8, 3\nint 0x80", {"esp": 0x1000, "ebp": 0x1F0C}, mem)
    frame = 0xFFC
    assert [r.word(0x1000 - 4 * i) for i in (1, 2, 3, 4)] == [0x1F0C, 0x44444444, 0x33333333, frame]
    assert r["ebp"] == frame and r["esp"] == 0x1000 - 16 - 8
    r = Run("enterw 8, 2\nint 0x80", {"esp": 0x1000, "ebp": 0x1F0C}, mem)
    assert [r.word(0x1000 - 2 * i, 2) for i in (1, 2, 3)] == [0x1F0C, 0x4444, 0xFFE]
    assert r["ebp"] == 0xFFE and r["esp"] == 0x1000 - 6 - 8


def test_pushaw_popaw():
    regs = {"eax": 0x10001, "ecx": 0x20002, "edx": 0x30003, "ebx": 0x40004, "esp": 0x1000, "ebp": 0x60006,
            "esi": 0x70007, "edi": 0x80008}
    r = Run("pushaw\nint 0x80", regs, STACK)
    assert [r.word(0x1000 - 2 * (i + 1), 2) for i in range(8)] == [1, 2, 3, 4, 0x1000, 6, 7, 8]
    assert r["esp"] == 0xFF0
    mem = {0xFF0: b"".join(w(v, 2) for v in (18, 17, 16, 99, 14, 13, 12, 11))}
    r = Run("popaw\nint 0x80", {**regs, "esp": 0xFF0}, mem)
    assert [r[n] & 0xFFFF for n in ("eax", "ecx", "edx", "ebx", "ebp", "esi", "edi")] == [
        11, 12, 13, 14, 16, 17, 18]
    assert r["eax"] == 0x1000B and r["esp"] == 0x1000


# ---- code of a 16-bit code segment ----

def run16(src: str, regs: dict[str, int] | None = None, mem: dict[int, bytes] | None = None,
          base: int = 0x1000, state: dict[int, int] | None = None) -> Run:
    return Run(".code16\n" + src, regs, mem, state, base=base, default_size=2)


def test_16bit_code_defaults_to_16bit_operands_and_addresses():
    r = run16("mov ax, [bx+si]\nmov ecx, [bx]\nmov edx, [edi]\nint 0x80",
              {"eax": 0x12340000, "edi": 0x12340010, "ebx": 0x10004, "esi": 0x10004, "ecx": 0xFFFFFFFF},
              {0x0008: w(0x5678), 0x0004: w(0x11223344), 0x12340010: w(0x99)})
    assert r["eax"] == 0x12345678 and r["ecx"] == 0x11223344 and r["edx"] == 0x99
    assert [a for a, _, _ in r.tb.insns] == [0x1000, 0x1002, 0x1005, 0x1009]


def test_16bit_code_call_ret_push_are_words():
    r = run16("call 1f\n1: int 0x80", {"esp": 0x1000}, STACK, base=0x2000)
    assert r.exit == Exit("goto_tb", (0, 0x2003)) and r["esp"] == 0xFFE and r.word(0xFFE, 2) == 0x2003
    r = run16("ret", {"esp": 0x1000}, {0x1000: w(0x87654321)})
    assert r.state[OFF_EIP] == 0x4321 and r["esp"] == 0x1002
    r = run16("push 0x1234\ndata32 push 0x56\nint 0x80", {"esp": 0x1000}, STACK)
    assert r["esp"] == 0xFFA and r.word(0xFFA) == 0x56 and r.word(0xFFE, 2) == 0x1234


def test_16bit_code_eip_wraps_at_64k():
    r = run16("nop\nnop\njmp 1f\n.fill 0x20, 1, 0x90\n1: nop", base=0xFFF0)
    assert r.exit == Exit("goto_tb", (0, (0xFFF0 + 4 + 0x20) & 0xFFFF))
    r = run16("nop\nnop", base=0xFFFE)     # the block ends where eip wraps, at a page boundary
    assert r.tb.size == 2 and r.exit == Exit("goto_tb", (0, 0))


def test_16bit_code_loop_and_jcxz_on_cx_and_on_ecx_with_0x67():
    r = run16("1: loop 1b", {"ecx": 0x10001}, base=0x2000)
    assert r["ecx"] == 0x10000 and r.exit == Exit("goto_tb", (1, 0x2002))
    r = run16("1: addr32 loop 1b", {"ecx": 0x10001}, base=0x2000)
    assert r["ecx"] == 0x10000 and r.exit == Exit("goto_tb", (0, 0x2000))
    r = run16("jcxz 1f\nnop\n1: nop", {"ecx": 0x10000}, base=0x2000)
    assert r.exit.args[0] == 0


def test_16bit_code_string_ops_on_si_di_cx():
    r = run16("rep movsw\nint 0x80", {"esi": 0x10100, "edi": 0x20200, "ecx": 0x70002},
              {0x100: b"wxyz", 0x200: bytes(4)}, state={OFF_DF: 0})
    assert bytes(r.memory[0x200 + i] for i in range(4)) == b"wxyz"
    assert (r["esi"], r["edi"], r["ecx"]) == (0x10104, 0x20204, 0x70000)


@pytest.mark.parametrize("src,default_size,base", [
    ("addr16 pshufd xmm1, [bp+di+0x1234], 0x1b\nint 0x80", 4, BASE),
    (".code16\npshufd xmm1, [bp+di+0x1234], 0x1b\nint 0x80", 2, 0x1000),
    (".code16\naddr32 pshufd xmm1, [ebp+edi*4+0x1234], 0x1b\nint 0x80", 2, 0x1000),
])
def test_passthrough_reads_a_16bit_modrm_in_16bit_addressing(src, default_size, base):
    code = assemble_i386(src)
    fetch = lambda a, n: code[a - base:a - base + n] if 0 <= a - base < len(code) else b""  # noqa: E731
    ops = translate_block(fetch, base, default_size=default_size).block.ops
    fp = next(op for op in ops if op.name == "fp")
    assert fp.args["insn"].imm == b"\x1b" and fp.args["insn"].rm is None
