"""What loading a program produces, and the one error every bad input becomes."""

from __future__ import annotations

from dataclasses import dataclass, field


class LoadError(Exception):
    """A program aotc cannot load; the message is one line, printed as `aotc: <message>`."""


@dataclass
class LoadedProgram:
    """The guest program in memory: where to start, its stack, its heap start and its headers."""

    entry: int
    esp: int
    brk: int
    exe_path: str
    """The absolute path of the program file (what /proc/self/exe names)."""
    phdr: int
    phnum: int
    stack_low: int
    stack_top: int
    auxv: list[tuple[int, int]] = field(default_factory=list)
    segments: list[tuple[int, int, int]] = field(default_factory=list)
    """The PT_LOAD mappings of the program and its interpreter as (page-aligned start, page-aligned
    size, guest prot)."""
    interp_path: str | None = None
    """The host path of the interpreter (PT_INTERP through the sysroot), if the program has one."""
    interp_base: int = 0
    """Where the interpreter was placed (AT_BASE)."""
    images: list[tuple[str, int]] = field(default_factory=list)
    """(host path, load bias) of the program and its interpreter."""
    file_maps: list[tuple[int, int, str, int]] = field(default_factory=list)
    """(start, size, host path, file offset) of the page ranges mapped from the program's and the
    interpreter's files (what /proc/self/maps names); pages of bss past them are anonymous."""
    args: tuple[int, int] = (0, 0)
    """[start, end) of the argv strings on the initial stack."""
    env: tuple[int, int] = (0, 0)
    """[start, end) of the environment strings on the initial stack."""
