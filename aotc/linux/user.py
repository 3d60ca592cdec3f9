"""LinuxUser: the guest's view of the kernel — the syscall entry point and the per-process state.

Guest file descriptors are host file descriptors (stdin/stdout/stderr pass straight through). aotc's
own descriptors (cache files) are registered with `reserve_fd`: the guest sees them as closed (EBADF)
and cannot close or dup2 over them; a guest open never returns them since the host has them in use.
"""

from __future__ import annotations

import errno
import os
import resource
import signal
from collections.abc import Callable

from aotc.guest.cpu import EAX, EBP, EBX, ECX, EDI, EDX, ESI, CPUState
from aotc.guest.memory import GuestFault, GuestMemory
from aotc.linux.errors import GuestExit, GuestKilled, SyscallError
from aotc.linux.paths import DirCookies
from aotc.linux.sigframe import SigInfo, Trap, setup_frame
from aotc.linux.signals import SigAction, SignalState
from aotc.linux.strace import format_call, format_result
from aotc.linux.syscalls import SYSCALLS
from aotc.loader.program import LoadedProgram

ARG_REGS = (EBX, ECX, EDX, ESI, EDI, EBP)
TLS_ENTRIES = (12, 13, 14)          # GDT_ENTRY_TLS_MIN..MAX on x86
FLAT_SELECTORS = (0x23, 0x2B)       # __USER32_CS, __USER_DS on an x86-64 kernel: base 0
GUEST_STACK_LIMIT = 8 << 20
SIGPIPE = int(signal.SIGPIPE)
SIGSEGV = int(signal.SIGSEGV)
SEGV_MAPERR, SEGV_ACCERR, SI_KERNEL = 1, 2, 0x80
PF_PROT, PF_USER = 1, 4             # page-fault error code bits (present page, user mode)
FAULT_TRAPNO = {int(signal.SIGFPE): 0, int(signal.SIGTRAP): 3, int(signal.SIGILL): 6}
"""The trap number a fault leaves in sigcontext (#DE, #BP, #UD); SIGSEGV is #PF (14) or #GP (13)."""
RLIMIT_COUNT = 16                   # RLIM_NLIMITS: the resource numbers are the same on i386 and x86-64


def _initial_rlimits() -> dict[int, tuple[int, int]]:
    """The host's limits, with the stack limit the guest's stack was built for."""
    limits = {r: resource.getrlimit(r) for r in range(RLIMIT_COUNT)}
    limits[resource.RLIMIT_STACK] = (GUEST_STACK_LIMIT, limits[resource.RLIMIT_STACK][1])
    return limits


def _signame(signo: int) -> str:
    try:
        return signal.Signals(signo).name
    except ValueError:
        return f"signal {signo}"


