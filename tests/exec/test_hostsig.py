"""The host signal handler: faults in generated code come back to Python as ExitReason.FAULT with the
signal recorded; sent signals land in the pending table with their siginfo, set exit_request and empty
the jump cache; the safe syscall returns -NOT_STARTED for a signal that came before it (it never
entered the kernel) and EINTR for one that came during it."""

from __future__ import annotations

import ctypes
import mmap
import os
import signal

import pytest
from hostsignals import installed_host_signals

from aotc.backend.asm import R14, R15, RAX, RCX, RDX, Asm, Mem
from aotc.backend.jmpcache import EMPTY_PC, JmpCacheEntry
from aotc.backend.prologue import build_prologue
from aotc.exec.codebuf import CodeBuffer, host_mmap
from aotc.guest.cpu import OFF_EPILOGUE, CPUState, ExitReason
from aotc.linux.interrupt import NOT_STARTED

_ENTER = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_void_p, ctypes.c_void_p)
SYS_PAUSE, SYS_GETPID = 34, 39


def _run(body) -> tuple[int, CPUState, CodeBuffer]:
    with installed_host_signals() as (host, buf):
        pro = build_prologue()
        base = buf.append(pro.code)
        a = Asm()
        body(a)
        a.mov(32, RAX, 0x1234)
        a.jmp(Mem(R14, disp=OFF_EPILOGUE))
        code = buf.append(a.code())
        cpu = CPUState()
        cpu.epilogue = base + pro.epilogue
        cpu.guest_base = host_mmap(1 << 16, 0, mmap.MAP_PRIVATE)
        host.attach(cpu)
        value = _ENTER(base + pro.entry)(ctypes.addressof(cpu), code)
    return value, cpu, buf


def test_load_from_unmapped_guest_memory_is_a_sigsegv_fault():
    value, cpu, buf = _run(lambda a: a.mov(32, RAX, Mem(R15, disp=0x40)))
    assert value == ExitReason.FAULT
    assert cpu.fault_signo == signal.SIGSEGV
    assert cpu.fault_addr == cpu.guest_base + 0x40
    assert buf.contains(cpu.fault_rip)


def test_divide_by_zero_is_a_sigfpe_fault():
    def body(a):
        a.xor(32, RAX, RAX)
        a.xor(32, RDX, RDX)
        a.xor(32, RCX, RCX)
        a.div(32, RCX)

    value, cpu, _ = _run(body)
    assert value == ExitReason.FAULT
    assert cpu.fault_signo == signal.SIGFPE


def test_code_without_a_fault_exits_normally():
    value, cpu, _ = _run(lambda a: a.nop())
    assert value == 0x1234
    assert cpu.fault_signo == 0


@pytest.mark.parametrize("signo", (signal.SIGUSR1, signal.SIGSEGV, signal.SIGINT, signal.SIGRTMIN + 1))
def test_a_sent_signal_is_pending_with_its_siginfo(signo: int) -> None:
    """Even a fault signal, when kill sends it, is a pending signal and not a fault."""
    with installed_host_signals() as (host, _):
        cpu = CPUState()
        host.attach(cpu)
        os.kill(os.getpid(), signo)
        assert cpu.exit_request == 1
        infos = host.take()
    assert len(infos) == 1
    got_signo, _errno, code, pid, uid = (int.from_bytes(infos[0][o:o + 4], "little", signed=True)
                                         for o in (0, 4, 8, 16, 20))
    assert (got_signo, code, pid, uid) == (signo, 0, os.getpid(), os.getuid())


def test_a_standard_signal_is_pending_once_and_take_empties_the_table() -> None:
    with installed_host_signals() as (host, _):
        os.kill(os.getpid(), signal.SIGUSR2)
        os.kill(os.getpid(), signal.SIGUSR2)
        os.kill(os.getpid(), signal.SIGHUP)
        first, second = host.take(), host.take()
    assert [int.from_bytes(i[:4], "little") for i in first] == [signal.SIGHUP, signal.SIGUSR2]
    assert second == []


def test_safe_syscall_does_not_start_after_a_signal_that_came_first() -> None:
    """pause() would sleep forever; the signal taken before it makes it return at once, saying it
    never entered the kernel."""
    with installed_host_signals() as (host, _):
        assert host.syscall(SYS_GETPID) == os.getpid()
        os.kill(os.getpid(), signal.SIGUSR1)
        assert host.syscall(SYS_PAUSE) == -NOT_STARTED
        host.take()
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        assert host.syscall(SYS_PAUSE) == -4          # interrupted while in the kernel
        assert [int.from_bytes(i[:4], "little") for i in host.take()] == [signal.SIGALRM]


def test_a_sent_signal_empties_the_jump_cache() -> None:
    """So that an indirect jump goes back to Python too (only direct back edges test exit_request)."""
    table = (JmpCacheEntry * 64)()
    for i, entry in enumerate(table):
        entry.pc, entry.host = 0x8048000 + 16 * i, 0x1234
    with installed_host_signals() as (host, _):
        host.attach(CPUState(), table)
        os.kill(os.getpid(), signal.SIGWINCH)
        host.take()
    assert {entry.pc for entry in table} == {EMPTY_PC}
