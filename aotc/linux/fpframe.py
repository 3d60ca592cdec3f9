"""The FP state in an i386 signal frame, as Linux's ia32 signal code writes and reads it on an x86-64
kernel (arch/x86/kernel/fpu/signal.c, uapi/asm/sigcontext.h `struct _fpstate_32`).

The frame's FP area is the legacy fsave-format header (112 bytes: cw, sw, tag, ipoff, cssel, dataoff,
datasel as 32-bit words, the eight registers in 10 bytes each, then the status word and the magic
0x0000 meaning "fxsave data follows"), then what the kernel's xsave stored: the fxsave image, and on
a CPU with xsave the xsave header and extended area up to the kernel's user_size, with the
_fpx_sw_bytes (magic1, sizes, features) in the image's software-available bytes and magic2 after
the area. Its size follows the host's xsave geometry, which `host_fpu` reads once with cpuid and
xgetbv, so that the frame (and the handler's esp) sit where they sit natively. The image is 64-byte
aligned below the interrupted stack pointer, the header just below it.

The guest has x87/MMX, xmm0..7 and MXCSR only: a frame shows the extended components in their
initial state (xstate_bv FP|SSE, zeros), and sigreturn takes from a frame what the kernel takes
(`restore`): the header's words and registers over the image (convert_to_fxsr), xstate_bv bits that
leave x87 or SSE in the initial state, fxsave-only frames, and a rejection (SIGSEGV) for reserved
MXCSR bits or a bad xsave header.
"""

from __future__ import annotations

import ctypes
import functools
import mmap
import struct
from collections.abc import Callable
from dataclasses import dataclass

from aotc.guest import fpstate as F

FREGS_SIZE = 112                   # struct fregs_state / the _fpstate_32 header
ENV = struct.Struct("<7I")         # cwd swd twd fip fcs foo fos
ENV_SIZE = ENV.size + 80           # struct user_i387_ia32_struct: the words and st_space
OFF_STATUS = 108                   # status (the fxsave swd) and magic
FXSR_MAGIC = 0x0000
ST_BYTES = 10
HIGH = 0xFFFF0000
FXSAVE_ALIGN = 64
TAG_VALID, TAG_ZERO, TAG_SPECIAL, TAG_EMPTY = 0, 1, 2, 3

SW_RESERVED = 464                  # struct _fpx_sw_bytes in the fxsave image's software-available area
SW_BYTES = struct.Struct("<IIQI")  # magic1, extended_size, xfeatures, xstate_size (then padding)
FP_XSTATE_MAGIC1, FP_XSTATE_MAGIC2 = 0x46505853, 0x46505845
MAGIC2_SIZE = 4
XSTATE_HEADER = struct.Struct("<QQ48s")   # xstate_bv, xcomp_bv, reserved
XSAVE_MIN = F.FXSAVE_SIZE + XSTATE_HEADER.size
XFEATURE_FP, XFEATURE_SSE, XFEATURE_YMM = 1, 2, 4
XFEATURE_FPSSE = XFEATURE_FP | XFEATURE_SSE
XFEATURE_XTILE_DATA = 1 << 18      # enabled per process on request: not in a default frame
X87_END = 160                      # the FP component: bytes 0..23 and st0..st7 (32..159)
XMM_END = 416                      # the SSE component: xmm0..15
GUEST_END = F.OFF_XMM + 16 * F.XMM_REGS   # an i386 task has xmm0..7: xmm8..15 stay zero in a frame
OFF_RIP_HIGH, OFF_RDP_HIGH = 12, 20       # the kernel saves the 64-bit format: FIP/FDP high halves
MXCSR_INITIAL_ON_SSE_INIT = F.MXCSR_INIT  # what xrstor of an SSE-less xstate_bv left in MXCSR here


class FrameError(Exception):
    """sigreturn found FP state the kernel refuses (it answers with SIGSEGV)."""


@dataclass(frozen=True)
class HostFpu:
    """What the host kernel puts in a signal frame's FP area: with xsave, its user xstate size
    (fpstate->user_size) and features (user_xfeatures); and the CPU's MXCSR feature mask."""

    xsave: bool
    xstate_size: int
    xfeatures: int
    mxcsr_mask: int

    @property
    def fx_size(self) -> int:
        """xstate_sigframe_size: the image (and extended area, and magic2 with xsave)."""
        return self.xstate_size + MAGIC2_SIZE if self.xsave else F.FXSAVE_SIZE

    @property
    def math_size(self) -> int:
        """The whole FP area: header and image."""
        return FREGS_SIZE + self.fx_size


FXSR_ONLY = HostFpu(False, F.FXSAVE_SIZE, XFEATURE_FPSSE, F.MXCSR_MASK_DEFAULT)
"""A CPU without xsave: the frame has the header and the fxsave image only."""

# x86-64 SysV code: cpuid(leaf, subleaf, u32 out[4]); xgetbv0(u32 out[2]); fxsave(u8 buf[512])
_CPUID = bytes.fromhex("53" "4989d0" "89f8" "89f1" "0fa2" "418900" "41895804" "41894808" "4189500c"
                       "5b" "c3")     # push rbx; mov r8,rdx; eax=edi; ecx=esi; cpuid; out[0..3]; pop; ret
