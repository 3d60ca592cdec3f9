"""TB structure: boundaries (control transfer, page, max_insns), exits, and the SIGILL/UNSUPPORTED blocks."""

from __future__ import annotations

import pytest
from i386asm import assemble_i386

from aotc.frontend.translate import FetchError, TranslatedBlock, translate_block
from aotc.guest.cpu import (
    OFF_CC,
    OFF_EIP,
    OFF_HELPER,
    OFF_HELPER_NEXT,
    OFF_HELPER_VAL,
    REG_OFFSETS,
    SEG_SEL_OFFSETS,
    ExitReason,
    Far,
    Helper,
    Vector,
)
from aotc.ir.ops import CC_NAMES

BASE = 0x8049000


def assemble(src: str) -> bytes:
    """Assemble Intel-syntax i386 code with GNU as and return its .text bytes."""
    return assemble_i386(src)


def fetcher(code: bytes, base: int = BASE):
    """A fetch callback over code placed at base."""
    def fetch(addr: int, n: int) -> bytes:
        off = addr - base
        return code[off:off + n] if 0 <= off < len(code) else b""
    return fetch


def tb_of(src: str, base: int = BASE, **kw) -> TranslatedBlock:
    return translate_block(fetcher(assemble(src), base), base, **kw)


def names(tb: TranslatedBlock) -> list[str]:
    return [op.name for op in tb.block.ops]


def last(tb: TranslatedBlock):
    return tb.block.ops[-1]


def test_block_ends_after_ret_with_indirect_exit():
    tb = tb_of("mov eax, 1\nret\nnop")
    assert tb.ninsns == 2 and tb.size == 6
    assert [a for a, _, _ in tb.insns] == [BASE, BASE + 5]
    assert tb.insns[1][2] == "ret"
    assert last(tb).name == "lookup_and_goto_ptr"
    eip_store = tb.block.ops[-2]
    assert eip_store.name == "st_state" and eip_store.args["off"] == OFF_EIP


def test_each_instruction_starts_with_insn_start():
    tb = tb_of("mov eax, 1\nadd eax, ebx\nret")
    starts = [op.args["pc"] for op in tb.block.ops if op.name == "insn_start"]
    assert starts == [BASE, BASE + 5, BASE + 7]
    assert tb.block.ops[0].name == "insn_start"


def test_direct_jmp_and_call_use_goto_tb():
    tb = tb_of("jmp 1f\nnop\nnop\n1: nop")
    assert last(tb).name == "goto_tb" and last(tb).args == {"slot": 0, "pc": BASE + 4}
    tb = tb_of("call 1f\nnop\n1: nop")
    assert last(tb).args == {"slot": 0, "pc": BASE + 6}
    stores = [op for op in tb.block.ops if op.name == "st"]
    assert stores and stores[0].ins[0] == BASE + 5  # the return address


def test_jcc_branches_to_slot0_taken_slot1_fallthrough():
    tb = tb_of("cmp eax, ebx\njl 1f\nnop\n1: ret")
    ops = tb.block.ops
    brcc = next(op for op in ops if op.name == "brcc")
    assert brcc.args["cc"] == CC_NAMES.index("l")
    assert brcc.ins[0] in [op.outs[0] for op in ops if op.name == "ld_state" and op.args["off"] == OFF_CC]
    gotos = [op.args for op in ops if op.name == "goto_tb"]
    assert {"slot": 0, "pc": BASE + 5} in gotos and {"slot": 1, "pc": BASE + 4} in gotos
    label_pos = next(i for i, op in enumerate(ops) if op.name == "label")
    assert ops[label_pos + 1].args == {"slot": 0, "pc": BASE + 5}


def test_max_insns_ends_with_goto_next():
    tb = tb_of("nop\n" * 10, max_insns=3)
    assert tb.ninsns == 3 and tb.size == 3
    assert last(tb).name == "goto_tb" and last(tb).args == {"slot": 0, "pc": BASE + 3}


