"""qemu -strace style lines: `name(arg,arg) = result`, each argument formatted by a one-letter kind.

Kinds: d signed decimal, u unsigned, x hex, o octal, p pointer (NULL for 0), s C string.
"""

from __future__ import annotations

import os

from aotc.guest.memory import GuestFault, GuestMemory

STRING_LIMIT = 64


def _string(mem: GuestMemory, addr: int) -> str:
    try:
        s = mem.read_cstring(addr, STRING_LIMIT)
    except (GuestFault, OverflowError):
        try:
            return '"' + mem.read(addr, STRING_LIMIT).decode("latin-1").encode("unicode_escape").decode() \
                + '"...'
        except GuestFault:
            return _pointer(addr)
    return '"' + s.decode("latin-1").encode("unicode_escape").decode().replace('"', '\\"') + '"'


def _pointer(v: int) -> str:
    return "NULL" if v == 0 else f"{v:#x}"


def _signed(v: int) -> str:
    return str(v - (1 << 32) if v & 0x80000000 else v)


_FORMATS = {
    "d": _signed,
    "u": str,
    "x": lambda v: f"{v:#x}",
    "o": lambda v: f"0{v:o}" if v else "0",
    "p": _pointer,
}


def format_call(mem: GuestMemory, name: str, fmt: str, args: tuple[int, ...]) -> str:
    """`name(args)` with each argument as its kind says."""
    parts = [_string(mem, a) if k == "s" else _FORMATS[k](a) for k, a in zip(fmt, args, strict=False)]
    return f"{name}({','.join(parts)})"


def format_result(result: int, kind: str) -> str:
    """A result: -errno as qemu prints it, else formatted by `kind`."""
    if -4096 < result < 0:
        return f"-1 errno={-result} ({os.strerror(-result)})"
    return _FORMATS[kind](result & 0xFFFFFFFF)
