"""Measure generated code: host bytes per guest instruction over a whole run, and one TB's host code.

Runs `aotc run -d in_asm,out_asm` on a program and reads the debug log, so it sees exactly what the
engine translated: `python tools/codesize.py PROGRAM [--tb 0xPC]`.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT_HEADER = re.compile(r"OUT: \[size=(\d+)\]")
GUEST_INSN = re.compile(r"0x([0-9a-f]{8}):  ")
HOST_INSN = re.compile(r"  0x[0-9a-f]+:  ")


@dataclass
class CodeSize:
    """Totals over the translated blocks, and the host instruction text of each TB by guest pc."""

    guest_insns: int = 0
    host_bytes: int = 0
    blocks: int = 0
    host_code: dict[int, list[str]] = field(default_factory=dict)

    @property
    def bytes_per_insn(self) -> float:
        return self.host_bytes / max(self.guest_insns, 1)


def parse_log(text: str) -> CodeSize:
    """Sum guest instructions (IN sections) and host bytes (OUT sections) of a debug log."""
    size = CodeSize()
    pc = None
    section = ""
    for line in text.splitlines():
        if line in ("IN:", "OP:", "OP after optimization:"):
            section, pc = line, None
            continue
        out = OUT_HEADER.match(line)
        if out:
            section = "OUT"
            size.host_bytes += int(out.group(1))
            size.blocks += 1
            size.host_code.setdefault(pc, [])
            continue
        guest = GUEST_INSN.match(line)
        if section == "IN:" and guest:
            size.guest_insns += 1
            pc = int(guest.group(1), 16) if pc is None else pc
        elif section == "OUT" and HOST_INSN.match(line):
            size.host_code[pc].append(line.split(":  ", 1)[1])
    return size


def measure(program: str, args: list[str]) -> CodeSize:
    """Run `program` under aotc with in_asm/out_asm logging and parse the log."""
    with tempfile.NamedTemporaryFile("r", suffix=".log") as log:
        subprocess.run([str(REPO / ".venv" / "bin" / "aotc"), "run", "-d", "in_asm,out_asm", "-D", log.name,
                        program, *args], check=False, stdout=subprocess.DEVNULL)
        return parse_log(Path(log.name).read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("program")
    parser.add_argument("--tb", type=lambda s: int(s, 0), help="print the host code of the TB at this pc")
    parser.add_argument("args", nargs="*")
    ns = parser.parse_args()
    size = measure(ns.program, ns.args)
    print(f"{size.blocks} TBs, {size.guest_insns} guest insns, {size.host_bytes} host bytes, "
          f"{size.bytes_per_insn:.2f} bytes/insn")
    if ns.tb is not None:
        code = size.host_code.get(ns.tb)
        if code is None:
            sys.exit(f"no TB at {ns.tb:#x}")
        print(f"TB {ns.tb:#x}: {len(code)} host insns")
        print("\n".join(code))


if __name__ == "__main__":
    main()