def test_page_boundary_insn_may_cross_but_not_start_on_next_page():
    base = 0x8049FFC
    tb = translate_block(fetcher(assemble("nop\nnop\nmov eax, 0x12345678\nnop"), base), base)
    assert tb.ninsns == 3 and tb.size == 7  # the mov starts at ...ffe and crosses into the next page
    assert last(tb).args == {"slot": 0, "pc": 0x804A003}
    base = 0x8049FFE
    tb = translate_block(fetcher(assemble("nop\nnop\nnop"), base), base)
    assert tb.ninsns == 2 and last(tb).args["pc"] == 0x804A000


@pytest.mark.parametrize("src,reason", [
    ("ud2", ExitReason.SIGILL),
    (".byte 0xfe, 0xff", ExitReason.SIGILL),
    ("pminsd xmm0, xmm1", ExitReason.UNSUPPORTED),       # SSE4.1: not offered, not translated
    ("crc32 eax, ebx", ExitReason.UNSUPPORTED),          # SSE4.2
    ("vaddps xmm0, xmm1, xmm2", ExitReason.UNSUPPORTED),  # AVX
    (".byte 0xf0, 0x0f, 0x58, 0xc1", ExitReason.SIGILL),  # lock addps: #UD
    (".byte 0x0f, 0x71, 0xc0, 1", ExitReason.SIGILL),     # no shift in 0f 71 /0
    (".byte 0x0f, 0xd7, 0x00", ExitReason.SIGILL),        # pmovmskb takes registers only
    (".byte 0x0f, 0x13, 0xc1", ExitReason.SIGILL),        # movlps stores to memory only
])
def test_first_insn_invalid_or_unsupported(src, reason):
    tb = tb_of(src)
    assert names(tb) == ["insn_start", "st_state", "exit_tb"]
    assert tb.block.ops[1].ins[0] == BASE and tb.block.ops[1].args["off"] == OFF_EIP
    assert last(tb).args["reason"] == reason
    assert tb.ninsns == 1 and tb.size >= 1


@pytest.mark.parametrize("bad", ["ud2", "pminsd xmm0, xmm1", ".byte 0xfe, 0xff", ".byte 0x0f, 0x13, 0xc1"])
def test_later_bad_insn_ends_tb_before_it(bad):
    tb = tb_of("mov eax, 1\nmov ebx, 2\n" + bad)
    assert tb.ninsns == 2 and tb.size == 10
    assert last(tb).name == "goto_tb" and last(tb).args == {"slot": 0, "pc": BASE + 10}
    assert "exit_tb" not in names(tb)


def test_fetch_error_when_nothing_fetchable():
    with pytest.raises(FetchError) as e:
        translate_block(lambda a, n: b"", 0x1000)
    assert e.value.pc == 0x1000


def test_fetch_error_when_first_insn_is_cut_off():
    code = assemble("mov eax, 0x12345678")
    with pytest.raises(FetchError):
        translate_block(fetcher(code[:3]), BASE)


def test_cut_off_later_insn_ends_tb_before_it():
    code = assemble("nop\nmov eax, 0x12345678")
    tb = translate_block(fetcher(code[:3]), BASE)
    assert tb.ninsns == 1 and last(tb).args == {"slot": 0, "pc": BASE + 1}


@pytest.mark.parametrize("src,reason,eip_off", [
    ("int 0x80", ExitReason.SYSCALL, 2),
])
def test_syscall_exits(src, reason, eip_off):
    tb = tb_of(src + "\nnop")
    assert tb.ninsns == 1
    assert last(tb).args["reason"] == reason
    eip = tb.block.ops[-2]
    assert eip.args["off"] == OFF_EIP and eip.ins[0] == BASE + eip_off


@pytest.mark.parametrize("src,vector,err,eip_off", [
    ("int3", Vector.BP, 0, 1),                    # traps: eip after the instruction
    (".byte 0xcd, 0x03", Vector.BP, 0, 2),
    ("int 4", Vector.OF, 0, 2),
    ("int 0x21", Vector.GP, 0x21 << 3 | 2, 0),    # faults: eip at it
    ("int 1", Vector.GP, 1 << 3 | 2, 0),
    (".byte 0xf1", Vector.DB, 0, 0),               # icebp: the kernel reports it at the instruction
    ("hlt", Vector.GP, 0, 0),
    ("cli", Vector.GP, 0, 0),
    ("in al, dx", Vector.GP, 0, 0),
    ("mov eax, cr0", Vector.GP, 0, 0),
    ("rdmsr", Vector.GP, 0, 0),
])
def test_trapping_instructions_exit(src, vector, err, eip_off):
    tb = tb_of(src + "\nnop")
    assert tb.ninsns == 1
    assert last(tb).args["reason"] == ExitReason.TRAP
    stores = {op.args["off"]: op.ins[0] for op in tb.block.ops if op.name == "st_state"}
    assert stores[OFF_HELPER] == vector | err << 8
    assert stores[OFF_EIP] == BASE + eip_off


