"""The legacy one-byte-map instructions (aotc.frontend.gen_legacy) as IR: every form translates in 32- and
16-bit code, a lock prefix is #UD, aam 0 divides by zero before it changes anything, aam's reciprocal
is exact for every byte and base, and arpl writes memory only when it adjusts, then the flags. What they
compute is checked against the CPU by tests/diff/gen_bcd.py and tests/guests/bcd.c."""

from __future__ import annotations

import pytest

from aotc.frontend.gen_legacy import _reciprocal
from aotc.frontend.translate import EIP_MASK, translate_block
from aotc.guest.cpu import EAX, OFF_CC, REG_OFFSETS, ExitReason
from aotc.ir.core import Block
from aotc.ir.interp import Exit, run_block

BASE = 0x8049000
FORMS = {
    "daa": "27", "das": "2f", "aaa": "37", "aas": "3f", "aam": "d40a", "aam 16": "d410", "aad": "d50a",
    "aad 0": "d500", "aad 255": "d5ff", "salc": "d6", "arpl ax, cx": "63c8", "arpl [eax], cx": "6308",
    "data16 daa": "6627", "data16 arpl [eax], cx": "666308",
}


def translate(code: bytes, default_size: int = 4, max_insns: int = 512) -> Block:
    """The IR of the TB at BASE holding `code`."""
    return translate_block(lambda a, n: code[a - BASE:a - BASE + n], BASE, max_insns=max_insns,
                           default_size=default_size).block


@pytest.mark.parametrize("default_size", [4, 2])
@pytest.mark.parametrize("name", FORMS)
def test_translates(name: str, default_size: int) -> None:
    """Each form becomes IR that goes on to the next instruction (none is refused or #UD)."""
    code = bytes.fromhex(FORMS[name])
    block = translate(code, default_size, max_insns=1)
    end = block.ops[-1]
    assert end.name == "goto_tb", block.ops
    assert end.args["pc"] == (BASE + len(code)) & EIP_MASK[default_size]


@pytest.mark.parametrize("name", ["daa", "aam", "salc", "arpl [eax], cx"])
def test_lock_prefix_is_invalid(name: str) -> None:
    """lock on any of them raises #UD: the TB is a SIGILL exit."""
    end = translate(b"\xf0" + bytes.fromhex(FORMS[name])).ops[-1]
    assert end.name == "exit_tb" and end.args["reason"] == ExitReason.SIGILL


def test_aam_zero_divides_by_zero_first() -> None:
    """aam 0 raises #DE (the host's own divide by zero) with eax and the flags as they were."""
    state = {REG_OFFSETS[EAX]: 0x1234ABCD, OFF_CC: 0x55}
    exit_, after, _ = run_block(translate(bytes.fromhex("d400")), state, {})
    assert exit_ == Exit("divide_error")
    assert after[REG_OFFSETS[EAX]] == 0x1234ABCD and after[OFF_CC] == 0x55


def test_aam_reciprocal_is_exact() -> None:
    """(n * m) >> 16 is n // base for every byte n and every base 1..255."""
    for base in range(1, 256):
        m = _reciprocal(base)
        assert all((n * m) >> 16 == n // base for n in range(256)), base


def test_arpl_writes_only_when_adjusting_then_flags() -> None:
    """arpl [eax], cx: a branch skips the store when nothing adjusts, and the flags are stored after the
    store, so a store faulting on a read-only page leaves them as they were."""
    ops = translate(bytes.fromhex(FORMS["arpl [eax], cx"]), max_insns=1).ops
    names = [op.name for op in ops]
    st = names.index("st")
    flags = max(i for i, op in enumerate(ops) if op.name == "st_state" and op.args["off"] == OFF_CC)
    assert names.index("ld") < names.index("brcond") < st < names.index("label") < flags
    assert ops[st].args["size"] == 2


@pytest.mark.parametrize("name", ["salc", "arpl ax, cx"])
def test_no_flags_but_zf(name: str) -> None:
    """salc writes no flags; arpl's register form stores no guest memory."""
    ops = translate(bytes.fromhex(FORMS[name]), max_insns=1).ops
    writes_cc = any(op.name == "st_state" and op.args["off"] == OFF_CC for op in ops)
    assert writes_cc == (name != "salc")
    assert not any(op.name == "st" for op in ops)
