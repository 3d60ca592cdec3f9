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
    SIGSEGV = 5       # a privileged instruction (hlt, cli, in/out, int N) at eip: #GP, SIGSEGV on Linux
    SIGTRAP = 6       # int3 at eip; eip is the next instruction, as after the trap
    FAULT = 7         # a host signal in generated code: fault_signo, fault_addr and fault_rip are set


class Helper(enum.IntEnum):
    """What a HELPER exit asks Python to do; the low byte of `helper`, the argument in bits 8..15."""

    LOAD_SEG = 1      # seg_sel[arg] was just written: set seg_base[arg] from the guest's TLS descriptors


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
FPU_ALIGN = 16          # fxsave/fxrstor need a 16-byte aligned area: CPUState buffers are 16-aligned
assert OFF_FPU % FPU_ALIGN == 0, "the fxsave area must sit at a 16-byte aligned offset"
