"""TranslationBlock: one translated guest block as it sits in the code buffer."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TranslationBlock:
    """Guest range [pc, pc+size) translated to host code at `host` (QEMU's TranslationBlock)."""

    pc: int
    size: int
    ninsns: int
    host: int
    host_size: int
    insn_offsets: list[tuple[int, int]]

    def guest_pc_at(self, host_addr: int) -> int:
        """The guest pc of the instruction whose host code contains `host_addr`."""
        pc = self.pc
        for offset, insn_pc in self.insn_offsets:
            if self.host + offset > host_addr:
                break
            pc = insn_pc
        return pc
