"""futex and futex_time64 called directly with a CPUState: the host futex on the rebased guest word."""

from __future__ import annotations

import errno
import struct
import time
from collections.abc import Iterator

import pytest
from hostsignals import installed_host_signals

from aotc.guest.cpu import EAX, EBP, EBX, ECX, EDI, EDX, ESI, CPUState
from aotc.guest.memory import PROT_READ, PROT_WRITE, GuestMemory
from aotc.linux import futex
from aotc.linux.syscalls import SYSCALLS
from aotc.linux.user import LinuxUser
from aotc.loader.program import LoadedProgram

BUF = 0x10000000
RO = BUF + 0x10000           # a read-only page
BAD = 0xC0000000
ARGS = (EBX, ECX, EDX, ESI, EDI, EBP)
FUTEX, FUTEX_TIME64 = 240, 422
WAIT, WAKE, REQUEUE, CMP_REQUEUE, WAKE_OP = 0, 1, 3, 4, 5
LOCK_PI, UNLOCK_PI, TRYLOCK_PI, WAIT_BITSET, WAKE_BITSET = 6, 7, 8, 9, 10
PRIVATE, CLOCK_REALTIME = 128, 256
WORD, WORD2, TS = BUF, BUF + 4, BUF + 0x100


@pytest.fixture
def k() -> Iterator[LinuxUser]:
    mem = GuestMemory()
    mem.map(BUF, 0x10000, PROT_READ | PROT_WRITE)
    mem.map(RO, 0x1000, PROT_READ)
    prog = LoadedProgram(entry=0x8049000, esp=0xFFFDC000, brk=0x08200000, exe_path="/opt/guest/prog",
                         phdr=0, phnum=0, stack_low=0xFF7DD000, stack_top=0xFFFDD000)
    with installed_host_signals() as (host, _):
        yield LinuxUser(mem, prog, SYSCALLS, host)
    mem.close()


def call(k: LinuxUser, nr: int, *args: int) -> int:
    cpu = CPUState()
    cpu.regs[EAX] = nr
    for reg, value in zip(ARGS, args, strict=False):
        cpu.regs[reg] = value & 0xFFFFFFFF
    k.syscall(cpu)
    r = cpu.regs[EAX]
    return r - (1 << 32) if r & 0x80000000 else r


def test_every_kernel_op_is_in_the_table() -> None:
    assert sorted(futex.FUTEX_OPS) == [0, 1, *range(3, 14)]
    for op in futex.FUTEX_OPS.values():
        assert op.restart is None or op.name.startswith(("FUTEX_WAIT", "FUTEX_LOCK"))
        assert set(op.writes) <= set("12") and (op.uaddr2 or "2" not in op.writes)


def test_wait_on_a_mismatched_value_is_eagain(k: LinuxUser) -> None:
    k.mem.write(WORD, struct.pack("<I", 7))
    assert call(k, FUTEX, WORD, WAIT | PRIVATE, 6, 0, 0, 0) == -errno.EAGAIN
    assert call(k, FUTEX, RO, WAIT | PRIVATE, 1, 0, 0, 0) == -errno.EAGAIN   # a read-only word will do


@pytest.mark.parametrize(("nr", "layout", "junk"), [(FUTEX, "<iI", 0), (FUTEX_TIME64, "<qq", 0),
                                                    (FUTEX_TIME64, "<qQ", 0xDEAD << 32)])
def test_wait_times_out(k: LinuxUser, nr: int, layout: str, junk: int) -> None:
    """Both timespec layouts; of futex_time64's tv_nsec only the low half counts, as in compat mode."""
    k.mem.write(WORD, bytes(4))
    k.mem.write(TS, struct.pack(layout, 0, 10_000_000 | junk))
    start = time.monotonic()
    assert call(k, nr, WORD, WAIT | PRIVATE, 0, TS, 0, 0) == -errno.ETIMEDOUT
    assert 0.009 < time.monotonic() - start < 1


def test_bad_timeouts(k: LinuxUser) -> None:
    k.mem.write(TS, struct.pack("<iI", 0, 2_000_000_000))
    assert call(k, FUTEX, WORD, WAIT, 0, TS, 0, 0) == -errno.EINVAL
    k.mem.write(TS, struct.pack("<iI", -1, 0))
    assert call(k, FUTEX, WORD, WAIT, 0, TS, 0, 0) == -errno.EINVAL
    assert call(k, FUTEX, WORD, WAIT_BITSET, 0, TS, 0, 0xFFFFFFFF) == -errno.EINVAL
    assert call(k, FUTEX, WORD, WAIT, 0, BAD, 0, 0) == -errno.EFAULT
    k.mem.write(TS, struct.pack("<iI", 0, 1000))
    assert call(k, FUTEX, WORD, WAIT | CLOCK_REALTIME, 0, TS, 0, 0) == -errno.ENOSYS


