"""The process's LDT as arch/x86/kernel/ldt.c keeps it: 8-byte descriptors, a table as long as its
highest written entry. Its own module so that LinuxUser holds one without importing the syscall
(aotc.linux.ldt), which needs LinuxUser."""

from __future__ import annotations

LDT_ENTRIES = 8192
ENTRY_SIZE = 8


class Ldt:
    """The LDT: 8-byte descriptors by entry number; `size` entries (0 before the first write)."""

    def __init__(self) -> None:
        self.entries: dict[int, bytes] = {}
        self.size = 0

    def entry(self, index: int) -> bytes | None:
        """Entry `index`, or None beyond the table."""
        return self.entries.get(index, bytes(ENTRY_SIZE)) if index < self.size else None

    def table(self) -> bytes:
        """The whole table, as read_ldt copies it."""
        return b"".join(self.entries.get(i, bytes(ENTRY_SIZE)) for i in range(self.size))
