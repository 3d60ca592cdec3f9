"""The FP area of an i386 signal frame (aotc.linux.fpframe): the fsave-format header computed from the
fxsave image, the xsave extension as an x86-64 kernel writes it, and what sigreturn takes back."""

from __future__ import annotations

import struct

import pytest

from aotc.guest import fpstate as F
from aotc.guest.memory import GuestFault
from aotc.linux import fpframe
from aotc.linux.fpframe import FrameError, HostFpu

ONE = (1 << 63).to_bytes(8, "little") + (0x3FFF).to_bytes(2, "little")       # 1.0 in 80 bits
PI = bytes.fromhex("35c26821a2da0fc90040")
ZERO = bytes(10)
NAN = (3 << 62).to_bytes(8, "little") + (0x7FFF).to_bytes(2, "little")
DENORMAL = (1).to_bytes(8, "little") + bytes(2)
UNNORMAL = (1 << 62).to_bytes(8, "little") + (0x3FFF).to_bytes(2, "little")

XSAVE = HostFpu(True, 2432, 0xE7, 0x2FFFF)        # this machine's kernel: AVX-512, no PKRU
FXSR = fpframe.FXSR_ONLY
HOSTS = pytest.mark.parametrize("host", [XSAVE, FXSR], ids=["xsave", "fxsr"])
AT = 0x1000                                        # where the FP area lies in the fake guest memory
CS, DS = 0x23, 0x2B


def image(top: int, regs: dict[int, bytes], mxcsr: int = 0x1F80, cw: int = 0x37F) -> bytes:
    """An fxsave image with st(i) = regs[i] (those present are in use), TOP = top, a pattern in
    xmm0..7 and host-looking FCS/FDS and xmm8..15 that a frame does not show."""
    out = bytearray(F.FXSAVE_SIZE)
    F.U16.pack_into(out, F.OFF_FCW, cw)
    F.U16.pack_into(out, F.OFF_FSW, top << 11)
    for i, value in regs.items():
        out[F.OFF_ST + 16 * i:F.OFF_ST + 16 * i + 10] = value
        out[F.OFF_FTW] |= 1 << ((top + i) & 7)
    F.U32.pack_into(out, F.OFF_MXCSR, mxcsr)
    out[F.OFF_XMM:F.OFF_XMM + 128] = bytes(range(128))
    F.U32.pack_into(out, F.OFF_FCS, 0x33)
    F.U32.pack_into(out, F.OFF_FDS, 0x2B)
    out[288:416] = b"\xee" * 128
    return bytes(out)


def normalized(img: bytes, host: HostFpu) -> bytes:
    """What a frame round trip gives back for `img`: FCS/FDS and xmm8..15 cleared, the host's mask."""
    out = bytearray(img)
    F.U32.pack_into(out, F.OFF_FCS, 0)
    F.U32.pack_into(out, F.OFF_FDS, 0)
    F.U32.pack_into(out, F.OFF_MXCSR_MASK, host.mxcsr_mask)
    out[288:] = bytes(F.FXSAVE_SIZE - 288)
    return bytes(out)


def reader(area: bytes | bytearray, at: int = AT):
    """guest memory holding `area` at `at` (GuestFault outside it)."""

    def read(addr: int, n: int) -> bytes:
        if addr < at or addr + n > at + len(area):
            raise GuestFault(addr)
        return bytes(area[addr - at:addr - at + n])

    return read


def restore(area: bytes | bytearray, host: HostFpu) -> bytes:
    return fpframe.restore(reader(area), AT, host)


# -- the frame the kernel writes -----------------------------------------------------------------

@HOSTS
def test_header_words_and_full_tags(host: HostFpu) -> None:
    img = bytearray(image(6, {0: ONE, 1: ZERO}))
    F.U32.pack_into(img, F.OFF_FIP, 0x0804A000)
    F.U32.pack_into(img, F.OFF_FDP, 0x080C0000)
    area = fpframe.pack(bytes(img), CS, DS, host)
    cwd, swd, twd, fip, fcs, foo, fos = fpframe.ENV.unpack_from(area)
    assert (cwd, swd) == (0xFFFF037F, 0xFFFF3000)
    # physical 6 = st0 valid (00), physical 7 = st1 zero (01), the rest empty (11)
    assert twd == 0xFFFF0000 | 0b0100 << 12 | 0x0FFF
    assert (fip, fcs, foo, fos) == (0x0804A000, 0x23, 0x080C0000, 0xFFFF002B)   # cs, ds: the task's
    assert area[fpframe.ENV.size:fpframe.ENV.size + 10] == ONE
    assert area[fpframe.ENV.size + 10:fpframe.ENV.size + 20] == ZERO
    assert struct.unpack_from("<HH", area, 108) == (0x3000, fpframe.FXSR_MAGIC)
    assert len(area) == host.math_size


