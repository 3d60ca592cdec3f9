"""Host faults in generated code come back to Python as ExitReason.FAULT with the signal recorded."""

import ctypes
import mmap
import signal

from aotc.backend.asm import R14, R15, RAX, RCX, RDX, Asm, Mem
from aotc.backend.prologue import build_prologue
from aotc.exec.codebuf import CodeBuffer, host_mmap
from aotc.exec.faults import build_fault_stub, build_handler, install_handler
from aotc.guest.cpu import OFF_EPILOGUE, CPUState, ExitReason

_ENTER = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_void_p, ctypes.c_void_p)


def _run(body) -> tuple[int, CPUState, CodeBuffer]:
    buf = CodeBuffer(1 << 16)
    pro = build_prologue()
    base = buf.append(pro.code)
    stub = buf.append(build_fault_stub())
    handler = buf.append(build_handler(buf.base, buf.base + buf.size, stub))
    a = Asm()
    body(a)
    a.mov(32, RAX, 0x1234)
    a.jmp(Mem(R14, disp=OFF_EPILOGUE))
    code = buf.append(a.code())
    cpu = CPUState()
    cpu.epilogue = base + pro.epilogue
    cpu.guest_base = host_mmap(1 << 16, 0, mmap.MAP_PRIVATE)
    old = {s: signal.getsignal(s) for s in (signal.SIGSEGV, signal.SIGFPE, signal.SIGBUS)}
    install_handler(handler)
    try:
        value = _ENTER(base + pro.entry)(ctypes.addressof(cpu), code)
    finally:
        for s, h in old.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)
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
