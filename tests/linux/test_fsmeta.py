"""File metadata, file-system and extended-attribute syscalls, fadvise, in-kernel copies and record
locks, called directly with a CPUState: results, guest memory effects and errno values against the
host's (what Debian's gzip, sed, cp, ls, touch and sqlite3 call)."""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostsignals import installed_host_signals

from aotc.guest.cpu import EAX, EBP, EBX, ECX, EDI, EDX, ESI, CPUState
from aotc.guest.memory import PROT_READ, PROT_WRITE, GuestMemory
from aotc.linux.syscalls import SYSCALLS
from aotc.linux.user import LinuxUser
from aotc.loader.program import LoadedProgram
from aotc.loader.sysroot import Sysroot

BUF = 0x10000000            # a 64 KiB RW scratch area
ARGS = (EBX, ECX, EDX, ESI, EDI, EBP)
AT_FDCWD = -100
UTIME_NOW, UTIME_OMIT = (1 << 30) - 1, (1 << 30) - 2
NR = {e.name: nr for nr, e in SYSCALLS.items()}


def _user(sysroot: Sysroot | None = None) -> Iterator[LinuxUser]:
    mem = GuestMemory()
    mem.map(BUF, 0x10000, PROT_READ | PROT_WRITE)
    prog = LoadedProgram(entry=0x8049000, esp=0xFFFDC000, brk=0x08200000, exe_path="/opt/guest/prog", phdr=0,
                         phnum=0, stack_low=0xFF7DD000, stack_top=0xFFFDD000)
    with installed_host_signals() as (host, _):
        yield LinuxUser(mem, prog, SYSCALLS, host, sysroot=sysroot)


@pytest.fixture
def k() -> Iterator[LinuxUser]:
    yield from _user()


def call(k: LinuxUser, name: str, *args: int) -> int:
    cpu = CPUState()
    cpu.regs[EAX] = NR[name]
    for reg, value in zip(ARGS, args, strict=False):
        cpu.regs[reg] = value & 0xFFFFFFFF
    k.syscall(cpu)
    r = cpu.regs[EAX]
    return r - (1 << 32) if r & 0x80000000 else r


def cstr(k: LinuxUser, addr: int, s: str | bytes | Path) -> int:
    k.mem.write(addr, os.fsencode(s) + b"\0")
    return addr


# -- modes and owners ------------------------------------------------------------------------------

