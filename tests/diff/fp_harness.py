"""The harness of the FP/SIMD single-instruction differential test (see gen_fp_cases.py).

Each case loads eax..ebp, EFLAGS and a 128-byte scratch area from a table, then `fxrstor`s a complete FP
state image from the table (x87 registers, TOP, tags, FCW, FSW, MXCSR, mm, xmm0-7), runs one instruction or
a short idiom, `fxsave`s and writes a record (registers, EFLAGS, stack balance, fxsave image, scratch) to
stdout with int 0x80. Every exception is masked in FCW and MXCSR, so no case can leave an x87 exception
pending (it would raise SIGFPE at the next waiting instruction) and none raises #XM.
"""

from __future__ import annotations

import os
import random
import struct
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import fp_values as V
from gen_cases import FLAG_BITS, FLAG_MASK, REGS, State, mismatch_reports, rand_value

SCRATCH = 128
FX_BYTES = 288  # the meaningful part of the 512-byte fxsave image: header, st0-7/mm0-7, xmm0-7
FCW, FSW, FTW, MXCSR, MXCSR_MASK, ST_AT, XMM_AT = 0, 2, 4, 24, 28, 32, 160
IN_BYTES = 4 * len(REGS) + 4 + SCRATCH + FX_BYTES
REC_FX = 4 * len(REGS) + 8
REC_SCRATCH = REC_FX + FX_BYTES
RECORD_BYTES = REC_SCRATCH + SCRATCH
FCW_MASKS = 0x3F  # IM DM ZM OM UM PM
MXCSR_MASKS = 0x1F80

FSW_BITS = {"IE": 0, "DE": 1, "ZE": 2, "OE": 3, "UE": 4, "PE": 5, "SF": 6, "ES": 7, "C0": 8, "C1": 9}
FSW_BITS |= {"C2": 10, "C3": 14, "B": 15}
MXCSR_BITS = {"IE": 0, "DE": 1, "ZE": 2, "OE": 3, "UE": 4, "PE": 5, "DAZ": 6, "FTZ": 15}


def _compared_mask() -> int:
    """The record bits compared, as an integer over the little-endian record.

    Left out: the x87 last-instruction and last-operand pointers FOP/FIP/FCS/FDP/FDS and the reserved byte
    at 5 (fxsave bytes 5..23): under aotc FIP is the host code address, and this AMD EPYC stores them only
    when an exception is pending anyway. Bytes 10..15 of each st slot are reserved. MXCSR_MASK is kept:
    it is the hardware's and must come through unchanged."""
    mask = bytearray(b"\xff" * RECORD_BYTES)
    mask[REC_FX + 5 : REC_FX + 24] = bytes(19)
    for slot in range(8):
        at = REC_FX + ST_AT + 16 * slot
        mask[at + 10 : at + 16] = bytes(6)
    flags = REC_FX - 8
    mask[flags : flags + 4] = FLAG_MASK.to_bytes(4, "little")
    return int.from_bytes(mask, "little")


COMPARED = _compared_mask()


