"""Syscalls called directly with a CPUState: results, guest memory effects, errno values.

Struct layouts are checked against offsets an i386 C compiler reports, values against the host.
"""

from __future__ import annotations

import errno
import fcntl
import os
import resource
import signal
import struct
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostsignals import installed_host_signals

from aotc.guest.cpu import EAX, EBP, EBX, ECX, EDI, EDX, ESI, CPUState
from aotc.guest.memory import PROT_READ, PROT_WRITE, GuestMemory
from aotc.linux import GuestExit, GuestKilled
from aotc.linux.syscalls import SYSCALLS
from aotc.linux.user import LinuxUser
from aotc.loader.program import LoadedProgram

BUF = 0x10000000            # a 64 KiB RW scratch area
BRK = 0x08200000
BAD = 0xC0000000            # never mapped
ARGS = (EBX, ECX, EDX, ESI, EDI, EBP)


@pytest.fixture
def k() -> Iterator[LinuxUser]:
    mem = GuestMemory()
    mem.map(BUF, 0x10000, PROT_READ | PROT_WRITE)
    prog = LoadedProgram(entry=0x8049000, esp=0xFFFDC000, brk=BRK, exe_path="/opt/guest/prog", phdr=0,
                         phnum=0, stack_low=0xFF7DD000, stack_top=0xFFFDD000)
    with installed_host_signals() as (host, _):
        yield LinuxUser(mem, prog, SYSCALLS, host)


def call(k: LinuxUser, nr: int, *args: int) -> int:
    cpu = CPUState()
    cpu.regs[EAX] = nr
    for reg, value in zip(ARGS, args, strict=False):
        cpu.regs[reg] = value & 0xFFFFFFFF
    k.syscall(cpu)
    k.take_host_signals()          # as cpu_loop does after a syscall: a fatal signal kills here
    r = cpu.regs[EAX]
    return r - (1 << 32) if r & 0x80000000 else r


def cstr(k: LinuxUser, addr: int, s: str | bytes) -> int:
    k.mem.write(addr, (s.encode() if isinstance(s, str) else s) + b"\0")
    return addr


# -- read, write, pipes ----------------------------------------------------------------------------

def test_write_and_read_through_a_pipe(k: LinuxUser) -> None:
    assert call(k, 42, BUF) == 0                                    # pipe
    r, w = struct.unpack("<II", k.mem.read(BUF, 8))
    k.mem.write(BUF + 0x100, b"hello, guest")
    assert call(k, 4, w, BUF + 0x100, 12) == 12                     # write
    assert call(k, 3, r, BUF + 0x200, 100) == 12                    # read
    assert k.mem.read(BUF + 0x200, 12) == b"hello, guest"
    assert call(k, 6, r) == 0 and call(k, 6, w) == 0
    assert call(k, 6, r) == -errno.EBADF


def test_readv_writev(k: LinuxUser) -> None:
    r, w = os.pipe()
    k.mem.write(BUF + 0x100, b"abc")
    k.mem.write(BUF + 0x200, b"defg")
    k.mem.write(BUF, struct.pack("<4I", BUF + 0x100, 3, BUF + 0x200, 4))
    assert call(k, 146, w, BUF, 2) == 7
    assert os.read(r, 100) == b"abcdefg"
    os.write(w, b"1234567")
    k.mem.write(BUF, struct.pack("<4I", BUF + 0x300, 2, BUF + 0x400, 10))
    assert call(k, 145, r, BUF, 2) == 7
    assert k.mem.read(BUF + 0x300, 2) == b"12" and k.mem.read(BUF + 0x400, 5) == b"34567"
    os.close(r)
    os.close(w)


