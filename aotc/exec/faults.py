"""Host signals raised by generated code become guest faults.

A guest that divides by zero or touches unmapped memory makes the *host* instruction fault. A signal
handler written in our own machine code (Python cannot run inside a synchronous SIGSEGV) checks that the
faulting host pc lies in the code buffer, records signal, address and host pc in the CPU state (found
through r14, the CPU-state register of generated code), and resumes at a stub that leaves the TB with
ExitReason.FAULT. A fault anywhere else is aotc's own: the handler is installed with SA_RESETHAND, so
returning re-executes the instruction with the default action and aotc dies as it would without us.
"""

from __future__ import annotations

import ctypes
import signal

from aotc.backend.asm import R14, RAX, RCX, RDI, RDX, RSI, Asm, Mem
from aotc.guest.cpu import OFF_EPILOGUE, OFF_FAULT_ADDR, OFF_FAULT_RIP, OFF_FAULT_SIGNO, ExitReason

# x86-64 Linux ucontext_t: uc_mcontext.gregs starts at byte 40; REG_R14 = 6, REG_RIP = 16
_UC_GREGS = 40
_UC_R14 = _UC_GREGS + 8 * 6
_UC_RIP = _UC_GREGS + 8 * 16
_SI_ADDR = 16

SA_SIGINFO = 0x4
SA_RESETHAND = 0x80000000

FAULT_SIGNALS = (signal.SIGSEGV, signal.SIGBUS, signal.SIGFPE)


class _SigAction(ctypes.Structure):
    """glibc's struct sigaction on x86-64."""

    _fields_ = [
        ("handler", ctypes.c_void_p),
        ("mask", ctypes.c_uint64 * 16),
        ("flags", ctypes.c_int),
        ("restorer", ctypes.c_void_p),
    ]


_libc = ctypes.CDLL(None, use_errno=True)
_libc.sigaction.argtypes = [ctypes.c_int, ctypes.POINTER(_SigAction), ctypes.POINTER(_SigAction)]


def build_fault_stub() -> bytes:
    """Code the handler resumes at: leave the TB through the epilogue with ExitReason.FAULT."""
    a = Asm()
    a.mov(32, RAX, int(ExitReason.FAULT))
    a.jmp(Mem(R14, disp=OFF_EPILOGUE))
    return a.code()


def build_handler(code_start: int, code_end: int, stub: int) -> bytes:
    """The SA_SIGINFO handler `void h(int sig, siginfo_t *si, ucontext_t *uc)` for faults in [start, end)."""
    a = Asm()
    not_ours = a.label()
    a.mov(64, RAX, Mem(RDX, disp=_UC_RIP))
    a.mov(64, RCX, code_start)
    a.cmp(64, RAX, RCX)
    a.jcc(2, not_ours)                      # below
    a.mov(64, RCX, code_end)
    a.cmp(64, RAX, RCX)
    a.jcc(3, not_ours)                      # above or equal
    a.mov(64, RCX, Mem(RDX, disp=_UC_R14))
    a.mov(64, Mem(RCX, disp=OFF_FAULT_RIP), RAX)
    a.mov(32, Mem(RCX, disp=OFF_FAULT_SIGNO), RDI)
    a.mov(64, RAX, Mem(RSI, disp=_SI_ADDR))
    a.mov(64, Mem(RCX, disp=OFF_FAULT_ADDR), RAX)
    a.mov(64, RAX, stub)
    a.mov(64, Mem(RDX, disp=_UC_RIP), RAX)
    a.bind(not_ours)
    a.ret()
    return a.code()


def install_handler(handler_addr: int) -> None:
    """Make the machine-code handler at `handler_addr` catch the fault signals (reset after each one)."""
    act = _SigAction()
    act.handler = handler_addr
    act.flags = SA_SIGINFO | SA_RESETHAND
    for signo in FAULT_SIGNALS:
        if _libc.sigaction(int(signo), ctypes.byref(act), None) != 0:
            raise OSError(ctypes.get_errno(), f"sigaction({signo}) failed")