def test_mov_to_gs_exits_to_helper_with_the_selector():
    tb = tb_of("mov gs, ax\nnop")
    assert tb.ninsns == 1 and last(tb).args["reason"] == ExitReason.HELPER
    stores = {op.args["off"]: op.ins[0] for op in tb.block.ops if op.name == "st_state"}
    assert stores[OFF_EIP] == BASE                  # a bad selector faults at the instruction
    assert stores[OFF_HELPER_NEXT] == BASE + tb.size
    assert SEG_SEL_OFFSETS[5] not in stores         # Python loads the register once the checks pass


@pytest.mark.parametrize("src,kind,selector,value", [
    ("ljmp 0xf:0x12345678", Far.JMP, 0xF, 0x12345678),
    ("lcall 0x2b:0x1000", Far.CALL, 0x2B, 0x1000),
    ("retf 8", Far.RET, 0, 8),
    ("iretd", Far.IRET, 0, 0),
])
def test_far_transfers_exit_to_helper(src, kind, selector, value):
    tb = tb_of(src + "\nnop")
    assert tb.ninsns == 1 and last(tb).args["reason"] == ExitReason.HELPER
    stores = {op.args["off"]: op.ins[0] for op in tb.block.ops if op.name == "st_state"}
    assert stores[OFF_HELPER] == Helper.FAR | kind << 8 | selector << 16
    assert stores[OFF_HELPER_VAL] == value and stores[OFF_EIP] == BASE
    assert stores[OFF_HELPER_NEXT] == BASE + tb.size


def test_mov_to_cs_is_sigill():
    tb = tb_of(".byte 0x8e, 0xc8")
    assert last(tb).args["reason"] == ExitReason.SIGILL


@pytest.mark.parametrize("src,opname", [
    ("add eax, ebx", "add_cc"), ("adc eax, ebx", "adc_cc"), ("sub eax, ebx", "sub_cc"),
    ("sbb eax, ebx", "sbb_cc"), ("and eax, ebx", "and_cc"), ("or eax, ebx", "or_cc"),
    ("xor eax, ebx", "xor_cc"), ("cmp eax, ebx", "sub_cc"), ("test eax, ebx", "and_cc"),
    ("inc eax", "inc_cc"), ("dec eax", "dec_cc"), ("neg eax", "neg_cc"), ("shl eax, 3", "shl_cc"),
    ("sar eax, cl", "sar_cc"), ("rol eax, 1", "rol_cc"), ("rcr eax, cl", "rcr_cc"),
    ("imul eax, ebx", "imul2_cc"), ("imul eax, ebx, 7", "imul2_cc"), ("mul ebx", "mul_cc"),
    ("imul ebx", "imul_cc"), ("bsf eax, ebx", "bsf_cc"), ("bsr eax, ebx", "bsr_cc"),
    ("bt eax, ebx", "bt_cc"), ("bts eax, 3", "bts_cc"), ("shld eax, ebx, 4", "shld_cc"),
    ("shrd eax, ebx, cl", "shrd_cc"), ("cmpxchg [ecx], ebx", "sub_cc"), ("xadd [ecx], ebx", "add_cc"),
])
def test_flag_setting_instructions_use_matching_cc_op_and_store_flags(src, opname):
    tb = tb_of(src + "\nret")
    ops = tb.block.ops
    cc_op = next(op for op in ops if op.name.endswith("_cc") and op.name != "cc_to_eflags")
    assert cc_op.name == opname
    assert cc_op.args["w"] == 32
    flag_stores = [op for op in ops if op.name == "st_state" and op.args["off"] == OFF_CC]
    assert flag_stores and flag_stores[0].ins[0] == cc_op.outs[-1]