_XGETBV = bytes.fromhex("31c9" "0f01d0" "8907" "895704" "c3")
_FXSAVE = bytes.fromhex("0fae07" "c3")
CPUID_OSXSAVE = 1 << 27            # leaf 1 ecx: the OS enabled xsave (xgetbv works)


def _probe() -> HostFpu:
    """Run the three stubs from a page mapped writable, then executable, then unmapped."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                          ctypes.c_long]
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    page = libc.mmap(None, mmap.PAGESIZE, mmap.PROT_READ | mmap.PROT_WRITE,
                     mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
    if page in (None, ctypes.c_void_p(-1).value):
        raise OSError(ctypes.get_errno(), "mmap for the FPU probe failed")
    try:
        stubs = (_CPUID, _XGETBV, _FXSAVE)
        offsets = (0, 64, 128)
        for off, code in zip(offsets, stubs, strict=True):
            ctypes.memmove(page + off, code, len(code))
        if libc.mprotect(page, mmap.PAGESIZE, mmap.PROT_READ | mmap.PROT_EXEC) != 0:
            raise OSError(ctypes.get_errno(), "mprotect for the FPU probe failed")
        u32p = ctypes.POINTER(ctypes.c_uint32)
        cpuid_fn = ctypes.CFUNCTYPE(None, ctypes.c_uint32, ctypes.c_uint32, u32p)(page + offsets[0])
        xgetbv_fn = ctypes.CFUNCTYPE(None, u32p)(page + offsets[1])
        fxsave_fn = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(page + offsets[2])

        def cpuid(leaf: int, sub: int = 0) -> tuple[int, ...]:
            out = (ctypes.c_uint32 * 4)()
            cpuid_fn(leaf, sub, out)
            return tuple(out)

        area = (ctypes.c_uint8 * (F.FXSAVE_SIZE + 16))()
        aligned = (ctypes.addressof(area) + 15) & ~15
        fxsave_fn(aligned)
        mask = ctypes.c_uint32.from_address(aligned + F.OFF_MXCSR_MASK).value or F.MXCSR_MASK_DEFAULT
        if cpuid(0)[0] < 0xD or not cpuid(1)[2] & CPUID_OSXSAVE:
            return HostFpu(False, F.FXSAVE_SIZE, XFEATURE_FPSSE, mask)
        xcr0 = (ctypes.c_uint32 * 2)()
        xgetbv_fn(xcr0)
        features = (xcr0[0] | xcr0[1] << 32) & ~XFEATURE_XTILE_DATA
        return HostFpu(True, _xstate_size(features, cpuid), features, mask)
    finally:
        libc.munmap(page, mmap.PAGESIZE)


def _xstate_size(features: int, cpuid: Callable[[int, int], tuple[int, ...]]) -> int:
    """xstate_calculate_size for the standard (uncompacted) format: the end of the topmost feature."""
    topmost = features.bit_length() - 1
    if topmost <= 1:
        return XSAVE_MIN
    size, offset = cpuid(0xD, topmost)[:2]
    return offset + size


@functools.cache
def host_fpu() -> HostFpu:
    """The host's signal-frame FP geometry (probed once; fxsave-only if the probe cannot run)."""
    try:
        return _probe()
    except OSError:
        return FXSR_ONLY


def math_area(sp: int, host: HostFpu) -> tuple[int, int]:
    """fpu__alloc_mathframe: (address of the FP header, address of the image) below `sp`."""
    fx = (sp - host.fx_size) & ~(FXSAVE_ALIGN - 1)
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


def abridged_tags(twd: int) -> int:
    """twd_i387_to_fxsr: a register is in use unless its full tag says empty."""
    return sum(1 << i for i in range(8) if (twd >> (2 * i)) & 3 != TAG_EMPTY)


def pack(image: bytes, cs: int, ds: int, host: HostFpu) -> bytes:
    """The frame's FP area for the guest's fxsave image, `cs` and `ds` the interrupted selectors
    (convert_from_fxsr on x86-64 takes cssel from the task's cs and datasel from ds)."""
    cw, sw = (F.U16.unpack_from(image, off)[0] for off in (F.OFF_FCW, F.OFF_FSW))
    fip, foo = (F.U32.unpack_from(image, off)[0] for off in (F.OFF_FIP, F.OFF_FDP))
    env = ENV.pack(cw | HIGH, sw | HIGH, full_tag_word(image) | HIGH, fip, cs & 0xFFFF, foo,
                   (ds & 0xFFFF) | HIGH)
    regs = b"".join(image[F.OFF_ST + 16 * i:F.OFF_ST + 16 * i + ST_BYTES] for i in range(8))
    fx = bytearray(image)
    F.U32.pack_into(fx, OFF_RIP_HIGH, 0)
    F.U32.pack_into(fx, OFF_RDP_HIGH, 0)
    F.U32.pack_into(fx, F.OFF_MXCSR_MASK, host.mxcsr_mask)
    fx[GUEST_END:] = bytes(F.FXSAVE_SIZE - GUEST_END)
    if host.xsave:
        SW_BYTES.pack_into(fx, SW_RESERVED, FP_XSTATE_MAGIC1, host.math_size, host.xfeatures,
                           host.xstate_size)
        fx += XSTATE_HEADER.pack(XFEATURE_FPSSE, 0, b"")
        fx += bytes(host.xstate_size - len(fx)) + F.U32.pack(FP_XSTATE_MAGIC2)
    return env + regs + struct.pack("<HH", sw, FXSR_MAGIC) + bytes(fx)


