"""Signal delivery to guest handlers: frame layouts (checked against what an i386 C compiler reports for
glibc's ucontext_t and siginfo_t), the state sigreturn restores, masks, pending signals and faults."""

from __future__ import annotations

import os
import signal
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostsignals import installed_host_signals

from aotc.backend.flags import cc_from_eflags, eflags_from_cc
from aotc.guest import fpstate
from aotc.guest.cpu import CS, DS, EAX, EBP, EBX, ECX, EDI, EDX, ES, ESI, ESP, FS, GS, SS, CPUState
from aotc.guest.memory import PROT_READ, PROT_WRITE, GuestMemory
from aotc.linux import GuestKilled, fpframe
from aotc.linux.sigframe import RT_INFO, RT_MCONTEXT, RT_UC, SIGFRAME_EXTRAMASK, SIGFRAME_SC, guest_eflags
from aotc.linux.syscalls import SYSCALLS
from aotc.linux.user import LinuxUser
from aotc.loader.program import LoadedProgram

STACK = 0x20000000           # 64 KiB RW: the guest stack
ALT = 0x30000000             # 16 KiB RW: an alternate signal stack
HANDLER, RESTORER = 0x08049100, 0x08049200
SA_SIGINFO, SA_ONSTACK, SA_RESTORER, SA_NODEFER, SA_RESETHAND = 4, 0x08000000, 0x04000000, 0x40000000, \
    0x80000000
USR1, USR2, SEGV = int(signal.SIGUSR1), int(signal.SIGUSR2), int(signal.SIGSEGV)
ARGS = (EBX, ECX, EDX, ESI, EDI, EBP)

LAYOUT_C = r"""
#define _GNU_SOURCE
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <ucontext.h>
#define P(name, value) printf("%s %u\n", name, (unsigned)(value))
int main(void) {
    P("uc_mcontext", offsetof(ucontext_t, uc_mcontext)); P("uc_sigmask", offsetof(ucontext_t, uc_sigmask));
    P("uc_stack", offsetof(ucontext_t, uc_stack));
    P("gs", REG_GS); P("fs", REG_FS); P("es", REG_ES); P("ds", REG_DS); P("edi", REG_EDI);
    P("esi", REG_ESI); P("ebp", REG_EBP); P("esp", REG_ESP); P("ebx", REG_EBX); P("edx", REG_EDX);
    P("ecx", REG_ECX); P("eax", REG_EAX); P("trapno", REG_TRAPNO); P("err", REG_ERR); P("eip", REG_EIP);
    P("cs", REG_CS); P("efl", REG_EFL); P("uesp", REG_UESP); P("ss", REG_SS);
    P("fpregs", offsetof(mcontext_t, fpregs)); P("oldmask", offsetof(mcontext_t, oldmask));
    P("cr2", offsetof(mcontext_t, cr2));
    P("si_signo", offsetof(siginfo_t, si_signo)); P("si_code", offsetof(siginfo_t, si_code));
    P("si_addr", offsetof(siginfo_t, si_addr)); P("si_pid", offsetof(siginfo_t, si_pid));
    P("si_uid", offsetof(siginfo_t, si_uid));
    P("sigcontext", sizeof(struct sigcontext)); P("fpstate", sizeof(struct _fpstate));
    return 0;
}
"""


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> dict[str, int]:
    """Offsets and register indices from the i386 headers, via gcc -m32."""
    work: Path = tmp_path_factory.mktemp("layout")
    (work / "layout.c").write_text(LAYOUT_C)
    subprocess.run(["gcc", "-m32", "-static", "-o", str(work / "layout"), str(work / "layout.c")], check=True)
    out = subprocess.run([str(work / "layout")], check=True, capture_output=True, text=True).stdout
    return {name: int(value) for name, value in (line.split() for line in out.splitlines())}