def test_efault_on_bad_pointers(k: LinuxUser) -> None:
    r, w = os.pipe()
    os.write(w, b"x")
    assert call(k, 4, w, BAD, 4) == -errno.EFAULT
    assert call(k, 3, r, BAD, 4) == -errno.EFAULT
    assert call(k, 3, r, BUF + 0xFFFE, 4) == -errno.EFAULT          # runs past the mapping
    assert call(k, 195, BAD, BUF) == -errno.EFAULT                  # stat64 path
    assert call(k, 195, cstr(k, BUF, "/"), BAD) == -errno.EFAULT     # stat64 buffer
    k.mem.protect(BUF + 0x1000, 0x1000, PROT_READ)
    assert call(k, 3, r, BUF + 0x1000, 1) == -errno.EFAULT          # read-only destination
    os.close(r)
    os.close(w)


def test_unknown_syscall_is_enosys(k: LinuxUser) -> None:
    lines: list[str] = []
    k.strace = lines.append
    assert call(k, 9999) == -errno.ENOSYS
    assert call(k, 2) == -errno.ENOSYS                              # fork: not implemented
    assert len(lines) == 2 and "9999" in lines[0]


def test_strace_line(k: LinuxUser) -> None:
    lines: list[str] = []
    k.strace = lines.append
    r, w = os.pipe()
    k.mem.write(BUF, b"hi")
    call(k, 4, w, BUF, 2)
    call(k, 5, cstr(k, BUF + 0x100, "/nonexistent/x"), 0, 0)
    assert lines[0] == f"write({w},{BUF:#x},2) = 2"
    assert lines[1] == 'open("/nonexistent/x",0x0,0) = -1 errno=2 (No such file or directory)'
    os.close(r)
    os.close(w)


# -- files and paths -------------------------------------------------------------------------------

STAT64_OFFSETS = r"""
#define _LARGEFILE64_SOURCE
#include <stdio.h>
#include <stddef.h>
#include <sys/stat.h>
#define F(f) printf(#f " %zu %zu\n", offsetof(struct stat64, f), sizeof(((struct stat64 *)0)->f))
int main(void) {
    printf("size %zu 0\n", sizeof(struct stat64));
    F(st_dev); F(__st_ino); F(st_mode); F(st_nlink); F(st_uid); F(st_gid); F(st_rdev); F(st_size);
    F(st_blksize); F(st_blocks); F(st_atim.tv_sec); F(st_mtim.tv_sec); F(st_mtim.tv_nsec);
    F(st_ctim.tv_sec); F(st_ino);
    return 0;
}
"""


@pytest.fixture(scope="module")
def stat64_layout(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, int]]:
    d = tmp_path_factory.mktemp("stat64")
    (d / "s.c").write_text(STAT64_OFFSETS)
    subprocess.run(["gcc", "-m32", "-static", "-o", str(d / "s"), str(d / "s.c")], check=True)
    out = subprocess.run([str(d / "s")], capture_output=True, text=True, check=True).stdout
    return {name: (int(off), int(size)) for name, off, size in (ln.split() for ln in out.splitlines())}


def test_stat64_layout_matches_host_stat(k: LinuxUser, tmp_path: Path,
                                         stat64_layout: dict[str, tuple[int, int]]) -> None:
    f = tmp_path / "file"
    f.write_bytes(b"x" * 12345)
    os.utime(f, ns=(1_600_000_000_123_456_789, 1_700_000_000_987_654_321))
    st = os.stat(f)
    assert stat64_layout["size"][0] == 96
    k.mem.write(BUF + 0x1000, b"\xff" * 96)
    assert call(k, 195, cstr(k, BUF, str(f)), BUF + 0x1000) == 0
    raw = k.mem.read(BUF + 0x1000, 96)

    def field(name: str) -> int:
        off, size = stat64_layout[name]
        return int.from_bytes(raw[off:off + size], "little")

    expect = {"st_dev": st.st_dev, "__st_ino": st.st_ino & 0xFFFFFFFF, "st_mode": st.st_mode,
              "st_nlink": st.st_nlink, "st_uid": st.st_uid, "st_gid": st.st_gid, "st_rdev": st.st_rdev,
              "st_size": 12345, "st_blksize": st.st_blksize, "st_blocks": st.st_blocks,
              "st_atim.tv_sec": 1_600_000_000, "st_mtim.tv_sec": 1_700_000_000,
              "st_mtim.tv_nsec": 987_654_321, "st_ctim.tv_sec": int(st.st_ctime), "st_ino": st.st_ino}
    for name, value in expect.items():
        assert field(name) == value, name
    fd = os.open(f, os.O_RDONLY)
    assert call(k, 197, fd, BUF + 0x2000) == 0                       # fstat64
    assert k.mem.read(BUF + 0x2000, 96) == raw
    assert call(k, 300, -100, BUF, BUF + 0x3000, 0) == 0             # fstatat64(AT_FDCWD)
    assert k.mem.read(BUF + 0x3000, 96) == raw
    os.close(fd)
    assert call(k, 195, cstr(k, BUF, str(tmp_path / "missing")), BUF + 0x1000) == -errno.ENOENT