@pytest.mark.parametrize(("reg", "tag"), [(ONE, 0), (ZERO, 1), (NAN, 2), (DENORMAL, 2), (UNNORMAL, 2)])
def test_tags_are_classified_as_twd_fxsr_to_i387_does(reg: bytes, tag: int) -> None:
    area = fpframe.pack(image(0, {0: reg}), CS, DS, XSAVE)
    assert struct.unpack_from("<3I", area)[2] == 0xFFFF0000 | 0xFFFC | tag


def test_xsave_extension_as_this_kernel_writes_it() -> None:
    img = image(7, {0: PI}, mxcsr=0x7F80)
    area = fpframe.pack(img, CS, DS, XSAVE)
    fx = area[fpframe.FREGS_SIZE:]
    assert fx[:F.OFF_MXCSR_MASK] == normalized(img, XSAVE)[:F.OFF_MXCSR_MASK]
    assert F.U32.unpack_from(fx, F.OFF_MXCSR_MASK)[0] == 0x2FFFF
    assert fx[F.OFF_XMM:F.OFF_XMM + 128] == bytes(range(128)) and fx[288:464] == bytes(176)
    magic1, extended, features, size = fpframe.SW_BYTES.unpack_from(fx, 464)
    assert (magic1, extended, features, size) == (0x46505853, 2432 + 4 + 112, 0xE7, 2432)
    assert fx[464 + 24:512] == bytes(24)
    assert struct.unpack_from("<QQ", fx, 512) == (3, 0) and fx[528:2432] == bytes(2432 - 528)
    assert struct.unpack_from("<I", fx, 2432)[0] == 0x46505845 and len(fx) == 2436


def test_fxsave_only_host_frame() -> None:
    area = fpframe.pack(image(7, {0: PI}), CS, DS, FXSR)
    assert len(area) == 624 and area[112 + 464:] == bytes(48)


@HOSTS
def test_math_area_below_sp(host: HostFpu) -> None:
    for sp in (0xFFFDC750, 0xFFFDC700, 0xFFFDC73C):
        header, fx = fpframe.math_area(sp, host)
        assert fx % 64 == 0 and sp - 64 < fx + host.fx_size <= sp and header == fx - 112


def test_xstate_size_is_the_end_of_the_topmost_feature() -> None:
    leaves = {(0xD, 2): (256, 576, 0, 0), (0xD, 7): (1024, 1408, 0, 0), (0xD, 9): (8, 2432, 0, 0)}
    assert fpframe._xstate_size(0xE7, lambda leaf, sub: leaves[leaf, sub]) == 2432
    assert fpframe._xstate_size(0x2E7, lambda leaf, sub: leaves[leaf, sub]) == 2440
    assert fpframe._xstate_size(0x3, lambda leaf, sub: leaves[leaf, sub]) == 576


def test_this_host_is_probed() -> None:
    host = fpframe.host_fpu()
    assert host.mxcsr_mask & 0xFFBF == 0xFFBF
    if host.xsave:
        assert host.xfeatures & 3 == 3 and host.xstate_size >= 576


# -- what sigreturn takes back -------------------------------------------------------------------

@HOSTS
def test_round_trip(host: HostFpu) -> None:
    img = image(5, {0: ONE, 1: PI, 2: NAN}, mxcsr=0x7FA0, cw=0x0F7F)
    assert restore(fpframe.pack(img, CS, DS, host), host) == normalized(img, host)


@HOSTS
def test_the_header_wins_over_the_image(host: HostFpu) -> None:
    img = image(7, {0: PI}, cw=0x0F7F)
    area = bytearray(fpframe.pack(img, CS, DS, host))
    struct.pack_into("<I", area, 0, 0xFFFF027F)                    # header cw
    struct.pack_into("<I", area, 4, 0xFFFF3804)                    # header sw (ZE set)
    area[28:38] = ONE                                              # header st0
    area[112:114] = b"\x7f\x03"                                    # image fcw: ignored
    area[112 + 32:112 + 42] = ZERO                                 # image st0: ignored
    got = restore(area, host)
    assert F.U16.unpack_from(got, F.OFF_FCW)[0] == 0x027F and F.U16.unpack_from(got, F.OFF_FSW)[0] == 0x3804
    assert got[F.OFF_ST:F.OFF_ST + 10] == ONE
    struct.pack_into("<I", area, 8, 0xFFFFFFFF)                    # every register tagged empty
    assert restore(area, host)[F.OFF_FTW] == 0


def test_fop_and_pointers_come_from_the_header() -> None:
    area = bytearray(fpframe.pack(image(7, {0: PI}), CS, DS, XSAVE))
    struct.pack_into("<4I", area, 12, 0x0804A123, 0x05350023, 0x080C0008, 0xFFFF002B)
    got = restore(area, XSAVE)
    assert F.U16.unpack_from(got, F.OFF_FOP)[0] == 0x0535
    assert struct.unpack_from("<QQ", got, F.OFF_FIP) == (0x0804A123, 0x080C0008)