@pytest.fixture
def k() -> Iterator[LinuxUser]:
    mem = GuestMemory()
    mem.map(STACK, 0x10000, PROT_READ | PROT_WRITE)
    mem.map(ALT, 0x4000, PROT_READ | PROT_WRITE)
    prog = LoadedProgram(entry=0x8049000, esp=STACK + 0x8000, brk=0x08200000, exe_path="/opt/guest/prog",
                         phdr=0, phnum=0, stack_low=STACK, stack_top=STACK + 0x10000)
    with installed_host_signals() as (host, _):
        yield LinuxUser(mem, prog, SYSCALLS, host)


def busy_cpu() -> CPUState:
    """A CPU state with a distinct value in every register and flag aotc keeps."""
    cpu = CPUState()
    for reg in range(8):
        cpu.regs[reg] = 0x11111111 * (reg + 1)
    cpu.regs[ESP] = STACK + 0x8003
    cpu.eip = 0x0804A123
    cpu.cc = cc_from_eflags(0x8D5)          # OF SF AF PF CF
    cpu.df = 1
    cpu.eflags_misc = 1 << 18                # AC
    for seg, sel in ((CS, 0x23), (SS, 0x2B), (DS, 0x2B), (ES, 0x2B), (FS, 0), (GS, 0)):
        cpu.seg_sel[seg] = sel
    return cpu


def syscall(k: LinuxUser, cpu: CPUState, nr: int, *args: int) -> int:
    cpu.regs[EAX] = nr
    for reg, value in zip(ARGS, args, strict=False):
        cpu.regs[reg] = value & 0xFFFFFFFF
    k.syscall(cpu)
    return cpu.regs[EAX]


def sigaction(k: LinuxUser, signo: int, handler: int, flags: int = 0, mask: int = 0) -> None:
    cpu = CPUState()
    k.mem.write(STACK, struct.pack("<IIIQ", handler, flags | SA_RESTORER, RESTORER, mask))
    assert syscall(k, cpu, 174, signo, STACK, 0, 8) == 0


def u32(k: LinuxUser, addr: int) -> int:
    return k.mem.read_u32(addr)


def raise_and_deliver(k: LinuxUser, cpu: CPUState, signo: int) -> None:
    """tgkill ourselves with the registers of `cpu` (eax gets the syscall result), then deliver."""
    saved = [cpu.regs[r] for r in ARGS[:3]]
    syscall(k, cpu, 270, os.getpid(), os.getpid(), signo)
    for reg, value in zip(ARGS, saved, strict=False):
        cpu.regs[reg] = value
    k.deliver_pending(cpu)


# -- frame layouts -------------------------------------------------------------------------------

