"""Run flag-free translated IR through the reference interpreter; check x86 semantics worked out by hand."""

from __future__ import annotations

import pytest
from i386asm import assemble_i386

from aotc.frontend.translate import translate_block
from aotc.guest.cpu import (
    EAX,
    EBP,
    EBX,
    ECX,
    EDI,
    EDX,
    ESI,
    ESP,
    GS,
    OFF_DF,
    OFF_EIP,
    REG_OFFSETS,
    SEG_BASE_OFFSETS,
)
from aotc.ir.interp import Exit, run_block

BASE = 0x8049000
REGS = {"eax": EAX, "ecx": ECX, "edx": EDX, "ebx": EBX, "esp": ESP, "ebp": EBP, "esi": ESI, "edi": EDI}


def assemble(src: str) -> bytes:
    """Assemble Intel-syntax i386 code with GNU as and return its .text bytes."""
    return assemble_i386(src)


class Run:
    """The outcome of running one TB: exit, registers by name, memory words."""

    def __init__(self, src: str, regs: dict[str, int] | None = None, mem: dict[int, bytes] | None = None,
                 state: dict[int, int] | None = None) -> None:
        code = assemble(src)
        fetch = lambda a, n: code[a - BASE:a - BASE + n] if 0 <= a - BASE < len(code) else b""  # noqa: E731
        tb = translate_block(fetch, BASE)
        st = dict(state or {})
        st.update({REG_OFFSETS[REGS[r]]: v for r, v in (regs or {}).items()})
        memory = {a + i: byte for a, data in (mem or {}).items() for i, byte in enumerate(data)}
        self.exit, self.state, self.memory = run_block(tb.block, st, memory)

    def __getitem__(self, reg: str) -> int:
        return self.state.get(REG_OFFSETS[REGS[reg]], 0)

    def word(self, addr: int, size: int = 4) -> int:
        return int.from_bytes(bytes(self.memory[addr + i] for i in range(size)), "little")


def w(v: int) -> bytes:
    return v.to_bytes(4, "little")


STACK = {0xFF0: bytes(64)}


def test_mov_with_sib_addressing():
    r = Run("mov eax, [ebx+ecx*4+8]\nret", {"ebx": 0x100, "ecx": 2, "esp": 0x1000},
            {0x110: w(0xDEADBEEF), **STACK})
    assert r["eax"] == 0xDEADBEEF


def test_partial_register_reads_and_writes():
    r = Run("mov ah, bl\nmov cx, 0x5566\nmovzx edx, ah\nmovsx esi, cl\nmov al, ch\nret",
            {"eax": 0x11223344, "ebx": 0xAB, "ecx": 0xFFFFFFFF, "esp": 0x1000}, STACK)
    assert r["eax"] == 0x1122AB55
    assert r["ecx"] == 0xFFFF5566
    assert r["edx"] == 0xAB
    assert r["esi"] == 0x66


def test_movsx_from_memory_sign_extends():
    r = Run("movsx eax, byte ptr [ebx]\nmovsx cx, byte ptr [ebx]\nmovzx edx, word ptr [ebx]\nret",
            {"ebx": 0x100, "ecx": 0x12345678, "esp": 0x1000}, {0x100: b"\x80\xff", **STACK})
    assert r["eax"] == 0xFFFFFF80
    assert r["ecx"] == 0x1234FF80
    assert r["edx"] == 0xFF80


def test_push_esp_relative_reads_before_decrement():
    r = Run("push dword ptr [esp+4]\nint 0x80", {"esp": 0x1000}, {0xFF0: bytes(16), 0x1000: w(1) + w(42)})
    assert r["esp"] == 0xFFC and r.word(0xFFC) == 42


def test_pop_to_esp_relative_computes_address_after_increment():
    r = Run("pop dword ptr [esp+4]\nint 0x80", {"esp": 0x1000}, {0x1000: w(7) + w(0) + w(0)})
    assert r["esp"] == 0x1004 and r.word(0x1008) == 7 and r.word(0x1004) == 0


def test_push_imm_and_pop_esp():
    r = Run("push -2\npop esp\nint 0x80", {"esp": 0x1000}, STACK)
    assert r["esp"] == 0xFFFFFFFE