@dataclass
class FpState(State):
    """The inputs of one case: registers, EFLAGS, scratch and the fxsave image fxrstor loads."""

    fx: bytearray = field(default_factory=lambda: bytearray(FX_BYTES))

    def word(self, off: int, size: int = 2) -> int:
        return int.from_bytes(self.fx[off : off + size], "little")

    def set_word(self, off: int, value: int, size: int = 2) -> None:
        self.fx[off : off + size] = (value & ((1 << 8 * size) - 1)).to_bytes(size, "little")

    @property
    def top(self) -> int:
        return self.word(FSW) >> 11 & 7

    def set_top(self, top: int) -> None:
        """Change TOP, keeping each ST(i)'s value and tag (the physical tag bits rotate with it)."""
        ftw, old = self.fx[FTW], self.top
        valid = [ftw >> ((old + i) % 8) & 1 for i in range(8)]
        self.set_word(FSW, self.word(FSW) & ~0x3800 | top << 11)
        self.fx[FTW] = sum(bit << ((top + i) % 8) for i, bit in enumerate(valid))

    def st(self, i: int) -> int:
        return int.from_bytes(self.fx[ST_AT + 16 * i : ST_AT + 16 * i + 10], "little")

    def set_st(self, i: int, value: int, valid: bool = True) -> None:
        """Write ST(i) (80-bit value) and its tag."""
        self.fx[ST_AT + 16 * i : ST_AT + 16 * i + 10] = value.to_bytes(10, "little")
        bit = 1 << (self.top + i) % 8
        self.fx[FTW] = self.fx[FTW] | bit if valid else self.fx[FTW] & ~bit

    def set_depth(self, depth: int) -> None:
        """Make exactly ST(0)..ST(depth-1) valid."""
        self.fx[FTW] = sum(1 << (self.top + i) % 8 for i in range(depth))

    def set_mm(self, i: int, value: int) -> None:
        """Write mmi, i.e. physical register Ri (ST((i - TOP) mod 8)), with exponent bits all ones."""
        slot = (i - self.top) % 8
        self.fx[ST_AT + 16 * slot : ST_AT + 16 * slot + 10] = (value | 0xFFFF << 64).to_bytes(10, "little")

    def xmm(self, i: int) -> int:
        return int.from_bytes(self.fx[XMM_AT + 16 * i : XMM_AT + 16 * i + 16], "little")

    def set_xmm(self, i: int, value: bytes) -> None:
        self.fx[XMM_AT + 16 * i : XMM_AT + 16 * i + 16] = value

    def put(self, off: int, data: bytes) -> None:
        self.scratch[off : off + len(data)] = data


Fix = Callable[[FpState, random.Random], bool]
Template = tuple[list[str], Fix | None]


@dataclass
class FpCase:
    """One generated case: the asm lines under test, their inputs, and scratch bytes not compared."""

    lines: list[str]
    state: FpState
    ignore: tuple[tuple[int, int], ...] = ()

    @property
    def text(self) -> str:
        return "; ".join(self.lines)


def fixes(*parts: Fix | None) -> Fix:
    """One fix applying several in order (None entries skipped)."""

    def fix(state: FpState, rng: random.Random) -> bool:
        return all(part(state, rng) for part in parts if part is not None)

    return fix


def rand_fcw(rng: random.Random) -> int:
    """A control word with every exception masked: default half the time, else varied PC, RC and IC."""
    if rng.random() < 0.5:
        return 0x037F
    return 0x40 | FCW_MASKS | rng.choice((0, 2, 3)) << 8 | rng.randrange(4) << 10 | rng.choice((0, 0x1000))


def rand_mxcsr(rng: random.Random) -> int:
    """An MXCSR with every exception masked and varied RC, FTZ, DAZ and sticky flags."""
    if rng.random() < 0.4:
        return MXCSR_MASKS
    value = MXCSR_MASKS | rng.randrange(4) << 13
    value |= (0x8000 if rng.random() < 0.3 else 0) | (0x40 if rng.random() < 0.3 else 0)
    return value | (rng.getrandbits(6) if rng.random() < 0.5 else 0)


def rand_state(rng: random.Random, domain: str) -> FpState:
    """Random registers, flags, scratch and FP state; `domain` ('x87' or 'simd') says what to stress."""
    eflags = 0x2 | sum(1 << bit for bit in FLAG_BITS.values() if rng.random() < 0.5)
    state = FpState({r: rand_value(rng) for r in REGS}, eflags, bytearray(V.rand_bytes(rng, SCRATCH)))
    state.set_word(FCW, rand_fcw(rng))
    top = rng.randrange(8) if domain == "x87" or rng.random() < 0.3 else 0
    fsw = top << 11 | (rng.getrandbits(7) if rng.random() < 0.5 else 0) | rng.getrandbits(16) & 0x4700
    state.set_word(FSW, fsw)
    state.set_word(MXCSR, rand_mxcsr(rng), 4)
    if domain == "x87":
        for i in range(8):
            state.set_st(i, V.rand_f80(rng) if rng.random() < 0.9 else rng.getrandbits(80))
        pick = rng.random()
        if pick < 0.15:
            state.fx[FTW] = rng.getrandbits(8)
        else:
            state.set_depth(
                rng.choice((0, 1, 2, 2, 3, 3, 4, 5, 6, 7, 8)) if pick < 0.4 else rng.choice((2, 3, 4))
            )
        for i in range(8):
            state.set_xmm(i, V.rand_bytes(rng, 16))
        state.scratch[:] = V.rand_x87_scratch(rng, SCRATCH)
    else:
        state.fx[FTW] = rng.choice((0, 0xFF, rng.getrandbits(8)))
        fill_vectors(state, rng, "any")
    return state


