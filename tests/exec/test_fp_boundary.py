"""The guest's FP/SIMD state at the code-cache boundary: it lives in CPUState.fpu (fxsave layout)
whenever Python runs, comes back intact on the next entry, and never leaks into Python's own
arithmetic (rounding, exception masks, x87 stack)."""

from __future__ import annotations

import struct

import pytest
from i386asm import assemble_i386
from test_engine import BASE, Guest

from aotc.exec.cpu_loop import CpuLoop
from aotc.guest import fpstate
from aotc.guest.cpu import EAX, EBX, CPUState
from aotc.linux import GuestExit

DATA = BASE + 0x800


@pytest.fixture
def guest_of():
    made: list[Guest] = []

    def make(src: str) -> Guest:
        made.append(Guest(assemble_i386(src, BASE)))
        return made[-1]

    yield make
    for g in made:
        g.close()


# round up, every exception unmasked (SSE and x87), flush-to-zero: the worst state for C code
GUEST_MXCSR = 0x4000 | 0x8000 | 0x003F
GUEST_FCW = 0x0B40           # round up (RC=10), precision 64, every exception unmasked

SETUP = f"""
    ldmxcsr [{DATA:#x}]
    fldcw [{DATA + 4:#x}]
    fld1
    fldpi
    movsd xmm7, [{DATA + 8:#x}]
    movd mm3, [{DATA + 16:#x}]
    int 0x80
.org 0x800
.long {GUEST_MXCSR:#x}
.short {GUEST_FCW:#x}, 0
.double 2.5
.long 0x12345678
"""


def test_python_keeps_its_own_rounding_and_masks_after_the_guest_changed_them(guest_of) -> None:
    g = guest_of(SETUP)
    g.run()
    one, three = float(g.cpu.eip & 1 | 1), 3.0     # not constants the compiler folds
    assert one / three == 0.3333333333333333          # round to nearest, no trap on inexact
    assert (2.0 ** -1074) / 2.0 == 0.0                 # an underflow that would trap when unmasked
    assert fpstate.mxcsr(g.cpu) == GUEST_MXCSR
    assert fpstate.fcw(g.cpu) == GUEST_FCW


def test_the_guest_state_is_saved_in_fxsave_layout(guest_of) -> None:
    g = guest_of(SETUP)
    g.run()
    fsw, ftw = fpstate.fsw(g.cpu), g.cpu.fpu[fpstate.OFF_FTW]
    assert (fsw >> 11) & 7 == 0 and ftw == 0xFF        # an MMX instruction: TOP = 0, every tag valid
    image = fpstate.image(g.cpu)

    def slot(i: int) -> bytes:
        return image[fpstate.OFF_ST + 16 * i:fpstate.OFF_ST + 16 * i + 10]

    assert slot(7) == bytes(7) + b"\x80\xff\x3f"     # fld1 went to physical register 7
    assert slot(6)[-2:] == b"\x00\x40"                # fldpi to 6: exponent of 2 (pi = 1.57 * 2)
    assert slot(3)[:8] == struct.pack("<Q", 0x12345678)  # mm3 is physical register 3
    xmm7 = image[fpstate.OFF_XMM + 7 * 16:fpstate.OFF_XMM + 8 * 16]
    assert struct.unpack_from("<d", xmm7)[0] == 2.5


def test_the_state_comes_back_on_the_next_entry(guest_of) -> None:
    g = guest_of(f"""
    movsd xmm1, [{DATA:#x}]
    mov eax, 20
    int 0x80
    addsd xmm1, xmm1
    cvttsd2si ebx, xmm1
    int 0x80
.org 0x800
.double 10.75
""")
    calls: list[int] = []

    class Twice:
        """The first int 0x80 returns to the guest (Python runs in between), the second ends it."""

        def syscall(self, cpu: CPUState) -> None:
            calls.append(cpu.regs[EAX])
            if len(calls) == 2:
                raise GuestExit(cpu.regs[EBX])
            sum(i / 7 for i in range(1000))       # Python's own FP work between the two runs

        def deliver_pending(self, cpu: CPUState) -> None:
            pass

    with pytest.raises(GuestExit) as done:
        CpuLoop(g.engine, g.cpu, Twice()).run()
    assert done.value.status == 21 and calls == [20, 20]


def test_a_new_cpu_state_holds_the_initial_fp_state() -> None:
    cpu = CPUState()
    assert fpstate.image(cpu) == fpstate.initial_image()
    assert fpstate.fcw(cpu) == 0x037F and fpstate.mxcsr(cpu) == 0x1F80
