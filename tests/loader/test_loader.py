"""The ELF loader: segments and the initial stack of a real static i386 program, and every LoadError.

The oracle for the auxiliary vector is the same program run natively: it prints what Linux gave it.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from aotc.guest.layout import ELF_ET_DYN_BASE, LIB_ZONE, place_shared_object
from aotc.guest.memory import PROT_EXEC, PROT_READ, PROT_WRITE, GuestMemory
from aotc.loader import LoadError, load_program

AUXV_PRINTER = r"""
#include <stdio.h>
int main(int argc, char **argv, char **envp) {
    char **p = envp;
    while (*p) p++;
    for (unsigned *a = (unsigned *)(p + 1); a[0]; a += 2) printf("%u %u\n", a[0], a[1]);
    return 0;
}
"""
AT_NAMES = {3: "PHDR", 4: "PHENT", 5: "PHNUM", 6: "PAGESZ", 7: "BASE", 8: "FLAGS", 9: "ENTRY", 11: "UID",
            12: "EUID", 13: "GID", 14: "EGID", 15: "PLATFORM", 16: "HWCAP", 17: "CLKTCK", 23: "SECURE",
            25: "RANDOM", 31: "EXECFN"}
NOT_EMULATED = {32, 33, 26, 51, 27, 28}      # SYSINFO, SYSINFO_EHDR, HWCAP2, MINSIGSTKSZ, RSEQ_*


def _gcc(tmp: Path, name: str, source: str, *flags: str) -> Path:
    src = tmp / f"{name}.c"
    src.write_text(source)
    out = tmp / name
    subprocess.run(["gcc", "-m32", *flags, "-o", str(out), str(src)], check=True, capture_output=True)
    return out


@pytest.fixture(scope="module")
def guest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _gcc(tmp_path_factory.mktemp("loader"), "auxv", AUXV_PRINTER, "-static", "-O1")


@pytest.fixture(scope="module")
def native_auxv(guest: Path) -> dict[int, int]:
    out = subprocess.run([str(guest)], capture_output=True, check=True, text=True).stdout
    return dict(tuple(int(x) for x in line.split()) for line in out.splitlines())


def _words(mem: GuestMemory, addr: int, n: int) -> list[int]:
    return list(struct.unpack(f"<{n}I", mem.read(addr, 4 * n)))


def _walk_stack(mem: GuestMemory, esp: int) -> tuple[list[bytes], list[bytes], list[tuple[int, int]]]:
    argc = mem.read_u32(esp)
    argv_ptrs = _words(mem, esp + 4, argc + 1)
    assert argv_ptrs[-1] == 0
    p = esp + 4 * (argc + 2)
    env_ptrs = []
    while (v := mem.read_u32(p)) != 0:
        env_ptrs.append(v)
        p += 4
    p += 4
    auxv = []
    while True:
        key, val = _words(mem, p, 2)
        auxv.append((key, val))
        p += 8
        if key == 0:
            break
    strings = [mem.read_cstring(a) for a in argv_ptrs[:-1]], [mem.read_cstring(a) for a in env_ptrs]
    return strings[0], strings[1], auxv


def test_stack_layout(guest: Path, native_auxv: dict[int, int]) -> None:
    mem = GuestMemory()
    argv = [str(guest), "first arg", ""]
    envp = ["A=1", "LONGER_NAME=some value"]
    prog = load_program(str(guest), argv, envp, mem)
    assert prog.esp % 16 == 0
    args, env, auxv = _walk_stack(mem, prog.esp)
    assert args == [a.encode() for a in argv]
    assert env == [e.encode() for e in envp]
    assert auxv[-1] == (0, 0)
    aux = dict(auxv)
    assert len(aux) == len(auxv)
    for key in set(native_auxv) - NOT_EMULATED:
        assert key in aux, f"AT_{AT_NAMES.get(key, key)} missing"
    assert set(aux) - {0} <= set(native_auxv)
    for key in (3, 4, 5, 6, 7, 9, 11, 12, 13, 14, 17, 23):
        assert aux[key] == native_auxv[key], f"AT_{AT_NAMES[key]}"
    # fpu tsc cx8 cmov mmx fxsr sse sse2: leaf 1 edx of the cpuid aotc shows
    assert aux[16] == sum(1 << bit for bit in (0, 4, 8, 15, 23, 24, 25, 26))
    assert aux[8] == 0
    assert mem.read_cstring(aux[15]) == b"i686"
    assert mem.read_cstring(aux[31]) == str(guest).encode()
    assert len(mem.read(aux[25], 16)) == 16 and mem.read(aux[25], 16) != bytes(16)
    with guest.open("rb") as f:
        elf = ELFFile(f)
        assert aux[9] == elf.header.e_entry == prog.entry
        assert aux[5] == elf.header.e_phnum
        f.seek(elf.header.e_phoff)
        phdr_bytes = f.read(elf.header.e_phnum * 32)
    assert mem.read(aux[3], len(phdr_bytes)) == phdr_bytes


def test_strings_sit_at_the_top_as_linux_puts_them(guest: Path) -> None:
    mem = GuestMemory()
    prog = load_program(str(guest), ["prog", "x"], ["E=1"], mem)
    top = prog.stack_top
    assert mem.read(top - 4, 4) == bytes(4)                        # end marker
    execfn = str(guest).encode() + b"\0"
    assert mem.read(top - 4 - len(execfn), len(execfn)) == execfn
    block = b"prog\0x\0E=1\0"
    assert mem.read(top - 4 - len(execfn) - len(block), len(block)) == block
    args, _, auxv = _walk_stack(mem, prog.esp)
    assert args == [b"prog", b"x"]
    aux = dict(auxv)
    assert aux[25] < aux[15] < top - 4 - len(execfn) - len(block)   # random bytes, platform, strings
    assert mem.check(top - 0x800000, 0x800000, write=True)


def test_segments_mapped_with_contents_and_permissions(guest: Path) -> None:
    mem = GuestMemory()
    prog = load_program(str(guest), ["p"], [], mem)
    data = guest.read_bytes()
    with guest.open("rb") as f:
        loads = [s.header for s in ELFFile(f).iter_segments() if s.header.p_type == "PT_LOAD"]
    for h in loads:
        assert mem.read(h.p_vaddr, h.p_filesz) == data[h.p_offset:h.p_offset + h.p_filesz]
        bss = h.p_memsz - h.p_filesz
        assert mem.read(h.p_vaddr + h.p_filesz, bss) == bytes(bss)
        want = (PROT_READ if h.p_flags & 4 else 0) | (PROT_WRITE if h.p_flags & 2 else 0) | (
            PROT_EXEC if h.p_flags & 1 else 0)
        assert mem.prot_at(h.p_vaddr) == want
    end = max(h.p_vaddr + h.p_memsz for h in loads)
    assert prog.brk == (end + 0xFFF) & ~0xFFF
    assert mem.fetch_code(prog.entry, 4) == mem.read(prog.entry, 4)
    assert prog.exe_path == str(guest.resolve())


def _patched(tmp: Path, src: Path, name: str, patches: dict[int, bytes]) -> Path:
    data = bytearray(src.read_bytes())
    for off, b in patches.items():
        data[off:off + len(b)] = b
    out = tmp / name
    out.write_bytes(bytes(data))
    return out


def _expect_error(path: Path | str, needle: str) -> str:
    with pytest.raises(LoadError) as info:
        load_program(str(path), ["x"], [], GuestMemory())
    msg = str(info.value)
    assert needle in msg and "\n" not in msg
    return msg


def test_missing_file_and_directory(tmp_path: Path) -> None:
    _expect_error(tmp_path / "nope", "No such file")
    _expect_error(tmp_path, "Is a directory")


def test_not_elf(tmp_path: Path) -> None:
    (tmp_path / "text").write_text("#!/bin/sh\necho hi\n")
    (tmp_path / "empty").write_bytes(b"")
    _expect_error(tmp_path / "text", "not an ELF")
    _expect_error(tmp_path / "empty", "not an ELF")


def test_64_bit_elf() -> None:
    _expect_error(shutil.which("true") or "/bin/true", "64-bit")


def test_non_x86_machine(tmp_path: Path, guest: Path) -> None:
    _expect_error(_patched(tmp_path, guest, "arm", {18: struct.pack("<H", 40)}), "not an i386 program")


def test_truncated_header(tmp_path: Path, guest: Path) -> None:
    short = tmp_path / "short"
    short.write_bytes(guest.read_bytes()[:30])
    _expect_error(short, "truncated ELF header")


def test_corrupt_program_headers(tmp_path: Path, guest: Path) -> None:
    _expect_error(_patched(tmp_path, guest, "phoff", {28: struct.pack("<I", 0x7FFFFFF0)}),
                  "truncated program header table")
    _expect_error(_patched(tmp_path, guest, "phent", {42: struct.pack("<H", 20)}),
                  "corrupt program header table")
    cut = tmp_path / "cut"
    cut.write_bytes(guest.read_bytes()[:0x2000])
    _expect_error(cut, "truncated segment")


def test_pie_auxv_matches_native_without_aslr(tmp_path: Path) -> None:
    """A PIE loads where Linux puts it without ASLR (setarch -R is the oracle for AT_PHDR and
    AT_ENTRY); execution starts in its interpreter, which AT_BASE points at."""
    pie = _gcc(tmp_path, "pie", AUXV_PRINTER, "-fpie", "-pie", "-O1")
    out = subprocess.run(["setarch", "-R", str(pie)], capture_output=True, check=True, text=True).stdout
    native = dict(tuple(int(x) for x in line.split()) for line in out.splitlines())
    mem = GuestMemory()
    prog = load_program(str(pie), [str(pie)], [], mem)
    aux = dict(_walk_stack(mem, prog.esp)[2])
    for key in (3, 4, 5, 9):
        assert aux[key] == native[key], f"AT_{AT_NAMES[key]}"
    assert aux[7] == prog.interp_base != 0
    assert mem.read(aux[7], 4) == b"\x7fELF"
    with open(prog.interp_path, "rb") as f:
        assert prog.entry == aux[7] + ELFFile(f).header.e_entry
    assert prog.brk == (max(s + n for s, n, _ in prog.segments if s < aux[7]) + 0xFFF) & ~0xFFF


def test_static_pie_goes_where_shared_objects_go(tmp_path: Path) -> None:
    """An ET_DYN without an interpreter is placed as a shared object; its break starts at
    ELF_ET_DYN_BASE, as Linux starts it."""
    spie = _gcc(tmp_path, "spie", AUXV_PRINTER, "-static-pie", "-O1")
    mem = GuestMemory()
    prog = load_program(str(spie), [str(spie)], [], mem)
    aux = dict(_walk_stack(mem, prog.esp)[2])
    assert aux[7] == 0 and prog.interp_path is None
    assert LIB_ZONE[0] <= prog.segments[0][0] < LIB_ZONE[1]
    assert prog.brk == ELF_ET_DYN_BASE
    with spie.open("rb") as f:
        assert prog.entry == aux[9] == prog.segments[0][0] + ELFFile(f).header.e_entry


def test_missing_or_corrupt_interpreter(tmp_path: Path) -> None:
    dyn = _gcc(tmp_path, "dyn", "int main(void){return 0;}", "-O1")
    data = dyn.read_bytes()
    at = data.index(b"/lib/ld-linux.so.2\0")
    msg = _expect_error(_patched(tmp_path, dyn, "noint", {at: b"/lib/ld-nopex.so.2"}), "interpreter")
    assert "No such file" in msg
    _expect_error(_patched(tmp_path, dyn, "badint", {at + 18: b"X"}), "corrupt interpreter path")


def test_same_library_same_address_whatever_came_before() -> None:
    """A shared object's place depends on its contents, not on what was mapped before it."""
    libc = Path("/usr/lib32/libc.so.6").read_bytes()
    size = 0x228000
    first = GuestMemory()
    a = place_shared_object(first, libc[:4096], size)
    second = GuestMemory()
    second.map(0xE8000000, 0x100000, PROT_READ)
    second.map(place_shared_object(second, b"\x7fELF other library", 0x300000), 0x300000, PROT_READ)
    assert place_shared_object(second, libc[:4096], size) == a
    assert LIB_ZONE[0] <= a and a + size <= LIB_ZONE[1]
    first.map(a, size, PROT_READ)
    b = place_shared_object(first, libc[:4096], size)      # taken: the next free slot up
    assert b != a and first.is_free(b, size)
