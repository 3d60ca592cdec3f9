"""LinuxUser: the guest's view of the kernel — the syscall entry point and the per-process state.

Guest file descriptors are host file descriptors (stdin/stdout/stderr pass straight through). aotc's
own descriptors live in a zone above every number the guest may use (see fdzone.py): the guest sees
them as closed (EBADF), its RLIMIT_NOFILE ends below them, and the kernel never hands them out.
Signals reach the guest from the host (`take_host_signals`); a blocking syscall that a handler
interrupts ends as the kernel's restart rules say (see interrupt.py and `_restart`).
"""

from __future__ import annotations

import errno
import os
import re
import resource
import signal
from collections.abc import Callable, Mapping

from aotc.guest import segments
from aotc.guest.cpu import EAX, EBP, EBX, ECX, EDI, EDX, ESI, CPUState, Vector
from aotc.guest.memory import GuestFault, GuestMemory
from aotc.guest.segments import Descriptor
from aotc.linux import gdt, siginfo, traps
from aotc.linux.dircookies import DirCookies
from aotc.linux.errors import GuestExit, GuestKilled, SyscallError
from aotc.linux.fdzone import FdZone
from aotc.linux.interrupt import Host, Interrupted, LibcHost, Restart
from aotc.linux.ldtable import Ldt
from aotc.linux.sigframe import SigInfo, Trap, setup_frame
from aotc.linux.signals import SA_RESTART, SigAction, SignalState
from aotc.linux.strace import format_call, format_result
from aotc.linux.sysentry import Sys
from aotc.linux.vmnames import Backing, MapNames
from aotc.loader.program import LoadedProgram
from aotc.loader.sysroot import Sysroot

ARG_REGS = (EBX, ECX, EDX, ESI, EDI, EBP)
GUEST_STACK_LIMIT = 8 << 20
SIGSEGV = int(signal.SIGSEGV)
SEGV_MAPERR, SEGV_ACCERR, SI_KERNEL = 1, 2, 0x80
PF_PROT, PF_USER = 1, 4             # page-fault error code bits (present page, user mode)
PF_BITS = 0x1F                      # present, write, user, reserved bit, instruction fetch
FAULT_TRAPNO = {int(signal.SIGFPE): 0, int(signal.SIGTRAP): Vector.BP, int(signal.SIGILL): Vector.UD}
"""The trap number a fault leaves in sigcontext (#DE, #BP, #UD); SIGSEGV is #PF (14) or #GP (13)."""
FD_PATH = re.compile(rb"^(?:/proc/(?P<proc>[^/]+)(?:/task/\d+)?/fd(?:info)?|/dev/fd)/(?P<fd>\d+)/?$")
RLIMIT_COUNT = 16                   # RLIM_NLIMITS: the resource numbers are the same on i386 and x86-64


def _initial_rlimits(zone: FdZone | None) -> dict[int, tuple[int, int]]:
    """The host's limits, with the stack limit the guest's stack was built for and the descriptor
    limit that keeps aotc's zone out of reach."""
    limits = {r: resource.getrlimit(r) for r in range(RLIMIT_COUNT)}
    limits[resource.RLIMIT_STACK] = (GUEST_STACK_LIMIT, limits[resource.RLIMIT_STACK][1])
    if zone is not None:
        limits[resource.RLIMIT_NOFILE] = zone.guest_limit
    return limits


def _signame(signo: int) -> str:
    try:
        return signal.Signals(signo).name
    except ValueError:
        return f"signal {signo}"


