"""Sweep a real static gcc -m32 binary: every instruction of its code translates without an exception, and the
only ones that give SIGILL are those of extensions cpuid does not advertise (SSE4, AVX, RTM, CET...).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from capstone import CS_ARCH_X86, CS_MODE_32, Cs
from capstone import x86_const as X
from elftools.elf.elffile import ELFFile

from aotc.frontend.translate import translate_block
from aotc.guest.cpu import ExitReason

UNADVERTISED_GROUPS = {X.X86_GRP_SSE41, X.X86_GRP_SSE42, X.X86_GRP_AVX, X.X86_GRP_AVX2, X.X86_GRP_RTM}
NOT_ADVERTISED = {"incsspd", "rdsspd", "xgetbv", "rdtscp", "rdpid", "rdrand", "rdseed", "crc32", "popcnt",
                  "lzcnt", "movbe", "ud1", "ud0"}
VECTOR_REGS = ("ymm", "zmm")
SAMPLE = 40000

PROGRAM = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
uint64_t f(uint64_t a, uint64_t b, int s) { return (a << s) / (b | 1) + (a >> (s & 63)) % 7; }
short g(short a, short b) { return a * b + (a << 3) - (unsigned short)b / 3; }
int main(int c, char **v) {
    char buf[100];
    sprintf(buf, "%lld %d %llu %d", atoll(v[0]) * 3 / 7, c, f(c, c, c), g(c, c));
    qsort(buf, 5, 1, (int (*)(const void *, const void *))strcmp);
    return strlen(buf);
}
"""


@pytest.fixture(scope="module")
def static_text(tmp_path_factory) -> tuple[int, bytes]:
    d: Path = tmp_path_factory.mktemp("cov")
    (d / "p.c").write_text(PROGRAM)
    subprocess.run(["gcc", "-m32", "-static", "-O2", "-o", str(d / "p"), str(d / "p.c")], check=True)
    with open(d / "p", "rb") as fh:
        text = ELFFile(fh).get_section_by_name(".text")
        return text["sh_addr"], text.data()


def test_static_binary_translates(static_text):
    base, code = static_text

    def fetch(addr: int, n: int) -> bytes:
        off = addr - base
        return code[off:off + n] if 0 <= off < len(code) else b""

    md = Cs(CS_ARCH_X86, CS_MODE_32)
    md.detail = True
    left: set[str] = set()
    count = 0
    for insn in md.disasm(code, base):
        count += 1
        if count > SAMPLE:
            break
        tb = translate_block(fetch, insn.address, max_insns=1)
        end = tb.block.ops[-1]
        assert end.name in ("goto_tb", "exit_tb", "lookup_and_goto_ptr")
        if end.name == "exit_tb" and end.args["reason"] in (ExitReason.UNSUPPORTED, ExitReason.SIGILL):
            later = UNADVERTISED_GROUPS & set(insn.groups) or any(r in insn.op_str for r in VECTOR_REGS)
            if not later and insn.insn_name() not in NOT_ADVERTISED:
                left.add(f"{insn.mnemonic} {insn.op_str}")
    assert count > 10000
    assert not left, sorted(left)