def test_addresses_are_checked_as_the_kernel_checks_them(k: LinuxUser) -> None:
    assert call(k, FUTEX, WORD + 1, WAIT, 0, 0, 0, 0) == -errno.EINVAL
    assert call(k, FUTEX, BAD, WAIT, 0, 0, 0, 0) == -errno.EFAULT
    assert call(k, FUTEX, BAD, WAKE, 1, 0, 0, 0) == -errno.EFAULT           # shared: the page is looked up
    assert call(k, FUTEX, BAD, WAKE | PRIVATE, 1, 0, 0, 0) == 0             # private: no memory touched
    assert call(k, FUTEX, WORD, WAKE, 1, 0, 0, 0) == 0


def test_requeue_takes_val2_from_the_timeout_argument(k: LinuxUser) -> None:
    k.mem.write(WORD, struct.pack("<I", 3))
    assert call(k, FUTEX, WORD, CMP_REQUEUE, 1, 1, WORD2, 3) == 0
    assert call(k, FUTEX, WORD, CMP_REQUEUE, 1, 1, WORD2, 4) == -errno.EAGAIN
    assert call(k, FUTEX, WORD, REQUEUE, 1, 0xFFFFFFFF, WORD2, 0) == -errno.EINVAL   # nr_requeue -1
    assert call(k, FUTEX, WORD, REQUEUE, 1, 1, BAD, 0) == -errno.EFAULT


def test_wake_op_stores_into_uaddr2(k: LinuxUser) -> None:
    k.mem.write(WORD2, struct.pack("<I", 10))
    add_5_if_10 = (1 << 28) | (0 << 24) | (5 << 12) | 10          # FUTEX_OP(ADD, 5, CMP_EQ, 10)
    assert call(k, FUTEX, WORD, WAKE_OP | PRIVATE, 1, 1, WORD2, add_5_if_10) == 0
    assert struct.unpack("<I", k.mem.read(WORD2, 4))[0] == 15
    assert call(k, FUTEX, WORD, WAKE_OP, 1, 1, RO, add_5_if_10) == -errno.EFAULT


def test_wake_op_drops_code_translated_from_its_word(k: LinuxUser) -> None:
    written: list[tuple[int, int]] = []
    k.mem.on_write = lambda addr, n: written.append((addr, n))
    assert call(k, FUTEX, WORD, WAKE_OP, 1, 1, WORD2, 0) == 0
    assert written == [(WORD2, 4)]


def test_pi_lock_round_trip(k: LinuxUser) -> None:
    k.mem.write(WORD, bytes(4))
    assert call(k, FUTEX, WORD, LOCK_PI | PRIVATE, 0, 0, 0, 0) == 0
    owner = struct.unpack("<I", k.mem.read(WORD, 4))[0] & 0x3FFFFFFF
    assert owner == call(k, 224)                                              # gettid
    assert call(k, FUTEX, WORD, TRYLOCK_PI | PRIVATE, 0, 0, 0, 0) == -errno.EDEADLK
    assert call(k, FUTEX, WORD, UNLOCK_PI | PRIVATE, 0, 0, 0, 0) == 0
    assert k.mem.read(WORD, 4) == bytes(4)
    assert call(k, FUTEX, WORD, UNLOCK_PI | PRIVATE, 0, 0, 0, 0) == -errno.EPERM


def test_unknown_ops_are_enosys(k: LinuxUser) -> None:
    assert call(k, FUTEX, WORD, 2, 0, 0, 0, 0) == -errno.ENOSYS              # FUTEX_FD is gone
    assert call(k, FUTEX, WORD, 14, 0, 0, 0, 0) == -errno.ENOSYS
    assert call(k, FUTEX_TIME64, WORD, 0x7F, 0, 0, 0, 0) == -errno.ENOSYS


def test_wake_bitset_zero_is_einval(k: LinuxUser) -> None:
    assert call(k, FUTEX, WORD, WAKE_BITSET, 1, 0, 0, 0) == -errno.EINVAL
    assert call(k, FUTEX, WORD, WAKE_BITSET, 1, 0, 0, 1) == 0