def _xstate_in_frame(read: Callable[[int, int], bytes], fx_at: int, host: HostFpu) -> int | None:
    """check_xstate_in_sigframe: the frame's user xfeatures, or None for an fxsave-only frame."""
    if not host.xsave:
        return None
    magic1, extended, features, size = SW_BYTES.unpack(read(fx_at + SW_RESERVED, SW_BYTES.size))
    if magic1 != FP_XSTATE_MAGIC1 or not XSAVE_MIN <= size <= host.xstate_size or size > extended:
        return None
    if F.U32.unpack(read(fx_at + size, MAGIC2_SIZE))[0] != FP_XSTATE_MAGIC2:
        return None
    return features


def _check_mxcsr(legacy: bytes, host: HostFpu) -> None:
    if F.U32.unpack_from(legacy, F.OFF_MXCSR)[0] & ~host.mxcsr_mask:
        raise FrameError("reserved MXCSR bits set")


def restore(read: Callable[[int, int], bytes], at: int, host: HostFpu) -> bytes:
    """The fxsave image sigreturn loads from the FP area at guest address `at` (`read(addr, n)` reads
    guest memory, GuestFault for an unreadable area); FrameError where the kernel refuses it."""
    fx_at = at + FREGS_SIZE
    user_features = _xstate_in_frame(read, fx_at, host)
    env = read(at, ENV_SIZE)
    legacy = read(fx_at, F.FXSAVE_SIZE)
    fx = bytearray(F.initial_image())
    if user_features is None:                        # an fxsave-only frame: the whole image
        _check_mxcsr(legacy, host)
        fx[:XMM_END] = legacy[:XMM_END]
        present = XFEATURE_FPSSE
    else:                                            # copy_uabi_to_xstate
        xstate_bv, xcomp_bv, reserved = XSTATE_HEADER.unpack(read(fx_at + F.FXSAVE_SIZE,
                                                                 XSTATE_HEADER.size))
        if xstate_bv & ~host.xfeatures or xcomp_bv or any(reserved):
            raise FrameError("invalid xsave header")
        if xstate_bv & XFEATURE_FP:
            fx[:F.OFF_MXCSR] = legacy[:F.OFF_MXCSR]
            fx[F.OFF_ST:X87_END] = legacy[F.OFF_ST:X87_END]
        if host.xfeatures & (XFEATURE_SSE | XFEATURE_YMM):
            _check_mxcsr(legacy, host)
            fx[F.OFF_MXCSR:F.OFF_ST] = legacy[F.OFF_MXCSR:F.OFF_ST]
        if xstate_bv & XFEATURE_SSE:
            fx[F.OFF_XMM:XMM_END] = legacy[F.OFF_XMM:XMM_END]
        present = xstate_bv & user_features
    _convert_to_fxsr(fx, env)
    if not present & XFEATURE_FP:                    # xrstor leaves a component out of xstate_bv initial
        fx[:F.OFF_MXCSR] = F.initial_image()[:F.OFF_MXCSR]
        fx[F.OFF_ST:X87_END] = bytes(X87_END - F.OFF_ST)
    if not present & XFEATURE_SSE:
        fx[F.OFF_XMM:XMM_END] = bytes(XMM_END - F.OFF_XMM)
        F.U32.pack_into(fx, F.OFF_MXCSR, MXCSR_INITIAL_ON_SSE_INIT)
    F.U32.pack_into(fx, F.OFF_MXCSR_MASK, host.mxcsr_mask)
    fx[GUEST_END:] = bytes(F.FXSAVE_SIZE - GUEST_END)
    return bytes(fx)


def _convert_to_fxsr(fx: bytearray, env: bytes) -> None:
    """Fold the header into the image (x86-64 convert_to_fxsr: cs and ds ignored, FIP/FDP 32-bit)."""
    cwd, swd, twd, fip, fcs, foo, _fos = ENV.unpack_from(env)
    F.U16.pack_into(fx, F.OFF_FCW, cwd & 0xFFFF)
    F.U16.pack_into(fx, F.OFF_FSW, swd & 0xFFFF)
    fx[F.OFF_FTW] = abridged_tags(twd)
    F.U16.pack_into(fx, F.OFF_FOP, fcs >> 16)
    struct.pack_into("<QQ", fx, F.OFF_FIP, fip, foo)
    for i in range(8):
        at = F.OFF_ST + 16 * i
        fx[at:at + ST_BYTES] = env[ENV.size + ST_BYTES * i:ENV.size + ST_BYTES * (i + 1)]
