"""The guest's x87, MMX and SSE state as Python sees it: the 512-byte fxsave image in `CPUState.fpu`.

Generated code keeps the state in the host's own FPU while it runs; the prologue loads the image
(fxrstor) and the epilogue stores it back (fxsave), so Python reads and writes it here. Layout (Intel SDM
vol. 1, table 10-2, 32-bit format): FCW @0, FSW @2, abridged FTW @4, FOP @6, FIP @8, FCS @12, FDP @16,
FDS @20, MXCSR @24, MXCSR_MASK @28, st0..st7 (or mm0..mm7) @32 in 16-byte slots, xmm0..xmm7 @160.
"""

from __future__ import annotations

import ctypes
import struct

from aotc.guest.cpu import FCW_INIT, MXCSR_INIT, CPUState

FXSAVE_SIZE = 512
OFF_FCW, OFF_FSW, OFF_FTW, OFF_FOP = 0, 2, 4, 6
OFF_FIP, OFF_FCS, OFF_FDP, OFF_FDS = 8, 12, 16, 20
OFF_MXCSR, OFF_MXCSR_MASK = 24, 28
OFF_ST, OFF_XMM = 32, 160
ST_SLOT = XMM_SLOT = 16
XMM_REGS = 8                  # an i386 guest has xmm0..xmm7

MXCSR_MASK_DEFAULT = 0xFFBF   # the bits fxrstor/ldmxcsr accept when the CPU reports a mask of 0
U16 = struct.Struct("<H")
U32 = struct.Struct("<I")


def image(cpu: CPUState) -> bytes:
    """The current fxsave image."""
    return bytes(cpu.fpu)


def load_image(cpu: CPUState, data: bytes) -> None:
    """Replace the whole fxsave image (512 bytes)."""
    if len(data) != FXSAVE_SIZE:
        raise ValueError(f"an fxsave image is {FXSAVE_SIZE} bytes, got {len(data)}")
    ctypes.memmove(cpu.fpu, data, FXSAVE_SIZE)


def initial_image() -> bytes:
    """The FP state a program starts with and a signal handler is entered with on Linux: empty x87
    stack, FCW 0x37f, MXCSR 0x1f80, every data register zero."""
    out = bytearray(FXSAVE_SIZE)
    U16.pack_into(out, OFF_FCW, FCW_INIT)
    U32.pack_into(out, OFF_MXCSR, MXCSR_INIT)
    return bytes(out)


def reset(cpu: CPUState) -> None:
    """Give the guest the initial FP state."""
    load_image(cpu, initial_image())


def mxcsr(cpu: CPUState) -> int:
    """The guest's MXCSR."""
    return U32.unpack_from(cpu.fpu, OFF_MXCSR)[0]


def fcw(cpu: CPUState) -> int:
    """The guest's x87 control word."""
    return U16.unpack_from(cpu.fpu, OFF_FCW)[0]


def fsw(cpu: CPUState) -> int:
    """The guest's x87 status word."""
    return U16.unpack_from(cpu.fpu, OFF_FSW)[0]

