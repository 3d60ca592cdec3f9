"""The FP state in an i386 signal frame, as Linux's ia32 signal code writes and reads it
(arch/x86/kernel/fpu/signal.c, uapi/asm/sigcontext.h `struct _fpstate_32`).

The frame's FP area is the legacy fsave-format header (112 bytes: cw, sw, tag, ipoff, cssel, dataoff,
datasel as 32-bit words with the upper halves set, the eight registers in 10 bytes each, then the
status word and the magic 0x0000 meaning "fxsave data follows") and the 512-byte fxsave image, which
the kernel places 64-byte aligned below the interrupted stack pointer, the header just below it.
aotc writes the fxsave format without the xsave extension (sw_reserved zero), which the kernel's
sigreturn accepts as well. On sigreturn the header's values win over the image's legacy part, as in
the kernel's convert_to_fxsr, and reserved MXCSR bits are dropped rather than faulting.
"""

from __future__ import annotations

import struct

from aotc.guest import fpstate as F

FREGS_SIZE = 112                   # struct fregs_state / the _fpstate_32 header
MATH_SIZE = FREGS_SIZE + F.FXSAVE_SIZE
FXSR_MAGIC = 0x0000
FXSAVE_ALIGN = 64
ENV = struct.Struct("<7I")         # cwd swd twd fip fcs(|fop<<16) foo fos
ST_BYTES = 10
SW_RESERVED = 464                  # fpx_sw_bytes in the fxsave image's software-available area
TAG_VALID, TAG_ZERO, TAG_SPECIAL, TAG_EMPTY = 0, 1, 2, 3


def math_area(sp: int) -> tuple[int, int]:
    """(address of the FP header, address of the fxsave image) for a frame below `sp`."""
    fx = (sp - F.FXSAVE_SIZE) & ~(FXSAVE_ALIGN - 1)
    return fx - FREGS_SIZE, fx


def _tag(reg: bytes) -> int:
    """The full x87 tag of a non-empty 80-bit register (twd_fxsr_to_i387's classification)."""
    mantissa, exponent = int.from_bytes(reg[:8], "little"), int.from_bytes(reg[8:10], "little") & 0x7FFF
    if exponent == 0x7FFF:
        return TAG_SPECIAL
    if exponent == 0:
        return TAG_ZERO if mantissa == 0 else TAG_SPECIAL
    return TAG_VALID if mantissa >> 63 else TAG_SPECIAL


def full_tag_word(image: bytes) -> int:
    """The 16-bit tag word of an fxsave image (whose abridged byte only says empty or not)."""
    top = (F.U16.unpack_from(image, F.OFF_FSW)[0] >> 11) & 7
    abridged = image[F.OFF_FTW]
    word = 0
    for phys in range(8):
        slot = (phys - top) & 7
        reg = image[F.OFF_ST + 16 * slot:F.OFF_ST + 16 * slot + ST_BYTES]
        tag = _tag(reg) if abridged >> phys & 1 else TAG_EMPTY
        word |= tag << (2 * phys)
    return word


def pack(image: bytes) -> bytes:
    """The frame's FP area (header + fxsave image) for the guest's current fxsave image."""
    cw, sw = (F.U16.unpack_from(image, off)[0] for off in (F.OFF_FCW, F.OFF_FSW))
    fop = F.U16.unpack_from(image, F.OFF_FOP)[0]
    fip, fcs, foo, fos = (F.U32.unpack_from(image, off)[0] for off in (F.OFF_FIP, F.OFF_FCS, F.OFF_FDP,
                                                                          F.OFF_FDS))
    high = 0xFFFF0000
    env = ENV.pack(cw | high, sw | high, full_tag_word(image) | high, fip, (fcs & 0xFFFF) | fop << 16,
                   foo, (fos & 0xFFFF) | high)
    regs = b"".join(image[F.OFF_ST + 16 * i:F.OFF_ST + 16 * i + ST_BYTES] for i in range(8))
    fx = bytearray(image)
    fx[SW_RESERVED:] = bytes(F.FXSAVE_SIZE - SW_RESERVED)
    return env + regs + struct.pack("<HH", sw, FXSR_MAGIC) + bytes(fx)


def unpack(area: bytes, mxcsr_mask: int) -> bytes:
    """The fxsave image sigreturn restores from a frame's FP area: the image, with the header's
    control, status and tag words, pointers and registers over its legacy part, MXCSR masked."""
    cwd, swd, twd, fip, fcs, foo, fos = ENV.unpack_from(area)
    fx = bytearray(area[FREGS_SIZE:FREGS_SIZE + F.FXSAVE_SIZE])
    F.U16.pack_into(fx, F.OFF_FCW, cwd & 0xFFFF)
    F.U16.pack_into(fx, F.OFF_FSW, swd & 0xFFFF)
    fx[F.OFF_FTW] = sum(1 << i for i in range(8) if (twd >> (2 * i)) & 3 != TAG_EMPTY)
    F.U16.pack_into(fx, F.OFF_FOP, fcs >> 16)
    F.U32.pack_into(fx, F.OFF_FIP, fip)
    F.U32.pack_into(fx, F.OFF_FCS, fcs & 0xFFFF)
    F.U32.pack_into(fx, F.OFF_FDP, foo)
    F.U32.pack_into(fx, F.OFF_FDS, fos & 0xFFFF)
    for i in range(8):
        at = F.OFF_ST + 16 * i
        fx[at:at + ST_BYTES] = area[ENV.size + ST_BYTES * i:ENV.size + ST_BYTES * (i + 1)]
    mxcsr = F.U32.unpack_from(fx, F.OFF_MXCSR)[0] & (mxcsr_mask or F.MXCSR_MASK_DEFAULT)
    F.U32.pack_into(fx, F.OFF_MXCSR, mxcsr)
    return bytes(fx)
