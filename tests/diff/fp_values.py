"""Edge and random values for the FP/SIMD differential test: 80-bit extended, double, single, integers,
BCD and SIMD lanes, plus their display in reports."""

from __future__ import annotations

import math
import random
import struct
from fractions import Fraction

HALF = Fraction(1, 2)
# fmt: off
# exact values, used as doubles, singles (where representable) and 80-bit extended
NUMBERS = (
    0, 1, -1, HALF, -HALF, Fraction(3, 2), Fraction(5, 2), Fraction(-5, 2), Fraction(-3, 2), Fraction(7, 2),
    2, 3, 10, -7, 100, Fraction(1, 3), math.pi, math.e, 1e-3, 123456789.5, -987654.25,
    2**15 - 1, 2**15, -(2**15), -(2**15) - 1, 2**15 - HALF, -(2**15) - HALF, 2**16,
    2**31 - 1, 2**31, -(2**31), -(2**31) - 1, 2**31 - HALF, -(2**31) - HALF, 2**31 + HALF, 2**32,
    2**53, 2**53 + 2, 2**63, -(2**63), 2**63 - 1024, -(2**63) - 2048, 2**64, 10**18, -(10**18) + 1,
    2.0**-126, 2.0**-149, 2.0**-1022, 2.0**-1074, 1e-310, 3.4028234663852886e38, -1.7976931348623157e308,
    1e300, 1e-300, 2.0**100, 2.0**-100,
)
F80_EXTRA = (
    2**63 - HALF, 2**64 - 1, -(2**63) - HALF, 10**18 - 1, -(10**18) + HALF, HALF + Fraction(1, 2**64),
    HALF - Fraction(1, 2**65), 2**64 - HALF, 2**62 + HALF, -(2**31) + HALF,
)
F32_SPECIAL = (
    0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00000, 0x7FC12345, 0x7F812345, 0xFF800001,
    0x7FFFFFFF, 0x00000001, 0x807FFFFF, 0x00400000, 0x00800000, 0x7F7FFFFF, 0x3EFFFFFF,
)
F64_SPECIAL = (
    0x8000000000000000, 0x7FF0000000000000, 0xFFF0000000000000, 0x7FF8000000000000, 0xFFF8000000000000,
    0x7FF8000000012345, 0x7FF0000000000001, 0xFFF4000000000000, 0x7FFFFFFFFFFFFFFF, 0x000FFFFFFFFFFFFF,
    0x8000000000000001, 0x0010000000000000, 0x3FDFFFFFFFFFFFFF, 0x4330000000000001,
)
INT_EDGE = {
    1: (0, 1, 0x7F, 0x80, 0x81, 0xFF, 0xFE, 0x40),
    2: (0, 1, 0x7FFF, 0x8000, 0x8001, 0xFFFF, 0xFFFE, 0x00FF, 0xFF00, 0x0080),
    4: (0, 1, 0x7FFFFFFF, 0x80000000, 0x80000001, 0xFFFFFFFF, 0xFFFF, 0x10000, 0x7FFF, 0xFFFF8000),
    8: (0, 1, 2**63 - 1, 2**63, 2**64 - 1, 0x80000000, 0xFFFFFFFF, 2**32, 2**53 + 1, 2**64 - 2**31),
}
# fmt: on


def f80_of(x: float | int | Fraction) -> int:
    """The 80-bit extended pattern of x (rounded to 64 significant bits)."""
    if isinstance(x, float) and math.isinf(x):
        return (0x1_FFFF if x < 0 else 0x7FFF) << 64 | 1 << 63
    x = Fraction(x)
    sign, x = int(x < 0), abs(x)
    if x == 0:
        return sign << 79
    exp = x.numerator.bit_length() - x.denominator.bit_length()
    while x >= Fraction(2) ** (exp + 1):
        exp += 1
    while x < Fraction(2) ** exp:
        exp -= 1
    mant = round(x * Fraction(2) ** (63 - exp))
    if mant >> 64:
        mant, exp = mant >> 1, exp + 1
    return sign << 79 | (exp + 16383) << 64 | mant