def test_call_pushes_return_address_and_ret_imm_pops():
    r = Run("call 1f\nnop\n1: nop", {"esp": 0x1000}, STACK)
    assert r.exit == Exit("goto_tb", (0, BASE + 6)) and r.word(0xFFC) == BASE + 5 and r["esp"] == 0xFFC
    r = Run("ret 8", {"esp": 0xFF0}, {0xFF0: w(0x1234) + bytes(12)})
    assert r.exit == Exit("lookup_and_goto_ptr", (0x1234,)) and r.state[OFF_EIP] == 0x1234
    assert r["esp"] == 0xFFC


def test_call_indirect_through_esp_reads_target_first():
    r = Run("call dword ptr [esp]", {"esp": 0x1000}, {0xFF0: bytes(16), 0x1000: w(0x4000)})
    assert r.state[OFF_EIP] == 0x4000 and r.word(0xFFC) == BASE + 3


def test_gs_load_adds_segment_base_and_lea_does_not():
    r = Run("mov eax, gs:[0x14]\nlea ecx, gs:[ebx+4]\nret", {"ebx": 0x10, "esp": 0x1000},
            {0x2014: w(0xCAFE), **STACK}, {SEG_BASE_OFFSETS[GS]: 0x2000})
    assert r["eax"] == 0xCAFE and r["ecx"] == 0x14


@pytest.mark.parametrize("df", [0, 1])
def test_rep_movsb_honours_direction(df):
    src, dst = (0x100, 0x200) if df == 0 else (0x103, 0x203)
    r = Run("rep movsb\nret", {"esi": src, "edi": dst, "ecx": 4, "esp": 0x1000},
            {0x100: b"abcd", 0x200: bytes(4), **STACK}, {OFF_DF: df})
    assert bytes(r.memory[0x200 + i] for i in range(4)) == b"abcd"
    step = 4 if df == 0 else -4
    assert (r["esi"], r["edi"], r["ecx"]) == (src + step, dst + step, 0)


def test_rep_with_zero_count_does_nothing():
    r = Run("rep stosd\nret", {"edi": 0x200, "ecx": 0, "eax": 9, "esp": 0x1000}, {0x200: bytes(4), **STACK})
    assert r.word(0x200) == 0 and r["edi"] == 0x200


def test_rep_stosw_and_lodsd():
    r = Run("rep stosw\nlodsd\nret", {"edi": 0x200, "ecx": 3, "eax": 0x1234ABCD, "esi": 0x300, "esp": 0x1000},
            {0x200: bytes(8), 0x300: w(0x55667788), **STACK})
    assert bytes(r.memory[0x200 + i] for i in range(8)) == b"\xcd\xab" * 3 + b"\0\0"
    assert r["edi"] == 0x206 and r["eax"] == 0x55667788 and r["esi"] == 0x304


@pytest.mark.parametrize("src,regs,out", [
    ("div ebx", {"edx": 1, "eax": 5, "ebx": 2}, {"eax": 0x80000002, "edx": 1}),
    ("idiv ebx", {"edx": 0xFFFFFFFF, "eax": 0xFFFFFFF9, "ebx": 2}, {"eax": 0xFFFFFFFD, "edx": 0xFFFFFFFF}),
    ("div bl", {"eax": 0xAA000107, "ebx": 0x10}, {"eax": 0xAA000710}),
    ("div bx", {"eax": 0x10007, "edx": 0x10001, "ebx": 0x10}, {"eax": 0x11000, "edx": 0x10007}),
])
def test_division(src, regs, out):
    r = Run(src + "\nret", {**regs, "esp": 0x1000}, STACK)
    for reg, v in out.items():
        assert r[reg] == v, reg


def test_divide_by_zero_faults():
    r = Run("div ecx\nret", {"eax": 1, "ecx": 0, "esp": 0x1000}, STACK)
    assert r.exit == Exit("divide_error")


@pytest.mark.parametrize("leaf,out", [
    (0, (1, 0x756E6547, 0x6C65746E, 0x49656E69)),
    (0x80000000, (0x80000000, 0, 0, 0)),
])
def test_cpuid_fixed_leaves(leaf, out):
    r = Run("cpuid\nret", {"eax": leaf, "esp": 0x1000}, STACK)
    assert (r["eax"], r["ebx"], r["ecx"], r["edx"]) == out