@HOSTS
def test_magic_and_mxcsr_mask_fields_are_ignored(host: HostFpu) -> None:
    img = image(7, {0: PI})
    area = bytearray(fpframe.pack(img, CS, DS, host))
    struct.pack_into("<H", area, 110, 0xFFFF)
    struct.pack_into("<I", area, 112 + F.OFF_MXCSR_MASK, 0)
    assert restore(area, host) == normalized(img, host)


@pytest.mark.parametrize("damage", ["magic1", "small", "large", "extended", "magic2"])
def test_fxsave_only_frames_restore_the_whole_image(damage: str) -> None:
    img = image(7, {0: PI}, mxcsr=0x7F80)
    area = bytearray(fpframe.pack(img, CS, DS, XSAVE))
    sw = 112 + 464
    if damage == "magic1":
        struct.pack_into("<I", area, sw, 0)
    elif damage == "small":
        struct.pack_into("<I", area, sw + 16, 512)
    elif damage == "large":
        struct.pack_into("<I", area, sw + 16, 2432 + 64)
    elif damage == "extended":
        struct.pack_into("<I", area, sw + 4, 2000)
    else:
        struct.pack_into("<I", area, 112 + 2432, 0)
    area[112 + 512] = 0                                            # xstate_bv: ignored then
    assert restore(area, XSAVE) == normalized(img, XSAVE)


def test_xstate_bv_without_fp_leaves_x87_initial() -> None:
    img = image(7, {0: PI}, mxcsr=0x7F80, cw=0x0F7F)
    area = bytearray(fpframe.pack(img, CS, DS, XSAVE))
    area[112 + 512] = 2
    got = restore(area, XSAVE)
    assert got[:F.OFF_MXCSR] == F.initial_image()[:F.OFF_MXCSR] and got[F.OFF_ST:160] == bytes(128)
    want = normalized(img, XSAVE)
    assert got[F.OFF_MXCSR:F.OFF_ST] == want[F.OFF_MXCSR:F.OFF_ST] and got[160:] == want[160:]


def test_xstate_bv_without_sse_leaves_xmm_and_mxcsr_initial() -> None:
    img = image(7, {0: PI}, mxcsr=0x7F80, cw=0x0F7F)
    area = bytearray(fpframe.pack(img, CS, DS, XSAVE))
    area[112 + 512] = 1
    got = restore(area, XSAVE)
    assert got[:F.OFF_MXCSR] == normalized(img, XSAVE)[:F.OFF_MXCSR]
    assert F.U32.unpack_from(got, F.OFF_MXCSR)[0] == 0x1F80 and got[F.OFF_XMM:] == bytes(512 - 160)


def test_sw_bytes_features_mask_xstate_bv() -> None:
    area = bytearray(fpframe.pack(image(7, {0: PI}, cw=0x0F7F), CS, DS, XSAVE))
    area[112 + 464 + 8] = 0xE6                                     # the frame's xfeatures lack FP
    got = restore(area, XSAVE)
    assert F.U16.unpack_from(got, F.OFF_FCW)[0] == 0x37F and got[F.OFF_FTW] == 0


@pytest.mark.parametrize("host", [XSAVE, FXSR], ids=["xsave", "fxsr"])
@pytest.mark.parametrize("fx_only", [False, True])
def test_reserved_mxcsr_bits_are_refused(host: HostFpu, fx_only: bool) -> None:
    area = bytearray(fpframe.pack(image(0, {}), CS, DS, host))
    struct.pack_into("<I", area, 112 + F.OFF_MXCSR, 0x80001F80)
    if fx_only:
        struct.pack_into("<I", area, 112 + 464, 0)
    with pytest.raises(FrameError):
        restore(area, host)
    struct.pack_into("<I", area, 112 + F.OFF_MXCSR, 0x7F80)
    assert F.U32.unpack_from(restore(area, host), F.OFF_MXCSR)[0] == 0x7F80
    if host.mxcsr_mask & 1 << 17:                                  # AMD's MM bit, in this CPU's mask
        struct.pack_into("<I", area, 112 + F.OFF_MXCSR, 0x1FC0 | 1 << 17)
        assert F.U32.unpack_from(restore(area, host), F.OFF_MXCSR)[0] == 0x1FC0 | 1 << 17


@pytest.mark.parametrize(("offset", "value"), [(0, 1 << 3), (0, 1 << 62), (8, 1 << 63), (16, 1), (56, 1)])
def test_a_bad_xsave_header_is_refused(offset: int, value: int) -> None:
    area = bytearray(fpframe.pack(image(0, {}), CS, DS, XSAVE))
    at = 112 + 512 + offset
    struct.pack_into("<Q", area, at, struct.unpack_from("<Q", area, at)[0] | value)
    with pytest.raises(FrameError):
        restore(area, XSAVE)


@HOSTS
def test_an_unreadable_area_faults(host: HostFpu) -> None:
    area = fpframe.pack(image(0, {}), CS, DS, host)
    with pytest.raises(GuestFault):
        restore(area[:-8], host)
    with pytest.raises(GuestFault):
        fpframe.restore(reader(area), AT - 16, host)
