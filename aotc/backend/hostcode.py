"""What the backend hands on: position-independent host code with its exits. Kept apart from the
code generator so that running cached code does not load the compiler."""

from __future__ import annotations

from dataclasses import dataclass, field

CHAIN_PATCH_SIZE = 5     # bytes at the start of a goto_tb exit that chaining turns into a jmp rel32


@dataclass(frozen=True)
class TBExit:
    """A goto_tb exit: its slot, target guest pc, and where its exit sequence (>= 5 bytes) starts."""

    slot: int
    pc: int
    offset: int


@dataclass
class HostCode:
    """Position-independent host code of one TB, its goto_tb exits and its (host offset, guest pc) map."""

    code: bytes
    exits: list[TBExit] = field(default_factory=list)
    insn_offsets: list[tuple[int, int]] = field(default_factory=list)
