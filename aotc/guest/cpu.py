"""The guest CPU state: one native struct that generated code addresses through a fixed host register.

Python reads and writes it between TB runs; the frontend addresses its fields by the offsets below;
the exit reasons are the contract between generated code and `cpu_loop`.
"""

from __future__ import annotations

import ctypes
import enum

EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI = range(8)
GPR_NAMES = ("eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi")

ES, CS, SS, DS, FS, GS = range(6)
SEG_NAMES = ("es", "cs", "ss", "ds", "fs", "gs")


class ExitReason(enum.IntEnum):
    """Why generated code returned to `cpu_loop` (QEMU's exception index): the low byte of the exit value.

    For goto_tb exits, bits 8..15 of the exit value hold the slot number plus one, and `exit_site` the
    host address of the exit, so that the dispatcher can chain that exit to the next TB.
    """

    JUMP = 0          # eip holds the next guest pc: look it up (or translate it) and go on
    SYSCALL = 1       # int 0x80 executed; eip is the next instruction
    HELPER = 2        # Python finishes the instruction: `helper` says what (see Helper); eip is the next one
    SIGILL = 3        # an undefined instruction (ud2, a bad opcode) at eip
    UNSUPPORTED = 4   # an instruction aotc cannot translate at eip: SIGILL, and aotc says which
    TRAP = 5          # a CPU exception: `helper` holds the vector, and the error code in bits 8..31;
                      # eip is the instruction's for a fault, the next one's for a trap (int3, into)
    FAULT = 6         # a host signal in generated code: fault_signo, fault_addr and fault_rip are set


class Vector(enum.IntEnum):
    """The CPU exceptions a user-mode instruction raises through a TRAP exit (Intel SDM vol. 3, 6.3)."""

    DB = 1            # debug: icebp, or the single-step trap of the trap flag
    BP = 3            # breakpoint: int3
    OF = 4            # overflow: into
    BR = 5            # bound range exceeded
    UD = 6            # invalid opcode
    NP = 11           # segment not present
    SS = 12           # stack segment fault
    GP = 13           # general protection: privileged instructions, int N, bad selectors


class TBMode(enum.IntFlag):
    """`tb_flags`: how the code at eip is to be translated besides eip itself (QEMU's TB flags);
    0 is flat 32-bit code, the only mode the jump cache holds (the persistent cache keys the others
    by mode and cs base)."""

    CODE16 = 1        # cs is a 16-bit code segment: 16-bit default operand and address size
    SEGMENTED = 2     # ds, es or ss has a base: every memory operand adds its segment's base
    CS_BASE = 4       # cs has a base: eip is an offset from it


class Helper(enum.IntEnum):
    """What a HELPER exit asks Python to do; the low byte of `helper`, the argument in bits 8..15."""

    LOAD_SEG = 1      # load segment register arg & 7 with the selector in bits 16..31 (see LoadSeg)
    FAR = 2           # a far jmp/call/ret or iret, which loads cs (see Far)
    QUERY_SEG = 3     # lar/lsl/verr/verw on the selector in bits 16..31 (see SegQuery)


class Far(enum.IntEnum):
    """A FAR helper's kind (argument bits 0..3; bit 4, FAR16, for a 16-bit operand size): eip is the
    instruction's, `helper_next` the next one's; the selector is in bits 16..31 and `helper_val` holds
    the target offset (jmp, call) or the bytes ret imm16 releases (ret); iret pops all it needs."""

    JMP = 1
    CALL = 2
    RET = 3
    IRET = 4


FAR16 = 0x10


class SegQuery(enum.IntEnum):
    """A QUERY_SEG helper's kind (argument bits 0..1); bits 2..4 name lar's and lsl's destination
    register, bit 5 (QUERY16) a 16-bit one; `helper_next` is the next eip."""

    LAR = 0
    LSL = 1
    VERR = 2
    VERW = 3


QUERY16 = 0x20


class LoadSeg(enum.IntFlag):
    """The bits of a LOAD_SEG helper's argument above the segment register number (bits 0..2): eip is
    the instruction's, `helper_next` the next one's, and on success Python also moves `helper_val`
    into esp (POP) or into the register in bits 3..5 (LXS: lds, les, lfs, lgs, lss)."""

    POP = 0x40
    LXS = 0x80


EFLAGS_TF = 0x100             # the trap flag, kept in eflags_misc: cpu_loop single-steps while it is set
FCW_INIT = 0x037F             # x87: all exceptions masked, extended precision, round to nearest (finit)
MXCSR_INIT = 0x1F80           # SSE: all exceptions masked, round to nearest, no FTZ/DAZ


