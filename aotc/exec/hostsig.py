"""Host signals: one handler of our own machine code for every signal, and interruptible syscalls.

Python cannot run inside a signal handler, and generated code may never return to Python, so aotc
installs (with the raw rt_sigaction, for every signal but SIGKILL and SIGSTOP) a handler it assembles
itself. It does one of three things:

- a fault the kernel raised (si_code > 0) in generated code: record signal, address, page-fault error
  code and host pc in the CPU state (through r14) and resume at a stub that leaves the TB with
  ExitReason.FAULT;
- a fault the kernel raised anywhere else is aotc's own: put back the default action and return, so
  the instruction faults again and aotc dies as it would without us;
- any other signal (sent by kill, a timer, the terminal, SIGPIPE, SIGCHLD...): copy its siginfo into a
  per-signal slot of the pending table (a standard signal already pending is not queued twice, as in
  the kernel), set `signalled` and the running CPU's `exit_request`, and empty the jump cache, so that
  generated code goes back to Python at its next loop back edge (which tests exit_request) or
  indirect jump (which now misses); and, if the signal interrupted the window of the safe-syscall stub
  before its `syscall`, resume at the stub's not-started return instead (QEMU's safe_syscall): a
  blocking syscall can never miss a signal that arrived just before it started, and its caller knows
  it never ran (-NOT_STARTED, see aotc.linux.interrupt) and runs it again after the handler.

The handler runs with every signal blocked and installs no SA_RESTART, so a blocking host syscall
returns EINTR; Python's own calls retry (PEP 475), the guest's go through `HostSignals.syscall` and
are restarted or fail as the guest's dispositions say (aotc.linux.interrupt).
"""

from __future__ import annotations

import ctypes
import os
import signal
import threading
from collections.abc import Iterable

from aotc.backend.asm import R8, R9, R10, R14, RAX, RCX, RDI, RDX, RSI, Asm, Mem
from aotc.backend.jmpcache import EMPTY_PC, JMP_CACHE_ENTRY_LOG2
from aotc.exec.codebuf import CodeBuffer
from aotc.guest.cpu import (
    OFF_EPILOGUE,
    OFF_EXIT_REQUEST,
    OFF_FAULT_ADDR,
    OFF_FAULT_CODE,
    OFF_FAULT_ERR,
    OFF_FAULT_RIP,
    OFF_FAULT_SIGNO,
    OFF_FAULT_TRAPNO,
    CPUState,
    ExitReason,
)
from aotc.linux.interrupt import NOT_STARTED

NSIG = 64
SIGINFO_SIZE = 128
FAULT_SIGNALS = (signal.SIGSEGV, signal.SIGBUS, signal.SIGFPE, signal.SIGILL, signal.SIGTRAP)
UNCATCHABLE = (signal.SIGKILL, signal.SIGSTOP)

# x86-64 Linux ucontext_t: uc_mcontext.gregs starts at byte 40; REG_R14 = 6, REG_RIP = 16, REG_ERR = 19
_UC_GREGS = 40
_UC_R14 = _UC_GREGS + 8 * 6
_UC_RIP = _UC_GREGS + 8 * 16
_UC_ERR = _UC_GREGS + 8 * 19
_UC_TRAPNO = _UC_GREGS + 8 * 20
_SI_CODE = 8
_SI_ADDR = 16

_SYS_RT_SIGACTION = 13
_SYS_RT_SIGRETURN = 15
_SYS_RT_SIGPROCMASK = 14
SIG_BLOCK, SIG_UNBLOCK = 0, 1
_SYS_TGKILL = 234
SA_SIGINFO = 0x4
SA_RESTORER = 0x04000000
_CC_B, _CC_AE, _CC_E, _CC_NE, _CC_LE = 2, 3, 4, 5, 14
JMP_CACHE_ENTRY_SIZE = 1 << JMP_CACHE_ENTRY_LOG2


