"""Precise faults in the IR the frontend emits: an instruction's loads and stores that may fault come
before it writes guest state, so a fault leaves the registers as the CPU does (tests/guests/precise_faults.c
checks the same against the real CPU). Faults are run through the reference interpreter, where a byte
absent from memory faults; the orderings it cannot show (a read-only page) are checked on the IR."""

from __future__ import annotations

import pytest
from i386asm import assemble_i386

from aotc.frontend.translate import translate_block
from aotc.guest.cpu import REG_OFFSETS
from aotc.ir.core import Op
from aotc.ir.interp import Exit, run_block
from aotc.ir.ops import CAN_FAULT

BASE = 0x8049000
NAMES = ("eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi")
START = {name: 0x11111111 * (i + 1) for i, name in enumerate(NAMES)}  # distinct, none a used address


def first_insn_ops(src: str) -> list[Op]:
    """The IR ops of the first instruction of `src` (Intel syntax), without its insn_start."""
    code = assemble_i386(src + "\nret")
    ops = translate_block(lambda a, n: code[a - BASE:a - BASE + n], BASE).block.ops
    starts = [i for i, op in enumerate(ops) if op.name == "insn_start"] + [len(ops)]
    return ops[starts[0] + 1:starts[1]]


def fault(src: str, regs: dict[str, int], mem: dict[int, bytes]
          ) -> tuple[Exit, dict[str, int], dict[int, int]]:
    """Run `src` from START updated with `regs` over `mem`: (exit, registers by name, memory bytes)."""
    code = assemble_i386(src + "\nint 0x80")
    tb = translate_block(lambda a, n: code[a - BASE:a - BASE + n], BASE)
    start = {**START, **regs}
    state = {REG_OFFSETS[i]: start[name] for i, name in enumerate(NAMES)}
    memory = {a + i: byte for a, data in mem.items() for i, byte in enumerate(data)}
    exit_, state, memory = run_block(tb.block, state, memory)
    return exit_, {name: state[REG_OFFSETS[i]] for i, name in enumerate(NAMES)}, memory


def words(*values: int) -> bytes:
    return b"".join(v.to_bytes(4, "little") for v in values)


@pytest.mark.parametrize("src", ["leave", ".byte 0x66, 0xc9"])
def test_leave_that_faults_changes_no_register(src: str) -> None:
    exit_, regs, _ = fault(src, {"ebp": 0x2000, "esp": 0x1800}, {0x1800: bytes(16)})
    assert exit_ == Exit("page_fault", (0x2000,))
    assert regs == {**START, "ebp": 0x2000, "esp": 0x1800}


@pytest.mark.parametrize("src, target", [
    ("pop dword ptr [esp+0x100]", 0x1904), ("pop dword ptr [eax]", 0x3000),
    ("pop word ptr [esp+0x100]", 0x1902),
])
def test_pop_into_memory_that_faults_leaves_esp(src: str, target: int) -> None:
    exit_, regs, _ = fault(src, {"esp": 0x1800, "eax": 0x3000}, {0x1800: words(7)})
    assert exit_ == Exit("page_fault", (target,))
    assert regs["esp"] == 0x1800


def test_pop_into_memory_addresses_after_the_increment() -> None:
    exit_, regs, memory = fault("pop dword ptr [esp+4]", {"esp": 0x1800}, {0x1800: words(7, 0, 0)})
    assert exit_.kind == "exit_tb" and regs["esp"] == 0x1804
    assert bytes(memory[0x1808 + i] for i in range(4)) == words(7)


@pytest.mark.parametrize("present, popped", [
    (0, ()), (1, ("edi",)), (3, ("edi", "esi", "ebp")), (4, ("edi", "esi", "ebp")),
    (7, ("edi", "esi", "ebp", "ebx", "edx", "ecx")),
])
def test_popa_pops_upwards_and_keeps_what_it_popped_before_a_fault(present: int, popped: tuple[str, ...]):
    """As the CPU does: each slot is read in turn (the esp slot too) and its register written at once."""
    esp = 0x2000 - 4 * present
    values = [0xA0 + slot for slot in range(present)]
    exit_, regs, _ = fault("popad", {"esp": esp}, {esp: words(*values)} if present else {})
    assert exit_ == Exit("page_fault", (0x2000,))
    order = ("edi", "esi", "ebp", "esp", "ebx", "edx", "ecx", "eax")
    assert regs == {**START, "esp": esp, **{name: values[order.index(name)] for name in popped}}


def _guest_writes_after_faults(ops: list[Op]) -> bool:
    """Whether every state write comes after the instruction's last op that may fault."""
    last_fault = max(i for i, op in enumerate(ops) if op.opdef.flags & CAN_FAULT)
    return all(i > last_fault for i, op in enumerate(ops) if op.name == "st_state")


@pytest.mark.parametrize("src", [
    "leave", "pop dword ptr [esp+8]", "pop dword ptr [eax]", "xadd [eax], ebx", "xadd byte ptr [eax], bl",
    "xchg [eax], ebx", "cmpxchg [eax], ebx", "cmpxchg8b qword ptr [esi]", "push ebx", "push dword ptr [eax]",
    "pushad", "enter 16, 0", "ret 8", "add [eax], ebx", "inc dword ptr [eax]", "movsd", "lodsd", "cmpsd",
])
def test_state_is_written_after_every_access_that_may_fault(src: str) -> None:
    """A store to a read-only page faults after the loads succeeded: nothing may be written by then."""
    assert _guest_writes_after_faults(first_insn_ops(src))


def test_cmpxchg8b_writes_the_low_half_back_before_the_high_half() -> None:
    """m64 is one access on the CPU: the unchanged low half is stored first, so a read-only page under
    either half faults before any byte changes."""
    ops = first_insn_ops("cmpxchg8b qword ptr [esi]")
    loads = [op for op in ops if op.name == "ld"]
    stores = [op for op in ops if op.name == "st"]
    assert len(loads) == 2 and len(stores) == 3
    assert stores[0].ins == [loads[0].outs[0], loads[0].ins[0]]
    assert stores[1].ins[1] == loads[1].ins[0] and stores[2].ins[1] == loads[0].ins[0]


def test_xadd_between_registers_writes_the_destination_last() -> None:
    """xadd eax, eax leaves the sum: the destination's write comes after the source's."""
    ops = first_insn_ops("xadd eax, eax")
    add = next(op for op in ops if op.name == "add_cc")
    eax_writes = [op for op in ops if op.name == "st_state" and op.args["off"] == REG_OFFSETS[0]]
    assert eax_writes[-1].ins[0] == add.outs[0]
