"""Translated blocks: the position-independent record of one (the unit the code buffer and the
persistent cache hold) and the installed TranslationBlock with its chaining links."""

from __future__ import annotations

from dataclasses import dataclass, field

from aotc.backend.hostcode import TBExit


def tb_key(pc: int, mode: int, cs_base: int) -> int:
    """The TB cache key of code at eip `pc` under `mode` in a code segment at `cs_base` (QEMU's
    pc/cs_base/flags triple as one int: the pc alone in the flat case)."""
    return pc | mode << 32 | cs_base << 40


@dataclass(frozen=True)
class TBRecord:
    """Guest range [pc, pc+size) translated to `code`: bytes plus exits, in the manner of a
    copy-and-patch stencil. The code is position independent (exits leave through the CPU state,
    chaining is patched in at run time), so it runs wherever it is copied and needs no relocations.
    """

    pc: int
    size: int
    ninsns: int
    code: bytes
    exits: tuple[TBExit, ...]
    insn_offsets: tuple[tuple[int, int], ...]
    mode: int = 0          # the TBMode bits it was translated under (0: flat 32-bit code)
    cs_base: int = 0       # the code segment's base: the guest code is at cs_base + pc

    # what the engine finds it by (tb_key): eip alone for flat 32-bit code, else eip, mode and cs base
    key: int = field(init=False, repr=False, compare=False)
    _pages: range = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # computed once: the engine asks at every load, install and invalidation of a record
        linear = (self.cs_base + self.pc) & 0xFFFFFFFF
        last = (linear + max(self.size, 1) - 1) >> 12
        object.__setattr__(self, "key", tb_key(self.pc, self.mode, self.cs_base))
        object.__setattr__(self, "_pages", range(linear >> 12, last + 1))

    def pages(self) -> range:
        """The guest page numbers this block's guest code lies in (one or two)."""
        return self._pages


@dataclass(eq=False)
class TranslationBlock:
    """A record installed at host address `host` (QEMU's TranslationBlock).

    `jmp_out[slot]` is the TB that goto_tb exit `slot` jumps straight into once chained; `jmp_in` lists
    the (TB, slot) exits chained into this one, so that invalidating it can unchain them (QEMU's jmp_list).
    """

    record: TBRecord
    host: int
    jmp_out: dict[int, TranslationBlock] = field(default_factory=dict)
    jmp_in: list[tuple[TranslationBlock, int]] = field(default_factory=list)
    unchained: dict[int, bytes] = field(default_factory=dict)   # slot -> the bytes chaining replaced
    valid: bool = True

    @property
    def pc(self) -> int:
        return self.record.pc

    @property
    def key(self) -> int:
        return self.record.key

    @property
    def host_size(self) -> int:
        return len(self.record.code)

    def guest_pc_at(self, host_addr: int) -> int:
        """The guest pc of the instruction whose host code contains `host_addr`."""
        pc = self.pc
        for offset, insn_pc in self.record.insn_offsets:
            if self.host + offset > host_addr:
                break
            pc = insn_pc
        return pc

    def exit_pc(self, slot: int) -> int:
        """The guest pc goto_tb exit `slot` goes to."""
        return next(e.pc for e in self.record.exits if e.slot == slot)

    def exit_site(self, slot: int) -> int:
        """Host address of goto_tb exit `slot` (where chaining patches in a jump)."""
        return self.host + next(e.offset for e in self.record.exits if e.slot == slot)