def test_chmod_fchmod_fchmodat(k: LinuxUser, tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_text("x")
    assert call(k, "chmod", cstr(k, BUF, f), 0o100640) == 0           # file-type bits are ignored
    assert stat.S_IMODE(f.stat().st_mode) == 0o640
    fd = os.open(f, os.O_RDONLY)
    assert call(k, "fchmod", fd, 0o4711) == 0
    assert stat.S_IMODE(f.stat().st_mode) == 0o4711
    dfd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    assert call(k, "fchmodat", dfd, cstr(k, BUF, "f"), 0o600) == 0
    assert stat.S_IMODE(f.stat().st_mode) == 0o600
    assert call(k, "fchmodat", dfd, cstr(k, BUF, "missing"), 0o600) == -errno.ENOENT
    assert call(k, "fchmod", 0x7FFF, 0o600) == -errno.EBADF
    os.close(fd)
    os.close(dfd)


def test_chown_keeps_ids_given_as_minus_one(k: LinuxUser, tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_text("x")
    uid, gid = os.getuid(), os.getgid()
    fd = os.open(f, os.O_RDONLY)
    assert call(k, "fchown32", fd, 0xFFFFFFFF, gid) == 0
    assert call(k, "chown32", cstr(k, BUF, f), uid, 0xFFFFFFFF) == 0
    assert call(k, "fchown", fd, 0xFFFF, 0xFFFF) == 0                 # the 16-bit -1
    os.symlink(f, tmp_path / "l")
    assert call(k, "lchown32", cstr(k, BUF, tmp_path / "l"), uid, gid) == 0
    dfd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    assert call(k, "fchownat", dfd, cstr(k, BUF, "l"), uid, gid, 0x100) == 0
    assert call(k, "fchownat", fd, cstr(k, BUF, ""), uid, gid, 0x1000) == 0      # AT_EMPTY_PATH
    assert call(k, "fchownat", dfd, cstr(k, BUF, ""), uid, gid, 0) == -errno.ENOENT
    assert call(k, "fchownat", dfd, cstr(k, BUF, "f"), uid, gid, 0x8000) == -errno.EINVAL
    assert (f.stat().st_uid, f.stat().st_gid) == (uid, gid)
    os.close(fd)
    os.close(dfd)


def test_getgroups(k: LinuxUser) -> None:
    groups = os.getgroups()
    assert call(k, "getgroups32", 0, 0) == len(groups)
    assert call(k, "getgroups32", 0x4000, BUF) == len(groups)
    assert list(struct.unpack_from(f"<{len(groups)}I", k.mem.read(BUF, 4 * len(groups)))) == groups
    if groups:
        assert call(k, "getgroups32", len(groups) - 1, BUF) == -errno.EINVAL
    assert call(k, "getgroups32", -1, BUF) == -errno.EINVAL
    assert call(k, "getgroups", 0x4000, BUF) == len(groups)


# -- timestamps ------------------------------------------------------------------------------------

def test_utimensat_32_and_64_bit_times_omit_now_and_the_fd_itself(k: LinuxUser, tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_text("x")
    k.mem.write(BUF + 0x100, struct.pack("<iIiI", 1000000000, 5, 1234567890, 999999999))
    assert call(k, "utimensat", AT_FDCWD, cstr(k, BUF, f), BUF + 0x100, 0) == 0
    st = f.stat()
    assert (st.st_atime_ns, st.st_mtime_ns) == (1000000000 * 10**9 + 5, 1234567890 * 10**9 + 999999999)
    k.mem.write(BUF + 0x100, struct.pack("<iIiI", 0, UTIME_OMIT, 7, 0))
    fd = os.open(f, os.O_RDONLY)
    assert call(k, "utimensat", fd, 0, BUF + 0x100, 0) == 0            # NULL path: futimens
    st = f.stat()
    assert (st.st_atime_ns, st.st_mtime_ns) == (1000000000 * 10**9 + 5, 7 * 10**9)
    assert call(k, "utimensat", fd, 0, BUF + 0x100, 0x100) == -errno.EINVAL
    assert call(k, "utimensat", AT_FDCWD, 0, BUF + 0x100, 0) == -errno.EFAULT
    k.mem.write(BUF + 0x100, struct.pack("<qqqq", 4102444800, 1, 4102444800, UTIME_NOW))
    assert call(k, "utimensat_time64", AT_FDCWD, cstr(k, BUF, f), BUF + 0x100, 0) == 0
    st = f.stat()
    assert st.st_atime_ns == 4102444800 * 10**9 + 1 and st.st_mtime_ns < 4102444800 * 10**9   # 2100; now
    k.mem.write(BUF + 0x100, struct.pack("<iIiI", 0, 1_000_000_000, 0, 0))
    assert call(k, "utimensat", fd, 0, BUF + 0x100, 0) == -errno.EINVAL
    os.symlink(f, tmp_path / "l")
    k.mem.write(BUF + 0x100, struct.pack("<iIiI", 11, 0, 12, 0))
    assert call(k, "utimensat", AT_FDCWD, cstr(k, BUF, tmp_path / "l"), BUF + 0x100, 0x100) == 0
    assert (tmp_path / "l").lstat().st_mtime == 12 and f.stat().st_mtime != 12
    os.close(fd)


def test_utimes_futimesat_utime(k: LinuxUser, tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_text("x")
    k.mem.write(BUF + 0x100, struct.pack("<iiii", 100, 250000, 200, 999999))
    assert call(k, "utimes", cstr(k, BUF, f), BUF + 0x100) == 0
    assert (f.stat().st_atime_ns, f.stat().st_mtime_ns) == (100_250_000_000, 200_999_999_000)
    k.mem.write(BUF + 0x100, struct.pack("<iiii", 1, 1_000_000, 2, 0))
    assert call(k, "utimes", cstr(k, BUF, f), BUF + 0x100) == -errno.EINVAL
    dfd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    k.mem.write(BUF + 0x100, struct.pack("<iiii", 3, 0, 4, 0))
    assert call(k, "futimesat", dfd, cstr(k, BUF, "f"), BUF + 0x100) == 0
    assert f.stat().st_mtime == 4
    k.mem.write(BUF + 0x100, struct.pack("<ii", 55, 66))
    assert call(k, "utime", cstr(k, BUF, f), BUF + 0x100) == 0
    assert (f.stat().st_atime, f.stat().st_mtime) == (55, 66)
    assert call(k, "utime", cstr(k, BUF, f), 0) == 0                   # NULL: now
    assert f.stat().st_mtime > 66
    assert call(k, "utime", cstr(k, BUF, f), 0xC0000000) == -errno.EFAULT
    os.close(dfd)


# -- links and renames -----------------------------------------------------------------------------

def test_link_does_not_follow_a_symlink_and_linkat_may(k: LinuxUser, tmp_path: Path) -> None:
    f, sl = tmp_path / "f", tmp_path / "sl"
    f.write_text("x")
    sl.symlink_to("f")
    assert call(k, "link", cstr(k, BUF, sl), cstr(k, BUF + 0x200, tmp_path / "h1")) == 0
    assert (tmp_path / "h1").is_symlink()
    dfd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    assert call(k, "linkat", dfd, cstr(k, BUF, "sl"), dfd, cstr(k, BUF + 0x200, "h2"), 0x400) == 0
    assert not (tmp_path / "h2").is_symlink() and (tmp_path / "h2").stat().st_ino == f.stat().st_ino
    assert call(k, "linkat", dfd, cstr(k, BUF, "f"), dfd, cstr(k, BUF + 0x200, "h2"), 0) == -errno.EEXIST
    assert call(k, "linkat", dfd, cstr(k, BUF, "f"), dfd, cstr(k, BUF + 0x200, "h3"), 1) == -errno.EINVAL
    os.close(dfd)


def test_symlink_content_is_never_redirected_into_the_sysroot(tmp_path: Path) -> None:
    """A symlink holds the string given, even when it names a path the sysroot has."""
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "passwd").write_text("sysroot's\n")
    for k in _user(Sysroot(str(root))):
        link = tmp_path / "l"
        assert call(k, "symlink", cstr(k, BUF, "/etc/passwd"), cstr(k, BUF + 0x200, link)) == 0
        assert os.readlink(link) == "/etc/passwd"
        dfd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
        assert call(k, "symlinkat", cstr(k, BUF, "../x"), dfd, cstr(k, BUF + 0x200, "m")) == 0
        assert os.readlink(tmp_path / "m") == "../x"
        assert call(k, "symlinkat", cstr(k, BUF, ""), dfd, cstr(k, BUF + 0x200, "n")) == -errno.ENOENT
        assert call(k, "symlinkat", cstr(k, BUF, "x"), dfd, cstr(k, BUF + 0x200, "m")) == -errno.EEXIST
        os.close(dfd)


def test_renameat2_flags(k: LinuxUser, tmp_path: Path) -> None:
    (tmp_path / "a").write_text("a")
    (tmp_path / "b").write_text("b")
    dfd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    a, b = cstr(k, BUF, "a"), cstr(k, BUF + 0x100, "b")
    assert call(k, "renameat2", dfd, a, dfd, b, 1) == -errno.EEXIST     # RENAME_NOREPLACE
    assert call(k, "renameat2", dfd, a, dfd, b, 2) == 0                 # RENAME_EXCHANGE
    assert (tmp_path / "a").read_text() == "b" and (tmp_path / "b").read_text() == "a"
    old, new = cstr(k, BUF + 0x200, tmp_path / "a"), cstr(k, BUF + 0x400, "c")
    assert call(k, "renameat2", AT_FDCWD, old, dfd, new, 0) == 0
    assert (tmp_path / "c").read_text() == "b" and not (tmp_path / "a").exists()
    assert call(k, "renameat2", dfd, b, dfd, cstr(k, BUF + 0x200, "d"), 8) == -errno.EINVAL
    os.close(dfd)


# -- file systems and extended attributes ----------------------------------------------------------

def test_statfs64_and_statfs_layouts(k: LinuxUser, tmp_path: Path) -> None:
    vfs = os.statvfs(tmp_path)
    assert call(k, "statfs64", cstr(k, BUF, tmp_path), 84, BUF + 0x100) == 0
    ftype, bsize, blocks, _bfree, _bavail, files, _ffree, _f0, _f1, namelen, frsize, _flags = struct.unpack(
        "<IIQQQQQiiIII16x", k.mem.read(BUF + 0x100, 84))
    assert ftype != 0 and (bsize, blocks, files, namelen, frsize) == (
        vfs.f_bsize, vfs.f_blocks, vfs.f_files, vfs.f_namemax, vfs.f_frsize)
    assert call(k, "statfs64", cstr(k, BUF, tmp_path), 88, BUF + 0x100) == -errno.EINVAL
    assert call(k, "statfs64", cstr(k, BUF, tmp_path / "missing"), 84, BUF + 0x100) == -errno.ENOENT
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    assert call(k, "fstatfs64", fd, 84, BUF + 0x200) == 0
    assert k.mem.read(BUF + 0x200, 84)[:16] == k.mem.read(BUF + 0x100, 84)[:16]
    result = call(k, "fstatfs", fd, BUF + 0x300)
    if vfs.f_blocks < 1 << 32 and vfs.f_files < 1 << 32:
        assert result == 0
        assert struct.unpack_from("<III", k.mem.read(BUF + 0x300, 64)) == (ftype, bsize, blocks)
    else:
        assert result == -errno.EOVERFLOW
    os.close(fd)


def test_xattrs_get_set_list_remove(k: LinuxUser, tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_text("x")
    try:
        os.setxattr(f, "user.probe", b"1")
    except OSError as e:
        pytest.skip(f"no user xattrs on {tmp_path}: {e}")
    os.removexattr(f, "user.probe")
    path, name = cstr(k, BUF, f), cstr(k, BUF + 0x200, "user.aotc")
    k.mem.write(BUF + 0x300, b"value!")
    assert call(k, "setxattr", path, name, BUF + 0x300, 6, 0) == 0
    assert os.getxattr(f, "user.aotc") == b"value!"
    assert call(k, "setxattr", path, name, BUF + 0x300, 6, 1) == -errno.EEXIST     # XATTR_CREATE
    assert call(k, "getxattr", path, name, 0, 0) == 6                              # the size needed
    assert call(k, "getxattr", path, name, BUF + 0x400, 3) == -errno.ERANGE
    assert call(k, "lgetxattr", path, name, BUF + 0x400, 100) == 6
    assert k.mem.read(BUF + 0x400, 6) == b"value!"
    fd = os.open(f, os.O_RDONLY)
    assert call(k, "fgetxattr", fd, cstr(k, BUF + 0x500, "user.none"), BUF + 0x400, 100) == -errno.ENODATA
    n = call(k, "flistxattr", fd, BUF + 0x600, 0x1000)
    assert b"user.aotc" in k.mem.read(BUF + 0x600, n).split(b"\0")
    assert call(k, "listxattr", path, 0, 0) == n
    assert call(k, "fsetxattr", fd, name, BUF + 0x300, 2, 2) == 0                  # XATTR_REPLACE
    assert os.getxattr(f, "user.aotc") == b"va"
    assert call(k, "fremovexattr", fd, name) == 0
    assert call(k, "removexattr", path, name) == -errno.ENODATA
    assert call(k, "getxattr", path, cstr(k, BUF + 0x500, ""), BUF + 0x400, 10) == -errno.ERANGE
    assert call(k, "getxattr", path, cstr(k, BUF + 0x500, "user." + "n" * 300), BUF, 10) == -errno.ERANGE
    os.close(fd)


# -- advice, in-kernel copies, record locks --------------------------------------------------------

def test_fadvise64_64(k: LinuxUser, tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_bytes(b"x" * 10000)
    fd = os.open(f, os.O_RDONLY)
    assert call(k, "fadvise64_64", fd, 0, 0, 0, 0, os.POSIX_FADV_SEQUENTIAL) == 0
    assert call(k, "fadvise64_64", fd, 4096, 0, 0xFFFFFFFF, 0x7FFFFFFF, os.POSIX_FADV_DONTNEED) == 0
    assert call(k, "fadvise64_64", fd, 0, 0, 0xFFFFFFFF, 0xFFFFFFFF, 0) == -errno.EINVAL   # len < 0
    assert call(k, "fadvise64", fd, 0, 0, 100, 99) == -errno.EINVAL
    r, w = os.pipe()
    assert call(k, "fadvise64_64", r, 0, 0, 0, 0, 0) == -errno.ESPIPE
    for x in (fd, r, w):
        os.close(x)


def test_copy_file_range_and_sendfile64_with_and_without_offsets(k: LinuxUser, tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.write_bytes(bytes(range(256)) * 40)
    fin, fout = os.open(src, os.O_RDONLY), os.open(dst, os.O_WRONLY | os.O_CREAT, 0o644)
    k.mem.write(BUF, struct.pack("<qq", 1000, 0))
    assert call(k, "copy_file_range", fin, BUF, fout, 0, 500, 0) == 500
    assert struct.unpack("<q", k.mem.read(BUF, 8))[0] == 1500 and os.lseek(fin, 0, os.SEEK_CUR) == 0
    assert os.lseek(fout, 0, os.SEEK_CUR) == 500
    assert call(k, "copy_file_range", fin, 0, fout, BUF + 8, 100, 0) == 100
    assert struct.unpack("<q", k.mem.read(BUF + 8, 8))[0] == 100 and os.lseek(fin, 0, os.SEEK_CUR) == 100
    data = dst.read_bytes()
    assert data[:100] == src.read_bytes()[:100] and data[100:500] == src.read_bytes()[1100:1500]
    assert call(k, "copy_file_range", fin, 0, fout, 0, 10, 1) == -errno.EINVAL
    r, w = os.pipe()
    k.mem.write(BUF, struct.pack("<q", 10))
    assert call(k, "sendfile64", w, fin, BUF, 20) == 20
    assert os.read(r, 100) == src.read_bytes()[10:30] and struct.unpack("<q", k.mem.read(BUF, 8))[0] == 30
    assert call(k, "sendfile64", w, fin, 0, 5) == 5 and os.read(r, 100) == src.read_bytes()[100:105]
    for x in (fin, fout, r, w):
        os.close(x)


def test_fcntl_record_locks_in_both_i386_layouts_and_ofd_locks(k: LinuxUser, tmp_path: Path) -> None:
    """Locks of another open file description conflict (OFD locks, even in one process); F_GETLK
    reports them in struct flock64 and in the 32-bit struct flock (EOVERFLOW past 2 GiB)."""
    f = tmp_path / "db"
    f.write_bytes(b"\0" * 4096)
    a, b = os.open(f, os.O_RDWR), os.open(f, os.O_RDWR)
    k.mem.write(BUF, struct.pack("<hhqqi", fcntl.F_WRLCK, os.SEEK_SET, 100, 50, 0))
    assert call(k, "fcntl64", a, 37, BUF) == 0                                 # F_OFD_SETLK
    assert call(k, "fcntl64", b, 37, BUF) == -errno.EAGAIN
    k.mem.write(BUF + 0x100, struct.pack("<hhqqi", fcntl.F_RDLCK, os.SEEK_SET, 0, 0, 0))
    assert call(k, "fcntl64", b, 36, BUF + 0x100) == 0                         # F_OFD_GETLK
    assert struct.unpack("<hhqqi", k.mem.read(BUF + 0x100, 24)) == (fcntl.F_WRLCK, 0, 100, 50, -1)
    k.mem.write(BUF + 0x100, struct.pack("<hhqqi", fcntl.F_RDLCK, os.SEEK_SET, 0, 0, 0))
    assert call(k, "fcntl64", b, 12, BUF + 0x100) == 0                         # F_GETLK64
    assert struct.unpack("<hhqqi", k.mem.read(BUF + 0x100, 24))[:4] == (fcntl.F_WRLCK, 0, 100, 50)
    k.mem.write(BUF + 0x200, struct.pack("<hhiii", fcntl.F_WRLCK, os.SEEK_SET, 120, 1, 0))
    assert call(k, "fcntl64", b, fcntl.F_SETLK, BUF + 0x200) == -errno.EAGAIN  # the 32-bit struct flock
    k.mem.write(BUF + 0x200, struct.pack("<hhiii", fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0))
    assert call(k, "fcntl", b, fcntl.F_GETLK, BUF + 0x200) == 0
    assert struct.unpack("<hhiii", k.mem.read(BUF + 0x200, 16))[:4] == (fcntl.F_WRLCK, 0, 100, 50)
    k.mem.write(BUF, struct.pack("<hhqqi", fcntl.F_UNLCK, os.SEEK_SET, 100, 50, 0))
    assert call(k, "fcntl64", a, 37, BUF) == 0
    k.mem.write(BUF, struct.pack("<hhqqi", fcntl.F_WRLCK, os.SEEK_SET, 1 << 32, 10, 0))
    assert call(k, "fcntl64", a, 37, BUF) == 0
    k.mem.write(BUF + 0x200, struct.pack("<hhiii", fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0))
    assert call(k, "fcntl64", b, fcntl.F_GETLK, BUF + 0x200) == -errno.EOVERFLOW
    k.mem.write(BUF + 0x300, struct.pack("<hhqqi", fcntl.F_WRLCK, os.SEEK_SET, 0, 10, 0))
    assert call(k, "fcntl64", b, 13, BUF + 0x300) == 0                         # F_SETLK64: no conflict
    assert call(k, "fcntl64", b, 13, 0xC0000000) == -errno.EFAULT
    os.close(a)
    os.close(b)
