"""Load a static i386 ELF executable: validate it, map its PT_LOAD segments, build the initial stack.

Every bad input becomes a one-line `LoadError`; nothing from pyelftools or the file system leaks out.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from aotc.guest.memory import (
    MMAP_BOTTOM,
    PAGE_SHIFT,
    PROT_EXEC,
    PROT_READ,
    PROT_WRITE,
    GuestFault,
    GuestMemory,
    page_down,
    page_up,
)
from aotc.loader.program import LoadedProgram, LoadError
from aotc.loader.stack import STACK_SIZE, STACK_TOP, ExecInfo, build_stack

ELF_MAGIC = b"\x7fELF"
ELF32_EHDR_SIZE = 52
ELF32_PHENT = 32
ELFCLASS32, ELFCLASS64 = 1, 2
ELFDATA2LSB = 1

_PF_TO_PROT = ((4, PROT_READ), (2, PROT_WRITE), (1, PROT_EXEC))   # PF_R, PF_W, PF_X


@dataclass(frozen=True)
class Segment:
    vaddr: int
    memsz: int
    offset: int
    filesz: int
    prot: int


def load_program(path: str, argv: list[str], envp: list[str], mem: GuestMemory) -> LoadedProgram:
    """Load the program at `path` into `mem` and build its stack; raise LoadError for any bad input."""
    data = _read_file(path)
    elf = _open_elf(path, data)
    segments, phdr = _check_program(path, elf, len(data))
    page_prot: dict[int, int] = {}
    for seg in segments:
        for page in range(page_down(seg.vaddr), page_up(seg.vaddr + seg.memsz), 1 << PAGE_SHIFT):
            page_prot[page] = page_prot.get(page, 0) | seg.prot
    mappings = _page_runs(page_prot)
    for start, size, prot in mappings:
        mem.map(start, size, prot)
    for seg in segments:
        mem.write(seg.vaddr, data[seg.offset:seg.offset + seg.filesz])
    info = ExecInfo(entry=elf.header.e_entry, phdr=phdr, phnum=elf.header.e_phnum,
                    execfn=os.fsencode(path))
    try:
        stack = build_stack(mem, [os.fsencode(a) for a in argv], [os.fsencode(e) for e in envp], info)
    except (ValueError, GuestFault) as e:
        raise LoadError(f"{path}: {e}") from None
    return LoadedProgram(
        entry=elf.header.e_entry, esp=stack.esp, brk=page_up(max(s.vaddr + s.memsz for s in segments)),
        exe_path=os.path.abspath(path), phdr=phdr, phnum=elf.header.e_phnum, stack_low=stack.low,
        stack_top=stack.top, auxv=stack.auxv, segments=mappings)


def _read_file(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise LoadError(f"{path}: {e.strerror or e}") from None


def _open_elf(path: str, data: bytes) -> ELFFile:
    """Check the identification bytes ourselves (clear messages), then let pyelftools parse."""
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
    try:
        elf = ELFFile(io.BytesIO(data))
        machine = elf.header.e_machine
    except (ELFError, ValueError, KeyError) as e:
        raise LoadError(f"{path}: corrupt ELF header ({e})") from None
    if machine != "EM_386":
        raise LoadError(f"{path}: not an i386 program (machine {machine})")
    return elf


def _check_program(path: str, elf: ELFFile, file_size: int) -> tuple[list[Segment], int]:
    """Validate the type and the program headers; return the PT_LOAD segments and AT_PHDR."""
    h = elf.header
    if h.e_phnum == 0 or h.e_phentsize != ELF32_PHENT:
        raise LoadError(f"{path}: corrupt program header table")
    if h.e_phoff + h.e_phnum * ELF32_PHENT > file_size:
        raise LoadError(f"{path}: truncated program header table")
    try:
        phdrs = [elf.get_segment(i).header for i in range(h.e_phnum)]
    except (ELFError, ValueError, KeyError) as e:
        raise LoadError(f"{path}: corrupt program header table ({e})") from None
    if any(p.p_type == "PT_INTERP" for p in phdrs):
        raise LoadError(f"{path}: dynamically linked programs are not supported yet")
    if h.e_type == "ET_DYN":
        raise LoadError(f"{path}: position-independent executables (static-pie) are not supported yet")
    if h.e_type != "ET_EXEC":
        raise LoadError(f"{path}: not an executable program (type {h.e_type})")
    segments = [_segment(path, p, file_size) for p in phdrs if p.p_type == "PT_LOAD"]
    if not segments:
        raise LoadError(f"{path}: no loadable segments")
    return segments, _phdr_addr(phdrs, h.e_phoff)


def _segment(path: str, p, file_size: int) -> Segment:
    if p.p_offset + p.p_filesz > file_size:
        raise LoadError(f"{path}: truncated segment at offset {p.p_offset:#x}")
    if p.p_filesz > p.p_memsz:
        raise LoadError(f"{path}: corrupt segment at {p.p_vaddr:#x} (file size above memory size)")
    if p.p_vaddr < MMAP_BOTTOM or p.p_vaddr + p.p_memsz > STACK_TOP - STACK_SIZE:
        raise LoadError(f"{path}: segment at {p.p_vaddr:#x} lies outside the usable address space")
    prot = 0
    for flag, bit in _PF_TO_PROT:
        if p.p_flags & flag:
            prot |= bit
    return Segment(p.p_vaddr, p.p_memsz, p.p_offset, p.p_filesz, prot)


def _phdr_addr(phdrs: list, phoff: int) -> int:
    """Where the program headers are in memory: PT_PHDR, else the PT_LOAD whose file range holds them.

    Like Linux, 0 when no segment loads them.
    """
    for p in phdrs:
        if p.p_type == "PT_PHDR":
            return p.p_vaddr
    for p in phdrs:
        if p.p_type == "PT_LOAD" and p.p_offset <= phoff < p.p_offset + p.p_filesz:
            return p.p_vaddr + phoff - p.p_offset
    return 0


def _page_runs(page_prot: dict[int, int]) -> list[tuple[int, int, int]]:
    """Merge pages into (start, size, prot) runs of adjacent pages with one protection."""
    runs: list[tuple[int, int, int]] = []
    for page in sorted(page_prot):
        prot = page_prot[page]
        if runs and runs[-1][0] + runs[-1][1] == page and runs[-1][2] == prot:
            runs[-1] = (runs[-1][0], runs[-1][1] + (1 << PAGE_SHIFT), prot)
        else:
            runs.append((page, 1 << PAGE_SHIFT, prot))
    return runs