class CPUState(ctypes.Structure):
    """Guest registers and the fields generated code and the dispatcher share.

    `cc` is the guest's arithmetic flags in the backend's own encoding (see `aotc.backend.flags`);
    `exit_request` non-zero makes the next TB entered leave at once (QEMU's exit_request): the host
    signal handler sets it so that a signal reaches Python even from code that never exits;
    `fault_code` is the si_code the host kernel gave a fault (FPE_FLTDIV...) and `fault_trapno` the
    CPU's exception number (13 #GP, 16 #MF, 19 #XM...); `fpu` is the guest's x87,
    MMX and SSE state in fxsave layout (see `aotc.guest.fpstate`) whenever Python runs, the initial
    state (FCW_INIT, MXCSR_INIT, nothing else) in a new CPUState, and
    `host_mxcsr`/`host_fcw` are the host's own control words, kept there while generated code runs;
    `helper_next` and `helper_val` carry a HELPER request's next eip and value;
    `df` is the direction flag (0 or 1); `eflags_misc` keeps the other EFLAGS bits a guest may set with
    popf (AC, ID) so that pushf gives them back.
    """

    _fields_ = [
        ("regs", ctypes.c_uint32 * 8),
        ("eip", ctypes.c_uint32),
        ("cc", ctypes.c_uint32),
        ("df", ctypes.c_uint32),
        ("eflags_misc", ctypes.c_uint32),
        ("seg_sel", ctypes.c_uint32 * 6),
        ("seg_base", ctypes.c_uint32 * 6),
        ("helper", ctypes.c_uint32),
        ("exit_request", ctypes.c_uint32),
        ("fault_signo", ctypes.c_uint32),
        ("fault_err", ctypes.c_uint32),
        ("fault_code", ctypes.c_uint32),
        ("fault_trapno", ctypes.c_uint32),
        ("fault_addr", ctypes.c_uint64),
        ("fault_rip", ctypes.c_uint64),
        ("guest_base", ctypes.c_uint64),
        ("epilogue", ctypes.c_uint64),
        ("exit_site", ctypes.c_uint64),
        ("jmp_cache", ctypes.c_uint64),
        ("scratch", ctypes.c_uint64 * 8),
        ("host_mxcsr", ctypes.c_uint32),
        ("host_fcw", ctypes.c_uint32),
        ("fpu", ctypes.c_uint8 * 512),
        ("helper_next", ctypes.c_uint32),
        ("helper_val", ctypes.c_uint32),
        ("tb_flags", ctypes.c_uint32),
    ]

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fpu[0:2] = FCW_INIT.to_bytes(2, "little")
        self.fpu[24:28] = MXCSR_INIT.to_bytes(4, "little")


def _offset(name: str) -> int:
    return getattr(CPUState, name).offset


REG_OFFSETS = tuple(_offset("regs") + 4 * i for i in range(8))
OFF_EIP = _offset("eip")
OFF_CC = _offset("cc")
OFF_DF = _offset("df")
OFF_EFLAGS_MISC = _offset("eflags_misc")
SEG_SEL_OFFSETS = tuple(_offset("seg_sel") + 4 * i for i in range(6))
SEG_BASE_OFFSETS = tuple(_offset("seg_base") + 4 * i for i in range(6))
OFF_HELPER = _offset("helper")
OFF_EXIT_REQUEST = _offset("exit_request")
OFF_FAULT_SIGNO = _offset("fault_signo")
OFF_FAULT_ERR = _offset("fault_err")
OFF_FAULT_CODE = _offset("fault_code")
OFF_FAULT_TRAPNO = _offset("fault_trapno")
OFF_FAULT_ADDR = _offset("fault_addr")
OFF_FAULT_RIP = _offset("fault_rip")
OFF_GUEST_BASE = _offset("guest_base")
OFF_EPILOGUE = _offset("epilogue")
OFF_EXIT_SITE = _offset("exit_site")
OFF_JMP_CACHE = _offset("jmp_cache")
OFF_SCRATCH = _offset("scratch")
OFF_HOST_MXCSR = _offset("host_mxcsr")
OFF_HOST_FCW = _offset("host_fcw")
OFF_FPU = _offset("fpu")
OFF_HELPER_NEXT = _offset("helper_next")
OFF_HELPER_VAL = _offset("helper_val")
FPU_ALIGN = 16          # fxsave/fxrstor need a 16-byte aligned area: CPUState buffers are 16-aligned
assert OFF_FPU % FPU_ALIGN == 0, "the fxsave area must sit at a 16-byte aligned offset"


def load_code_segment(cpu: CPUState, selector: int, base: int, code16: bool) -> None:
    """cs = `selector` at `base`, and the TB mode that follows from it (CODE16 for a 16-bit code
    segment, CS_BASE for a based one)."""
    cpu.seg_sel[CS], cpu.seg_base[CS] = selector, base
    cpu.tb_flags = (cpu.tb_flags & ~TBMode.CODE16) | (TBMode.CODE16 if code16 else 0)
    refresh_tb_mode(cpu)


def refresh_tb_mode(cpu: CPUState) -> None:
    """Recompute tb_flags' SEGMENTED and CS_BASE bits after a segment register changed (CODE16 is
    set with cs itself)."""
    mode = cpu.tb_flags & TBMode.CODE16
    if cpu.seg_base[DS] or cpu.seg_base[ES] or cpu.seg_base[SS]:
        mode |= TBMode.SEGMENTED
    if cpu.seg_base[CS]:
        mode |= TBMode.CS_BASE
    cpu.tb_flags = mode
