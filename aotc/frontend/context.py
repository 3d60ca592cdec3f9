"""The per-instruction translation context (QEMU's DisasContext): the builder, the capstone instruction
being lowered, and the small emit helpers every `gen_X` family shares (state access, TB exits).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from capstone import CsInsn

from aotc.guest.cpu import OFF_CC, OFF_EIP, OFF_HELPER, REG_OFFSETS, ExitReason
from aotc.ir.core import Builder, Value
from aotc.ir.ops import CONDS

MASK32 = 0xFFFFFFFF
OTHER_SIZE = MappingProxyType({4: 2, 2: 4})   # what a 0x66/0x67 prefix turns the default size into
COND = MappingProxyType({name: i for i, name in enumerate(CONDS)})  # brcond/setcond/movcond numbers


class Unsupported(Exception):
    """A decoded instruction (or form of one) that the frontend does not translate."""


class Invalid(Exception):
    """An instruction that raises #UD on a real CPU (ud2, mov cs, bad operand forms): SIGILL."""


@dataclass
class DisasContext:
    """State while lowering one instruction: `ended` is set once the instruction has closed the TB;
    `default_size` is the code segment's default operand and address size in bytes (its D bit: 4, or
    2 in a 16-bit code segment); `segmented` code adds every segment's base, not only fs's and gs's;
    a `single` instruction TB (single-stepping) runs one iteration of a rep string instruction."""

    b: Builder
    insn: CsInsn | None
    pc: int
    next_pc: int
    ended: bool = False
    default_size: int = 4
    segmented: bool = False
    single: bool = False

    # ---- guest registers and flags (naive: load on every read, store on every write) ----

    def ld_reg(self, r: int) -> Value:
        """The full 32-bit guest register r."""
        return self.b.ld_state(off=REG_OFFSETS[r])

    def st_reg(self, r: int, v: Value) -> None:
        """Write the full 32-bit guest register r."""
        self.b.st_state(v, off=REG_OFFSETS[r])

    def ld_cc(self) -> Value:
        """The current opaque flags value."""
        return self.b.ld_state(off=OFF_CC)

    def st_cc(self, f: Value) -> None:
        """Replace the flags value."""
        self.b.st_state(f, off=OFF_CC)

    @property
    def prefix_rep(self) -> int:
        """The rep/repne/lock prefix byte (0xf3, 0xf2, 0xf0) or 0."""
        return self.insn.prefix[0]

    @property
    def opsize(self) -> int:
        """The operand size in bytes: the code segment's default, the other one with a 0x66 prefix."""
        return OTHER_SIZE[self.default_size] if self.insn.prefix[2] == 0x66 else self.default_size

    @property
    def addrsize(self) -> int:
        """The address size in bytes: the code segment's default, the other one with a 0x67 prefix."""
        return OTHER_SIZE[self.default_size] if self.insn.prefix[3] == 0x67 else self.default_size

    # ---- ops named by Python keywords ----

    def and_(self, a: Value, b: Value) -> Value:
        """32-bit and."""
        return self.b.emit("and", [a, b])[0]

    def or_(self, a: Value, b: Value) -> Value:
        """32-bit or."""
        return self.b.emit("or", [a, b])[0]

    def not_(self, a: Value) -> Value:
        """32-bit not."""
        return self.b.emit("not", [a])[0]

    # ---- TB exits ----

    def goto_tb(self, slot: int, pc: int) -> None:
        """Leave the TB for the direct target pc through chaining slot `slot`."""
        self.b.goto_tb(slot=slot, pc=pc & MASK32)
        self.ended = True

    def exit_jump(self, target: Value) -> None:
        """Leave the TB for an indirect target: eip = target, then through the jump cache (which holds
        flat 32-bit code only: other code goes back to the dispatcher)."""
        self.b.st_state(target, off=OFF_EIP)
        if self.segmented or self.default_size != 4:
            self.b.exit_tb(reason=ExitReason.JUMP)
        else:
            self.b.lookup_and_goto_ptr(target)
        self.ended = True

    def exit_with(self, reason: ExitReason, eip: int) -> None:
        """Store eip and leave the TB with `reason` for cpu_loop to handle."""
        self.b.st_state(eip & MASK32, off=OFF_EIP)
        self.b.exit_tb(reason=reason)
        self.ended = True

    def trap(self, vector: int, eip: int, err: int = 0) -> None:
        """Leave the TB raising CPU exception `vector` with error code `err`, eip stored as `eip`."""
        self.b.st_state(vector | err << 8, off=OFF_HELPER)
        self.exit_with(ExitReason.TRAP, eip)