def fill_vectors(state: FpState, rng: random.Random, kind: str) -> None:
    """Fill mm0-7, xmm0-7 and the scratch area with lanes of `kind` (see fp_values.rand_vec)."""
    for i in range(8):
        if rng.random() < 0.9:
            state.set_mm(i, int.from_bytes(V.rand_vec(rng, kind, 8), "little"))
        else:
            state.set_st(i, rng.getrandbits(80), valid=bool(state.fx[FTW] >> (state.top + i) % 8 & 1))
        state.set_xmm(i, V.rand_vec(rng, kind, 16))
    state.scratch[:] = V.rand_vec(rng, kind, SCRATCH)


ADDR_REGS = ("ebx", "ecx", "esi", "ebp")


def addr(rng: random.Random, off: int, avoid: tuple[str, ...] = ()) -> tuple[list[str], str]:
    """Setup lines and an operand text addressing scratch+off: absolute, base+disp, base+index*scale+disp,
    index*scale+disp, %esp-based (SIB with esp base, SS segment), with a %ds/%es/%ss override, or through
    %gs/%fs (the TLS segment the harness points at the scratch area). Setup uses lea/mov/not only, so the
    EFLAGS loaded for the case reach the instruction."""
    free = [r for r in ADDR_REGS if r not in avoid]
    pick = rng.random()
    if pick < 0.45 or len(free) < 2:
        return [], f"scratch{off:+d}"
    disp = rng.choice((0, rng.randrange(-64, 64), rng.randrange(-4096, 4096), rng.choice(HUGE)))
    seg = rng.choice(("%ds:", "%es:", "%ss:")) if rng.random() < 0.1 else ""
    if pick < 0.6:
        base = rng.choice(free)
        return [f"leal scratch{_s32(off - disp):+d}, %{base}"], f"{seg}{disp}(%{base})"
    if pick < 0.8:  # the sum wraps around 2^32 when the index is negative or huge, as it must
        base, index = rng.sample(free, 2)
        scale, count = rng.choice((1, 2, 4, 8)), rng.choice((rng.randrange(-8, 9), rng.choice(HUGE)))
        lines = [
            f"leal scratch{_s32(off - disp - scale * count):+d}, %{base}",
            f"movl ${_s32(count)}, %{index}",
        ]
        return lines, f"{seg}{disp}(%{base},%{index},{scale})"
    if pick < 0.87:
        index = rng.choice(free)
        scale, count = rng.choice((1, 2, 4, 8)), rng.randrange(0, 9)
        return [f"movl ${count}, %{index}"], f"{seg}scratch{off - scale * count:+d}(,%{index},{scale})"
    if pick < 0.93:
        index = rng.choice(free)  # index = scratch + off - disp - esp, computed without touching EFLAGS
        lines = [
            f"movl %esp, %{index}",
            f"notl %{index}",
            f"leal scratch{off - disp + 1:+d}(%{index}), %{index}",
        ]
        return lines, f"{disp}(%esp,%{index})"
    tls = f"%{rng.choice(('gs', 'gs', 'fs'))}:"
    if pick < 0.97:
        return [], f"{tls}{off}"
    base = rng.choice(free)
    return [f"movl ${_s32(off - disp)}, %{base}"], f"{tls}{disp}(%{base})"


HUGE = (0x7FFFFFFF, -0x80000000, 0x40000000, -0x3FFFFFFF, 0x12345678)


def _s32(value: int) -> int:
    """value modulo 2^32, as a signed 32-bit number."""
    return (value + 2**31) % 2**32 - 2**31


