"""i386 signal frames as Linux's ia32 signal code lays them out: building one on the guest stack for a
handler, and restoring the CPU state from one for sigreturn and rt_sigreturn.

Layouts (arch/x86/include/asm/sigframe.h, uapi/asm/sigcontext.h, asm/ucontext.h):
  sigframe:    pretcode, sig, sigcontext_32 sc @8, _fpstate_32 fpstate_unused @96 (624 bytes),
               extramask @720, retcode[8] @724 — 732 bytes
  rt_sigframe: pretcode, sig, pinfo @8, puc @12, siginfo @16 (128 bytes), ucontext @144 (uc_flags,
               uc_link, uc_stack, uc_mcontext @164, uc_sigmask @252), retcode[8] @260 — 268 bytes
The FP state goes below the frame, where the kernel puts it (see aotc.linux.fpframe): sigcontext.fpstate
points at it (the sigframe's own fpstate_unused stays zero), uc_flags says UC_FP_XSTATE on a host with
xsave, the handler starts with the initial FP state, and sigreturn restores the frame's after the
registers (a fpstate of 0 gives the initial state; one the kernel refuses is BadFrame).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

from aotc.backend.flags import ARITH_EFLAGS, cc_from_eflags, eflags_from_cc
from aotc.guest import fpstate
from aotc.guest.cpu import (
    CS,
    DS,
    EAX,
    EBP,
    EBX,
    ECX,
    EDI,
    EDX,
    EFLAGS_TF,
    ES,
    ESI,
    ESP,
    FS,
    GS,
    SS,
    CPUState,
    load_code_segment,
    refresh_tb_mode,
)
from aotc.guest.memory import GuestFault, GuestMemory
from aotc.guest.segments import Descriptor, SegmentFault, check_far_target, data_segment_base
from aotc.linux import fpframe

SIGCONTEXT = struct.Struct("<8H8I3I2H2I2H3I")   # struct sigcontext_32, 88 bytes
SIGINFO_SIZE = 128
UCONTEXT_HEAD = struct.Struct("<II" "IiI")      # uc_flags, uc_link, uc_stack (ss_sp, ss_flags, ss_size)
SIGSET = struct.Struct("<Q")
U32 = struct.Struct("<I")

FPSTATE_32_SIZE = 624
SIGFRAME_SC = 8
SIGFRAME_EXTRAMASK = SIGFRAME_SC + SIGCONTEXT.size + FPSTATE_32_SIZE
SIGFRAME_RETCODE = SIGFRAME_EXTRAMASK + 4
SIGFRAME_SIZE = SIGFRAME_RETCODE + 8
RT_INFO = 16
RT_UC = RT_INFO + SIGINFO_SIZE
RT_MCONTEXT = RT_UC + UCONTEXT_HEAD.size
RT_SIGMASK = RT_MCONTEXT + SIGCONTEXT.size
RT_RETCODE = RT_SIGMASK + SIGSET.size
RT_SIGFRAME_SIZE = RT_RETCODE + 8

NR_SIGRETURN, NR_RT_SIGRETURN = 119, 173
SIGRETURN_CODE = b"\x58\xb8" + U32.pack(NR_SIGRETURN) + b"\xcd\x80"  # popl %eax; movl $119,%eax; int 0x80
RT_SIGRETURN_CODE = b"\xb8" + U32.pack(NR_RT_SIGRETURN) + b"\xcd\x80\x00"  # movl $173,%eax; int 0x80

SA_SIGINFO, SA_ONSTACK, SA_RESTORER = 0x4, 0x08000000, 0x04000000
UC_FP_XSTATE = 0x1                  # uc_flags: the FP area has the xsave extension
SS_ONSTACK, SS_DISABLE = 1, 2
Describe = Callable[[int], "Descriptor | None"]   # selector -> the descriptor it names (LinuxUser.descriptor)
USER_CS, USER_DS = 0x23, 0x2B       # the flat selectors of an i386 task on an x86-64 kernel
EFLAGS_FIXED = 0x202                # IF and the always-one bit 1
DF, RF, AC, ID = 1 << 10, 1 << 16, 1 << 18, 1 << 21
FIX_EFLAGS = ARITH_EFLAGS | DF | AC  # what sigreturn takes from the frame (TF, RF: aotc has none)
SC_REGS = (EDI, ESI, EBP, ESP, EBX, EDX, ECX, EAX)   # sigcontext's register order
SC_SEGS = (GS, FS, ES, DS)


class BadFrame(Exception):
    """sigreturn found no valid frame: Linux answers with SIGSEGV."""


@dataclass(frozen=True)
class SigInfo:
    """A siginfo_t: signo, code, the union's leading words ((pid, uid) for kill, (addr,) for faults)
    and si_errno."""

    signo: int
    code: int
    fields: tuple[int, ...] = ()
    errno: int = 0

    def pack(self) -> bytes:
        head = (struct.pack("<iii", self.signo, self.errno, self.code)
                + b"".join(U32.pack(f) for f in self.fields))
        return head.ljust(SIGINFO_SIZE, b"\0")


@dataclass(frozen=True)
class Trap:
    """What a fault leaves in sigcontext: trapno, the error code and cr2 (all 0 for a sent signal);
    for a fault (not a trap) the CPU also sets RF in the eflags it saves."""

    trapno: int = 0
    err: int = 0
    cr2: int = 0
    fault: bool = False


def guest_eflags(cpu: CPUState) -> int:
    """The guest's EFLAGS as pushf shows them."""
    return eflags_from_cc(cpu.cc) | (DF if cpu.df else 0) | cpu.eflags_misc | EFLAGS_FIXED