def test_rt_frame_layout_matches_the_i386_headers(k: LinuxUser, layout: dict[str, int]) -> None:
    sigaction(k, USR1, HANDLER, SA_SIGINFO, mask=1 << (USR2 - 1))
    cpu = busy_cpu()
    cpu.eip, cpu.regs[EBX] = 0x0804A123, 0xB0B0B0B0
    raise_and_deliver(k, cpu, USR1)
    before = busy_cpu()
    frame = cpu.regs[ESP]
    assert cpu.eip == HANDLER and (frame + 4) % 16 == 0
    # below the FP area (fsave header + 64-aligned xsave image), which is just below esp
    fp_area, fx = fpframe.math_area(before.regs[ESP], fpframe.host_fpu())
    assert fx % 64 == 0 and before.regs[ESP] - 64 < fx + fpframe.host_fpu().fx_size <= before.regs[ESP]
    assert fp_area - 268 - 15 <= frame <= fp_area - 268
    assert cpu.regs[EAX] == USR1 and cpu.regs[EDX] == frame + RT_INFO and cpu.regs[ECX] == frame + RT_UC
    assert [u32(k, frame + 4 * i) for i in range(4)] == [RESTORER, USR1, frame + RT_INFO, frame + RT_UC]
    info = frame + RT_INFO
    assert struct.unpack("<i", k.mem.read(info + layout["si_signo"], 4))[0] == USR1
    assert struct.unpack("<i", k.mem.read(info + layout["si_code"], 4))[0] == -6      # SI_TKILL
    assert u32(k, info + layout["si_pid"]) == os.getpid() and u32(k, info + layout["si_uid"]) == os.getuid()
    uc = frame + RT_UC
    gregs = uc + layout["uc_mcontext"]
    greg = {name: u32(k, gregs + 4 * layout[name]) for name in
            ("gs", "fs", "es", "ds", "edi", "esi", "ebp", "esp", "ebx", "edx", "ecx", "eip", "cs", "efl",
             "uesp", "ss", "trapno")}
    assert greg["ebx"] == 0xB0B0B0B0 and greg["eip"] == 0x0804A123
    assert [greg[n] for n in ("ecx", "edx", "esi", "edi", "ebp")] == \
        [before.regs[r] for r in (ECX, EDX, ESI, EDI, EBP)]
    assert greg["esp"] == greg["uesp"] == before.regs[ESP]
    assert greg["efl"] == 0x8D5 | 0x400 | 0x40000 | 0x202
    segs = (greg["cs"], greg["ss"], greg["ds"], greg["es"], greg["fs"], greg["gs"])
    assert segs == (0x23, 0x2B, 0x2B, 0x2B, 0, 0)
    assert u32(k, gregs + layout["fpregs"]) == fp_area
    assert struct.unpack("<HH", k.mem.read(fp_area + 108, 4))[1] == 0               # magic: fxsave follows
    assert u32(k, fp_area) == 0xFFFF037F                                            # cw, upper half set
    assert u32(k, gregs + layout["oldmask"]) == 0                    # nothing was blocked before
    assert struct.unpack("<Q", k.mem.read(uc + layout["uc_sigmask"], 8))[0] == 0
    assert struct.unpack("<IiI", k.mem.read(uc + layout["uc_stack"], 12)) == (0, 2, 0)   # SS_DISABLE
    assert u32(k, uc) == (1 if fpframe.host_fpu().xsave else 0)                    # UC_FP_XSTATE
    assert cpu.df == 0
    assert k.signals.blocked == (1 << (USR1 - 1)) | (1 << (USR2 - 1))


def test_headers_agree_with_the_sizes_aotc_uses(layout: dict[str, int]) -> None:
    assert layout["sigcontext"] == 88 and layout["fpstate"] == 624
    assert SIGFRAME_EXTRAMASK == SIGFRAME_SC + layout["sigcontext"] + layout["fpstate"]
    assert layout["uc_sigmask"] - layout["uc_mcontext"] == layout["sigcontext"]


def test_plain_frame_and_sigreturn_restore_everything(k: LinuxUser, layout: dict[str, int]) -> None:
    sigaction(k, USR1, HANDLER)
    k.signals.set_blocked(1 << 40)                                   # a high signal: lands in extramask
    cpu = busy_cpu()
    raise_and_deliver(k, cpu, USR1)
    frame = cpu.regs[ESP]
    assert (cpu.eip, cpu.regs[EAX], cpu.regs[EDX], cpu.regs[ECX]) == (HANDLER, USR1, 0, 0)
    assert (u32(k, frame), u32(k, frame + 4)) == (RESTORER, USR1)
    sc = frame + SIGFRAME_SC
    assert u32(k, sc + 4 * layout["eip"]) == 0x0804A123
    assert u32(k, sc + layout["oldmask"]) == 0 and u32(k, SIGFRAME_EXTRAMASK + frame) == 1 << 8
    want = busy_cpu()
    want.regs[EAX] = 0                                               # tgkill's result
    for reg in range(8):                                             # the handler clobbers everything
        if reg != ESP:
            cpu.regs[reg] = 0xDEADBEEF
    cpu.cc, cpu.df, cpu.eflags_misc = cc_from_eflags(0x40), 0, 0
    cpu.seg_sel[DS] = 0
    cpu.regs[ESP] = frame + 8                                        # ret, then the restorer's popl %eax
    syscall(k, cpu, 119)
    assert list(cpu.regs) == list(want.regs) and cpu.eip == want.eip
    assert eflags_from_cc(cpu.cc) == 0x8D5 and cpu.df == 1 and cpu.eflags_misc == 1 << 18
    assert guest_eflags(cpu) == guest_eflags(want)
    assert cpu.seg_sel[DS] == 0x2B and k.signals.blocked == 1 << 40


