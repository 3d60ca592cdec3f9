"""The execution engine on small guest programs: chaining and unchaining, the jump cache, self-modifying
code, blocks spanning two pages (translated and stored), flushing a full code buffer, and W^X. Guest code
is assembled with GNU as --32."""

from __future__ import annotations

import ctypes
from pathlib import Path

import pytest
from i386asm import assemble_i386

from aotc.backend.jmpcache import jmp_cache_index
from aotc.exec.cpu_loop import CpuLoop
from aotc.exec.debuglog import DebugLog
from aotc.exec.engine import Engine
from aotc.exec.stats import Stats
from aotc.exec.tb import TBRecord
from aotc.guest.cpu import EAX, EBX, ECX, ESP, CPUState
from aotc.guest.memory import PROT_EXEC, PROT_READ, PROT_WRITE, GuestMemory
from aotc.linux import GuestExit

BASE = 0x08048000
STACK_TOP = 0x08100000


class ExitOnSyscall:
    """The linux-user stand-in: every int 0x80 ends the run with status ebx."""

    def __init__(self, mem: GuestMemory) -> None:
        self.mem = mem

    def syscall(self, cpu: CPUState) -> None:
        raise GuestExit(cpu.regs[EBX])


class MemoryStore:
    """The engine's TBStore in a list, shared by several guests in turn: a record is valid while every
    page it spans holds the bytes it held when the record was saved."""

    def __init__(self) -> None:
        self.fetch = None
        self.saved: list[tuple[TBRecord, tuple[bytes, ...]]] = []
        self.checked: list[TBRecord] = []      # the records still_valid was asked about

    def _pages(self, record: TBRecord) -> tuple[bytes, ...]:
        return tuple(self.fetch(page << 12, 4096) for page in record.pages())

    def save(self, record: TBRecord) -> None:
        self.saved.append((record, self._pages(record)))

    def load_page(self, page: int) -> list[TBRecord]:
        return [r for r, pages in self.saved if r.pc >> 12 == page and pages == self._pages(r)]

    def still_valid(self, record: TBRecord) -> bool:
        self.checked.append(record)
        return any(r is record and pages == self._pages(r) for r, pages in self.saved)


class Guest:
    """A flat guest: code at BASE in an rwx mapping, a stack below STACK_TOP, an engine to run it."""

    def __init__(self, code: bytes, buffer_size: int = 4 << 20, store: MemoryStore | None = None) -> None:
        self.mem = GuestMemory()
        self.mem.map(BASE, STACK_TOP - BASE, PROT_READ | PROT_WRITE | PROT_EXEC)
        self.mem.write(BASE, code)
        self.cpu = CPUState()
        self.cpu.guest_base = self.mem.base
        self.cpu.eip = BASE
        self.cpu.regs[ESP] = STACK_TOP - 16
        self.stats = Stats()
        if store is not None:
            store.fetch = self.mem.fetch_code
        self.engine = Engine(self.mem.fetch_code, DebugLog(), self.stats, buffer_size, store=store,
                             write_protect=self.mem.write_protect_code)
        self.mem.on_write = self.engine.invalidate_range

    def run(self) -> int:
        with pytest.raises(GuestExit) as done:
            CpuLoop(self.engine, self.cpu, ExitOnSyscall(self.mem)).run()
        return done.value.status

    def close(self) -> None:
        self.mem.close()


@pytest.fixture
def guest_of():
    made: list[Guest] = []

    def make(src: str, **kw) -> Guest:
        made.append(Guest(assemble_i386(src, BASE), **kw))
        return made[-1]

    yield make
    for g in made:
        g.close()


HOT_LOOP = """
    mov ecx, 100000
    xor eax, eax
loop_top:
    add eax, ecx
    dec ecx
    jnz loop_top
    mov ebx, eax
    and ebx, 0x7f
    int 0x80
"""


def test_a_chained_hot_loop_stays_in_the_code_cache(guest_of):
    g = guest_of(HOT_LOOP)
    assert g.run() == (sum(range(1, 100001)) & 0xFFFFFFFF) & 0x7F
    assert g.cpu.regs[ECX] == 0
    assert g.stats.tbs_chained >= 1
    assert g.stats.dispatcher_exits < 10          # 100000 iterations, a handful of returns to Python