def restore_eflags(cpu: CPUState, eflags: int) -> None:
    """Take the FIX_EFLAGS bits of `eflags` into the CPU state (ID and the rest stay as they are)."""
    cpu.cc = cc_from_eflags(eflags)
    cpu.df = 1 if eflags & DF else 0
    cpu.eflags_misc = (cpu.eflags_misc & ~(AC | EFLAGS_TF)) | (eflags & (AC | EFLAGS_TF))


def altstack_flags(sp: int, altstack: tuple[int, int, int]) -> int:
    """sas_ss_flags: SS_DISABLE without an alternate stack, SS_ONSTACK while `sp` is on it, else 0."""
    base, _, size = altstack
    if size == 0:
        return SS_DISABLE
    return SS_ONSTACK if base < sp <= base + size else 0


def pack_sigcontext(cpu: CPUState, oldmask: int, trap: Trap, fpstate_at: int = 0) -> bytes:
    """struct sigcontext_32 for the current CPU state, its FP state at guest address `fpstate_at`."""
    return SIGCONTEXT.pack(
        *(v for seg in SC_SEGS for v in (cpu.seg_sel[seg] & 0xFFFF, 0)),
        *(cpu.regs[r] for r in SC_REGS),
        trap.trapno, trap.err, cpu.eip, (cpu.seg_sel[CS] or USER_CS) & 0xFFFF, 0,
        guest_eflags(cpu) | (RF if trap.fault else 0), cpu.regs[ESP],
        (cpu.seg_sel[SS] or USER_DS) & 0xFFFF, 0,
        fpstate_at, oldmask & 0xFFFFFFFF, trap.cr2)


def _data_segment(selector: int, descriptor: Describe) -> tuple[int, int]:
    """What reload_segments leaves in ds/es/fs/gs for a saved selector: it with RPL 3 and its base,
    or, where that load would fault (the kernel's loadsegment fixup) or it is null, 0."""
    selector |= 3
    try:
        base = data_segment_base(selector, descriptor(selector))
    except SegmentFault:
        return 0, 0
    return (selector, base) if selector & ~3 else (0, 0)