def _pack(x: float | int | Fraction, fmt: str) -> int | None:
    try:
        return int.from_bytes(struct.pack("<" + fmt, float(x)), "little")
    except OverflowError:
        return None


# fmt: off
F80_EDGE = tuple(f80_of(x) for x in NUMBERS + F80_EXTRA) + (
    0x8000 << 64, 0x7FFF << 64 | 1 << 63, 0xFFFF << 64 | 1 << 63,   # -0, +inf, -inf
    0x7FFF << 64 | 3 << 62, 0xFFFF << 64 | 3 << 62,                 # quiet NaN, indefinite
    0x7FFF << 64 | 3 << 62 | 0x12345, 0xFFFF << 64 | 1 << 63 | 0xABCDE,  # quiet NaN, signalling NaN
    0x7FFF << 64 | 1 << 63 | 1 << 61, 0x7FFF << 64 | 1 << 63 | 1,    # signalling NaNs
    1, 0x8000 << 64 | (1 << 63) - 1, 1 << 63,                         # denormals, pseudo-denormal
    1 << 64 | 1 << 63, 0x7FFE << 64 | (1 << 64) - 1, 0xFFFE << 64 | (1 << 64) - 1,  # min/max normals
    0x3FFF << 64 | 1 << 62, 0x7FFF << 64, 0x7FFF << 64 | 1 << 62,    # unnormal, pseudo-inf, pseudo-NaN
)
# fmt: on
F64_EDGE = tuple(v for v in (_pack(x, "d") for x in NUMBERS) if v is not None) + F64_SPECIAL
F32_EDGE = tuple(v for v in (_pack(x, "f") for x in NUMBERS) if v is not None) + F32_SPECIAL


def rand_f80(rng: random.Random) -> int:
    """An 80-bit value: an edge, a normal of moderate or extreme exponent, a small fraction, a converted
    double, or random bits."""
    pick = rng.random()
    if pick < 0.35:
        return rng.choice(F80_EDGE)
    sign = rng.getrandbits(1) << 79
    if pick < 0.6:
        mant = 1 << 63 | rng.getrandbits(63)
        if rng.random() < 0.4:
            mant &= ~((1 << rng.randrange(20, 60)) - 1)
        return sign | (16383 + rng.randrange(-70, 70)) << 64 | mant
    if pick < 0.7:
        return f80_of(Fraction(rng.randrange(-100000, 100000), rng.choice((1, 2, 4, 8, 3))))
    if pick < 0.8:
        exp = rng.choice((rng.randrange(0, 80), rng.randrange(0x7FFE - 80, 0x7FFF)))
        return sign | exp << 64 | (1 << 63 if exp else 0) | rng.getrandbits(63)
    if pick < 0.9:
        bits = rand_f64(rng)
        value = struct.unpack("<d", bits.to_bytes(8, "little"))[0]
        return f80_of(value) if math.isfinite(value) else rng.choice(F80_EDGE)
    return rng.getrandbits(80)


def _rand_float(rng: random.Random, edge: tuple[int, ...], fmt: str, bits: int) -> int:
    pick = rng.random()
    if pick < 0.4:
        return rng.choice(edge)
    if pick < 0.7:
        x = rng.uniform(-1, 1) * 2.0 ** rng.randrange(-20, 40)
        return _pack(x, fmt) or 0
    if pick < 0.85:
        return _pack(Fraction(rng.randrange(-3000, 3000), rng.choice((1, 2, 4))), fmt) or 0
    return rng.getrandbits(bits)


def rand_f64(rng: random.Random) -> int:
    return _rand_float(rng, F64_EDGE, "d", 64)


def rand_f32(rng: random.Random) -> int:
    return _rand_float(rng, F32_EDGE, "f", 32)


def rand_int(rng: random.Random, size: int) -> int:
    """An integer lane of `size` bytes: an edge, a small value (or its negation), or random."""
    pick = rng.random()
    if pick < 0.4:
        return rng.choice(INT_EDGE[size])
    if pick < 0.6:
        return rng.randrange(-40, 40) & ((1 << 8 * size) - 1)
    return rng.getrandbits(8 * size)