def test_invalidating_a_target_unchains_every_jump_into_it(guest_of):
    g = guest_of(HOT_LOOP)
    g.run()
    loop_tb = next(tb for tb in g.engine.tbs.values() if tb.jmp_in)
    sources = [(src, slot, src.exit_site(slot)) for src, slot in loop_tb.jmp_in if src is not loop_tb]
    assert sources and any(src is loop_tb for src, _ in loop_tb.jmp_in)   # entered from outside and itself
    patched = {site: ctypes.string_at(site, 5) for _, _, site in sources}
    assert all(code[0] == 0xE9 for code in patched.values())
    g.engine.invalidate(loop_tb)
    for src, slot, site in sources:
        assert slot not in src.jmp_out and src.valid
        assert ctypes.string_at(site, 5) != patched[site]
        assert ctypes.string_at(site, 5)[:4] == bytes.fromhex("41c74620")   # the eip store is back
    assert not loop_tb.jmp_in and not loop_tb.jmp_out and not loop_tb.valid
    assert loop_tb.pc not in g.engine.tbs


CALLS = """
    mov esi, 2000
    xor edi, edi
again:
    call leaf
    dec esi
    jnz again
    mov ebx, edi
    int 0x80
leaf:
    add edi, 3
    and edi, 0x3f
    ret
"""


def test_returns_hit_the_jump_cache(guest_of):
    g = guest_of(CALLS)
    expected = 0
    for _ in range(2000):
        expected = (expected + 3) & 0x3F
    assert g.run() == expected
    assert g.stats.dispatcher_exits < 20          # 2000 rets, almost all found in the jump cache
    return_pc = next(pc for pc in g.engine.tbs if pc != BASE and g.engine.tbs[pc].record.size < 10
                     and pc < BASE + 0x20)
    entry = g.engine.jmp_cache[jmp_cache_index(return_pc)]
    assert entry.pc == return_pc and entry.host == g.engine.tbs[return_pc].host


def test_a_jump_cache_miss_returns_to_the_dispatcher(guest_of):
    g = guest_of(CALLS)
    g.run()
    assert any(g.engine.jmp_cache[i].pc != 0xFFFFFFFF for i in range(len(g.engine.jmp_cache)))
    g.engine.flush()
    assert all(g.engine.jmp_cache[i].pc == 0xFFFFFFFF for i in range(len(g.engine.jmp_cache)))


SELF_PATCH = """
    mov esi, 300
    xor edi, edi
again:
    call patched
    add edi, eax
    mov byte ptr [patched + 1], 7     # the immediate of `mov eax, 1` below becomes 7
    dec esi
    jnz again
    mov ebx, edi
    and ebx, 0xff
    int 0x80
patched:
    mov eax, 1
    ret
"""


def test_a_store_into_translated_code_is_seen_on_the_next_run(guest_of):
    g = guest_of(SELF_PATCH)
    assert g.run() == (1 + 7 * 299) & 0xFF
    assert g.stats.smc_exits >= 1 and g.stats.tbs_invalidated >= 1


def page_is_host_writable(g: Guest, page: int) -> bool:
    """Whether the host mapping of a guest page is writable, from /proc/self/maps."""
    host = g.mem.base + (page << 12)
    for line in Path("/proc/self/maps").read_text().splitlines():
        lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
        if lo <= host < hi:
            return "w" in line.split()[1]
    raise AssertionError("guest page not mapped")


def test_pages_holding_code_are_write_protected_while_it_lasts(guest_of):
    g = guest_of(HOT_LOOP)
    assert page_is_host_writable(g, BASE >> 12)
    g.run()
    assert g.engine.holds_code(BASE >> 12) and not page_is_host_writable(g, BASE >> 12)
    g.engine.invalidate_page(BASE >> 12)
    assert not g.engine.holds_code(BASE >> 12) and page_is_host_writable(g, BASE >> 12)


def test_a_syscall_style_write_invalidates_code(guest_of):
    g = guest_of(HOT_LOOP)
    g.run()
    assert g.engine.tbs
    g.mem.write(BASE, b"\x90")
    assert BASE not in g.engine.tbs
    assert not g.engine.holds_code(BASE >> 12)


def many_blocks(n: int) -> str:
    """n blocks that each add a different constant and jump to the next; ebx = sum & 0x7f at the end."""
    body = "    xor eax, eax\n"
    for i in range(n):
        body += f"    add eax, {i * 7 + 1}\n    jmp b{i}\nb{i}:\n"
    return body + "    mov ebx, eax\n    and ebx, 0x7f\n    int 0x80\n"


def test_a_full_code_buffer_is_flushed_and_the_run_goes_on(guest_of):
    g = guest_of(many_blocks(400), buffer_size=8 << 10)
    assert g.run() == sum(i * 7 + 1 for i in range(400)) & 0x7F
    assert g.engine.flushes >= 3           # the first flush is the engine's own start


def test_no_page_of_the_code_buffer_is_writable_and_executable(guest_of):
    g = guest_of(HOT_LOOP)
    g.run()
    maps = Path("/proc/self/maps").read_text().splitlines()
    code = [line for line in maps if "aotc-code" in line]
    assert len(code) >= 2
    assert all(not ("w" in line.split()[1] and "x" in line.split()[1]) for line in code)
    assert g.cpu.regs[EAX] != 0