class LinuxUser:
    """Linux user-mode emulation for one i386 guest process."""

    def __init__(self, mem: GuestMemory, program: LoadedProgram, syscalls: Mapping[int, Sys],
                 host: Host | None = None, strace: Callable[[str], None] | None = None,
                 unimp: Callable[[str], None] | None = None, fd_zone: FdZone | None = None,
                 sysroot: Sysroot | None = None) -> None:
        self.mem = mem
        self.program = program
        self.sysroot = sysroot or Sysroot()
        """Where the guest's absolute paths are looked up first (-L)."""
        self.map_names = MapNames()
        """The file behind each file-backed guest mapping (/proc/self/maps)."""
        for start, size, path, offset in program.file_maps:
            self.map_names.note(start, size, Backing.of_file(path, offset, os.stat(path)))
        self.syscalls = syscalls
        self.frames_pushed = 0          # signal frames set up so far: did an instruction raise one?
        self.host: Host = host if host is not None else LibcHost()
        self.strace = strace
        self.unimp = unimp
        """Where an unknown syscall is reported (`-d unimp`, once per number); strace shows every call."""
        self.unimp_seen: set[int] = set()
        self.brk_start = program.brk
        self.brk = program.brk
        self.pid = os.getpid()
        self.tls: dict[int, tuple[int, int, int]] = {}
        self.ldt = Ldt()
        """TLS GDT entries: entry number → (base, limit, flag bits) as set_thread_area gave them."""
        self.signals = SignalState(stop=self.host.default_action)
        self.restart: tuple[Restart, int] | None = None
        """An interrupted syscall (how it ends, its number) until the handler's frame is set up."""
        self.saved_mask: int | None = None
        """The mask the first handler frame saves instead of the current one (after sigsuspend)."""
        self.cpu: CPUState | None = None
        """The CPU state of the syscall being run (sigreturn reads and rewrites it)."""
        self.rlimits = _initial_rlimits(fd_zone)
        self.fd_limit = fd_zone.start if fd_zone is not None else self.rlimits[resource.RLIMIT_NOFILE][1]
        """No guest descriptor reaches this number: aotc's own start here."""
        self.clear_child_tid = 0
        self.dir_cookies: dict[int, DirCookies] = {}
        """Per directory fd: the getdents64 offset cookies the guest was given."""

    # -- the syscall entry -----------------------------------------------------------------------

    def syscall(self, cpu: CPUState) -> None:
        """Run the syscall in eax with the arguments in ebx..ebp; put the result (or -errno) in eax."""
        self.cpu = cpu
        nr = cpu.regs[EAX]
        args = tuple(cpu.regs[r] for r in ARG_REGS)
        entry = self.syscalls.get(nr)
        if entry is None:
            report = self.unimp or self.strace
            if report and (self.strace or nr not in self.unimp_seen):
                self.unimp_seen.add(nr)
                report(f"unknown syscall {nr}({','.join(hex(a) for a in args[:3])}) = -1 errno=38 "
                           f"(Function not implemented)")
            cpu.regs[EAX] = -errno.ENOSYS & 0xFFFFFFFF
            return
        call = format_call(self.mem, entry.name, entry.fmt, args) if self.strace else ""
        try:
            result = self._run(entry.handler, args[:len(entry.fmt)])
        except Interrupted as e:
            self.restart = (e.kind, nr)
            result = -errno.EINTR
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
            return -(e.errno or errno.EIO)

    # -- signal delivery -------------------------------------------------------------------------

    def take_host_signals(self) -> None:
        """Take the signals the host handler caught into the guest's signal state."""
        for raw in self.host.take():
            self.signals.receive(siginfo.from_host(raw))

    def handler_ready(self) -> bool:
        """Whether a signal arrived that a guest handler is to run now (blocking syscalls ask)."""
        self.take_host_signals()
        return self.signals.handler_ready()

    def deliver_pending(self, cpu: CPUState) -> None:
        """Run the default action of, or set up a handler frame for, each deliverable pending signal
        (the last one set up runs first, as when Linux delivers several on one return to user mode);
        an interrupted syscall that no handler ends is restarted."""
        self.take_host_signals()
        while (ready := self.signals.dequeue()) is not None:
            info, act = ready
            self._restart(cpu, act.flags)
            self._deliver(cpu, info, act, Trap())
        self._restart(cpu, SA_RESTART)
        if self.saved_mask is not None:
            self.signals.set_blocked(self.saved_mask)
            self.saved_mask = None

    def _restart(self, cpu: CPUState, sa_flags: int) -> None:
        """eax and eip after an interrupted syscall, as handle_signal leaves them for a handler with
        `sa_flags`: -EINTR, or back on the `int 0x80` with the syscall number to run it again."""
        if self.restart is None:
            return
        kind, nr = self.restart
        self.restart = None
        if kind is Restart.NOINTR or (kind is Restart.SYS and sa_flags & SA_RESTART):
            cpu.eip = (cpu.eip - 2) & 0xFFFFFFFF
            cpu.regs[EAX] = nr

    def fault(self, cpu: CPUState, signo: int, code: int, addr: int, err: int | None = None,
              trapno: int | None = None) -> None:
        """A synchronous fault at cpu.eip: enter the guest's handler, or GuestKilled(signo). `err` is
        a page fault's error code as the CPU made it (present, write and fetch bits); `trapno` the
        CPU's exception number where it tells more than the signal (SIGFPE: #DE, #MF or #XM)."""
        act = self.signals.handler_for_fault(signo)
        if signo == SIGSEGV and code in (SEGV_MAPERR, SEGV_ACCERR):
            if err is None:
                err = PF_PROT if code == SEGV_ACCERR else 0
            trap = Trap(14, PF_USER | (err & PF_BITS), addr, fault=True)
        else:
            trapno = FAULT_TRAPNO.get(signo, 13) if trapno is None else trapno
            trap = Trap(trapno, fault=trapno not in traps.TRAP_VECTORS)
        self._deliver(cpu, SigInfo(signo, code, (addr,)), act, trap)

    def exception(self, cpu: CPUState, vector: int, err: int = 0) -> None:
        """CPU exception `vector` (error code `err`) raised by the instruction before cpu.eip (a trap)
        or at it (a fault): the signal Linux sends for it (see aotc.linux.traps)."""
        self._raise(cpu, traps.EXCEPTIONS[vector], vector, err)

    def single_step(self, cpu: CPUState) -> None:
        """The #DB after an instruction ran with the trap flag set: SIGTRAP (TRAP_TRACE) at cpu.eip."""
        self._raise(cpu, traps.SINGLE_STEP, Vector.DB, 0)

    def _raise(self, cpu: CPUState, exc: traps.Delivery, vector: int, err: int) -> None:
        act = self.signals.handler_for_fault(exc.signo)
        info = SigInfo(exc.signo, exc.code, (cpu.eip if exc.addr_is_eip else 0,))
        self._deliver(cpu, info, act, Trap(vector, err, fault=not exc.trap))

    def _deliver(self, cpu: CPUState, info: SigInfo, act: SigAction, trap: Trap) -> None:
        """Push the frame and enter the handler; a stack that cannot take it gets SIGSEGV's default."""
        sig = self.signals
        if self.strace:
            self.strace(f"--- {_signame(info.signo)} {{si_signo={info.signo}, si_code={info.code}}} ---")
        oldmask = sig.blocked if self.saved_mask is None else self.saved_mask
        self.saved_mask = None
        try:
            setup_frame(self.mem, cpu, act.handler, act.flags, act.restorer, sig.altstack, oldmask,
                        info, trap)
        except GuestFault:
            raise GuestKilled(SIGSEGV, "no room for a signal frame") from None
        sig.delivered(info.signo, act)
        self.frames_pushed += 1

    # -- helpers the handlers share --------------------------------------------------------------

    def fd(self, fd: int) -> int:
        """A guest fd argument as a host fd; EBADF for aotc's own descriptors and negative numbers."""
        if fd >= self.fd_limit:
            raise SyscallError(errno.EBADF)
        return fd

    def new_fd(self, *fds: int) -> None:
        """Descriptors the host just made for the guest: closed again, EMFILE, if one is not below the
        guest's own RLIMIT_NOFILE (the host's limit is aotc's, and higher)."""
        if max(fds) >= self.rlimits[resource.RLIMIT_NOFILE][0]:
            for fd in fds:
                os.close(fd)
            raise SyscallError(errno.EMFILE)

    def hidden_fd_path(self, path: bytes) -> bool:
        """Whether a path names one of aotc's descriptors through /proc/self/fd or /dev/fd."""
        m = FD_PATH.match(path)
        if m is None or int(m["fd"]) < self.fd_limit:
            return False
        return m["proc"] in (None, b"self", b"thread-self", str(self.pid).encode())

    def path(self, addr: int) -> bytes:
        """A path argument as a host path (EFAULT, ENAMETOOLONG, ENOENT for the empty path):
        /proc/self/exe resolved, an absolute path looked up in the sysroot first."""
        try:
            path = self.mem.read_cstring(addr, 4096)
        except OverflowError:
            raise SyscallError(errno.ENAMETOOLONG) from None
        if not path or self.hidden_fd_path(path):
            raise SyscallError(errno.ENOENT)
        if path in (b"/proc/self/exe", f"/proc/{self.pid}/exe".encode()):
            return os.fsencode(self.program.exe_path)
        return self.sysroot.host_path(path)

    def get(self, addr: int, n: int) -> bytes:
        """Bytes the guest passed in (GuestFault → EFAULT)."""
        return self.mem.read(addr, n)

    def put(self, addr: int, data: bytes) -> None:
        """Store a result into guest memory the guest may write (else EFAULT)."""
        if not self.mem.check(addr, len(data), write=True):
            raise GuestFault(addr)
        self.mem.write(addr, data)

    def descriptor(self, selector: int) -> Descriptor | None:
        """The descriptor a selector names: in the LDT (TI set) or the GDT; None beyond the table."""
        raw = self.ldt.entry(selector >> 3) if selector & 4 else gdt.gdt_entry(selector >> 3, self.tls)
        return None if raw is None else segments.parse(raw)

    def segment_base(self, selector: int) -> int:
        """The base a data segment register gets from `selector`; ValueError where the CPU's load of
        it would fault."""
        try:
            return segments.data_segment_base(selector, self.descriptor(selector))
        except segments.SegmentFault as e:
            raise ValueError(f"selector {selector:#x}: {e}") from None
