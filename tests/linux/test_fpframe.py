"""The FP area of an i386 signal frame: fsave-format header computed from the fxsave image, and back."""

from __future__ import annotations

import struct

from aotc.guest import fpstate as F
from aotc.linux import fpframe

ONE = (1 << 63).to_bytes(8, "little") + (0x3FFF).to_bytes(2, "little")       # 1.0 in 80 bits
ZERO = bytes(10)
NAN = (3 << 62).to_bytes(8, "little") + (0x7FFF).to_bytes(2, "little")


def image(top: int, regs: dict[int, bytes], mxcsr: int = 0x1F80, cw: int = 0x37F) -> bytes:
    """An fxsave image with st(i) = regs[i] (those present are valid) and TOP = top."""
    out = bytearray(F.FXSAVE_SIZE)
    F.U16.pack_into(out, F.OFF_FCW, cw)
    F.U16.pack_into(out, F.OFF_FSW, top << 11)
    for i, value in regs.items():
        out[F.OFF_ST + 16 * i:F.OFF_ST + 16 * i + 10] = value
        out[F.OFF_FTW] |= 1 << ((top + i) & 7)
    F.U32.pack_into(out, F.OFF_MXCSR, mxcsr)
    F.U32.pack_into(out, F.OFF_MXCSR_MASK, 0xFFFF)
    out[F.OFF_XMM:F.OFF_XMM + 16] = bytes(range(16))
    return bytes(out)


def test_header_words_and_full_tags() -> None:
    area = fpframe.pack(image(6, {0: ONE, 1: ZERO}))
    cwd, swd, twd = struct.unpack_from("<3I", area)
    assert cwd == 0xFFFF037F and swd == 0xFFFF3000
    # physical 6 = st0 valid (00), physical 7 = st1 zero (01), the rest empty (11)
    assert twd == 0xFFFF0000 | 0b0100 << 12 | 0x0FFF
    assert area[fpframe.ENV.size:fpframe.ENV.size + 10] == ONE
    assert struct.unpack_from("<HH", area, 108) == (0x3000, fpframe.FXSR_MAGIC)
    assert len(area) == fpframe.MATH_SIZE


def test_special_values_are_tagged_special() -> None:
    area = fpframe.pack(image(0, {0: NAN}))
    assert struct.unpack_from("<3I", area)[2] & 3 == fpframe.TAG_SPECIAL


def test_round_trip_and_the_header_wins() -> None:
    img = image(5, {0: ONE, 2: NAN})
    area = bytearray(fpframe.pack(img))
    assert fpframe.unpack(bytes(area), 0xFFFF) == img
    struct.pack_into("<I", area, 0, 0xFFFF027F)                     # a handler changes cw in the header
    assert F.U16.unpack_from(fpframe.unpack(bytes(area), 0xFFFF), F.OFF_FCW)[0] == 0x027F


def test_reserved_mxcsr_bits_are_dropped() -> None:
    area = bytearray(fpframe.pack(image(0, {})))
    struct.pack_into("<I", area, fpframe.FREGS_SIZE + F.OFF_MXCSR, 0xFFFFFFFF)
    assert F.U32.unpack_from(fpframe.unpack(bytes(area), 0xFFBF), F.OFF_MXCSR)[0] == 0xFFBF


def test_math_area_alignment() -> None:
    header, fx = fpframe.math_area(0xFFFDC750)
    assert fx % 64 == 0 and fx + 512 <= 0xFFFDC750 and header == fx - 112
