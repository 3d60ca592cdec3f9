"""Load a program as Linux's execve does: the program, its interpreter (PT_INTERP, looked up through
the sysroot), the initial stack with the aux vector, and where execution starts.

ET_EXEC programs load at their own addresses; a PIE (ET_DYN with an interpreter) at ELF_ET_DYN_BASE;
an ET_DYN without one (static-pie, or ld.so run as the program) and every interpreter where
aotc.guest.layout places shared objects. A program with an interpreter starts at the interpreter's
entry with AT_BASE saying where it is; there is no vDSO, so glibc makes syscalls with `int $0x80`.
"""

from __future__ import annotations

import os

from aotc.guest.layout import ELF_ET_DYN_BASE
from aotc.guest.memory import GuestFault, GuestMemory
from aotc.loader.elf import ElfImage, read_elf
from aotc.loader.image import map_image, shared_object_bias
from aotc.loader.program import LoadedProgram, LoadError
from aotc.loader.stack import ExecInfo, build_stack
from aotc.loader.sysroot import Sysroot


def load_program(path: str, argv: list[str], envp: list[str], mem: GuestMemory,
                 sysroot: Sysroot | None = None) -> LoadedProgram:
    """Load the program at `path` (and its interpreter) into `mem` and build its stack; LoadError for
    any bad input."""
    sysroot = sysroot or Sysroot()
    main = read_elf(path)
    interp = _interpreter(path, main, sysroot)
    if not main.dynamic:
        bias = 0
    elif interp is not None:
        bias = ELF_ET_DYN_BASE - main.low
    else:
        bias = shared_object_bias(mem, main)
    program = map_image(mem, main, bias)
    images = [program]
    if interp is not None:
        images.append(map_image(mem, interp, shared_object_bias(mem, interp) if interp.dynamic else 0))
    brk = ELF_ET_DYN_BASE if main.dynamic and interp is None else program.end
    base = images[-1].bias if interp is not None else 0
    entry = images[-1].image.entry + images[-1].bias
    info = ExecInfo(entry=main.entry + bias, phdr=main.phdr + bias if main.phdr else 0, phnum=main.phnum,
                    execfn=os.fsencode(path), base=base)
    try:
        stack = build_stack(mem, [os.fsencode(a) for a in argv], [os.fsencode(e) for e in envp], info)
    except (ValueError, GuestFault) as e:
        raise LoadError(f"{path}: {e}") from None
    return LoadedProgram(
        entry=entry, esp=stack.esp, brk=brk, exe_path=os.path.abspath(path), phdr=info.phdr,
        phnum=main.phnum, stack_low=stack.low, stack_top=stack.top, auxv=stack.auxv,
        segments=[run for image in images for run in image.runs],
        interp_path=interp.path if interp is not None else None, interp_base=base,
        images=[(m.image.path, m.bias) for m in images],
        file_maps=[(start, size, os.path.realpath(m.image.path), offset) for m in images
                   for start, size, offset in m.file_maps()],
        args=stack.args, env=stack.env)


def load_with_libraries(path: str, mem: GuestMemory, sysroot: Sysroot | None = None) -> LoadedProgram:
    """Load a program as a run would and map the libraries it needs where ld.so will put them in
    that run (for translating ahead of time); their mappings and images join the program's."""
    from aotc.loader.needed import needed_libraries  # pyelftools: for warm and inspect, not for runs

    sysroot = sysroot or Sysroot()
    prog = load_program(path, [path], [], mem, sysroot)
    if prog.interp_path is None:
        return prog
    interp_data = read_elf(prog.interp_path).data
    for lib in needed_libraries(read_elf(path), sysroot):
        if lib.data == interp_data:
            continue                  # ld.so is in libc's DT_NEEDED; the run uses the one loaded
        mapped = map_image(mem, lib, shared_object_bias(mem, lib))
        prog.segments.extend(mapped.runs)
        prog.images.append((lib.path, mapped.bias))
    return prog


def _interpreter(path: str, main: ElfImage, sysroot: Sysroot) -> ElfImage | None:
    """The program's interpreter, read through the sysroot (LoadError naming both if it is unusable)."""
    if main.interp is None:
        return None
    where = os.fsdecode(sysroot.host_path(main.interp))
    try:
        return read_elf(where)
    except LoadError as e:
        raise LoadError(f"{path}: interpreter {e}") from None