# span: `mov eax, 5` and `add eax, imm32` whose opcode is the last byte of page 1 and whose immediate is
# the first four bytes of page 2; ebx = eax at the exit. `other` is a block of page 1 alone; the pokes
# in page 3 store into page 1 or 2 from generated code and jump to the block they changed.
SPAN = """
start:
    test ecx, ecx
    jz go
    mov dword ptr [imm], 1000
go:
    jmp span
.org 0x100
other:
    mov ebx, 7
    int 0x80
.org 0xffa
span:
    mov eax, 5
    .byte 0x05
imm:
    .long 0x11111111
    mov ebx, eax
    int 0x80
.org 0x2000
poke_other:
    mov byte ptr [other + 1], 8
    jmp other
.org 0x2040
poke_page1:
    mov byte ptr [span + 1], 9
    jmp span
.org 0x2080
poke_page2:
    mov dword ptr [imm], 1000
    jmp span
"""
SPAN_PC, IMM, OTHER = BASE + 0xFFA, BASE + 0x1000, BASE + 0x100
POKE_OTHER, POKE_PAGE1, POKE_PAGE2 = BASE + 0x2000, BASE + 0x2040, BASE + 0x2080
AS_BUILT = 5 + 0x11111111


def run_from(g: Guest, pc: int, ecx: int = 0) -> int:
    g.cpu.eip, g.cpu.regs[ECX] = pc, ecx
    return g.run()


@pytest.fixture
def stored_span(guest_of) -> tuple[MemoryStore, Guest]:
    """A store holding every block of SPAN as built (saved by a first guest), and a second guest on it."""
    store = MemoryStore()
    first = guest_of(SPAN, store=store)
    assert run_from(first, BASE) == AS_BUILT
    assert run_from(first, OTHER) == 7
    assert any(r.pc == SPAN_PC and len(r.pages()) == 2 for r, _ in store.saved)
    return store, guest_of(SPAN, store=store)


def test_a_stored_block_is_not_installed_once_its_second_page_changed(stored_span) -> None:
    """Page 1's records are loaded by the first lookup there; then generated code stores into page 2,
    which no installed block holds, so nothing watches it: the check at install time must catch it."""
    store, g = stored_span
    assert run_from(g, BASE, ecx=1) == 5 + 1000
    assert g.stats.tbs_from_cache >= 1 and g.stats.tbs_discarded == 1
    assert [r.pc for r in store.checked] == [SPAN_PC]


def test_a_write_into_the_second_page_drops_a_stored_block_at_once(stored_span) -> None:
    store, g = stored_span
    g.engine.lookup(BASE)                          # loads page 1's records, span's among them
    g.mem.write(IMM, (1000).to_bytes(4, "little"))    # a syscall writes page 2, where no block is installed
    assert run_from(g, BASE) == 5 + 1000
    assert store.checked == [] and g.stats.tbs_discarded == 0


def test_stored_blocks_of_a_page_left_without_code_are_dropped(stored_span) -> None:
    """Invalidating span through page 2 leaves page 1 without installed code, so no longer write
    protected: its stored blocks (other) must not outlive that, a store into it is not seen."""
    _, g = stored_span
    g.engine.lookup(SPAN_PC)
    g.mem.write(IMM, (0x11111111).to_bytes(4, "little"))
    assert not g.engine.holds_code(BASE >> 12) and page_is_host_writable(g, BASE >> 12)
    assert run_from(g, POKE_OTHER) == 8


@pytest.mark.parametrize("how", ["guest store", "syscall write"])
@pytest.mark.parametrize("page", [1, 2])
def test_a_translated_block_spanning_two_pages_is_dropped_by_a_write_to_either(guest_of, page: int,
                                                                               how: str) -> None:
    g = guest_of(SPAN)
    assert run_from(g, BASE) == AS_BUILT
    span = g.engine.tbs[SPAN_PC]
    assert span in g.engine.page_tbs[BASE >> 12] and span in g.engine.page_tbs[(BASE >> 12) + 1]
    assert not page_is_host_writable(g, BASE >> 12) and not page_is_host_writable(g, (BASE >> 12) + 1)
    if how == "guest store":
        result = run_from(g, POKE_PAGE1 if page == 1 else POKE_PAGE2)
        assert g.stats.smc_exits == 1
    else:
        g.mem.write(*((SPAN_PC + 1, b"\x09") if page == 1 else (IMM, (1000).to_bytes(4, "little"))))
        result = run_from(g, SPAN_PC)
    assert result == (9 + 0x11111111 if page == 1 else 5 + 1000)
    assert not span.valid and g.engine.tbs[SPAN_PC] is not span
    assert all(span not in tbs for tbs in g.engine.page_tbs.values())