def _restore_cs_ss(cpu: CPUState, cs: int, ss: int, descriptor: Describe) -> None:
    """regs->cs = sc.cs | 3 and regs->ss = sc.ss | 3, which the return to user mode then loads as
    an iret would (BadFrame where it would fault): a handler returns into 16-bit or based code too."""
    cs, ss = cs | 3, ss | 3
    code = descriptor(cs)
    try:
        check_far_target(cs, code, "ret")
        ss_base = data_segment_base(ss, descriptor(ss), is_ss=True)
    except SegmentFault as e:
        raise BadFrame(f"cs {cs:#x} / ss {ss:#x}: {e}") from e
    if code.l:
        raise BadFrame(f"cs {cs:#x} is 64-bit code")
    cpu.seg_sel[SS], cpu.seg_base[SS] = ss, ss_base
    load_code_segment(cpu, cs, code.base, code.default_size == 2)


def restore_sigcontext(cpu: CPUState, data: bytes, descriptor: Describe,
                       mem: GuestMemory | None = None) -> None:
    """Load registers, eip, the FIX_EFLAGS bits, cs/ss, gs/fs/es/ds and then (from `mem`) the FP state
    a sigcontext_32 names, as ia32_restore_sigcontext does (BadFrame for a cs or ss the return to user
    mode would fault on, or FP state the kernel refuses)."""
    fields = SIGCONTEXT.unpack(data)
    _restore_cs_ss(cpu, fields[19], fields[23], descriptor)
    for seg, sel in zip(SC_SEGS, fields[0:8:2], strict=True):
        cpu.seg_sel[seg], cpu.seg_base[seg] = _data_segment(sel, descriptor)
    refresh_tb_mode(cpu)
    for reg, value in zip(SC_REGS, fields[8:16], strict=True):
        cpu.regs[reg] = value
    cpu.eip = fields[18]
    restore_eflags(cpu, fields[21])
    if mem is not None:
        restore_fpstate(cpu, mem, fields[-3])


def restore_fpstate(cpu: CPUState, mem: GuestMemory, at: int) -> None:
    """fpu__restore_sig: the FP state of a frame's FP area at `at` (0: the initial state); BadFrame,
    with the initial state, if it is unreadable or the kernel refuses it."""
    if at == 0:
        fpstate.reset(cpu)
        return
    try:
        image = fpframe.restore(mem.read, at, fpframe.host_fpu())
    except (GuestFault, fpframe.FrameError) as e:
        fpstate.reset(cpu)
        raise BadFrame(str(e)) from e
    fpstate.load_image(cpu, image)


def frame_address(cpu: CPUState, flags: int, altstack: tuple[int, int, int], size: int) -> tuple[int, int]:
    """get_sigframe: (frame, FP area) below esp, or below the top of the sigaltstack for SA_ONSTACK
    when not already on it: the FP area first (its fxsave image 64-byte aligned), then the frame,
    aligned so that (frame + 4) is a multiple of 16. GuestFault when a frame meant for the
    sigaltstack does not fit on it (the kernel's "overflowed sigaltstack": SIGSEGV)."""
    sp = cpu.regs[ESP]
    on_altstack = altstack_flags(sp, altstack) == SS_ONSTACK
    if flags & SA_ONSTACK and altstack_flags(sp, altstack) == 0:
        sp = altstack[0] + altstack[2]
        on_altstack = True
    fp_at, _ = fpframe.math_area(sp, fpframe.host_fpu())
    frame = (((fp_at - size) + 4) & ~15) - 4
    if on_altstack and altstack_flags(frame, altstack) != SS_ONSTACK:
        raise GuestFault(frame)
    return frame, fp_at


def _write_frame(mem: GuestMemory, addr: int, frame: bytes) -> None:
    if not mem.check(addr, len(frame), write=True):
        raise GuestFault(addr)
    mem.write(addr, frame)


def _enter_handler(cpu: CPUState, handler: int, frame: int, signo: int, regparm: tuple[int, int]) -> None:
    """The registers a handler starts with (the kernel's regparm(3) convention: eax, edx, ecx)."""
    cpu.regs[ESP] = frame
    cpu.eip = handler
    cpu.regs[EAX] = signo
    cpu.regs[EDX], cpu.regs[ECX] = regparm
    cpu.df = 0
    cpu.eflags_misc &= ~EFLAGS_TF
    for seg, selector in ((CS, USER_CS), (SS, USER_DS), (DS, USER_DS), (ES, USER_DS)):
        cpu.seg_sel[seg] = selector
        cpu.seg_base[seg] = 0
    cpu.tb_flags = 0                    # flat 32-bit code and data: fs and gs keep their bases


