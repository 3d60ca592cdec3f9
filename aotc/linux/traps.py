"""CPU exceptions as Linux turns them into signals (arch/x86/kernel/traps.c): which signal, si_code and
si_addr each vector gives a user-mode task, and whether it is a trap (eip after the instruction, RF
clear in the saved eflags) or a fault (eip at it, RF set). Measured against native on an x86-64 kernel
running an i386 task; page faults (#PF) and FP exceptions are delivered by the fault path instead.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass
from types import MappingProxyType

from aotc.guest.cpu import Vector

SI_KERNEL = 0x80
TRAP_BRKPT, TRAP_TRACE = 1, 2
ILL_ILLOPN = 2


@dataclass(frozen=True)
class Delivery:
    """How the kernel reports one vector: the signal, its si_code, si_addr = eip (else 0), trap or fault."""

    signo: int
    code: int
    addr_is_eip: bool
    trap: bool


EXCEPTIONS: MappingProxyType[int, Delivery] = MappingProxyType({
    Vector.DB: Delivery(signal.SIGTRAP, TRAP_BRKPT, True, True),     # icebp (int1)
    Vector.BP: Delivery(signal.SIGTRAP, SI_KERNEL, False, True),     # int3, int $3
    Vector.OF: Delivery(signal.SIGSEGV, SI_KERNEL, False, True),     # into with OF set, int $4
    Vector.BR: Delivery(signal.SIGSEGV, SI_KERNEL, False, False),    # bound out of range
    Vector.UD: Delivery(signal.SIGILL, ILL_ILLOPN, True, False),     # ud2, undefined opcodes
    Vector.NP: Delivery(signal.SIGBUS, SI_KERNEL, False, False),     # a not-present segment loaded
    Vector.SS: Delivery(signal.SIGBUS, SI_KERNEL, False, False),     # a not-present stack segment
    Vector.GP: Delivery(signal.SIGSEGV, SI_KERNEL, False, False),    # privileged instructions, int N
})
SINGLE_STEP = Delivery(signal.SIGTRAP, TRAP_TRACE, True, True)   # #DB after an instruction run with TF
TRAP_VECTORS = frozenset(v for v, e in EXCEPTIONS.items() if e.trap)

