"""What each guest mapping is backed by, for /proc/self/maps: the file, offset, device and inode of
file mappings (program, interpreter, mmap of a file). Pages not named here are anonymous; the guest
memory's page table says which pages are mapped and how."""

from __future__ import annotations

import bisect
import os
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Backing:
    """A file mapping's source: `offset` is the file offset of the range's first byte."""

    path: str
    offset: int
    dev: int
    inode: int
    shared: bool = False

    @classmethod
    def of_file(cls, path: str, offset: int, st: os.stat_result, shared: bool = False) -> Backing:
        return cls(path, offset, st.st_dev, st.st_ino, shared)


class MapNames:
    """Disjoint ranges [start, end) of guest memory with their Backing, sorted by start."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ranges: dict[int, tuple[int, Backing]] = {}

    def note(self, start: int, size: int, backing: Backing) -> None:
        """[start, start+size) now maps `backing` (whatever it mapped before)."""
        self.forget(start, size)
        bisect.insort(self.starts, start)
        self.ranges[start] = (start + size, backing)

    def forget(self, start: int, size: int) -> None:
        """[start, start+size) is no longer file-backed: ranges overlapping it are cut."""
        end = start + size
        i = max(bisect.bisect_right(self.starts, start) - 1, 0)
        while i < len(self.starts) and self.starts[i] < end:
            s = self.starts[i]
            e, b = self.ranges[s]
            if e <= start:
                i += 1
                continue
            del self.starts[i]
            del self.ranges[s]
            if s < start:
                self._insert(s, start, b)
                i += 1
            if e > end:
                self._insert(end, e, replace(b, offset=b.offset + (end - s)))
                i += 1

    def at(self, addr: int) -> tuple[int, Backing] | None:
        """The start of the named range holding `addr` and its Backing, if any."""
        i = bisect.bisect_right(self.starts, addr) - 1
        if i >= 0:
            s = self.starts[i]
            e, b = self.ranges[s]
            if addr < e:
                return s, b
        return None

    def pieces(self, start: int, end: int) -> list[tuple[int, int, Backing | None]]:
        """[start, end) cut into named and anonymous (None) pieces, in order."""
        out: list[tuple[int, int, Backing | None]] = []
        pos = start
        i = max(bisect.bisect_right(self.starts, start) - 1, 0)
        while pos < end and i < len(self.starts):
            s = self.starts[i]
            e, b = self.ranges[s]
            i += 1
            if e <= pos:
                continue
            if s >= end:
                break
            if s > pos:
                out.append((pos, s, None))
                pos = s
            stop = min(e, end)
            out.append((pos, stop, replace(b, offset=b.offset + (pos - s))))
            pos = stop
        if pos < end:
            out.append((pos, end, None))
        return out

    def _insert(self, start: int, end: int, backing: Backing) -> None:
        bisect.insort(self.starts, start)
        self.ranges[start] = (end, backing)
