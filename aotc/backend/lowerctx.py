"""The per-block lowering context every `lower_*` module shares: the assembler, where each temp lives,
labels, exits, the flags value the host flags hold, scratch moves, out-of-line code.

It sits below the lowering modules and `codegen` (which drives them), so that they import it and not
each other.
"""

from __future__ import annotations

from collections.abc import Callable

from aotc.backend.asm import RAX, Asm, Mem
from aotc.backend.asm import Label as AsmLabel
from aotc.backend.asm import Reg as HostReg
from aotc.backend.flags import RESTORE_BIAS
from aotc.backend.hostcode import TBExit
from aotc.backend.prologue import slot_mem
from aotc.backend.regalloc import Allocation, Reg
from aotc.ir.core import Label, Op, Temp, Value
from aotc.ir.ops import KEEPS_FLAGS

Operand = HostReg | Mem | int


def is_imm(x: Operand) -> bool:
    """Whether an operand is an immediate (a `HostReg` is an int too)."""
    return not isinstance(x, HostReg | Mem)


def mask(w: int) -> int:
    """All ones in the low w bits."""
    return (1 << w) - 1


class Ctx:
    """The state of lowering one block: the assembler, temp locations, labels, exits, host flags held."""

    def __init__(self, alloc: Allocation, ops: list[Op], block_pc: int = 0) -> None:
        self.a = Asm()
        self.block_pc = block_pc              # the guest pc the block starts at
        self.alloc = alloc
        self.ops = ops
        self.index = 0
        self.labels: dict[Label, AsmLabel] = {}
        self.exits: list[TBExit] = []
        self.insn_offsets: list[tuple[int, int]] = []
        self.held: Value | None = None       # the flags value the host flags hold as this op starts
        self.next_held: Value | None = None  # what they hold after it (a lowering sets it)
        self.locs: dict[Temp, HostReg | Mem] = {}   # loc() of each temp asked so far
        self.cold: list[Callable[[], None]] = []   # out-of-line code, emitted after the last op

    def begin(self, index: int) -> None:
        """Start lowering op `index`: host flags are unknown after it unless its lowering says so."""
        self.index = index
        self.held, self.next_held = self.next_held, None

    def label(self, label: Label) -> AsmLabel:
        """The assembler label of an IR label."""
        if label not in self.labels:
            self.labels[label] = self.a.label()
        return self.labels[label]

    def loc(self, t: Temp) -> HostReg | Mem:
        """The host register or spill slot of a temp."""
        found = self.locs.get(t)
        if found is None:
            where = self.alloc[t]
            found = self.locs[t] = HostReg(where.r) if isinstance(where, Reg) else slot_mem(where.index)
        return found

    def opnd(self, v: Value, w: int = 32) -> Operand:
        """A temp's location, or a constant as a w-bit immediate."""
        return self.loc(v) if isinstance(v, Temp) else v & mask(w)

    def rm(self, v: Value, scratch: HostReg) -> HostReg | Mem:
        """A register or memory operand holding v: constants are loaded into `scratch`."""
        if isinstance(v, Temp):
            return self.loc(v)
        self.a.mov(32, scratch, v & mask(32))
        return scratch

    def work_reg(self, t: Temp, scratch: HostReg, *read_later: object) -> HostReg:
        """The register to compute t in: its own, unless t is spilled or that register is one of the
        operands `read_later` (read after the first write), in which case `scratch`."""
        where = self.loc(t)
        if isinstance(where, HostReg) and where not in [x for x in read_later if isinstance(x, HostReg)]:
            return where
        return scratch

    def is_live(self, t: Temp) -> bool:
        """Whether t is read after the current op."""
        return t in self.alloc.live[self.index]

    def load(self, dst: HostReg, v: Value) -> None:
        """dst = v (32-bit, zero-extended); nothing if v already lives in dst."""
        src = self.opnd(v)
        if src != dst or is_imm(src):
            self.a.mov(32, dst, src)

    def put(self, t: Temp, src: HostReg) -> None:
        """Store a result into t's location, unless t is dead or already there."""
        dst = self.loc(t)
        if self.is_live(t) and dst != src:
            self.a.mov(32, dst, src)

    def assign(self, t: Temp, v: Value) -> None:
        """t = v for any pair of locations (memory to memory through rax)."""
        dst, src = self.loc(t), self.opnd(v)
        if isinstance(dst, Mem) and isinstance(src, Mem):
            if dst != src:
                self.a.mov(32, RAX, src)
                self.a.mov(32, dst, RAX)
        elif src != dst or is_imm(src):
            self.a.mov(32, dst, src)

    def add_exit(self, slot: int, pc: int, offset: int) -> None:
        """Record a goto_tb exit whose sequence starts at `offset`."""
        self.exits.append(TBExit(slot, pc, offset))

    def restore_flags(self, f: Value) -> None:
        """Load flags value f into the host flags (clobbers rax), unless they already hold it."""
        if isinstance(f, Temp) and f == self.held:
            return
        self.load(RAX, f)
        self.a.add(8, RAX, RESTORE_BIAS)
        self.a.sahf()

    def capture_flags(self, f: Temp) -> None:
        """f = the host flags (through rax), skipped when f is dead or only read, still held, by the
        next flags consumer (cmp; jcc); the host flags keep holding f."""
        if self.is_live(f) and not self._held_until_its_last_use(f):
            self.a.lahf()
            self.a.setcc(0, RAX)
            r = self.work_reg(f, RAX)
            self.a.movzx(32, 16, r, RAX)
            self.put(f, r)
        self.next_held = f


    def _held_until_its_last_use(self, f: Temp) -> bool:
        """Whether f's only remaining use is a brcc/setcc reached through ops that neither use f nor
        touch the host flags, with f dead after it: that consumer finds f still in the host flags."""
        for j in range(self.index + 1, len(self.ops)):
            op = self.ops[j]
            if op.opdef.flags & KEEPS_FLAGS and f not in op.ins:
                continue
            return (op.name in ("brcc", "setcc") and op.ins[0] == f
                    and f not in self.alloc.live[j])
        return False