def test_rt_sigreturn_restores_registers_flags_and_mask(k: LinuxUser) -> None:
    sigaction(k, USR1, HANDLER, SA_SIGINFO)
    cpu = busy_cpu()
    cpu.cc, cpu.df, cpu.eflags_misc = cc_from_eflags(0x44), 0, 0      # ZF PF, DF clear, AC clear
    raise_and_deliver(k, cpu, USR1)
    frame = cpu.regs[ESP]
    k.mem.write(frame + RT_UC + 20 + 4 * 11, struct.pack("<I", 0x12345678))   # the handler edits eax
    cpu.cc, cpu.df, cpu.eflags_misc = cc_from_eflags(0x8D5), 1, 1 << 18
    cpu.regs[ESP] = frame + 4
    assert syscall(k, cpu, 173) == 0x12345678
    want = busy_cpu()
    assert [cpu.regs[r] for r in (EBX, ECX, EDX, ESI, EDI, EBP, ESP)] == \
        [want.regs[r] for r in (EBX, ECX, EDX, ESI, EDI, EBP, ESP)]
    assert eflags_from_cc(cpu.cc) == 0x44 and cpu.df == 0 and cpu.eflags_misc == 0
    assert cpu.eip == want.eip and k.signals.blocked == 0


def test_sigreturn_from_a_bad_frame_is_sigsegv(k: LinuxUser) -> None:
    cpu = CPUState()
    cpu.regs[ESP] = 0xC0000000
    with pytest.raises(GuestKilled) as info:
        syscall(k, cpu, 173)
    assert info.value.signo == SEGV


# -- masks, pending signals, dispositions --------------------------------------------------------

def test_blocked_signal_is_pending_until_unblocked(k: LinuxUser) -> None:
    sigaction(k, USR1, HANDLER)
    cpu = busy_cpu()
    k.mem.write(STACK + 0x100, struct.pack("<Q", 1 << (USR1 - 1)))
    syscall(k, cpu, 175, 0, STACK + 0x100, 0, 8)                     # SIG_BLOCK USR1
    raise_and_deliver(k, cpu, USR1)
    assert cpu.eip == busy_cpu().eip
    assert syscall(k, cpu, 176, STACK + 0x200, 8) == 0               # rt_sigpending
    assert struct.unpack("<Q", k.mem.read(STACK + 0x200, 8))[0] == 1 << (USR1 - 1)
    syscall(k, cpu, 175, 1, STACK + 0x100, 0, 8)                     # SIG_UNBLOCK
    k.deliver_pending(cpu)
    assert cpu.eip == HANDLER and cpu.regs[EAX] == USR1
    k.deliver_pending(cpu)
    assert cpu.eip == HANDLER and cpu.regs[EAX] == USR1              # delivered once only


def test_nodefer_resethand_and_ignore(k: LinuxUser) -> None:
    sigaction(k, USR1, HANDLER, SA_NODEFER | SA_RESETHAND)
    cpu = busy_cpu()
    raise_and_deliver(k, cpu, USR1)
    assert cpu.eip == HANDLER and k.signals.blocked == 0
    assert k.signals.action(USR1).handler == 0                       # back to SIG_DFL
    sigaction(k, USR2, 1)                                            # SIG_IGN
    cpu = busy_cpu()
    raise_and_deliver(k, cpu, USR2)
    assert cpu.eip == busy_cpu().eip
    with pytest.raises(GuestKilled) as info:
        raise_and_deliver(k, cpu, USR1)
    assert info.value.signo == USR1


def test_setting_sig_ign_discards_a_pending_signal(k: LinuxUser) -> None:
    sigaction(k, USR1, HANDLER)
    k.signals.set_blocked(1 << (USR1 - 1))
    cpu = busy_cpu()
    raise_and_deliver(k, cpu, USR1)
    sigaction(k, USR1, 1)
    sigaction(k, USR1, HANDLER)
    k.signals.set_blocked(0)
    k.deliver_pending(cpu)
    assert cpu.eip == busy_cpu().eip