def test_statx_size_and_mode(k: LinuxUser, tmp_path: Path) -> None:
    f = tmp_path / "sx"
    f.write_bytes(b"y" * 777)
    assert call(k, 383, -100, cstr(k, BUF, str(f)), 0, 0x7FF, BUF + 0x1000) == 0
    raw = k.mem.read(BUF + 0x1000, 256)
    assert struct.unpack_from("<H", raw, 0x1C)[0] == os.stat(f).st_mode        # stx_mode
    assert struct.unpack_from("<Q", raw, 0x28)[0] == 777                        # stx_size


def test_open_lseek_llseek_pread(k: LinuxUser, tmp_path: Path) -> None:
    f = tmp_path / "data"
    f.write_bytes(bytes(range(200)))
    fd = call(k, 5, cstr(k, BUF, str(f)), os.O_RDONLY, 0)
    assert fd >= 0
    assert call(k, 221, fd, 1, 0) == 0                               # F_GETFD: no FD_CLOEXEC
    assert call(k, 19, fd, 50, os.SEEK_SET) == 50
    assert call(k, 3, fd, BUF + 0x100, 4) == 4
    assert k.mem.read(BUF + 0x100, 4) == bytes([50, 51, 52, 53])
    assert call(k, 140, fd, 0, 10, BUF + 0x200, os.SEEK_END) == 0    # _llseek
    assert struct.unpack("<Q", k.mem.read(BUF + 0x200, 8))[0] == 210
    assert call(k, 180, fd, BUF + 0x300, 3, 100, 0) == 3            # pread64 at 100
    assert k.mem.read(BUF + 0x300, 3) == bytes([100, 101, 102])
    assert call(k, 6, fd) == 0
    dfd = os.open(tmp_path, os.O_RDONLY)
    fd2 = call(k, 295, dfd, cstr(k, BUF, "data"), os.O_RDONLY | 0o2000000, 0)   # openat, O_CLOEXEC
    assert fd2 >= 0 and call(k, 221, fd2, 1, 0) == 1
    os.close(fd2)
    os.close(dfd)


def test_dup_and_fcntl(k: LinuxUser) -> None:
    r, w = os.pipe()
    d = call(k, 41, w)
    assert d > w and call(k, 221, d, 1, 0) == 0
    assert call(k, 63, w, 200) == 200
    assert call(k, 330, w, w, 0) == -errno.EINVAL                    # dup3 to itself
    assert call(k, 221, r, 3, 0) & os.O_ACCMODE == os.O_RDONLY       # F_GETFL
    assert call(k, 221, r, 1030, 100) >= 100                         # F_DUPFD_CLOEXEC
    for fd in (r, w, d, 200):
        os.close(fd)


