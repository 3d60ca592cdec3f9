"""`-d ITEMS` logging in the manner of `qemu -d`: guest code, IR before and after optimization, host code."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import TextIO

ITEMS = ("in_asm", "op", "op_opt", "out_asm", "exec", "unimp")


class DebugLog:
    """Which `-d` items are on and where they go (`-D LOGFILE`, else stderr); `opener` opens the log
    file (aotc's runs put its descriptor out of the guest's reach)."""

    def __init__(self, items: str = "", path: str | None = None,
                 opener: Callable[[str, int], int] | None = None) -> None:
        wanted = {i for i in items.split(",") if i}
        unknown = wanted - set(ITEMS)
        if unknown:
            raise ValueError(f"unknown -d item(s): {', '.join(sorted(unknown))} (known: {', '.join(ITEMS)})")
        self.items = wanted
        self.out: TextIO = open(path, "w", opener=opener) if path else sys.stderr  # noqa: SIM115 - the run's

    def on(self, item: str) -> bool:
        return item in self.items

    def write(self, text: str) -> None:
        self.out.write(text)

    @functools.cached_property
    def _host_disasm(self):  # noqa: ANN202 - a capstone Cs, imported only when out_asm is logged
        import capstone

        return capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)

    def host_code(self, code: bytes, addr: int) -> str:
        """x86-64 disassembly of generated code, one instruction a line."""
        return "".join(f"  0x{i.address:016x}:  {i.mnemonic} {i.op_str}\n"
                       for i in self._host_disasm.disasm(code, addr))

    def line(self, text: str) -> None:
        """One line of the log, written at once (strace and unimp lines come between guest output)."""
        self.out.write(text + "\n")
        self.out.flush()

    def flush(self) -> None:
        self.out.flush()