@pytest.mark.parametrize("src,w", [("add al, bl", 8), ("add ax, bx", 16), ("add byte ptr [eax], 1", 8),
                                   ("cmp word ptr [eax], 5", 16), ("sub ah, 1", 8)])
def test_operand_width_reaches_cc_op(src, w):
    tb = tb_of(src + "\nret")
    cc_op = next(op for op in tb.block.ops if op.name.endswith("_cc"))
    assert cc_op.args["w"] == w


def test_cmp_and_test_do_not_write_operands():
    for src in ("cmp eax, ebx", "test eax, ebx", "cmp dword ptr [eax], 3"):
        tb = tb_of(src + "\nret")
        body = tb.block.ops[:next(i for i, op in enumerate(tb.block.ops) if op.args.get("pc") == BASE + 2
                                  or (op.name == "insn_start" and op.args["pc"] != BASE))]
        assert not [op for op in body if op.name == "st"]
        assert [op.args["off"] for op in body if op.name == "st_state"] == [OFF_CC]


def test_inc_and_variable_shifts_take_incoming_flags():
    for src in ("inc eax", "shl eax, cl", "adc eax, 1"):
        ops = tb_of(src + "\nret").block.ops
        cc_load = next(op.outs[0] for op in ops if op.name == "ld_state" and op.args["off"] == OFF_CC)
        cc_op = next(op for op in ops if op.name.endswith("_cc"))
        assert cc_load in cc_op.ins


def test_constant_shift_needs_no_incoming_flags_and_zero_shift_is_nothing():
    ops = tb_of("shr eax, 4\nret").block.ops
    assert next(op for op in ops if op.name == "shr_cc").ins[2] is None
    ops = tb_of(".byte 0xc1, 0xe0, 0x20\nret").block.ops  # shl eax, 32: masked count 0
    first = ops[:next(i for i, op in enumerate(ops) if i and op.name == "insn_start")]
    assert [op.name for op in first] == ["insn_start"]


def test_setcc_and_cmov_use_x86_condition_numbers():
    ops = tb_of("setbe al\ncmovg eax, ebx\nret").block.ops
    assert [op.args["cc"] for op in ops if op.name == "setcc"] == [CC_NAMES.index("be"), CC_NAMES.index("g")]


def test_writes_to_partial_registers_deposit():
    ops = tb_of("mov ah, 5\nret").block.ops
    dep = next(op for op in ops if op.name == "deposit")
    assert dep.args == {"pos": 8, "len": 8} and dep.ins[1] == 5
    st = next(op for op in ops if op.name == "st_state")
    assert st.args["off"] == REG_OFFSETS[0] and st.ins[0] == dep.outs[0]


def test_lock_and_rep_ret_prefixes_are_ignored():
    tb = tb_of("lock add dword ptr [eax], 1\nrep ret")
    assert tb.ninsns == 2 and last(tb).name == "lookup_and_goto_ptr"


def test_rep_movs_is_a_loop_inside_the_tb():
    tb = tb_of("rep movsd\nret")
    ops = tb.block.ops
    labels = [i for i, op in enumerate(ops) if op.name == "label"]
    back = [op for op in ops if op.name == "brcond" and op.args["label"] == ops[labels[0]].args["label"]]
    assert len(labels) == 2 and back, "expected a backward brcond to the loop head"
    assert tb.ninsns == 2


@pytest.mark.parametrize("after, dead", [
    ("add ecx, 1", True),            # both successors overwrite every flag first
    ("mov ecx, 2\nsub ecx, 1", True),
    ("adc ecx, 1", False),           # reads CF
    ("inc ecx", False),              # keeps CF: the old flags survive it
    ("shl ecx, cl", False),          # a zero count keeps them all
    ("jmp 0", False),                # leaves before writing them
])
def test_flags_are_dead_at_exit_only_when_every_successor_overwrites_them_first(after: str, dead: bool):
    tb = tb_of(f"cmp eax, ebx\nje 1f\n{after}\n1: {after}")
    assert (tb.block.dead_at_exit == frozenset({OFF_CC})) is dead


def test_flags_stay_live_after_an_indirect_exit():
    assert tb_of("cmp eax, ebx\nret").block.dead_at_exit == frozenset()