class LinuxUser:
    """Linux user-mode emulation for one i386 guest process."""

    def __init__(self, mem: GuestMemory, program: LoadedProgram,
                 strace: Callable[[str], None] | None = None,
                 unimp: Callable[[str], None] | None = None) -> None:
        self.mem = mem
        self.program = program
        self.strace = strace
        self.unimp = unimp
        """Where an unknown syscall is reported (`-d unimp`); the strace log gets it too."""
        self.brk_start = program.brk
        self.brk = program.brk
        self.pid = os.getpid()
        self.tls: dict[int, tuple[int, int, int]] = {}
        """TLS GDT entries: entry number → (base, limit, flag bits) as set_thread_area gave them."""
        self.signals = SignalState()
        self.cpu: CPUState | None = None
        """The CPU state of the syscall being run (sigreturn reads and rewrites it)."""
        self.rlimits = _initial_rlimits()
        self.reserved_fds: set[int] = set()
        self.clear_child_tid = 0
        self.dir_cookies: dict[int, DirCookies] = {}
        """Per directory fd: the getdents64 offset cookies the guest was given."""

    # -- the syscall entry -----------------------------------------------------------------------

    def syscall(self, cpu: CPUState) -> None:
        """Run the syscall in eax with the arguments in ebx..ebp; put the result (or -errno) in eax."""
        self.cpu = cpu
        nr = cpu.regs[EAX]
        args = tuple(cpu.regs[r] for r in ARG_REGS)
        entry = SYSCALLS.get(nr)
        if entry is None:
            report = self.unimp or self.strace
            if report:
                report(f"unknown syscall {nr}({','.join(hex(a) for a in args[:3])}) = -1 errno=38 "
                           f"(Function not implemented)")
            cpu.regs[EAX] = -errno.ENOSYS & 0xFFFFFFFF
            return
        call = format_call(self.mem, entry.name, entry.fmt, args) if self.strace else ""
        try:
            result = self._run(entry.handler, args[:len(entry.fmt)])
        except (GuestExit, GuestKilled):
            if self.strace:
                self.strace(call)
            raise
        if self.strace:
            self.strace(f"{call} = {format_result(result, entry.ret)}")
        cpu.regs[EAX] = result & 0xFFFFFFFF

    def _run(self, handler: Callable[..., int], args: tuple[int, ...]) -> int:
        try:
            return handler(self, *args)
        except SyscallError as e:
            return -e.errno
        except GuestFault:
            return -errno.EFAULT
        except OSError as e:
            if e.errno == errno.EPIPE:
                self.signals.raise_self(SIGPIPE)     # what the kernel sends a writer of a broken pipe
            return -(e.errno or errno.EIO)

    # -- signal delivery -------------------------------------------------------------------------

    def deliver_pending(self, cpu: CPUState) -> None:
        """Run the default action of, or set up a handler frame for, each deliverable pending signal
        (the last one set up runs first, as when Linux delivers several on one return to user mode)."""
        while (ready := self.signals.dequeue()) is not None:
            info, act = ready
            self._deliver(cpu, info, act, Trap())

    def fault(self, cpu: CPUState, signo: int, code: int, addr: int) -> None:
        """A synchronous fault at cpu.eip: enter the guest's handler, or GuestKilled(signo)."""
        act = self.signals.handler_for_fault(signo)
        if signo == SIGSEGV and code in (SEGV_MAPERR, SEGV_ACCERR):
            trap = Trap(14, PF_USER | (PF_PROT if code == SEGV_ACCERR else 0), addr)
        else:
            trap = Trap(FAULT_TRAPNO.get(signo, 13))
        self._deliver(cpu, SigInfo(signo, code, (addr,)), act, trap)

    def _deliver(self, cpu: CPUState, info: SigInfo, act: SigAction, trap: Trap) -> None:
        """Push the frame and enter the handler; a stack that cannot take it gets SIGSEGV's default."""
        sig = self.signals
        if self.strace:
            self.strace(f"--- {_signame(info.signo)} {{si_signo={info.signo}, si_code={info.code}}} ---")
        try:
            setup_frame(self.mem, cpu, act.handler, act.flags, act.restorer, sig.altstack, sig.blocked,
                        info, trap)
        except GuestFault:
            raise GuestKilled(SIGSEGV, "no room for a signal frame") from None
        sig.delivered(info.signo, act)

    # -- helpers the handlers share --------------------------------------------------------------

    def fd(self, fd: int) -> int:
        """A guest fd argument as a host fd; EBADF for aotc's own descriptors and negative numbers."""
        if fd in self.reserved_fds or fd >= 0x80000000:
            raise SyscallError(errno.EBADF)
        return fd

    def reserve_fd(self, fd: int) -> None:
        """Hide one of aotc's own descriptors from the guest."""
        self.reserved_fds.add(fd)

    def path(self, addr: int) -> bytes:
        """A path argument (EFAULT, ENAMETOOLONG, ENOENT for the empty path), /proc/self/exe resolved."""
        try:
            path = self.mem.read_cstring(addr, 4096)
        except OverflowError:
            raise SyscallError(errno.ENAMETOOLONG) from None
        if not path:
            raise SyscallError(errno.ENOENT)
        if path in (b"/proc/self/exe", f"/proc/{self.pid}/exe".encode()):
            return os.fsencode(self.program.exe_path)
        return path

    def get(self, addr: int, n: int) -> bytes:
        """Bytes the guest passed in (GuestFault → EFAULT)."""
        return self.mem.read(addr, n)

    def put(self, addr: int, data: bytes) -> None:
        """Store a result into guest memory the guest may write (else EFAULT)."""
        if not self.mem.check(addr, len(data), write=True):
            raise GuestFault(addr)
        self.mem.write(addr, data)

    def segment_base(self, selector: int) -> int:
        """The base of the segment a guest selector names: a TLS entry, or 0 for the flat ones."""
        if selector < 4 or selector in FLAT_SELECTORS:
            return 0
        entry = self.tls.get(selector >> 3)
        if selector & 4 or (selector & 3) != 3 or entry is None:
            raise ValueError(f"selector {selector:#x} names no segment")
        return entry[0]
