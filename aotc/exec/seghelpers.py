"""The HELPER requests that load segment registers, as the CPU runs them: a data segment load (mov,
pop, lds...) and the far transfers that load cs (ljmp, lcall, lret, iret). The descriptor a selector
names comes from the Linux layer (the GDT an x86-64 kernel gives an i386 task, and its LDT); the checks
are the CPU's (aotc.guest.segments); a check that fails raises the CPU's fault with nothing changed.
"""

from __future__ import annotations

import signal
import sys

from aotc.backend.flags import cc_from_eflags, eflags_from_cc
from aotc.guest import segments
from aotc.guest.cpu import (
    CS,
    ESP,
    FAR16,
    QUERY16,
    SS,
    CPUState,
    Far,
    LoadSeg,
    SegQuery,
    load_code_segment,
    refresh_tb_mode,
)
from aotc.guest.memory import GuestFault
from aotc.guest.segments import SegmentFault, check_far_target, data_segment_base
from aotc.linux import GuestKilled
from aotc.linux.sigframe import restore_eflags
from aotc.linux.user import LinuxUser

SEGV_MAPERR, SEGV_ACCERR = 1, 2
PF_WRITE = 2
MASKS = {2: 0xFFFF, 4: 0xFFFFFFFF}
FAR_CHECKS = {Far.JMP: "jmp", Far.CALL: "call", Far.RET: "ret", Far.IRET: "ret"}


def load_segment(linux: LinuxUser, cpu: CPUState) -> None:
    """LOAD_SEG: the selector's checks pass and the instruction completes, or its fault is raised."""
    arg, selector = (cpu.helper >> 8) & 0xFF, cpu.helper >> 16
    seg = arg & 7
    try:
        base = data_segment_base(selector, linux.descriptor(selector), seg == SS)
    except SegmentFault as e:
        linux.exception(cpu, e.vector, e.err)
        return
    cpu.seg_sel[seg], cpu.seg_base[seg] = selector, base
    refresh_tb_mode(cpu)
    if arg & LoadSeg.POP:
        cpu.regs[ESP] = cpu.helper_val
    if arg & LoadSeg.LXS:
        cpu.regs[(arg >> 3) & 7] = cpu.helper_val
    cpu.eip = cpu.helper_next


class _Stack:
    """The guest stack at ss:esp, read and written in `size`-byte slots as a far transfer does."""

    def __init__(self, linux: LinuxUser, cpu: CPUState, size: int) -> None:
        self.mem, self.base, self.esp, self.size = linux.mem, cpu.seg_base[SS], cpu.regs[ESP], size

    def _addr(self, esp: int) -> int:
        return (self.base + esp) & 0xFFFFFFFF

    def pop(self) -> int:
        value = int.from_bytes(self.mem.read(self._addr(self.esp), self.size), "little")
        self.esp = (self.esp + self.size) & 0xFFFFFFFF
        return value

    def push(self, value: int) -> None:
        esp = (self.esp - self.size) & 0xFFFFFFFF
        addr = self._addr(esp)
        if not self.mem.check(addr, self.size, write=True):
            raise GuestFault(addr)
        self.mem.write(addr, (value & MASKS[self.size]).to_bytes(self.size, "little"))
        self.esp = esp


def far_transfer(linux: LinuxUser, cpu: CPUState) -> None:
    """FAR: ljmp/lcall/lret/iret, loading cs from the descriptor its selector names."""
    arg = (cpu.helper >> 8) & 0xFF
    kind, size = Far(arg & 0xF), 2 if arg & FAR16 else 4
    stack = _Stack(linux, cpu, size)
    eflags = None
    try:
        if kind in (Far.JMP, Far.CALL):
            selector, offset = cpu.helper >> 16, cpu.helper_val
        else:
            offset, selector = stack.pop(), stack.pop() & 0xFFFF
            if kind == Far.IRET:
                eflags = stack.pop()
        desc = linux.descriptor(selector)
        check_far_target(selector, desc, FAR_CHECKS[kind])
        if desc.l:
            print(f"aotc: far transfer to 64-bit code (selector {selector:#x}) at 0x{cpu.eip:08x}: "
                  "the guest gets SIGILL", file=sys.stderr)
            raise GuestKilled(signal.SIGILL)
        if kind == Far.CALL:
            stack.push(cpu.seg_sel[CS])
            stack.push(cpu.helper_next)
        if kind == Far.RET:
            stack.esp = (stack.esp + cpu.helper_val) & 0xFFFFFFFF
    except SegmentFault as e:
        linux.exception(cpu, e.vector, e.err)
        return
    except GuestFault as e:
        prot = linux.mem.prot_at(e.addr)
        err = PF_WRITE if kind == Far.CALL else 0
        linux.fault(cpu, signal.SIGSEGV, SEGV_ACCERR if prot != -1 else SEGV_MAPERR, e.addr, err)
        return
    cpu.regs[ESP] = stack.esp
    load_code_segment(cpu, selector | 3, desc.base, desc.default_size == 2)   # cs takes CPL as RPL
    cpu.eip = offset
    if eflags is not None:
        restore_eflags(cpu, eflags)


ZF = 0x40
VERIFY = {SegQuery.VERR: segments.verr, SegQuery.VERW: segments.verw}
READ = {SegQuery.LAR: segments.lar, SegQuery.LSL: segments.lsl}


def query_segment(linux: LinuxUser, cpu: CPUState) -> None:
    """QUERY_SEG: lar/lsl write the register and set ZF when the descriptor allows it, else clear ZF;
    verr/verw set ZF as the segment can be read or written."""
    arg, selector = (cpu.helper >> 8) & 0xFF, cpu.helper >> 16
    kind = SegQuery(arg & 3)
    desc = linux.descriptor(selector)
    if kind in VERIFY:
        ok = VERIFY[kind](selector, desc)
    else:
        value = READ[kind](selector, desc)
        ok = value is not None
        if ok:
            r = (arg >> 2) & 7
            cpu.regs[r] = (cpu.regs[r] & 0xFFFF0000) | (value & 0xFFFF) if arg & QUERY16 else value
    eflags = eflags_from_cc(cpu.cc)
    cpu.cc = cc_from_eflags(eflags | ZF if ok else eflags & ~ZF)
    cpu.eip = cpu.helper_next