class SignalControl(ctypes.Structure):
    """What the handler reads and writes; `kind[s]` is 1 for signals the CPU raises as faults."""

    _fields_ = [
        ("flag_ptr", ctypes.c_uint64),        # &exit_request of the CPU state generated code runs on
        ("signalled", ctypes.c_uint32),       # set with every signal taken; the safe stub checks it
        ("spare", ctypes.c_uint32),           # where flag_ptr points before a CPU state is attached
        ("code_start", ctypes.c_uint64),
        ("code_end", ctypes.c_uint64),
        ("fault_stub", ctypes.c_uint64),
        ("safe_start", ctypes.c_uint64),
        ("safe_end", ctypes.c_uint64),
        ("safe_eintr", ctypes.c_uint64),
        ("jmp_cache", ctypes.c_uint64),       # the jump cache, emptied by every signal (0: none)
        ("jmp_entries", ctypes.c_uint64),
        ("jmp_miss", ctypes.c_uint64),        # the host code an empty entry points at
        ("dfl", ctypes.c_uint64 * 4),         # a kernel sigaction with SIG_DFL
        ("kind", ctypes.c_uint8 * (NSIG + 1)),
        ("pending", ctypes.c_uint8 * (NSIG + 1)),
        ("infos", (ctypes.c_uint8 * SIGINFO_SIZE) * (NSIG + 1)),
    ]


def _off(name: str) -> int:
    return getattr(SignalControl, name).offset


class _KernelSigaction(ctypes.Structure):
    """The x86-64 kernel's struct sigaction (what rt_sigaction takes, not glibc's)."""

    _fields_ = [("handler", ctypes.c_uint64), ("flags", ctypes.c_uint64),
                ("restorer", ctypes.c_uint64), ("mask", ctypes.c_uint64)]


_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_SAFE = ctypes.CFUNCTYPE(ctypes.c_long, ctypes.c_void_p)


def default_action(signo: int) -> None:
    """Put back signo's default action and send it to this thread, unblocked: the kernel acts on it
    before this returns. Raw syscalls, which take every signal (glibc refuses 32 and 33)."""
    dfl = _KernelSigaction(0, 0, 0, 0)
    _libc.syscall(_SYS_RT_SIGACTION, signo, ctypes.byref(dfl), None, 8)
    _sigprocmask(SIG_UNBLOCK, 1 << (signo - 1))
    _libc.syscall(_SYS_TGKILL, os.getpid(), threading.get_native_id(), signo)


def block_all_signals() -> None:
    """Block every signal in the calling thread (32 and 33 too), so the kernel picks another thread."""
    _sigprocmask(SIG_BLOCK, (1 << NSIG) - 1)


def _sigprocmask(how: int, mask: int) -> None:
    sigset = ctypes.c_uint64(mask)
    _libc.syscall(_SYS_RT_SIGPROCMASK, how, ctypes.byref(sigset), None, 8)


def build_fault_stub() -> bytes:
    """Code the handler resumes generated code at: leave the TB through the epilogue with FAULT."""
    a = Asm()
    a.mov(32, RAX, int(ExitReason.FAULT))
    a.jmp(Mem(R14, disp=OFF_EPILOGUE))
    return a.code()


def build_restorer() -> bytes:
    """sa_restorer: the rt_sigreturn a handler returns into (the raw syscall needs one of ours)."""
    a = Asm()
    a.mov(32, RAX, _SYS_RT_SIGRETURN)
    a.syscall()
    return a.code()


def build_safe_syscall() -> tuple[bytes, int, int, int]:
    """`long safe(long blk[8])` with blk = {flag address, nr, six arguments}: returns -NOT_STARTED
    without entering the kernel if *flag is set, else the raw result. Also the offsets of the window
    the handler rewinds (from the flag check up to the syscall instruction) and of that return."""
    a = Asm()
    a.mov(64, RAX, Mem(RDI, disp=8))
    a.mov(64, RCX, Mem(RDI, disp=0))
    a.mov(64, RSI, Mem(RDI, disp=24))
    a.mov(64, RDX, Mem(RDI, disp=32))
    a.mov(64, R10, Mem(RDI, disp=40))
    a.mov(64, R8, Mem(RDI, disp=48))
    a.mov(64, R9, Mem(RDI, disp=56))
    a.mov(64, RDI, Mem(RDI, disp=16))
    eintr = a.label()
    start = a.pos
    a.cmp(32, Mem(RCX), 0)
    a.jcc(_CC_NE, eintr)
    a.syscall()
    end = a.pos
    a.ret()
    eintr_at = a.pos
    a.bind(eintr)
    a.mov(64, RAX, -NOT_STARTED)
    a.ret()
    return a.code(), start, end, eintr_at


