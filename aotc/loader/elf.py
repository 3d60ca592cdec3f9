"""Read and validate an i386 ELF file: its type, PT_LOAD segments, program headers and interpreter.

Every bad input becomes a one-line `LoadError`; nothing from the file system leaks out. Only the ELF
header and the program headers matter to a run, so they are unpacked here with struct (pyelftools,
which `aotc warm` uses for symbols and the dynamic section, costs a run 50 ms to import). Placing and
mapping the result is aotc.loader.image's job.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import NamedTuple

from aotc.guest.memory import PROT_EXEC, PROT_READ, PROT_WRITE, page_down, page_up
from aotc.loader.program import LoadError

ELF_MAGIC = b"\x7fELF"
ELF32_EHDR_SIZE = 52
ELF32_PHENT = 32
ELFCLASS32, ELFCLASS64 = 1, 2
ELFDATA2LSB = 1
MAX_INTERP = 4096
EM_386 = 3
ET_NAMES = {0: "ET_NONE", 1: "ET_REL", 2: "ET_EXEC", 3: "ET_DYN", 4: "ET_CORE"}
ET_EXEC, ET_DYN = 2, 3
PT_LOAD, PT_INTERP, PT_PHDR = 1, 3, 6
# Elf32_Ehdr after e_ident: type, machine, version, entry, phoff, shoff, flags, ehsize, phentsize,
# phnum, shentsize, shnum, shstrndx
_EHDR = struct.Struct("<HHIIIIIHHHHHH")
_PHDR = struct.Struct("<8I")


class Phdr(NamedTuple):
    """An Elf32_Phdr."""

    p_type: int
    p_offset: int
    p_vaddr: int
    p_paddr: int
    p_filesz: int
    p_memsz: int
    p_flags: int
    p_align: int

_PF_TO_PROT = ((4, PROT_READ), (2, PROT_WRITE), (1, PROT_EXEC))   # PF_R, PF_W, PF_X


@dataclass(frozen=True)
class Segment:
    """A PT_LOAD segment at its link-time address."""

    vaddr: int
    memsz: int
    offset: int
    filesz: int
    prot: int


@dataclass(frozen=True)
class ElfImage:
    """A validated executable or shared object, addresses as linked (bias 0)."""

    path: str
    data: bytes
    dynamic: bool                 # ET_DYN: placed at a load bias; ET_EXEC: at its own addresses
    entry: int
    segments: tuple[Segment, ...]
    phdr: int                     # where the program headers are in memory (0: nowhere)
    phnum: int
    interp: bytes | None          # PT_INTERP's path

    @property
    def low(self) -> int:
        """The first page the segments occupy."""
        return page_down(min(s.vaddr for s in self.segments))

    @property
    def span(self) -> int:
        """Bytes from the first page to the end of the last segment, page-aligned."""
        return page_up(max(s.vaddr + s.memsz for s in self.segments)) - self.low


def read_elf(path: str) -> ElfImage:
    """Read and validate the ELF file at `path` (LoadError for anything aotc cannot load)."""
    data = _read_file(path)
    _check_ident(path, data)
    (e_type, machine, _version, entry, phoff, _shoff, _flags, _ehsize, phentsize, phnum, *_rest) = \
        _EHDR.unpack_from(data, 16)
    if machine != EM_386:
        raise LoadError(f"{path}: not an i386 program (machine {machine})")
    if phnum == 0 or phentsize != ELF32_PHENT:
        raise LoadError(f"{path}: corrupt program header table")
    if phoff + phnum * ELF32_PHENT > len(data):
        raise LoadError(f"{path}: truncated program header table")
    phdrs = [Phdr(*_PHDR.unpack_from(data, phoff + i * ELF32_PHENT)) for i in range(phnum)]
    if e_type not in (ET_EXEC, ET_DYN):
        raise LoadError(f"{path}: not an executable program (type {ET_NAMES.get(e_type, e_type)})")
    segments = tuple(_segment(path, p, len(data)) for p in phdrs if p.p_type == PT_LOAD)
    if not segments:
        raise LoadError(f"{path}: no loadable segments")
    return ElfImage(path, data, e_type == ET_DYN, entry, segments, _phdr_addr(phdrs, phoff), phnum,
                    _interp(path, phdrs, data))


def _read_file(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise LoadError(f"{path}: {e.strerror or e}") from None


def _check_ident(path: str, data: bytes) -> None:
    """The identification bytes and the header's length, with a clear message for each failure."""
    if data[:4] != ELF_MAGIC:
        raise LoadError(f"{path}: not an ELF file")
    if len(data) < 6:
        raise LoadError(f"{path}: truncated ELF header")
    if data[4] == ELFCLASS64:
        raise LoadError(f"{path}: 64-bit ELF programs are not supported (i386 only)")
    if data[4] != ELFCLASS32:
        raise LoadError(f"{path}: corrupt ELF header (unknown class {data[4]})")
    if data[5] != ELFDATA2LSB:
        raise LoadError(f"{path}: not a little-endian ELF program")
    if len(data) < ELF32_EHDR_SIZE:
        raise LoadError(f"{path}: truncated ELF header")


def _segment(path: str, p: Phdr, file_size: int) -> Segment:
    if p.p_offset + p.p_filesz > file_size:
        raise LoadError(f"{path}: truncated segment at offset {p.p_offset:#x}")
    if p.p_filesz > p.p_memsz:
        raise LoadError(f"{path}: corrupt segment at {p.p_vaddr:#x} (file size above memory size)")
    if (p.p_vaddr - p.p_offset) % 4096:
        raise LoadError(f"{path}: segment at {p.p_vaddr:#x} is not page-aligned with its file offset")
    prot = 0
    for flag, bit in _PF_TO_PROT:
        if p.p_flags & flag:
            prot |= bit
    return Segment(p.p_vaddr, p.p_memsz, p.p_offset, p.p_filesz, prot)


def _interp(path: str, phdrs: list[Phdr], data: bytes) -> bytes | None:
    """PT_INTERP's NUL-terminated path, as the kernel reads it."""
    for p in phdrs:
        if p.p_type == PT_INTERP:
            raw = data[p.p_offset:p.p_offset + p.p_filesz]
            if not 2 <= len(raw) <= MAX_INTERP or raw[-1] != 0 or b"\0" in raw[:-1]:
                raise LoadError(f"{path}: corrupt interpreter path")
            return raw[:-1]
    return None


def _phdr_addr(phdrs: list[Phdr], phoff: int) -> int:
    """Where the program headers are in memory: PT_PHDR, else the PT_LOAD whose file range holds them.

    Like Linux, 0 when no segment loads them.
    """
    for p in phdrs:
        if p.p_type == PT_PHDR:
            return p.p_vaddr
    for p in phdrs:
        if p.p_type == PT_LOAD and p.p_offset <= phoff < p.p_offset + p.p_filesz:
            return p.p_vaddr + phoff - p.p_offset
    return 0
