"""The shared libraries a program needs, found the way ld.so finds them: DT_NEEDED breadth first, each
name looked up in the requester's DT_RPATH (when it has no DT_RUNPATH), then DT_RUNPATH, then the
standard i386 directories, all through the sysroot. `aotc warm` uses it to place and translate a
dynamic program's libraries where a run will find them (ld.so.cache and LD_LIBRARY_PATH are the run's
business: a library they put elsewhere is simply translated when it runs)."""

from __future__ import annotations

import io
import os

from elftools.common.exceptions import ELFError
from elftools.elf.dynamic import DynamicSegment
from elftools.elf.elffile import ELFFile

from aotc.loader.elf import ElfImage, read_elf
from aotc.loader.program import LoadError
from aotc.loader.sysroot import Sysroot

STANDARD_DIRS = ("/lib/i386-linux-gnu", "/usr/lib/i386-linux-gnu", "/lib32", "/usr/lib32", "/lib",
                 "/usr/lib")

_TAG_FIELDS = {"DT_NEEDED": "needed", "DT_RPATH": "rpath", "DT_RUNPATH": "runpath"}


def dynamic_tags(image: ElfImage) -> dict[str, list[str]]:
    """DT_NEEDED, DT_RPATH and DT_RUNPATH of an image, by tag name (empty without PT_DYNAMIC)."""
    out: dict[str, list[str]] = {"DT_NEEDED": [], "DT_RPATH": [], "DT_RUNPATH": []}
    try:
        elf = ELFFile(io.BytesIO(image.data))
        for segment in elf.iter_segments():
            if isinstance(segment, DynamicSegment):
                for tag in segment.iter_tags():
                    field = _TAG_FIELDS.get(tag.entry.d_tag)
                    if field is not None:
                        out[tag.entry.d_tag].append(getattr(tag, field))
    except (ELFError, ValueError, KeyError, UnicodeDecodeError):
        return out
    return out


def _search_dirs(image: ElfImage, tags: dict[str, list[str]]) -> list[str]:
    origin = os.path.dirname(os.path.abspath(image.path))
    paths = tags["DT_RPATH"] if not tags["DT_RUNPATH"] else []
    paths = [*paths, *tags["DT_RUNPATH"]]
    dirs = [d.replace("$ORIGIN", origin).replace("${ORIGIN}", origin)
            for entry in paths for d in entry.split(":") if d]
    return [*dirs, *STANDARD_DIRS]


def _find(name: str, dirs: list[str], sysroot: Sysroot) -> ElfImage | None:
    candidates = [name] if "/" in name else [os.path.join(d, name) for d in dirs]
    for candidate in candidates:
        path = os.fsdecode(sysroot.host_path(os.fsencode(candidate)))
        if not os.path.isfile(path):
            continue
        try:
            image = read_elf(path)
        except LoadError:
            continue                  # a 64-bit library of the same name: ld.so skips it too
        if image.dynamic:
            return image
    return None


def needed_libraries(program: ElfImage, sysroot: Sysroot) -> list[ElfImage]:
    """Every library `program` needs, directly or not, in the order ld.so maps them; names that are
    not found are left out (the run will report them as ld.so does)."""
    found: list[ElfImage] = []
    seen: set[str] = set()
    queue = [program]
    while queue:
        image = queue.pop(0)
        tags = dynamic_tags(image)
        dirs = _search_dirs(image, tags)
        for name in tags["DT_NEEDED"]:
            if name in seen:
                continue
            seen.add(name)
            lib = _find(name, dirs, sysroot)
            if lib is not None:
                found.append(lib)
                queue.append(lib)
    return found
