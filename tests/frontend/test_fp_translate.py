"""How FP/SIMD instructions reach the IR: one `fp*` op carrying the instruction, its memory operand as
a guest address, its general-register and flags operands as temps."""

from __future__ import annotations

import pytest
from test_translate import names, tb_of

from aotc.guest.cpu import GS, OFF_CC, REG_OFFSETS, SEG_BASE_OFFSETS
from aotc.ir.fpinsn import GPR_AX, GPR_EDI, GPR_NONE, GPR_REG, GPR_RM


def fp_ops(src: str) -> list:
    return [op for op in tb_of(src + "\nret").block.ops if op.name.startswith("fp")]


def body(src: str) -> list[str]:
    """The op names of the first instruction, without its insn_start."""
    ops = tb_of(src + "\nret").block.ops
    end = next(i for i, op in enumerate(ops[1:], 1) if op.name == "insn_start")
    return [op.name for op in ops[1:end]]


@pytest.mark.parametrize("src,op,gpr", [
    ("addsd xmm0, xmm1", "fp", GPR_NONE),
    ("addsd xmm0, qword ptr [eax + ebx*4 + 8]", "fp", GPR_NONE),
    ("fld qword ptr [esp + 4]", "fp", GPR_NONE),
    ("fnstsw ax", "fp_out", GPR_AX),
    ("cvttsd2si ecx, xmm2", "fp_out", GPR_REG),
    ("movd edx, xmm3", "fp_out", GPR_RM),
    ("pmovmskb esi, xmm1", "fp_out", GPR_REG),
    ("cvtsi2sd xmm0, ecx", "fp_in", GPR_RM),
    ("movnti dword ptr [edi], eax", "fp_in", GPR_REG),
    ("maskmovdqu xmm0, xmm1", "fp", GPR_EDI),
    ("comisd xmm0, xmm1", "fp_cc", GPR_NONE),
    ("fucomip st, st(1)", "fp_cc", GPR_NONE),
    ("fcmovb st, st(2)", "fp_fi", GPR_NONE),
])
def test_each_kind_of_operand(src: str, op: str, gpr: str) -> None:
    (found,) = fp_ops(src)
    assert found.name == op and found.args["insn"].gpr == gpr


def test_memory_operand_is_the_guest_address_with_the_gs_base() -> None:
    ops = tb_of("movsd xmm0, qword ptr gs:[eax + 0x10]\nret").block.ops
    loads = [op.args["off"] for op in ops if op.name == "ld_state"]
    assert SEG_BASE_OFFSETS[GS] in loads and REG_OFFSETS[0] in loads
    (fp,) = [op for op in ops if op.name == "fp"]
    assert fp.ins[0] is not None and fp.args["insn"].memory


def test_flags_in_and_out_go_through_the_cc_field() -> None:
    assert body("comiss xmm0, xmm1")[-1:] == ["st_state"]
    assert "ld_state" in body("fcmove st, st(1)")
    ops = tb_of("ucomisd xmm0, xmm1\nret").block.ops
    assert any(op.name == "st_state" and op.args["off"] == OFF_CC for op in ops)


def test_fnstsw_ax_writes_only_ax() -> None:
    assert body("fnstsw ax") == ["fp_out", "ld_state", "deposit", "st_state"]


def test_register_forms_carry_no_address() -> None:
    (fp,) = fp_ops("pshufb xmm1, xmm2")
    assert fp.ins == [None] and fp.args["insn"].rm == 2 and not fp.args["insn"].memory


def test_fp_ops_keep_host_flags_or_say_so() -> None:
    from aotc.ir.ops import CAN_FAULT, KEEPS_FLAGS, OPS
    assert all(OPS[n].flags & CAN_FAULT for n in ("fp", "fp_in", "fp_out", "fp_cc", "fp_fi"))
    assert all(OPS[n].flags & KEEPS_FLAGS for n in ("fp", "fp_in", "fp_out"))
    assert not OPS["fp_cc"].flags & KEEPS_FLAGS and not OPS["fp_fi"].flags & KEEPS_FLAGS


def test_a_block_runs_on_through_fp_code() -> None:
    tb = tb_of("fld1\nfadd st, st(0)\nfstp qword ptr [esp]\nmovsd xmm0, qword ptr [esp]\nret")
    assert tb.ninsns == 5 and names(tb).count("fp") == 4