def offset(rng: random.Random, size: int, align: int = 0, room: int = 0) -> int:
    """A scratch offset for an operand of `size` bytes: aligned to `align` if given (else usually to size)."""
    span = SCRATCH - max(size, room)
    if align or rng.random() < 0.7:
        step = align or min(size, 8)
        return rng.randrange(0, span + 1, step)
    return rng.randrange(span + 1)


def mem(
    rng: random.Random, size: int, kind: str | None = None, align: int = 0, avoid: tuple[str, ...] = ()
) -> tuple[list[str], str, int, Fix | None]:
    """A memory operand: setup lines, operand text, scratch offset, and a fix storing a `kind` value there
    (most of the time, see fp_values.rand_of)."""
    off = offset(rng, size, align)
    lines, text = addr(rng, off, avoid)
    if kind is None:
        return lines, text, off, None

    def fix(state: FpState, rng: random.Random) -> bool:
        if rng.random() < 0.85:
            state.put(off, V.rand_of(rng, kind, size))
        return True

    return lines, text, off, fix


def runtime_text() -> str:
    """The `load` and `save` routines every case calls and the TLS set-up (layouts from the constants)."""
    regs, scratch_words, fx_words = 4 * len(REGS), SCRATCH // 4, FX_BYTES // 4
    loads = "\n".join(f"    movl {4 * i}(%esi), %{r}" for i, r in enumerate(REGS) if r != "esi")
    stores = "\n".join(f"    movl %{r}, record+{4 * i}" for i, r in enumerate(REGS))
    return f"""
    .text
copy:                                   /* ecx words from (%esi) to (%edi) */
    movl (%esi), %eax
    movl %eax, (%edi)
    addl $4, %esi
    addl $4, %edi
    decl %ecx
    jnz copy
    ret
load:
    movl cur_in, %esi
    addl ${regs + 4}, %esi
    movl $scratch, %edi
    movl ${scratch_words}, %ecx
    call copy
    movl $fxin, %edi
    movl ${fx_words}, %ecx
    call copy
    fxrstor fxin
    movl cur_in, %esi
    pushl {regs}(%esi)
{loads}
    movl {4 * REGS.index("esi")}(%esi), %esi
    popfl
    ret
save:
    pushfl
{stores}
    popl record+{regs}
    leal 4(%esp), %eax
    subl saved_esp, %eax
    movl %eax, record+{regs + 4}
    fxsave fxout
    fnclex
    movl $fxout, %esi
    movl $record+{REC_FX}, %edi
    movl ${fx_words}, %ecx
    call copy
    movl $scratch, %esi
    movl $record+{REC_SCRATCH}, %edi
    movl ${scratch_words}, %ecx
    call copy
    addl ${IN_BYTES}, cur_in
    movl $4, %eax
    movl $1, %ebx
    movl $record, %ecx
    movl ${RECORD_BYTES}, %edx
    int $0x80
    cmpl ${RECORD_BYTES}, %eax
    jne fail
    ret
setup_tls:                              /* set_thread_area(base=scratch), then %fs = %gs = that entry */
    movl $243, %eax
    movl $tls_desc, %ebx
    int $0x80
    testl %eax, %eax
    jnz fail
    movl tls_desc, %eax
    leal 3(,%eax,8), %eax
    movw %ax, %gs
    movw %ax, %fs
    ret
fail:
    movl $1, %eax
    movl $3, %ebx
    int $0x80
"""


ENTRY = "/* the state at program entry */"


def entry_case() -> FpCase:
    """The first case of every program: no input loaded, so its record is the process's initial state
    (GPRs zero, EFLAGS 0x202, FCW 0x37f, FSW 0, empty stack, MXCSR 0x1f80, registers zero, scratch zero)."""
    state = FpState({r: 0 for r in REGS}, 0x202, bytearray(SCRATCH))
    state.set_word(FCW, 0x037F)
    state.set_word(MXCSR, MXCSR_MASKS, 4)
    return FpCase([ENTRY], state)


