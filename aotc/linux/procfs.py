"""The files of /proc/self that describe the process, as the guest's kernel would show them.

/proc/self/maps, cmdline, environ and auxv of the host process are aotc's (a Python interpreter's
mappings, `python -m aotc run ...`, a 64-bit aux vector); opening them gives the guest a memfd with
its own: the guest memory's page table cut by what backs each range (aotc.linux.vmnames), [heap] and
[stack], in the kernel's format; argv and the environment as they are now in guest memory; the aux
vector it was started with, as i386 words.
"""

from __future__ import annotations

import errno
import os
import re
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING

from aotc.guest.memory import MAPPED, PAGE_SHIFT, PROT_EXEC, PROT_READ, PROT_WRITE, page_up
from aotc.linux.errors import SyscallError
from aotc.linux.vmnames import Backing

if TYPE_CHECKING:
    from aotc.linux.user import LinuxUser

SELF_FILE = re.compile(rb"^/proc/(?P<proc>self|thread-self|\d+)(?:/task/\d+)?/(?P<name>[a-z]+)$")
_RUNS = re.compile(rb"([\x01-\xff])\1*", re.DOTALL)
NAME_COLUMN = 73      # where the kernel's seq_pad puts a mapping's name (64-bit kernel)


def _line(start: int, end: int, flags: int, backing: Backing | None, name: str) -> str:
    perms = "".join(c if flags & bit else "-" for c, bit in (("r", PROT_READ), ("w", PROT_WRITE),
                                                            ("x", PROT_EXEC)))
    perms += "s" if backing is not None and backing.shared else "p"
    if backing is None:
        head = f"{start:08x}-{end:08x} {perms} 00000000 00:00 0 "
    else:
        head = (f"{start:08x}-{end:08x} {perms} {backing.offset:08x} "
                f"{os.major(backing.dev):02x}:{os.minor(backing.dev):02x} {backing.inode} ")
        name = backing.path
    return (head.ljust(NAME_COLUMN) + name if name else head) + "\n"


def maps(k: LinuxUser) -> bytes:
    """/proc/self/maps: one line per run of pages with one protection and one backing."""
    heap = (page_up(k.brk_start), page_up(k.brk))
    stack = (k.program.stack_low, k.program.stack_top)
    out = []
    for run in _RUNS.finditer(k.mem.pages):
        flags = run.group(1)[0]
        if not flags & MAPPED:
            continue
        start, end = run.start() << PAGE_SHIFT, run.end() << PAGE_SHIFT
        for lo, hi, backing in k.map_names.pieces(start, end):
            if backing is not None:
                out.append(_line(lo, hi, flags, backing, ""))
                continue
            cuts = sorted({lo, hi, *(c for c in (*heap, *stack) if lo < c < hi)})
            for a, b in zip(cuts, cuts[1:], strict=False):
                name = "[heap]" if heap[0] <= a < heap[1] else "[stack]" if stack[0] <= a < stack[1] else ""
                out.append(_line(a, b, flags, None, name))
    return "".join(out).encode()


def _strings(k: LinuxUser, area: tuple[int, int]) -> bytes:
    start, end = area
    return k.mem.read(start, end - start) if end > start else b""


FILES: dict[bytes, Callable[[LinuxUser], bytes]] = {
    b"maps": maps,
    b"cmdline": lambda k: _strings(k, k.program.args),
    b"environ": lambda k: _strings(k, k.program.env),
    b"auxv": lambda k: struct.pack(f"<{2 * len(k.program.auxv)}I",
                                   *(v & 0xFFFFFFFF for pair in k.program.auxv for v in pair)),
}


def own_file(k: LinuxUser, path: bytes) -> Callable[[LinuxUser], bytes] | None:
    """The generator of a /proc file of this process that aotc shows its own way, if `path` is one."""
    m = SELF_FILE.match(path)
    if m is None or m["proc"] not in (b"self", b"thread-self", str(k.pid).encode()):
        return None
    return FILES.get(m["name"])


def open_own(k: LinuxUser, make: Callable[[LinuxUser], bytes], flags: int) -> int:
    """A descriptor reading the file's contents now (read-only: the kernel's files are 0444, which
    only root may open for writing)."""
    if flags & os.O_ACCMODE != os.O_RDONLY and os.geteuid() != 0:
        raise SyscallError(errno.EACCES)
    fd = os.memfd_create("aotc-proc", os.MFD_CLOEXEC if flags & os.O_CLOEXEC else 0)
    os.write(fd, make(k))
    os.lseek(fd, 0, os.SEEK_SET)
    return fd