def build_handler(ctrl: int) -> bytes:
    """The SA_SIGINFO handler `void h(int sig, siginfo_t *si, ucontext_t *uc)` over SignalControl at
    `ctrl` (see the module docstring)."""
    a = Asm()
    pending, own, flag, done = a.label(), a.label(), a.label(), a.label()
    a.mov(32, RAX, RDI)
    a.mov(64, RCX, ctrl)
    a.cmp(8, Mem(RCX, index=RAX, disp=_off("kind")), 0)
    a.jcc(_CC_E, pending)
    a.cmp(32, Mem(RSI, disp=_SI_CODE), 0)
    a.jcc(_CC_LE, pending)                     # sent, not raised by the CPU
    a.mov(64, R8, Mem(RDX, disp=_UC_RIP))
    a.cmp(64, R8, Mem(RCX, disp=_off("code_start")))
    a.jcc(_CC_B, own)
    a.cmp(64, R8, Mem(RCX, disp=_off("code_end")))
    a.jcc(_CC_AE, own)
    a.mov(64, R9, Mem(RDX, disp=_UC_R14))      # a guest fault: tell cpu_loop through the CPU state
    a.mov(64, Mem(R9, disp=OFF_FAULT_RIP), R8)
    a.mov(32, Mem(R9, disp=OFF_FAULT_SIGNO), RAX)
    a.mov(64, R10, Mem(RSI, disp=_SI_ADDR))
    a.mov(64, Mem(R9, disp=OFF_FAULT_ADDR), R10)
    a.mov(64, R10, Mem(RDX, disp=_UC_ERR))
    a.mov(32, Mem(R9, disp=OFF_FAULT_ERR), R10)
    a.mov(32, R10, Mem(RSI, disp=_SI_CODE))
    a.mov(32, Mem(R9, disp=OFF_FAULT_CODE), R10)
    a.mov(64, R10, Mem(RDX, disp=_UC_TRAPNO))
    a.mov(32, Mem(R9, disp=OFF_FAULT_TRAPNO), R10)
    a.mov(64, R10, Mem(RCX, disp=_off("fault_stub")))
    a.mov(64, Mem(RDX, disp=_UC_RIP), R10)
    a.ret()
    a.bind(own)                                # aotc's own fault: die of it as without the handler
    a.mov(32, RDI, RAX)
    a.lea(64, RSI, Mem(RCX, disp=_off("dfl")))
    a.xor(32, RDX, RDX)
    a.mov(32, R10, 8)
    a.mov(32, RAX, _SYS_RT_SIGACTION)
    a.syscall()
    a.ret()
    a.bind(pending)
    a.cmp(8, Mem(RCX, index=RAX, disp=_off("pending")), 0)
    a.jcc(_CC_NE, flag)
    a.mov(64, R8, RAX)
    a.shl(64, R8, 7)
    a.add(64, R8, RCX)
    for i in range(SIGINFO_SIZE // 8):
        a.mov(64, R9, Mem(RSI, disp=8 * i))
        a.mov(64, Mem(R8, disp=_off("infos") + 8 * i), R9)
    a.mov(8, Mem(RCX, index=RAX, disp=_off("pending")), 1)
    a.bind(flag)
    empty, clear = a.label(), a.label()
    a.mov(64, R8, Mem(RCX, disp=_off("jmp_cache")))      # no indirect jump finds its target now
    a.mov(64, R9, Mem(RCX, disp=_off("jmp_entries")))
    a.test(64, R9, R9)
    a.jcc(_CC_E, empty)
    a.mov(64, R10, Mem(RCX, disp=_off("jmp_miss")))
    a.bind(clear)
    a.mov(32, Mem(R8), EMPTY_PC)
    a.mov(64, Mem(R8, disp=8), R10)
    a.add(64, R8, JMP_CACHE_ENTRY_SIZE)
    a.dec(64, R9)
    a.jcc(_CC_NE, clear)
    a.bind(empty)
    a.mov(32, Mem(RCX, disp=_off("signalled")), 1)
    a.mov(64, R8, Mem(RCX, disp=_off("flag_ptr")))
    a.mov(32, Mem(R8), 1)
    a.mov(64, R8, Mem(RDX, disp=_UC_RIP))
    a.cmp(64, R8, Mem(RCX, disp=_off("safe_start")))
    a.jcc(_CC_B, done)
    a.cmp(64, R8, Mem(RCX, disp=_off("safe_end")))
    a.jcc(_CC_AE, done)
    a.mov(64, R9, Mem(RCX, disp=_off("safe_eintr")))
    a.mov(64, Mem(RDX, disp=_UC_RIP), R9)
    a.bind(done)
    a.ret()
    return a.code()


class HostSignals:
    """The handler, its stubs and the pending table, placed in the fixed part of a code buffer."""

    def __init__(self, buf: CodeBuffer) -> None:
        self.caught: set[int] = set()
        self.ctrl = SignalControl()
        ctrl = self.ctrl
        ctrl.flag_ptr = ctypes.addressof(ctrl) + _off("spare")
        ctrl.code_start, ctrl.code_end = buf.base, buf.base + buf.size
        for signo in FAULT_SIGNALS:
            ctrl.kind[signo] = 1
        ctrl.fault_stub = buf.append(build_fault_stub())
        self.restorer = buf.append(build_restorer())
        code, start, end, eintr = build_safe_syscall()
        safe = buf.append(code)
        ctrl.safe_start, ctrl.safe_end, ctrl.safe_eintr = safe + start, safe + end, safe + eintr
        self._safe = _SAFE(safe)
        self._block = (ctypes.c_int64 * 8)()
        self._block[0] = ctypes.addressof(ctrl) + _off("signalled")
        self.handler = buf.append(build_handler(ctypes.addressof(ctrl)))

    def install(self, signals: Iterable[int] | None = None) -> None:
        """Catch these signals, by default every one that can be caught (OSError if the kernel refuses
        one); the engine alone needs only the faults."""
        for signo in range(1, NSIG + 1) if signals is None else signals:
            if signo not in UNCATCHABLE:
                self._catch(signo)

    def _catch(self, signo: int) -> None:
        act = _KernelSigaction(self.handler, SA_SIGINFO | SA_RESTORER, self.restorer, (1 << 64) - 1)
        if _libc.syscall(_SYS_RT_SIGACTION, signo, ctypes.byref(act), None, 8) != 0:
            raise OSError(ctypes.get_errno(), f"rt_sigaction({signo}) failed")
        self.caught.add(signo)

    def release(self) -> None:
        """Stop catching: point the handler at no CPU state and no jump cache and put back the default
        action of each signal caught, first blocking every signal in this thread if the guest's own
        signals were caught (the guest is gone: nothing is delivered any more, and a timer it left
        armed must not kill aotc while it finishes). Called before the CPU state, the jump cache and
        the code buffer holding the handler are freed: a signal taken after that would write into
        freed memory."""
        if self.caught - set(FAULT_SIGNALS):
            block_all_signals()
        ctrl = self.ctrl
        ctrl.flag_ptr = ctypes.addressof(ctrl) + _off("spare")
        ctrl.jmp_entries = 0
        dfl = _KernelSigaction(0, 0, 0, 0)
        for signo in self.caught:
            _libc.syscall(_SYS_RT_SIGACTION, signo, ctypes.byref(dfl), None, 8)
        self.caught.clear()

    def default_action(self, signo: int) -> None:
        """Let the host kernel apply signo's default action to aotc, then catch it again: for a stop
        signal the kernel stops aotc (or, in an orphaned process group, ignores it) as it would the
        guest."""
        default_action(signo)
        self._catch(signo)

    def attach(self, cpu: CPUState, jmp_cache: ctypes.Array | None = None, miss: int = 0) -> None:
        """Make signals set `cpu.exit_request` (the CPU state generated code runs on) and empty
        `jmp_cache`, the jump cache its indirect jumps look in (pointing entries at `miss`)."""
        self.ctrl.flag_ptr = ctypes.addressof(cpu) + OFF_EXIT_REQUEST
        if jmp_cache is not None:
            self.ctrl.jmp_cache, self.ctrl.jmp_entries = ctypes.addressof(jmp_cache), len(jmp_cache)
            self.ctrl.jmp_miss = miss

    def take(self) -> list[bytes]:
        """The host siginfos (x86-64 layout) of the signals that arrived since the last call, lowest
        signal first; clears the table."""
        ctrl = self.ctrl
        if not ctrl.signalled:          # set after the slot is filled, so nothing is missed
            return []
        ctrl.signalled = 0
        raw = bytes(ctrl.pending)
        out = []
        signo = raw.find(1)
        while signo > 0:
            out.append(bytes(ctrl.infos[signo]))
            ctrl.pending[signo] = 0
            signo = raw.find(1, signo + 1)
        return out

    def syscall(self, nr: int, *args: int) -> int:
        """A raw host syscall that a signal interrupts: -EINTR in the kernel, -NOT_STARTED for one
        that arrived just before it."""
        block = self._block
        block[1] = nr
        for i in range(2, len(block)):       # no argument of an earlier call is left for this one
            block[i] = args[i - 2] if i - 2 < len(args) else 0
        return self._safe(block)