def test_descriptors_of_aotcs_zone_are_out_of_reach(k: LinuxUser) -> None:
    """fd_limit is where aotc's own descriptors begin: EBADF there, and the guest's RLIMIT_NOFILE
    bounds what dup2, F_DUPFD and new descriptors may take, as the kernel's does."""
    r, w = os.pipe()
    mine = fcntl.fcntl(w, fcntl.F_DUPFD_CLOEXEC, 900)
    k.fd_limit = 900
    k.rlimits[resource.RLIMIT_NOFILE] = (64, 900)
    assert call(k, 6, mine) == -errno.EBADF                          # close
    assert call(k, 63, r, mine) == -errno.EBADF                      # dup2 onto it
    assert call(k, 63, r, 64) == -errno.EBADF                        # dup2 at the soft limit
    assert call(k, 221, r, 0, 64) == -errno.EINVAL                   # F_DUPFD at the soft limit
    assert call(k, 5, cstr(k, BUF, f"/proc/self/fd/{mine}"), os.O_RDONLY, 0) == -errno.ENOENT
    assert call(k, 5, cstr(k, BUF, f"/dev/fd/{mine}"), os.O_RDONLY, 0) == -errno.ENOENT
    k.rlimits[resource.RLIMIT_NOFILE] = (min(r, w), 900)
    assert call(k, 41, r) == -errno.EMFILE                           # dup past the lowered limit
    k.mem.write(BUF, struct.pack("<QQ", 901, 901))
    assert call(k, 340, 0, resource.RLIMIT_NOFILE, BUF, 0) == -errno.EPERM   # the hard limit stays below
    os.fstat(mine)
    for fd in (r, w, mine):
        os.close(fd)


def test_ioctl(k: LinuxUser) -> None:
    master, slave = os.openpty()
    assert call(k, 54, slave, 0x5401, BUF) == 0                      # TCGETS
    import termios
    assert struct.unpack("<I", k.mem.read(BUF + 12, 4))[0] == termios.tcgetattr(slave)[3]   # c_lflag
    assert call(k, 54, slave, 0x5413, BUF + 0x100) == 0             # TIOCGWINSZ
    r, w = os.pipe()
    assert call(k, 54, r, 0x5401, BUF) == -errno.ENOTTY
    assert call(k, 54, r, 0x12345678, BUF) == -errno.ENOTTY
    for fd in (master, slave, r, w):
        os.close(fd)


def test_paths(k: LinuxUser, tmp_path: Path) -> None:
    d = tmp_path / "dir"
    assert call(k, 39, cstr(k, BUF, str(d)), 0o755) == 0
    assert d.is_dir()
    assert call(k, 33, BUF, os.R_OK) == 0                            # access
    assert call(k, 33, cstr(k, BUF + 0x800, str(tmp_path / "nope")), 0) == -errno.ENOENT
    (d / "a").write_text("a")
    assert call(k, 38, cstr(k, BUF + 0x100, str(d / "a")), cstr(k, BUF + 0x200, str(d / "b"))) == 0
    assert (d / "b").exists()
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    n = call(k, 220, fd, BUF + 0x1000, 4096)                         # getdents64
    names, raw, off = set(), k.mem.read(BUF + 0x1000, n), 0
    while off < n:
        reclen = struct.unpack_from("<H", raw, off + 16)[0]
        names.add(raw[off + 19:off + reclen].split(b"\0")[0])
        off += reclen
    assert names == {b".", b"..", b"b"}
    os.close(fd)
    assert call(k, 10, cstr(k, BUF + 0x200, str(d / "b"))) == 0      # unlink
    assert call(k, 40, BUF) == 0                                     # rmdir
    assert not d.exists()


def test_getdents64_offsets_fit_i386_and_seek_back(k: LinuxUser, tmp_path: Path) -> None:
    for i in range(20):
        (tmp_path / f"f{i}").write_text("")
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    n = call(k, 220, fd, BUF, 0x8000)
    raw, pos, entries = k.mem.read(BUF, n), 0, []
    while pos < n:
        d_off, reclen = struct.unpack_from("<qH", raw, pos + 8)
        entries.append((d_off, raw[pos + 19:pos + reclen].split(b"\0")[0]))
        pos += reclen
    assert len(entries) == 22 and all(0 < off < 1 << 31 for off, _ in entries)
    assert call(k, 220, fd, BUF, 0x8000) == 0
    assert call(k, 19, fd, entries[9][0], os.SEEK_SET) == entries[9][0]      # seekdir to a cookie
    n = call(k, 220, fd, BUF, 0x8000)
    assert struct.unpack_from("<H", k.mem.read(BUF + 16, 2))[0] > 0
    assert k.mem.read(BUF + 19, 64).split(b"\0")[0] == entries[10][1]
    assert call(k, 6, fd) == 0