def program_text(cases: list[FpCase]) -> str:
    """The whole assembly program for `cases`."""
    out = ["    .data", "    .align 4", "inputs:"]
    for case in cases:
        s = case.state
        head = struct.pack(f"<{len(REGS) + 1}I", *(s.regs[r] for r in REGS), s.eflags)
        blob = head + bytes(s.scratch) + bytes(s.fx)
        words = struct.unpack(f"<{len(blob) // 4}I", blob)
        out.append("    .long " + ",".join(f"{w:#x}" for w in words))
    out += [
        "cur_in: .long inputs",
        "saved_esp: .long 0",
        "tls_desc: .long -1, scratch, 0xfffff, 0x51",  # entry, base, limit, seg_32bit|limit_in_pages|useable
        "    .bss",
        "    .align 4096",
        f"    .space {4096 - SCRATCH // 2}",  # the scratch area straddles a page boundary at its middle
        f"scratch: .space {SCRATCH}",
        "fxin: .space 512",
        "fxout: .space 512",
        f"record: .space {RECORD_BYTES}",
        "    .text",
        "    .globl _start",
        "_start:",
        "    movl %esp, saved_esp",
    ]
    for index, case in enumerate(cases):
        if case.lines == [ENTRY]:  # record the state the program starts with, before loading anything
            out += [f"case_{index}:", "    call save", "    call setup_tls"]
            continue
        out += [f"case_{index}:", "    call load", *(f"    {line}" for line in case.lines), "    call save"]
    out += ["    movl $1, %eax", "    xorl %ebx, %ebx", "    int $0x80", runtime_text()]
    return "\n".join(out) + "\n"