@pytest.mark.parametrize("leaf", [1, 2, 7])
def test_cpuid_leaf1_features_and_high_leaves(leaf):
    r = Run("cpuid\nret", {"eax": leaf, "esp": 0x1000}, STACK)
    # edx: fpu tsc cx8 cmov mmx fxsr sse sse2; ecx: sse3 (pni) ssse3 — what aotc translates, no more
    assert r["edx"] == (1 << 0) | (1 << 4) | (1 << 8) | (1 << 15) | (1 << 23) | (1 << 24) | (1 << 25) | (
        1 << 26)
    assert r["ecx"] == (1 << 0) | (1 << 9)
    assert (r["eax"] >> 8) & 0xF == 6


def test_pusha_popa_round_trip():
    regs = {"eax": 1, "ecx": 2, "edx": 3, "ebx": 4, "esp": 0x1000, "ebp": 6, "esi": 7, "edi": 8}
    r = Run("pushad\nint 0x80", regs, {0xFE0: bytes(32)})
    assert [r.word(0x1000 - 4 * (i + 1)) for i in range(8)] == [1, 2, 3, 4, 0x1000, 6, 7, 8]
    assert r["esp"] == 0xFE0
    mem = {0xFE0: b"".join(w(v) for v in (18, 17, 16, 99, 14, 13, 12, 11))}
    r = Run("popad\nint 0x80", {"esp": 0xFE0}, mem)
    assert [r[n] for n in ("eax", "ecx", "edx", "ebx", "ebp", "esi", "edi")] == [11, 12, 13, 14, 16, 17, 18]
    assert r["esp"] == 0x1000


def test_enter_and_leave():
    r = Run("enter 0x10, 0\nint 0x80", {"esp": 0x1000, "ebp": 0x2222}, STACK)
    assert r.word(0xFFC) == 0x2222 and r["ebp"] == 0xFFC and r["esp"] == 0xFEC
    r = Run("leave\nint 0x80", {"esp": 0x500, "ebp": 0xFFC}, {0xFFC: w(0x3333)})
    assert r["esp"] == 0x1000 and r["ebp"] == 0x3333


def test_xchg_bswap_and_xlat():
    r = Run("xchg [esi], eax\nbswap ecx\nxlatb\nret",
            {"eax": 0x80000001, "esi": 0x100, "ebx": 0x200, "ecx": 0x11223344, "esp": 0x1000},
            {0x100: w(0x11223344), 0x200: bytes(0x44) + b"\x99", **STACK})
    assert r.word(0x100) == 0x80000001
    assert r["ecx"] == 0x44332211
    assert r["eax"] == 0x11223399


def test_cbw_cwde_cwd():
    r = Run("cbw\ncwde\ncwd\nret", {"eax": 0x12345680, "edx": 0x77777777, "esp": 0x1000}, STACK)
    assert r["eax"] == 0xFFFFFF80 and r["edx"] == 0x7777FFFF


@pytest.mark.parametrize("ecx,taken", [(1, False), (2, True), (0, True)])
def test_loop_decrements_ecx(ecx, taken):
    r = Run("1: loop 1b", {"ecx": ecx})
    assert r["ecx"] == (ecx - 1) & 0xFFFFFFFF
    assert r.exit == Exit("goto_tb", (0, BASE) if taken else (1, BASE + 2))


@pytest.mark.parametrize("ecx,slot", [(0, 0), (5, 1)])
def test_jecxz(ecx, slot):
    r = Run("jecxz 1f\nnop\n1: nop", {"ecx": ecx})
    assert r.exit.args[0] == slot


def test_mov_moffs_and_16bit_store():
    r = Run("mov eax, ds:[0x100]\nmov word ptr [0x104], ax\nret", {"esp": 0x1000},
            {0x100: w(0xAABBCCDD) + w(0), **STACK})
    assert r["eax"] == 0xAABBCCDD and r.word(0x104) == 0xCCDD


def test_cmov_from_memory_loads_even_if_not_taken():
    r = Run("cmove eax, [ebx]\nret", {"ebx": 0x5000, "esp": 0x1000}, STACK)
    assert r.exit == Exit("page_fault", (0x5000,))