def setup_frame(mem: GuestMemory, cpu: CPUState, handler: int, flags: int, restorer: int,
                altstack: tuple[int, int, int], oldmask: int, info: SigInfo, trap: Trap) -> None:
    """Push a sigframe (or an rt_sigframe for SA_SIGINFO) for `info` and enter the handler.

    GuestFault if the stack cannot take the frame (Linux then forces SIGSEGV).
    """
    if flags & SA_SIGINFO:
        frame, fp_at = frame_address(cpu, flags, altstack, RT_SIGFRAME_SIZE)
        sigcontext = pack_sigcontext(cpu, oldmask, trap, fp_at)
        pretcode = restorer if flags & SA_RESTORER else frame + RT_RETCODE
        stack = (altstack[0], altstack_flags(cpu.regs[ESP], altstack), altstack[2])
        uc_flags = UC_FP_XSTATE if fpframe.host_fpu().xsave else 0
        data = (struct.pack("<IiII", pretcode, info.signo, frame + RT_INFO, frame + RT_UC) + info.pack()
                + UCONTEXT_HEAD.pack(uc_flags, 0, *stack) + sigcontext + SIGSET.pack(oldmask)
                + RT_SIGRETURN_CODE)
        regparm = (frame + RT_INFO, frame + RT_UC)
    else:
        frame, fp_at = frame_address(cpu, flags, altstack, SIGFRAME_SIZE)
        sigcontext = pack_sigcontext(cpu, oldmask, trap, fp_at)
        pretcode = restorer if flags & SA_RESTORER else frame + SIGFRAME_RETCODE
        data = (struct.pack("<Ii", pretcode, info.signo) + sigcontext + bytes(FPSTATE_32_SIZE)
                + U32.pack(oldmask >> 32) + SIGRETURN_CODE)
        regparm = (0, 0)
    fp_area = fpframe.pack(fpstate.image(cpu), cpu.seg_sel[CS] or USER_CS, cpu.seg_sel[DS],
                           fpframe.host_fpu())
    _write_frame(mem, fp_at, fp_area)
    _write_frame(mem, frame, data)
    _enter_handler(cpu, handler, frame, info.signo, regparm)
    fpstate.reset(cpu)


def sigreturn(mem: GuestMemory, cpu: CPUState, descriptor: Describe) -> int:
    """sigreturn (119): the frame is at esp - 8 (pretcode and sig popped); restore the CPU state and
    return the restored signal mask (BadFrame if the frame is unreadable)."""
    frame = (cpu.regs[ESP] - 8) & 0xFFFFFFFF
    try:
        sc = mem.read(frame + SIGFRAME_SC, SIGCONTEXT.size)
        high = U32.unpack(mem.read(frame + SIGFRAME_EXTRAMASK, 4))[0]
    except GuestFault as e:
        raise BadFrame(str(e)) from e
    restore_sigcontext(cpu, sc, descriptor, mem)
    return SIGCONTEXT.unpack(sc)[-2] | (high << 32)


def rt_sigreturn(mem: GuestMemory, cpu: CPUState, descriptor: Describe) -> tuple[int, tuple[int, int, int]]:
    """rt_sigreturn (173): the frame is at esp - 4 (pretcode popped); restore the CPU state and return
    the restored signal mask and the frame's uc_stack (BadFrame if the frame is unreadable)."""
    frame = (cpu.regs[ESP] - 4) & 0xFFFFFFFF
    try:
        uc = mem.read(frame + RT_UC, RT_RETCODE - RT_UC)
    except GuestFault as e:
        raise BadFrame(str(e)) from e
    head = UCONTEXT_HEAD.unpack_from(uc)
    mask = SIGSET.unpack_from(uc, RT_SIGMASK - RT_UC)[0]
    restore_sigcontext(cpu, uc[RT_MCONTEXT - RT_UC:RT_SIGMASK - RT_UC], descriptor, mem)
    return mask, (head[2], head[3], head[4])
