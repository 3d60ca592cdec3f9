"""The IR op table (QEMU's tcg-opc.h as data): one line per op that the builder, printer, optimizer,
interpreter and allocator all read.

Every value is a 32-bit unsigned integer. An input is a `Temp` or an int constant. Constant args are
ints (or a `Label` for the `label` arg).

Condition-code ops (`*_cc`) compute an x86-style arithmetic result *and* its flags as an opaque
flags value `f` (carry, parity, aux, zero, sign, overflow, as x86 defines them for that op and width
`w` in 8/16/32); `setcc`/`brcc` test such a value with an x86 condition (0..15, see `CC_NAMES`);
`cc_to_eflags`/`eflags_to_cc` convert between a flags value and EFLAGS bits (CF PF AF ZF SF OF at
their EFLAGS positions, nothing else). How a flags value is encoded is the backend's choice. An input
named `fi` is the flags value before the op: the result keeps from it what x86 keeps (inc keeps CF, a
zero shift count keeps everything, and the flags x86 calls undefined after mul/imul/div are whatever the
host CPU makes of them, which may depend on the flags before). Where `fi` is `None` the op promises not
to need it (a shift by a constant non-zero count).

FP/SIMD ops (`fp*`) carry one guest FP/SIMD instruction (`insn`, an `aotc.ir.fpinsn.FpInsn`) that the
host runs as it is: its x87, MMX and SSE registers are the host's own while generated code runs, so the
op's effect on them is hidden state, kept in order by SIDE_EFFECTS. What the IR sees are its
other operands: `addr` is the guest address of its memory operand (None for a register form), `a` a
general register it reads, `d` one it writes, `f`/`fi` the flags it writes (fcomi, comiss) or reads
(fcmov). Every one may fault (a page fault, or an unmasked FP exception), and none needs the flags
unless it says so.
"""

from __future__ import annotations

from dataclasses import dataclass

# op flags
SIDE_EFFECTS = 1   # must not be removed even if its outputs are dead (stores, exits, faulting ops)
BB_END = 2         # ends a basic block (branches, labels, TB exits)
CAN_FAULT = 4      # may raise a guest fault: guest state in the CPU struct must be exact before it
NO_FALLTHROUGH = 8  # control never reaches the next op (br, goto_tb, exit_tb)
KEEPS_FLAGS = 16    # the backend's lowering leaves the host flags alone (it only moves data)


@dataclass(frozen=True)
class OpDef:
    """One IR op: its name, output names, input names, constant-arg names, flags and optional inputs."""

    name: str
    outs: tuple[str, ...]
    ins: tuple[str, ...]
    args: tuple[str, ...] = ()
    flags: int = 0
    optional: tuple[str, ...] = ()