def test_sysinfo(k: LinuxUser) -> None:
    assert call(k, 116, BUF) == 0
    uptime, = struct.unpack_from("<i", k.mem.read(BUF, 4))
    total, unit = struct.unpack_from("<I", k.mem.read(BUF + 16, 4))[0], k.mem.read_u32(BUF + 52)
    phys = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert unit >= 1 and abs(total * unit - phys) < 1 << 24
    with open("/proc/uptime") as f:
        assert abs(uptime - float(f.read().split()[0])) < 5


def test_cwd_and_readlink(k: LinuxUser, tmp_path: Path) -> None:
    n = call(k, 183, BUF, 4096)
    assert k.mem.read(BUF, n) == os.getcwdb() + b"\0"
    assert call(k, 183, BUF, 2) == -errno.ERANGE
    n = call(k, 85, cstr(k, BUF, "/proc/self/exe"), BUF + 0x100, 100)
    assert k.mem.read(BUF + 0x100, n) == b"/opt/guest/prog"
    os.symlink("target/path", tmp_path / "ln")
    assert call(k, 85, cstr(k, BUF, str(tmp_path / "ln")), BUF + 0x100, 6) == 6
    assert k.mem.read(BUF + 0x100, 6) == b"target"


# -- memory ----------------------------------------------------------------------------------------

def test_brk(k: LinuxUser) -> None:
    assert call(k, 45, 0) == BRK
    assert call(k, 45, BRK + 0x2100) == BRK + 0x2100
    assert k.mem.read(BRK, 0x2100) == bytes(0x2100)
    k.mem.write(BRK + 0x2000, b"z")
    assert call(k, 45, BRK + 0x1000) == BRK + 0x1000
    assert not k.mem.check(BRK + 0x1000, 1, write=False)
    assert call(k, 45, BRK - 0x1000) == BRK + 0x1000                 # never below the start
    k.mem.map(BRK + 0x10000, 0x1000, PROT_READ)
    assert call(k, 45, BRK + 0x20000) == BRK + 0x1000                # would collide: unchanged


def test_mmap2_munmap_mprotect(k: LinuxUser) -> None:
    a = call(k, 192, 0, 0x3000, PROT_READ | PROT_WRITE, 0x22, -1, 0) & 0xFFFFFFFF
    assert a % 0x1000 == 0 and k.mem.check(a, 0x3000, write=True)
    assert k.mem.read(a, 0x3000) == bytes(0x3000)
    assert call(k, 125, a, 0x1000, PROT_READ) == 0
    assert not k.mem.check(a, 1, write=True) and k.mem.check(a + 0x1000, 1, write=True)
    assert call(k, 91, a, 0x3000) == 0
    assert not k.mem.check(a, 1, write=False)
    assert call(k, 125, a, 0x1000, PROT_READ) == -errno.ENOMEM
    assert call(k, 192, 0, 0, 3, 0x22, -1, 0) == -errno.EINVAL
    fixed = call(k, 192, 0x30000000, 0x1000, 3, 0x32, -1, 0) & 0xFFFFFFFF
    assert fixed == 0x30000000
    assert call(k, 192, 0x30000000, 0x1000, 3, 0x100022, -1, 0) == -errno.EEXIST   # FIXED_NOREPLACE
    assert call(k, 91, 0x30000001, 0x1000) == -errno.EINVAL


