"""Guest FP/SIMD instructions re-encoded for the host, byte for byte against GNU `as --64`.

For every opcode and prefix of the MMX/SSE table, and a sweep of x87 opcodes, in register and memory
forms: the frontend takes the guest bytes apart (FpInsn), the assembler re-encodes them with the memory
operand at [r15 + rsi] or [r15 + r10] and a general register in r9d or esi, and `as` assembles the
guest instruction's own text with those host operands substituted.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator

import pytest
from capstone import CS_ARCH_X86, CS_MODE_32, Cs
from elftools.elf.elffile import ELFFile

from aotc.backend.asm import R9, R10, R15, RSI, Asm, Mem
from aotc.frontend import gen_simd
from aotc.frontend.translate import translate_block
from aotc.ir.fpinsn import GPR_EDI, GPR_REG, GPR_RM

GUEST_GPRS = ("eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi")
# host operands per case: (index register for memory, its name, general register, its name)
HOSTS = ((RSI, "rsi", R9, "r9d"), (R10, "r10", RSI, "esi"))
# where capstone's text is not what GNU as reads: its m80 name, a wrong size, environment images
TEXT_FIXES = {"xword ptr": "tbyte ptr", "comisd xmm1, xmmword": "comisd xmm1, qword",
              "frstor dword ptr ": "frstor ", "fnsave dword ptr ": "fnsave "}
# register-only aliases GNU as has no name for: the host runs the guest's own bytes
NO_GAS_NAME = ("fstpnce", "fdisi8087_nop", "feni8087_nop", "fsetpm")


def guest_forms() -> Iterator[bytes]:
    """Guest encodings (imm byte appended; capstone decides the length) of every table entry and of
    the x87 opcode space, in register and memory forms."""
    for (prefix, opcode), shape in gen_simd.SHAPES.items():
        pre = bytes([prefix]) if prefix else b""
        if shape == "Z":
            yield pre + opcode
            continue
        digits = [1]
        if shape == "SH":
            digits = sorted(gen_simd.SHIFT_DIGITS[(prefix, opcode[-1])])
        elif shape == "AE":
            digits = [0, 1, 2, 3, 5, 6, 7]
        for reg in digits:
            mem = pre + opcode + bytes([0x40 | reg << 3 | 0, 0x10, 0x05])     # [eax + 0x10]
            sib = pre + opcode + bytes([0x44 | reg << 3, 0x98, 0x10, 0x05])   # [eax + ebx*4 + 0x10]
            regs = pre + opcode + bytes([0xC0 | reg << 3 | (0 if shape == "AE" else 2), 0x05])
            if shape not in gen_simd.REGISTERS_ONLY and not (shape == "AE" and reg not in gen_simd.AE_MEMORY):
                yield mem
                yield sib
            if shape not in gen_simd.MEMORY_ONLY and not (shape == "AE" and reg not in gen_simd.AE_FENCES):
                yield regs
    for op in range(0xD8, 0xE0):
        for reg in range(8):
            yield bytes([op, 0x40 | reg << 3, 0x10])
        for modrm in range(0xC0, 0x100):
            yield bytes([op, modrm])
    yield b"\x9b\xdf\xe0"            # fstsw ax
    yield b"\x9b"                    # fwait


def host_text(guest_text: str, gpr: str, index: str) -> str:
    """The guest instruction's text with the host operands: memory at [r15 + index], its general
    register (not ax, which stays) as `gpr`."""
    text = re.sub(r"\[[^\]]*\]", f"[r15 + {index}]", guest_text)
    for old, new in TEXT_FIXES.items():
        text = text.replace(old, new)
    return re.sub(r"\b(" + "|".join(GUEST_GPRS) + r")\b", gpr, text)


def cases() -> list[tuple[str, bytes, str]]:
    """(guest text, our host bytes, host text for `as`) for every guest form the frontend passes on."""
    md = Cs(CS_ARCH_X86, CS_MODE_32)
    out = []
    for n, code in enumerate(guest_forms()):
        insn = next(md.disasm(code.ljust(15, b"\x90"), 0x1000, 1), None)
        if insn is None:
            continue
        guest = bytes(insn.bytes)
        tb = translate_block(lambda a, k, g=guest: g[a - 0x1000:a - 0x1000 + k] if a >= 0x1000 else b"",
                             0x1000, max_insns=1)
        ops = [op for op in tb.block.ops if op.name.startswith("fp")]
        if not ops:
            continue                 # an invalid form: the frontend made it SIGILL
        fp = ops[0].args["insn"]
        index, index_name, gpr, gpr_name = HOSTS[n % 2]
        a = Asm()
        mem = Mem(R15, index=index) if fp.memory and fp.gpr != GPR_EDI else None
        a.passthrough(fp.prefix, fp.opcode, gpr if fp.gpr == GPR_REG else fp.reg, _rm(fp, mem, gpr), fp.imm)
        text = f"{insn.mnemonic} {insn.op_str}".strip()
        store_form = gen_simd.SHAPES.get((fp.prefix[-1] if fp.prefix else 0, fp.opcode)) == "WV"
        if insn.mnemonic in NO_GAS_NAME or text.endswith("st(0), st(0)"):   # as picks D8 for DC C0
            host = ".byte " + ", ".join(f"{b:#x}" for b in guest)
        else:
            host = host_text(text, gpr_name, index_name)
            if store_form and not fp.memory:
                host = "{store} " + host       # the store opcode's register form, as the guest had it
        out.append((text, a.code(), host))
    return out


def _rm(fp, mem: Mem | None, gpr: int) -> object:
    """ModRM.rm for the host: memory, the general register, or the instruction's own register."""
    if not fp.modrm:
        return None
    if fp.gpr == GPR_RM and fp.rm is not None:
        return gpr
    return mem if fp.rm is None else fp.rm


