"""GuestMemory: mappings, protections, the page table, copies in and out, the code fetch."""

from __future__ import annotations

import ctypes
import faulthandler
import os

import pytest

from aotc.guest.memory import (
    MMAP_TOP,
    PROT_EXEC,
    PROT_READ,
    PROT_WRITE,
    GuestFault,
    GuestMemory,
)

RW = PROT_READ | PROT_WRITE


@pytest.fixture(scope="module")
def mem() -> GuestMemory:
    return GuestMemory()


def test_map_zeroed_read_write(mem: GuestMemory) -> None:
    addr = mem.map(0x100000, 0x2000, RW)
    assert addr == 0x100000
    assert mem.read(addr, 0x2000) == bytes(0x2000)
    mem.write(addr + 0xFFE, b"abcd")                          # spans two pages
    assert mem.read(addr + 0xFFE, 4) == b"abcd"
    assert ctypes.string_at(mem.host_addr(addr + 0xFFE), 4) == b"abcd"
    mem.unmap(addr, 0x2000)


def test_unmapped_access_faults(mem: GuestMemory) -> None:
    assert not mem.check(0x200000, 1, write=False)
    with pytest.raises(GuestFault):
        mem.read(0x200000, 4)
    with pytest.raises(GuestFault):
        mem.write(0x200000, b"x")
    assert mem.check(0x200000, 0, write=True)


def test_check_respects_protection(mem: GuestMemory) -> None:
    mem.map(0x300000, 0x3000, RW)
    mem.protect(0x301000, 0x1000, PROT_READ)
    assert mem.check(0x300000, 0x1000, write=True)
    assert mem.check(0x300000, 0x3000, write=False)
    assert not mem.check(0x300ff0, 0x20, write=True)          # crosses into the read-only page
    assert mem.check(0x302000, 0x1000, write=True)
    assert not mem.check(0x302000, 0x1001, write=True)        # runs past the end of the mapping
    mem.protect(0x300000, 0x1000, 0)
    assert not mem.check(0x300000, 1, write=False)
    assert mem.prot_at(0x300000) == 0 and mem.prot_at(0x301000) == PROT_READ
    mem.unmap(0x300000, 0x3000)
    assert mem.prot_at(0x300000) == -1


def test_loader_write_into_read_only_page(mem: GuestMemory) -> None:
    mem.map(0x400000, 0x1000, PROT_READ)
    mem.write(0x400010, b"code")
    assert mem.read(0x400010, 4) == b"code"
    assert not mem.check(0x400000, 1, write=True)
    with pytest.raises(GuestFault):
        mem.view(0x400000, 4, write=True)
    mem.unmap(0x400000, 0x1000)


def test_host_protection_follows_guest(mem: GuestMemory) -> None:
    """A store through the host mapping to a guest read-only page must fault on the host."""
    mem.map(0x480000, 0x1000, PROT_READ)
    pid = os.fork()
    if pid == 0:
        faulthandler.disable()
        ctypes.memset(mem.host_addr(0x480000), 1, 1)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status)
    mem.unmap(0x480000, 0x1000)


def test_protect_unmapped_raises(mem: GuestMemory) -> None:
    with pytest.raises(GuestFault):
        mem.protect(0x500000, 0x1000, PROT_READ)


def test_find_free_top_down_and_hint(mem: GuestMemory) -> None:
    a = mem.find_free(0x5000)
    assert a + 0x5000 <= MMAP_TOP and a % 0x1000 == 0
    mem.map(a, 0x5000, RW)
    b = mem.find_free(0x1000)
    assert b + 0x1000 <= a
    assert mem.find_free(0x1000, hint=0x600000) == 0x600000
    assert mem.find_free(0x1000, hint=a) != a                 # taken: the hint is ignored
    assert mem.map(0x600000, 0x1000, RW, fixed=False) == 0x600000
    mem.unmap(a, 0x5000)
    mem.unmap(0x600000, 0x1000)


def test_read_cstring(mem: GuestMemory) -> None:
    mem.map(0x700000, 0x2000, RW)
    mem.write(0x700ffd, b"hello\0")
    assert mem.read_cstring(0x700ffd) == b"hello"
    mem.write(0x701000, b"x" * 0x1000)
    with pytest.raises(GuestFault):
        mem.read_cstring(0x701000, limit=8192)                 # runs off the mapping
    with pytest.raises(OverflowError):
        mem.read_cstring(0x701000, limit=16)
    mem.unmap(0x700000, 0x2000)


def test_fetch_code_stops_at_non_executable(mem: GuestMemory) -> None:
    mem.map(0x800000, 0x1000, PROT_READ | PROT_EXEC)
    mem.map(0x801000, 0x1000, PROT_READ)
    mem.write(0x800ff8, bytes(range(16)))
    assert mem.fetch_code(0x800ff0, 32) == bytes(8) + bytes(range(8))
    assert mem.fetch_code(0x800000, 4) == bytes(4)
    assert mem.fetch_code(0x801000, 4) == b""
    mem.unmap(0x800000, 0x2000)


def test_view_lets_os_read_fill_guest_memory(mem: GuestMemory) -> None:
    mem.map(0x900000, 0x1000, RW)
    written: list[tuple[int, int]] = []
    mem.on_write = lambda a, n: written.append((a, n))
    r, w = os.pipe()
    os.write(w, b"from the pipe")
    n = os.readv(r, [mem.view(0x900100, 64, write=True)])
    assert mem.read(0x900100, n) == b"from the pipe"
    assert written == [(0x900100, 64)]               # told before the view is filled
    assert os.write(w, mem.view(0x900100, 4, write=False)) == 4
    assert os.read(r, 4) == b"from"
    os.close(r)
    os.close(w)
    mem.on_write = None
    mem.unmap(0x900000, 0x1000)


def test_copy_and_remap_notify(mem: GuestMemory) -> None:
    mem.map(0xA00000, 0x1000, PROT_READ)
    mem.map(0xA01000, 0x1000, PROT_READ)
    mem.write(0xA00000, b"payload")
    mem.copy(0xA01000, 0xA00000, 7)
    assert mem.read(0xA01000, 7) == b"payload"
    seen: list[tuple[int, int]] = []
    mem.on_write = lambda a, n: seen.append((a, n))
    mem.map(0xA00000, 0x1000, RW)                              # replaces a mapping: notified
    assert mem.read(0xA00000, 7) == bytes(7)
    mem.unmap(0xA00000, 0x2000)
    assert seen == [(0xA00000, 0x1000), (0xA00000, 0x2000)]
    mem.on_write = None


def test_close_releases_the_reservation() -> None:
    m = GuestMemory()
    m.map(0x100000, 0x1000, RW)
    m.close()
    assert not m.check(0x100000, 1, write=False)
    with pytest.raises(GuestFault):
        m.write(0x100000, b"x")