def rand_bcd(rng: random.Random) -> bytes:
    """A valid packed BCD m80 (18 digits and a sign byte 0x00 or 0x80)."""
    digits = rng.choice((0, 1, 10**18 - 1, rng.randrange(10**18), rng.randrange(1000)))
    packed = 0
    for place in range(18):
        packed |= digits // 10**place % 10 << 4 * place
    return packed.to_bytes(9, "little") + bytes([rng.choice((0, 0x80))])


LANES = {"ps": (4, rand_f32), "pd": (8, rand_f64)}
LANES |= {k: (n, lambda rng, n=n: rand_int(rng, n)) for k, n in (("b", 1), ("w", 2), ("d", 4), ("q", 8))}


def rand_vec(rng: random.Random, kind: str, size: int) -> bytes:
    """`size` bytes of `kind` lanes ('ps', 'pd', 'b', 'w', 'd', 'q'; 'any' picks one per 16 bytes):
    usually lane by lane, sometimes one lane repeated or random bytes."""
    if kind == "any":
        return b"".join(
            rand_vec(rng, rng.choice(tuple(LANES)), min(16, size - i)) for i in range(0, size, 16)
        )
    width, lane = LANES[kind]
    if size < width:
        return rand_bytes(rng, size)
    pick = rng.random()
    if pick < 0.1:
        return rand_bytes(rng, size)
    if pick < 0.2:
        return lane(rng).to_bytes(width, "little") * (size // width)
    return b"".join(lane(rng).to_bytes(width, "little") for _ in range(size // width))


def rand_bytes(rng: random.Random, size: int) -> bytes:
    return rng.getrandbits(8 * size).to_bytes(size, "little")


def rand_of(rng: random.Random, kind: str, size: int) -> bytes:
    """`size` bytes holding one value of `kind`: f32/f64/f80, i (integer of size), bcd, or SIMD lanes."""
    if kind == "f32":
        return rand_f32(rng).to_bytes(4, "little")
    if kind == "f64":
        return rand_f64(rng).to_bytes(8, "little")
    if kind == "f80":
        return rand_f80(rng).to_bytes(10, "little")
    if kind == "i":
        return rand_int(rng, size).to_bytes(size, "little")
    if kind == "bcd":
        return rand_bcd(rng)
    return rand_vec(rng, kind, size)


def rand_x87_scratch(rng: random.Random, size: int) -> bytes:
    """Scratch contents for x87 cases: chunks of doubles, singles, 80-bit values and integers."""
    out = bytearray()
    while len(out) < size:
        kind = rng.choice(("f32", "f64", "f80", "i"))
        out += rand_of(rng, kind, rng.choice((2, 4, 8)) if kind == "i" else 0)
    return bytes(out[:size])


def f80_text(v: int) -> str:
    """An 80-bit value as hex and what it means."""
    sign, exp, mant = "-" if v >> 79 & 1 else "+", v >> 64 & 0x7FFF, v & (1 << 64) - 1
    if exp == 0x7FFF:
        kinds = {0: "pseudo-NaN", 1: "pseudo-NaN", 2: "sNaN", 3: "qNaN"}
        kind = "inf" if mant == 1 << 63 else "pseudo-inf" if not mant else kinds[mant >> 62]
    elif exp == 0:
        kind = "0" if not mant else "pseudo-denormal" if mant >> 63 else "denormal"
    elif not mant >> 63:
        kind = "unnormal"
    else:
        value = Fraction(mant) * Fraction(2) ** (exp - 16383 - 63)
        kind = f"{float(value):.17g}" if -1000 < exp - 16383 < 1000 else f"{mant:#x} * 2^{exp - 16383 - 63}"
    return f"{v:#022x} ({sign}{kind})"


def vec_text(data: bytes) -> str:
    """A vector as 32-bit lanes, highest first."""
    return "_".join(data[i : i + 4][::-1].hex() for i in range(len(data) - 4, -1, -4))