def test_file_mmap_and_old_mmap(k: LinuxUser, tmp_path: Path) -> None:
    f = tmp_path / "m"
    f.write_bytes(b"A" * 4096 + b"B" * 100)
    fd = os.open(f, os.O_RDONLY)
    a = call(k, 192, 0, 0x2000, PROT_READ, 0x02, fd, 1) & 0xFFFFFFFF          # offset: page 1
    assert k.mem.read(a, 101) == b"B" * 100 + b"\0"
    k.mem.write(BUF, struct.pack("<6I", 0, 0x1000, PROT_READ, 0x02, fd, 0))
    b = call(k, 90, BUF) & 0xFFFFFFFF
    assert k.mem.read(b, 4096) == b"A" * 4096
    k.mem.write(BUF, struct.pack("<6I", 0, 0x1000, PROT_READ, 0x02, fd, 5))
    assert call(k, 90, BUF) == -errno.EINVAL
    os.close(fd)


def test_mremap_moves_contents(k: LinuxUser) -> None:
    a = call(k, 192, 0, 0x1000, 3, 0x22, -1, 0) & 0xFFFFFFFF
    k.mem.write(a, b"keep me")
    k.mem.map(a + 0x1000, 0x1000, PROT_READ)                        # block in-place growth
    assert call(k, 163, a, 0x1000, 0x3000, 0, 0) == -errno.ENOMEM
    b = call(k, 163, a, 0x1000, 0x3000, 1, 0) & 0xFFFFFFFF
    assert b != a and k.mem.read(b, 7) == b"keep me" and k.mem.check(b, 0x3000, write=True)
    assert not k.mem.check(a, 1, write=False)


# -- process, signals, time ------------------------------------------------------------------------

def test_exit_and_ids(k: LinuxUser) -> None:
    with pytest.raises(GuestExit) as info:
        call(k, 252, 300)
    assert info.value.status == 300 & 0xFF
    assert call(k, 20) == os.getpid() == call(k, 224)
    assert call(k, 199) == os.getuid() and call(k, 202) == os.getegid()
    assert call(k, 258, BUF) == os.getpid()                          # set_tid_address
    assert call(k, 209, BUF, BUF + 4, BUF + 8) == 0
    assert struct.unpack("<3I", k.mem.read(BUF, 12)) == os.getresuid()


def test_kill_self(k: LinuxUser) -> None:
    assert call(k, 37, os.getpid(), signal.SIGCHLD) == 0             # ignored by default
    assert call(k, 37, os.getpid(), 0) == 0
    with pytest.raises(GuestKilled) as info:
        call(k, 270, os.getpid(), os.getpid(), signal.SIGABRT)
    assert info.value.signo == signal.SIGABRT
    k.mem.write(BUF, struct.pack("<IIIQ", 1, 0, 0, 0))              # SIG_IGN
    assert call(k, 174, signal.SIGTERM, BUF, 0, 8) == 0
    assert call(k, 37, os.getpid(), signal.SIGTERM) == 0
    assert call(k, 174, signal.SIGTERM, 0, BUF + 0x100, 8) == 0
    assert struct.unpack("<IIIQ", k.mem.read(BUF + 0x100, 20))[0] == 1
    assert call(k, 174, signal.SIGKILL, BUF, 0, 8) == -errno.EINVAL
    k.mem.write(BUF, struct.pack("<IIIQ", 0x8049000, 0, 0, 0))      # a handler: the signal waits
    call(k, 174, signal.SIGUSR1, BUF, 0, 8)
    assert call(k, 238, os.getpid(), signal.SIGUSR1) == 0
    assert signal.SIGUSR1 in k.signals.pending


def test_broken_pipe_kills_with_sigpipe(k: LinuxUser) -> None:
    r, w = os.pipe()
    os.close(r)
    with pytest.raises(GuestKilled) as info:
        call(k, 4, w, BUF, 1)
    assert info.value.signo == signal.SIGPIPE
    k.mem.write(BUF + 0x100, struct.pack("<IIIQ", 1, 0, 0, 0))      # SIG_IGN: just EPIPE
    call(k, 174, signal.SIGPIPE, BUF + 0x100, 0, 8)
    assert call(k, 4, w, BUF, 1) == -errno.EPIPE
    os.close(w)


