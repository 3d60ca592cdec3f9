"""Map an ElfImage into guest memory at a load bias: its PT_LOAD pages with their protections, the
file bytes, zeroed bss, as Linux's load_elf_binary and load_elf_interp map them."""

from __future__ import annotations

from dataclasses import dataclass

from aotc.guest.layout import place_shared_object
from aotc.guest.memory import MMAP_BOTTOM, PAGE_SHIFT, PAGE_SIZE, GuestMemory, page_down, page_up
from aotc.loader.elf import ElfImage
from aotc.loader.program import LoadError
from aotc.loader.stack import STACK_SIZE, STACK_TOP


@dataclass(frozen=True)
class MappedImage:
    """An image in memory: its bias and the (start, size, guest prot) runs of pages it occupies."""

    image: ElfImage
    bias: int
    runs: tuple[tuple[int, int, int], ...]

    def file_maps(self) -> list[tuple[int, int, int]]:
        """(start, size, file offset) of the pages holding file contents, one per segment, as the
        kernel maps them from the file (the bss pages past them are anonymous)."""
        out = []
        for seg in self.image.segments:
            start = page_down(seg.vaddr + self.bias)
            end = page_up(seg.vaddr + self.bias + seg.filesz)
            if end > start:
                out.append((start, end - start, page_down(seg.offset)))
        return out

    @property
    def end(self) -> int:
        """The page-aligned end of its highest segment (where a program's break starts)."""
        return page_up(max(s.vaddr + s.memsz for s in self.image.segments) + self.bias)


def map_image(mem: GuestMemory, image: ElfImage, bias: int) -> MappedImage:
    """Map `image` with its segments at vaddr + bias (LoadError if they leave the usable space)."""
    lo, hi = image.low + bias, image.low + image.span + bias
    if lo < MMAP_BOTTOM or hi > STACK_TOP - STACK_SIZE:
        raise LoadError(f"{image.path}: segments at {lo:#x}..{hi:#x} lie outside the usable address space")
    page_prot: dict[int, int] = {}
    for seg in image.segments:
        start = seg.vaddr + bias
        for page in range(page_down(start), page_up(start + seg.memsz), 1 << PAGE_SHIFT):
            page_prot[page] = page_prot.get(page, 0) | seg.prot
    runs = _page_runs(page_prot)
    for start, size, prot in runs:
        mem.map(start, size, prot)
    for seg in image.segments:
        mem.write(seg.vaddr + bias, image.data[seg.offset:seg.offset + seg.filesz])
    return MappedImage(image, bias, tuple(runs))


def shared_object_bias(mem: GuestMemory, image: ElfImage) -> int:
    """The load bias that puts an ET_DYN image where aotc.guest.layout places it (as ld.so's mmap of
    the same file would)."""
    try:
        return place_shared_object(mem, image.data[:PAGE_SIZE], image.span) - image.low
    except MemoryError:
        raise LoadError(f"{image.path}: no room in the guest address space") from None


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