def assemble(source_text: str, out_dir: Path, name: str) -> Path:
    """Assemble and link a program; return the binary. Built under a private name and renamed into place,
    so parallel test workers building the same program never see a partial file."""
    out_dir.mkdir(parents=True, exist_ok=True)
    source, binary = out_dir / f"{name}.s", out_dir / name
    tmp_source, tmp_binary = out_dir / f".{name}.{os.getpid()}.s", out_dir / f".{name}.{os.getpid()}"
    tmp_source.write_text(source_text)
    proc = subprocess.run(
        ["gcc", "-m32", "-static", "-nostdlib", str(tmp_source), "-o", str(tmp_binary)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"assembling {tmp_source} failed:\n{proc.stderr[:4000]}")
    os.replace(tmp_source, source)
    os.replace(tmp_binary, binary)
    return binary


def records(output: bytes) -> list[bytes]:
    """Split a program's stdout into per-case records."""
    return [output[i : i + RECORD_BYTES] for i in range(0, len(output) - RECORD_BYTES + 1, RECORD_BYTES)]


def input_record(case: FpCase) -> bytes:
    """The record a case that changes nothing would produce (the esp delta 0, MXCSR_MASK as loaded)."""
    s = case.state
    head = struct.pack(f"<{len(REGS) + 2}I", *(s.regs[r] for r in REGS), s.eflags, 0)
    return head + bytes(s.fx) + bytes(s.scratch)


def case_mask(case: FpCase) -> int:
    """COMPARED without the scratch ranges this case leaves out (pointer fields of fnstenv/fnsave)."""
    mask = COMPARED
    for start, end in case.ignore:
        width = end - start
        mask &= ~(((1 << 8 * width) - 1) << 8 * (REC_SCRATCH + start))
    return mask


def _bits(names: dict[str, int], want: int, got: int, label: str) -> list[str]:
    return [
        f"{label}.{n}: native={want >> b & 1} aotc={got >> b & 1}"
        for n, b in names.items()
        if (want ^ got) >> b & 1
    ]


def diff_record(want: bytes, got: bytes, mask: int) -> list[str]:
    """The fields that differ between two records, by name."""
    w, g = int.from_bytes(want, "little"), int.from_bytes(got, "little")
    if not (w ^ g) & mask:
        return []
    u32 = lambda rec, at: int.from_bytes(rec[at : at + 4], "little")  # noqa: E731
    u16 = lambda rec, at: int.from_bytes(rec[at : at + 2], "little")  # noqa: E731
    diffs = [
        f"{r}: native={u32(want, 4 * i):#010x} aotc={u32(got, 4 * i):#010x}"
        for i, r in enumerate(REGS)
        if u32(want, 4 * i) != u32(got, 4 * i)
    ]
    fl = 4 * len(REGS)
    diffs += _bits(FLAG_BITS, u32(want, fl) & FLAG_MASK, u32(got, fl) & FLAG_MASK, "EFLAGS")
    if u32(want, fl + 4) != u32(got, fl + 4):
        diffs.append(f"esp moved: native={u32(want, fl + 4):#x} aotc={u32(got, fl + 4):#x}")
    fx = REC_FX
    if u16(want, fx + FCW) != u16(got, fx + FCW):
        diffs.append(f"FCW: native={u16(want, fx + FCW):#06x} aotc={u16(got, fx + FCW):#06x}")
    fsw_w, fsw_g = u16(want, fx + FSW), u16(got, fx + FSW)
    diffs += _bits(FSW_BITS, fsw_w, fsw_g, "FSW")
    if (fsw_w ^ fsw_g) & 0x3800:
        diffs.append(f"FSW.TOP: native={fsw_w >> 11 & 7} aotc={fsw_g >> 11 & 7}")
    if want[fx + FTW] != got[fx + FTW]:
        diffs.append(f"FTW (abridged, bit i = Ri): native={want[fx + FTW]:#04x} aotc={got[fx + FTW]:#04x}")
    mx_w, mx_g = u32(want, fx + MXCSR), u32(got, fx + MXCSR)
    diffs += _bits(MXCSR_BITS, mx_w, mx_g, "MXCSR")
    if (mx_w ^ mx_g) & ~0x803F:
        diffs.append(f"MXCSR (masks/RC): native={mx_w:#06x} aotc={mx_g:#06x}")
    if u32(want, fx + MXCSR_MASK) != u32(got, fx + MXCSR_MASK):
        diffs.append(
            f"MXCSR_MASK: native={u32(want, fx + MXCSR_MASK):#x} aotc={u32(got, fx + MXCSR_MASK):#x}"
        )
    top = fsw_w >> 11 & 7
    for i in range(8):
        at = fx + ST_AT + 16 * i
        sw, sg = (int.from_bytes(rec[at : at + 10], "little") for rec in (want, got))
        if sw != sg:
            diffs.append(f"st({i}) [R{(top + i) % 8}]: native={V.f80_text(sw)} aotc={V.f80_text(sg)}")
    for i in range(8):
        at = fx + XMM_AT + 16 * i
        if want[at : at + 16] != got[at : at + 16]:
            diffs.append(
                f"xmm{i}: native={V.vec_text(want[at : at + 16])} aotc={V.vec_text(got[at : at + 16])}"
            )
    for i in range(0, SCRATCH, 4):
        at = REC_SCRATCH + i
        word_mask = mask >> 8 * at & 0xFFFFFFFF
        if (u32(want, at) ^ u32(got, at)) & word_mask:
            diffs.append(f"scratch+{i}: native={u32(want, at):#010x} aotc={u32(got, at):#010x}")
    return diffs


def describe_inputs(case: FpCase) -> str:
    """The inputs of a case, several lines."""
    s = case.state
    regs = " ".join(f"{r}={s.regs[r]:#010x}" for r in REGS)
    lines = [
        f"{regs} eflags={s.eflags:#06x}",
        f"FCW={s.word(FCW):#06x} FSW={s.word(FSW):#06x} (TOP={s.top}) FTW={s.fx[FTW]:#04x} "
        f"MXCSR={s.word(MXCSR, 4):#06x}",
    ]
    for i in range(8):
        valid = s.fx[FTW] >> (s.top + i) % 8 & 1
        lines.append(f"st({i}) [R{(s.top + i) % 8}]{'' if valid else ' empty'}: {V.f80_text(s.st(i))}")
    lines += [f"xmm{i}: {V.vec_text(s.xmm(i).to_bytes(16, 'little'))}" for i in range(8)]
    lines.append(f"scratch: {bytes(s.scratch).hex()}")
    return "\n  ".join(lines)


def compare_outputs(cases: list[FpCase], native: bytes, aotc: bytes, limit: int = 10) -> list[str]:
    """Reports of the cases whose aotc record differs from the native one."""
    return mismatch_reports(cases, records(native), records(aotc),
                            lambda i, w, g: diff_record(w, g, case_mask(cases[i])), describe_inputs, limit)