def test_sigprocmask(k: LinuxUser) -> None:
    k.mem.write(BUF, struct.pack("<Q", (1 << 1) | (1 << 8)))        # SIGINT (2), SIGKILL (9)
    assert call(k, 175, 0, BUF, 0, 8) == 0
    assert call(k, 175, 2, 0, BUF + 8, 8) == 0
    assert struct.unpack("<Q", k.mem.read(BUF + 8, 8))[0] == 1 << 1


def test_blocked_signal_waits_until_unblocked(k: LinuxUser) -> None:
    k.mem.write(BUF, struct.pack("<Q", 1 << (signal.SIGUSR2 - 1)))
    assert call(k, 175, 0, BUF, 0, 8) == 0                           # SIG_BLOCK SIGUSR2
    assert call(k, 238, os.getpid(), signal.SIGUSR2) == 0            # pending, not fatal yet
    with pytest.raises(GuestKilled) as info:
        call(k, 175, 1, BUF, 0, 8)                                   # SIG_UNBLOCK: delivered
    assert info.value.signo == signal.SIGUSR2


def test_set_thread_area_and_segment_base(k: LinuxUser) -> None:
    k.mem.write(BUF, struct.pack("<4I", 0xFFFFFFFF, 0x12345000, 0xFFFFF, 0x51))
    assert call(k, 243, BUF) == 0
    entry = struct.unpack("<I", k.mem.read(BUF, 4))[0]
    assert entry == 12
    assert k.segment_base(entry << 3 | 3) == 0x12345000
    assert k.segment_base(0x2B) == 0
    k.mem.write(BUF, struct.pack("<4I", 0xFFFFFFFF, 0x2000, 0xFFFFF, 0x51))
    call(k, 243, BUF)
    assert struct.unpack("<I", k.mem.read(BUF, 4))[0] == 13
    with pytest.raises(ValueError):
        k.segment_base(14 << 3 | 3)


def test_rlimits_uname_random(k: LinuxUser) -> None:
    assert call(k, 191, 3, BUF) == 0                                 # ugetrlimit(RLIMIT_STACK)
    assert struct.unpack("<I", k.mem.read(BUF, 4))[0] == 8 << 20
    assert call(k, 340, 0, 3, 0, BUF) == 0                           # prlimit64
    assert struct.unpack("<Q", k.mem.read(BUF, 8))[0] == 8 << 20
    assert call(k, 122, BUF) == 0
    assert k.mem.read(BUF, 6) == b"Linux\0" and k.mem.read(BUF + 4 * 65, 5) == b"i686\0"
    assert call(k, 355, BUF, 64, 0) == 64
    assert k.mem.read(BUF, 64) != bytes(64)


def test_time(k: LinuxUser) -> None:
    before = int(time.time())
    assert call(k, 265, time.CLOCK_REALTIME, BUF) == 0
    sec, nsec = struct.unpack("<iI", k.mem.read(BUF, 8))
    assert before <= sec <= before + 2 and nsec < 10**9
    assert call(k, 403, time.CLOCK_MONOTONIC, BUF) == 0
    sec64 = struct.unpack("<q", k.mem.read(BUF, 8))[0]
    assert abs(sec64 - time.clock_gettime(time.CLOCK_MONOTONIC)) < 2
    assert call(k, 265, 12345, BUF) == -errno.EINVAL
    assert before <= call(k, 13, 0) <= before + 2
    k.mem.write(BUF, struct.pack("<iI", 0, 1_000_000))
    assert call(k, 162, BUF, 0) == 0
    k.mem.write(BUF, struct.pack("<iI", 0, 2_000_000_000))
    assert call(k, 162, BUF, 0) == -errno.EINVAL