def _defs() -> list[OpDef]:
    d: list[OpDef] = []

    def op(name: str, outs: str, ins: str, args: str = "", flags: int = 0, optional: str = "") -> None:
        d.append(OpDef(name, tuple(outs.split()), tuple(ins.split()), tuple(args.split()), flags,
                       tuple(optional.split())))

    # move
    op("mov", "d", "a", flags=KEEPS_FLAGS)
    # arithmetic and logic, 32-bit, no flags; shift and rotate counts are taken mod 32
    for name in ("add", "sub", "mul", "and", "or", "xor", "shl", "shr", "sar", "rotl", "rotr"):
        op(name, "d", "a b")
    for name in ("neg", "not", "bswap", "ext8s", "ext8u", "ext16s", "ext16u"):
        op(name, "d", "a")
    op("setcond", "d", "a b", "cond")            # d = 1 if (a cond b) else 0
    op("movcond", "d", "c1 c2 v1 v2", "cond")    # d = v1 if (c1 cond c2) else v2
    op("deposit", "d", "a b", "pos len")         # d = a with bits [pos, pos+len) taken from b's low bits
    # guest memory (qemu_ld / qemu_st): size 1, 2 or 4 bytes; ld zero-extends unless signed=1
    op("ld", "d", "addr", "size signed", SIDE_EFFECTS | CAN_FAULT | KEEPS_FLAGS)
    op("st", "", "v addr", "size", SIDE_EFFECTS | CAN_FAULT | KEEPS_FLAGS)
    # CPU state (globals): 32-bit fields at a byte offset in CPUState
    op("ld_state", "d", "", "off", KEEPS_FLAGS)
    op("st_state", "", "v", "off", SIDE_EFFECTS | KEEPS_FLAGS)
    # condition codes
    for name in ("add_cc", "sub_cc", "and_cc", "or_cc", "xor_cc"):
        op(name, "d f", "a b", "w")
    for name in ("adc_cc", "sbb_cc"):
        op(name, "d f", "a b fi", "w")
    for name in ("inc_cc", "dec_cc"):
        op(name, "d f", "a fi", "w")
    op("neg_cc", "d f", "a", "w")
    for name in ("shl_cc", "shr_cc", "sar_cc"):
        op(name, "d f", "a cnt fi", "w", optional="fi")
    for name in ("rol_cc", "ror_cc", "rcl_cc", "rcr_cc"):
        op(name, "d f", "a cnt fi", "w")
    for name in ("shld_cc", "shrd_cc"):
        op(name, "d f", "a b cnt fi", "w", optional="fi")
    op("bt_cc", "f", "a bit fi", "w")
    for name in ("bts_cc", "btr_cc", "btc_cc"):
        op(name, "d f", "a bit fi", "w")
    for name in ("bsf_cc", "bsr_cc"):
        op(name, "d f", "old src fi", "w")          # d = old when src is 0
    for name in ("mul_cc", "imul_cc"):
        op(name, "lo hi f", "a b fi", "w")          # widening: (hi:lo) = a * b
    op("imul2_cc", "d f", "a b fi", "w")            # truncating signed multiply (16/32)
    op("setcc", "d", "f", "cc")
    op("cc_to_eflags", "d", "f")
    op("eflags_to_cc", "f", "e")
    # division: dividend (hi:lo) of 2*w bits, divisor d; faults (#DE) on zero or overflow. x86 leaves
    # every flag undefined, yet real CPUs set them in their own way: f is what this one leaves
    for name in ("divu", "divs"):
        op(name, "q r f", "hi lo d fi", "w", SIDE_EFFECTS | CAN_FAULT)
    op("rdtsc", "lo hi", "", "", SIDE_EFFECTS)
    # FP/SIMD instructions run by the host (see above)
    fp = SIDE_EFFECTS | CAN_FAULT
    op("fp", "", "addr", "insn", fp | KEEPS_FLAGS, optional="addr")
    op("fp_in", "", "a addr", "insn", fp | KEEPS_FLAGS, optional="addr")
    op("fp_out", "d", "addr", "insn", fp | KEEPS_FLAGS, optional="addr")
    op("fp_cc", "f", "addr", "insn", fp, optional="addr")
    op("fp_fi", "", "fi", "insn", fp)
    # control
    op("insn_start", "", "", "pc", SIDE_EFFECTS | KEEPS_FLAGS)
    op("label", "", "", "label", SIDE_EFFECTS | BB_END)
    op("br", "", "", "label", SIDE_EFFECTS | BB_END | NO_FALLTHROUGH)
    op("brcond", "", "a b", "cond label", SIDE_EFFECTS | BB_END)
    op("brcc", "", "f", "cc label", SIDE_EFFECTS | BB_END)
    op("goto_tb", "", "", "slot pc", SIDE_EFFECTS | BB_END | NO_FALLTHROUGH)   # eip = pc, leave via slot
    op("exit_tb", "", "", "reason", SIDE_EFFECTS | BB_END | NO_FALLTHROUGH)    # eip already stored
    # eip already stored as pc: jump to its TB if the jump cache knows it, else exit with JUMP
    op("lookup_and_goto_ptr", "", "pc", "", SIDE_EFFECTS | BB_END | NO_FALLTHROUGH)
    return d


OPS: dict[str, OpDef] = {o.name: o for o in _defs()}

# comparison conditions for setcond / movcond / brcond
CONDS = ("eq", "ne", "lt", "ge", "le", "gt", "ltu", "geu", "leu", "gtu")
# x86 condition codes, in encoding order, for setcc / brcc
CC_NAMES = ("o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g")