def test_sa_onstack_uses_the_alternate_stack(k: LinuxUser) -> None:
    cpu = busy_cpu()
    k.cpu = cpu
    k.mem.write(STACK + 0x100, struct.pack("<IiI", ALT, 0, 0x4000))
    assert syscall(k, cpu, 186, STACK + 0x100, 0) == 0               # sigaltstack
    sigaction(k, USR1, HANDLER, SA_SIGINFO | SA_ONSTACK)
    cpu = busy_cpu()
    raise_and_deliver(k, cpu, USR1)
    frame = cpu.regs[ESP]
    assert ALT < frame < ALT + 0x4000 and (frame + 4) % 16 == 0
    assert struct.unpack("<IiI", k.mem.read(frame + RT_UC + 8, 12)) == (ALT, 0, 0x4000)
    assert syscall(k, cpu, 186, 0, STACK + 0x200) == 0
    assert struct.unpack("<IiI", k.mem.read(STACK + 0x200, 12)) == (ALT, 1, 0x4000)   # SS_ONSTACK
    k.mem.write(STACK + 0x100, struct.pack("<IiI", 0, 2, 0))
    assert syscall(k, cpu, 186, STACK + 0x100, 0) == (-1) & 0xFFFFFFFF   # EPERM while on it


# -- synchronous faults --------------------------------------------------------------------------

def test_fault_with_a_handler_gets_siginfo_and_trap_details(k: LinuxUser, layout: dict[str, int]) -> None:
    sigaction(k, SEGV, HANDLER, SA_SIGINFO | SA_NODEFER)
    cpu = busy_cpu()
    k.fault(cpu, SEGV, 1, 0x1234)
    frame = cpu.regs[ESP]
    assert cpu.eip == HANDLER and cpu.regs[EAX] == SEGV
    info = frame + RT_INFO
    assert u32(k, info + layout["si_code"]) == 1 and u32(k, info + layout["si_addr"]) == 0x1234
    gregs = frame + RT_UC + layout["uc_mcontext"]
    assert u32(k, gregs + 4 * layout["trapno"]) == 14 and u32(k, gregs + layout["cr2"]) == 0x1234
    assert u32(k, gregs + 4 * layout["eip"]) == busy_cpu().eip
    assert k.signals.blocked == 0


@pytest.mark.parametrize("setup", ["default", "ignored", "blocked"])
def test_fault_without_a_usable_handler_kills(k: LinuxUser, setup: str) -> None:
    if setup == "ignored":
        sigaction(k, SEGV, 1)
    elif setup == "blocked":
        sigaction(k, SEGV, HANDLER)
        k.signals.set_blocked(1 << (SEGV - 1))
    with pytest.raises(GuestKilled) as info:
        k.fault(busy_cpu(), SEGV, 2, 0x1000)
    assert info.value.signo == SEGV


def test_no_room_for_the_frame_is_sigsegv(k: LinuxUser) -> None:
    sigaction(k, USR1, HANDLER)
    cpu = busy_cpu()
    cpu.regs[ESP] = STACK + 0x100                                    # the frame would go below the stack
    with pytest.raises(GuestKilled) as info:
        raise_and_deliver(k, cpu, USR1)
    assert info.value.signo == SEGV


# -- the FP state across a handler ---------------------------------------------------------------

SC_FPSTATE = 76                  # sigcontext_32.fpstate