@pytest.fixture(scope="module")
def all_cases(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, bytes, bytes]]:
    """Each case with the bytes `as --64` gives its host text."""
    found = cases()
    d = tmp_path_factory.mktemp("gas")
    body = "".join(f"c{i}:\n\t{host}\n" for i, (_, _, host) in enumerate(found))
    (d / "fp.s").write_text(f".intel_syntax noprefix\n.text\n{body}cend:\n")
    subprocess.run(["as", "--64", "-o", str(d / "fp.o"), str(d / "fp.s")], check=True)
    with open(d / "fp.o", "rb") as f:
        elf = ELFFile(f)
        text = elf.get_section_by_name(".text").data()
        syms = {s.name: s["st_value"] for s in elf.get_section_by_name(".symtab").iter_symbols()}
    starts = [syms[f"c{i}"] for i in range(len(found))] + [syms["cend"]]
    return [(guest, ours, text[starts[i]:starts[i + 1]]) for i, (guest, ours, _) in enumerate(found)]


def test_every_form_matches_gnu_as(all_cases: list[tuple[str, bytes, bytes]]) -> None:
    wrong = [f"{guest}: ours {ours.hex(' ')}, as {gas.hex(' ')}" for guest, ours, gas in all_cases
             if ours != gas]
    assert not wrong, "\n".join(wrong)


def test_the_sweep_covers_the_families(all_cases: list[tuple[str, bytes, bytes]]) -> None:
    mnemonics = {guest.split()[0] for guest, _, _ in all_cases}
    for m in ("addps", "movsd", "cvttsd2si", "pshufb", "palignr", "fxsave", "movd", "pextrw", "fld",
              "fcompi", "fcmovb", "fsin", "fnstsw", "maskmovdqu", "haddpd", "psrldq", "emms", "wait",
              "clflush", "mfence"):
        assert m in mnemonics, m
    assert len(all_cases) > 1000
