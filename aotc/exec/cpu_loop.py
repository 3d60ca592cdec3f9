"""cpu_loop: run TBs and handle each exit reason, like linux-user's `switch (trapnr)`."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable

from aotc.exec import seghelpers
from aotc.exec.engine import Engine
from aotc.frontend.fetch import FetchError
from aotc.guest.cpu import CS, EFLAGS_TF, SS, CPUState, ExitReason, Helper, Vector
from aotc.guest.memory import PROT_WRITE
from aotc.linux import GuestKilled
from aotc.linux.user import PF_PROT, LinuxUser

# si_code values of synchronous faults (Linux's asm-generic/siginfo.h)
SEGV_MAPERR, SEGV_ACCERR = 1, 2
FPE_INTDIV = 1
ILL_ILLOPN = 2
SI_KERNEL = 0x80
PF_INSTR = 0x10                   # page-fault error code: an instruction fetch



def describe_insn(fetch: Callable[[int, int], bytes], pc: int) -> str:
    """`0x08049000: 0f 0b (ud2)`: where an instruction is, its bytes and what capstone calls it."""
    import capstone  # only here, when a guest dies on an instruction aotc cannot translate

    code = fetch(pc, 15)
    insn = next(capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_32).disasm(code, pc, 1), None)
    if insn is None:
        return f"0x{pc:08x}: {code[:8].hex(' ')} (undecodable)"
    return f"0x{pc:08x}: {bytes(insn.bytes).hex(' ')} ({insn.mnemonic} {insn.op_str})".rstrip()


HELPERS = {Helper.LOAD_SEG: seghelpers.load_segment, Helper.FAR: seghelpers.far_transfer,
           Helper.QUERY_SEG: seghelpers.query_segment}


class CpuLoop:
    """The dispatcher: look up or translate the TB at eip, run it, act on why it stopped."""

    def __init__(self, engine: Engine, cpu: CPUState, linux: LinuxUser) -> None:
        self.engine = engine
        self.cpu = cpu
        self.linux = linux
        self.handlers: dict[int, Callable[[], None]] = {
            ExitReason.JUMP: lambda: None,
            ExitReason.SYSCALL: self._syscall,
            ExitReason.HELPER: self._helper,
            ExitReason.SIGILL: lambda: self.linux.exception(self.cpu, Vector.UD),
            ExitReason.UNSUPPORTED: self._unsupported,
            ExitReason.TRAP: self._trap,
            ExitReason.FAULT: self._fault,
        }
        self.once = False

    def run(self) -> None:
        """Run until the guest exits (GuestExit) or dies (GuestKilled)."""
        engine, cpu, stats, handlers = self.engine, self.cpu, self.engine.stats, self.handlers
        engine.attach(cpu)
        chain_from: tuple[int, int, int] | None = None
        while True:
            if cpu.eflags_misc & EFLAGS_TF:
                self._step()
                chain_from = None
                continue
            try:
                mode = cpu.tb_flags
                if self.once:
                    tb = engine.translate(cpu.eip, once=True, mode=mode, cs_base=cpu.seg_base[CS])
                elif mode:
                    tb = engine.lookup(cpu.eip, mode, cpu.seg_base[CS])
                else:
                    tb = engine.lookup(cpu.eip)
            except FetchError:
                self._no_code()
                chain_from = None
                continue
            self.once = False
            if chain_from is not None and chain_from[2] == engine.flushes:
                src = engine.tb_at_host(chain_from[0])
                if src is not None:
                    engine.chain(src, chain_from[1], tb)
            exit_value = engine.enter(cpu, tb)
            stats.dispatcher_exits += 1
            slot = (exit_value >> 8) & 0xFF
            chain_from = (cpu.exit_site, slot - 1, engine.flushes) if slot else None
            handlers[exit_value & 0xFF]()
            if cpu.exit_request:
                cpu.exit_request = 0
                self.linux.deliver_pending(cpu)

    def _step(self) -> None:
        """Run one instruction with the trap flag set, then take the single-step trap: SIGTRAP at the
        next instruction, unless the instruction ended in a syscall (whose int 0x80 entry clears TF
        for the kernel) or raised a signal of its own, or loaded ss (whose next instruction runs in
        the CPU's interrupt shadow: the trap comes after that one)."""
        cpu, engine = self.cpu, self.engine
        try:
            tb = engine.translate(cpu.eip, once=True, mode=cpu.tb_flags, cs_base=cpu.seg_base[CS])
        except FetchError:
            self._no_code()
            return
        frames = self.linux.frames_pushed
        exit_value = engine.enter(cpu, tb)
        engine.stats.dispatcher_exits += 1
        reason = exit_value & 0xFF
        self.handlers[reason]()
        completed = reason in (ExitReason.JUMP, ExitReason.HELPER) and self.linux.frames_pushed == frames
        loaded_ss = reason == ExitReason.HELPER and cpu.helper & 0x7FF == Helper.LOAD_SEG | SS << 8
        if completed and not loaded_ss:
            self.linux.single_step(cpu)
        if cpu.exit_request:
            cpu.exit_request = 0
        self.linux.deliver_pending(cpu)

    def _no_code(self) -> None:
        """eip points at no executable code: SIGSEGV at that address, as the CPU's fetch would."""
        eip = self.cpu.eip
        prot = self.linux.mem.prot_at(eip)
        err = PF_INSTR | (PF_PROT if prot > 0 else 0)
        self.linux.fault(self.cpu, signal.SIGSEGV, SEGV_ACCERR if prot != -1 else SEGV_MAPERR, eip, err)

    def _syscall(self) -> None:
        self.engine.stats.syscalls += 1
        self.linux.syscall(self.cpu)
        self.linux.deliver_pending(self.cpu)

    def _helper(self) -> None:
        cpu = self.cpu
        helper = HELPERS.get(cpu.helper & 0xFF)
        if helper is None:
            raise RuntimeError(f"unknown helper request {cpu.helper:#x} at 0x{cpu.eip:08x}")
        helper(self.linux, cpu)

    def _trap(self) -> None:
        """A CPU exception the instruction at (or before) eip raised: vector and error code in helper."""
        self.linux.exception(self.cpu, self.cpu.helper & 0xFF, self.cpu.helper >> 8)

    def _unsupported(self) -> None:
        where = describe_insn(self.engine.fetch, self.cpu.eip)
        print(f"aotc: cannot translate instruction at {where}: the guest gets SIGILL", file=sys.stderr)
        raise GuestKilled(signal.SIGILL)

    def _fault(self) -> None:
        cpu, engine = self.cpu, self.engine
        tb = engine.tb_at_host(cpu.fault_rip)
        if tb is not None:
            cpu.eip = tb.guest_pc_at(cpu.fault_rip)
        if engine.log.on("exec"):
            engine.log.write(f"fault: signal {cpu.fault_signo} at guest 0x{cpu.eip:08x} "
                             f"(address {cpu.fault_addr:#x})\n")
        signo = cpu.fault_signo
        if signo == signal.SIGFPE:   # #DE (FPE_INTDIV), or an unmasked x87/SSE exception (FPE_FLT*)
            self.linux.fault(cpu, signo, cpu.fault_code or FPE_INTDIV, cpu.eip, trapno=cpu.fault_trapno)
            return
        if signo == signal.SIGILL:   # an FP/SIMD encoding the CPU rejects, passed through as it is
            self.linux.fault(cpu, signo, cpu.fault_code or ILL_ILLOPN, cpu.eip)
            return
        if cpu.fault_code == SI_KERNEL:   # #GP: a misaligned movaps, reserved MXCSR bits in ldmxcsr
            self.linux.fault(cpu, signo, SI_KERNEL, 0)
            return
        address = (cpu.fault_addr - cpu.guest_base) & 0xFFFFFFFF
        prot = self.linux.mem.prot_at(address)
        if prot != -1 and prot & PROT_WRITE and engine.holds_code(address >> 12):
            self._store_into_code(address)
            return
        self.linux.fault(cpu, signo, SEGV_ACCERR if prot != -1 else SEGV_MAPERR, address, cpu.fault_err)

    def _store_into_code(self, address: int) -> None:
        """A guest store hit a writable page that holds translated code (write-protected on the
        host for that reason): nothing of the instruction happened yet. Drop the page's code, which
        lifts the protection, and re-run the instruction alone from a TB that is not registered in
        any page, so that it cannot protect the page again before its store."""
        self.engine.invalidate_page(address >> 12)
        self.engine.stats.smc_exits += 1
        self.once = True
