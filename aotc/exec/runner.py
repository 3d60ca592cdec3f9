"""One guest run: load the program, build the CPU state, the engine and linux-user, and run cpu_loop."""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from pathlib import Path

from aotc.backend.flags import cc_from_eflags
from aotc.exec.cpu_loop import CpuLoop
from aotc.exec.debuglog import DebugLog
from aotc.exec.engine import Engine
from aotc.exec.hostsig import HostSignals
from aotc.exec.stats import Stats
from aotc.guest.cpu import CS, DS, ES, ESP, SS, CPUState
from aotc.guest.memory import GuestMemory
from aotc.linux import GuestExit, GuestKilled, fdzone
from aotc.linux.signals import NSIG, SIG_IGN, UNBLOCKABLE, SigAction
from aotc.linux.syscalls import SYSCALLS
from aotc.linux.user import LinuxUser
from aotc.loader import Sysroot, load_program
from aotc.persist.store import PersistentStore
from aotc.persist.worker import CacheWorker

# Linux's user segment selectors on x86-64 for 32-bit tasks: __USER32_CS and __USER_DS
_USER_CS = 0x23
_USER_DS = 0x2B
_INITIAL_EFLAGS = 0x202


def _take_over_signals(linux: LinuxUser, host: HostSignals, ignored: int) -> None:
    """Give the guest the signal state aotc was started with, then catch every signal on the host with
    nothing blocked: from here on the guest's dispositions and mask decide what a signal does."""
    blocked = sum(1 << (s - 1) for s in signal.pthread_sigmask(signal.SIG_BLOCK, []))
    linux.signals.blocked = blocked & ~UNBLOCKABLE
    for signo in range(1, NSIG + 1):
        if ignored >> (signo - 1) & 1:
            linux.signals.actions[signo] = SigAction(SIG_IGN)
    host.install()
    signal.pthread_sigmask(signal.SIG_SETMASK, [])


@dataclass
class Outcome:
    """How the guest ended: an exit status, or the signal that killed it."""

    status: int = 0
    signo: int = 0


class GuestRun:
    """Everything one `aotc run` owns."""

    def __init__(self, cpu: CPUState, loop: CpuLoop, log: DebugLog, stats: Stats,
                 store: PersistentStore | None = None) -> None:
        self.cpu = cpu
        self.loop = loop
        self.log = log
        self.stats = stats
        self.store = store

    @classmethod
    def start(cls, program: str, argv: list[str], debug: str, logfile: str | None,
              strace: bool, cache_dir: Path | None = None, ignored_signals: int = 0,
              sysroot: Sysroot | None = None) -> GuestRun:
        """Load `program` and prepare its first instruction (LoadError/ValueError on bad input);
        with `cache_dir`, blocks come from and go to the persistent translation cache there. The guest
        inherits aotc's blocked signals and `ignored_signals` (bit n-1: signal n), as across execve."""
        zone = fdzone.claim(needed=logfile is not None)
        log = DebugLog(debug, logfile, opener=zone.opener)
        stats = Stats()
        mem = GuestMemory()
        envp = [f"{k}={v}" for k, v in os.environ.items()]
        prog = load_program(program, argv, envp, mem, sysroot)
        db = CacheWorker(cache_dir) if cache_dir is not None else None
        cpu = CPUState()
        cpu.eip = prog.entry
        cpu.regs[ESP] = prog.esp
        cpu.cc = cc_from_eflags(_INITIAL_EFLAGS)
        cpu.guest_base = mem.base
        cpu.seg_sel[CS] = _USER_CS
        for seg in (DS, ES, SS):
            cpu.seg_sel[seg] = _USER_DS
        store = PersistentStore(db, mem.fetch_code, stats) if db is not None else None
        engine = Engine(mem.fetch_code, log, stats, write_protect=mem.write_protect_code, store=store)
        mem.on_write = engine.invalidate_range
        linux = LinuxUser(mem, prog, SYSCALLS, engine.host_signals, log.line if strace else None,
                          log.line if log.on("unimp") else None, zone, sysroot)
        _take_over_signals(linux, engine.host_signals, ignored_signals)
        return cls(cpu, CpuLoop(engine, cpu, linux), log, stats, store)

    def run(self) -> Outcome:
        """Run until the guest exits or is killed; then write what it translated to the cache."""
        try:
            self.loop.run()
        except GuestExit as e:
            return Outcome(status=e.status & 0xFF)
        except GuestKilled as e:
            return Outcome(signo=e.signo)
        finally:
            self.loop.engine.close()
            if self.store is not None:
                self.store.close()
        raise AssertionError("cpu_loop returned")
