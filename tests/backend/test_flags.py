"""The flags-value encoding: Python conversions and the host restore/capture sequences agree."""

from __future__ import annotations

import ctypes
import itertools

import pytest

from aotc.backend.asm import RAX, RDI, Asm
from aotc.backend.flags import ARITH_EFLAGS, RESTORE_BIAS, cc_from_eflags, eflags_from_cc
from aotc.exec.codebuf import CodeBuffer

FLAG_BITS = (0x1, 0x4, 0x10, 0x40, 0x80, 0x800)
ALL_COMBOS = [sum(c) for n in range(7) for c in itertools.combinations(FLAG_BITS, n)]
FN = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_uint64)


@pytest.fixture(scope="module")
def host() -> dict[str, object]:
    """Two native functions: restore a flags value and return rflags; set rflags and capture a value."""
    buf = CodeBuffer(1 << 16)
    restore = Asm()
    restore.mov(32, RAX, RDI)
    restore.add(8, RAX, RESTORE_BIAS)
    restore.sahf()
    restore.pushfq()
    restore.pop(RAX)
    restore.ret()
    capture = Asm()
    capture.push(RDI)
    capture.popfq()
    capture.lahf()
    capture.setcc(0, RAX)
    capture.movzx(32, 16, RAX, RAX)
    capture.ret()
    return {"buf": buf, "restore": FN(buf.append(restore.code())), "capture": FN(buf.append(capture.code()))}


def test_sixty_four_distinct_combinations() -> None:
    assert len(set(ALL_COMBOS)) == 64


@pytest.mark.parametrize("eflags", ALL_COMBOS)
def test_round_trip_from_eflags(eflags: int) -> None:
    assert eflags_from_cc(cc_from_eflags(eflags)) == eflags


@pytest.mark.parametrize("eflags", ALL_COMBOS)
def test_other_eflags_bits_are_ignored(eflags: int) -> None:
    noisy = eflags | 0x2 | 0x200 | 0x400 | 0x100 | 0x40000 | 0x200000 | 0x8 | 0x20
    assert cc_from_eflags(noisy) == cc_from_eflags(eflags)
    assert eflags_from_cc(cc_from_eflags(noisy)) & ~ARITH_EFLAGS == 0


@pytest.mark.parametrize("eflags", ALL_COMBOS)
def test_host_restore_sets_exactly_those_flags(host, eflags: int) -> None:
    rflags = host["restore"](cc_from_eflags(eflags))
    assert rflags & ARITH_EFLAGS == eflags


@pytest.mark.parametrize("eflags", ALL_COMBOS)
def test_host_capture_gives_the_python_encoding(host, eflags: int) -> None:
    cc = host["capture"](eflags | 0x2)
    assert cc == cc_from_eflags(eflags)
    assert eflags_from_cc(cc) == eflags


def test_known_values() -> None:
    assert eflags_from_cc(0x0001) == 0x800
    assert eflags_from_cc(0x4600) == 0x44
    assert cc_from_eflags(0x8D5) == 0xD701
