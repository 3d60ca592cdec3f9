"""GNU as for tests: i386 code in Intel syntax to bytes."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from elftools.elf.elffile import ELFFile


def assemble_i386(src: str, base: int | None = None) -> bytes:
    """The .text bytes of `src`; linked at `base` when given, so absolute references resolve."""
    with tempfile.TemporaryDirectory() as d:
        s, o, exe = Path(d, "a.s"), Path(d, "a.o"), Path(d, "a")
        s.write_text(".intel_syntax noprefix\n.text\n" + src + "\n")
        subprocess.run(["as", "--32", "-o", str(o), str(s)], check=True)
        if base is not None:
            subprocess.run(["ld", "-m", "elf_i386", "-Ttext", hex(base), "-e", hex(base), "-o", str(exe),
                            str(o)], check=True)
            o = exe
        with open(o, "rb") as f:
            return ELFFile(f).get_section_by_name(".text").data()