def busy_fpu(cpu: CPUState) -> bytes:
    """Give `cpu` an FP state unlike the initial one (round-toward-zero FCW and MXCSR, pi and 1.0 on
    the x87 stack, a pattern in xmm0..7) in the form a frame round trip keeps; return it."""
    img = bytearray(fpstate.FXSAVE_SIZE)
    struct.pack_into("<HHB", img, 0, 0x0F7F, 6 << 11, 0xC0)
    img[32:42] = bytes.fromhex("35c26821a2da0fc90040")
    img[48:58] = (1 << 63).to_bytes(8, "little") + (0x3FFF).to_bytes(2, "little")
    struct.pack_into("<II", img, 24, 0x7F80, fpframe.host_fpu().mxcsr_mask)
    img[160:288] = bytes(range(128))
    fpstate.load_image(cpu, bytes(img))
    return bytes(img)


def fpregs_of(k: LinuxUser, frame: int, siginfo: bool) -> int:
    return u32(k, frame + (RT_MCONTEXT if siginfo else SIGFRAME_SC) + SC_FPSTATE)


@pytest.mark.parametrize("siginfo", [True, False], ids=["rt_sigframe", "sigframe"])
def test_handler_starts_with_the_initial_fp_state_and_sigreturn_restores(k: LinuxUser, siginfo: bool) -> None:
    sigaction(k, USR1, HANDLER, SA_SIGINFO if siginfo else 0)
    cpu = busy_cpu()
    want = busy_fpu(cpu)
    raise_and_deliver(k, cpu, USR1)
    assert fpstate.image(cpu) == fpstate.initial_image()
    frame = cpu.regs[ESP]
    fp = fpregs_of(k, frame, siginfo)
    assert fp == fpframe.math_area(busy_cpu().regs[ESP], fpframe.host_fpu())[0]
    assert u32(k, fp) == 0xFFFF0F7F and u32(k, fp + 112 + 24) == 0x7F80
    assert k.mem.read(fp + 112 + 160, 128) == bytes(range(128))
    busy_fpu(cpu)                                                    # the handler's own FP work
    fpstate.load_image(cpu, bytes(reversed(fpstate.initial_image())))
    cpu.regs[ESP] = frame + (4 if siginfo else 8)
    syscall(k, cpu, 173 if siginfo else 119)
    assert fpstate.image(cpu) == want


def test_a_null_fpstate_gives_the_initial_state(k: LinuxUser) -> None:
    sigaction(k, USR1, HANDLER, SA_SIGINFO)
    cpu = busy_cpu()
    busy_fpu(cpu)
    raise_and_deliver(k, cpu, USR1)
    frame = cpu.regs[ESP]
    k.mem.write(frame + RT_MCONTEXT + SC_FPSTATE, struct.pack("<I", 0))
    busy_fpu(cpu)
    cpu.regs[ESP] = frame + 4
    syscall(k, cpu, 173)
    assert fpstate.image(cpu) == fpstate.initial_image() and cpu.eip == busy_cpu().eip


def test_fp_state_the_kernel_refuses_is_sigsegv(k: LinuxUser) -> None:
    sigaction(k, USR1, HANDLER, SA_SIGINFO)
    cpu = busy_cpu()
    busy_fpu(cpu)
    raise_and_deliver(k, cpu, USR1)
    frame = cpu.regs[ESP]
    k.mem.write(fpregs_of(k, frame, True) + 112 + 24, struct.pack("<I", 0x80001F80))   # reserved MXCSR bit
    cpu.regs[ESP] = frame + 4
    with pytest.raises(GuestKilled) as info:
        syscall(k, cpu, 173)
    assert info.value.signo == SEGV and fpstate.image(cpu) == fpstate.initial_image()


def test_a_frame_that_overflows_the_altstack_is_sigsegv(k: LinuxUser) -> None:
    size = fpframe.host_fpu().math_size + 200                        # room for the FP area, not the frame
    k.signals.altstack = (ALT, 0, size)
    sigaction(k, USR1, HANDLER, SA_SIGINFO | SA_ONSTACK)
    with pytest.raises(GuestKilled) as info:
        raise_and_deliver(k, busy_cpu(), USR1)
    assert info.value.signo == SEGV
    k.signals.altstack = (ALT, 0, size + 400)
    cpu = busy_cpu()
    raise_and_deliver(k, cpu, USR1)
    assert ALT < cpu.regs[ESP] < ALT + size + 400
