"""Socket syscalls called directly with a CPUState: socketcall's table, the i386 msghdr and cmsghdr
layouts, descriptors kept within the guest's limits, and option values converted both ways."""

from __future__ import annotations

import errno
import os
import resource
import socket
import struct
from collections.abc import Iterator

import pytest
from hostsignals import installed_host_signals

from aotc.guest.cpu import EAX, EBP, EBX, ECX, EDI, EDX, ESI, CPUState
from aotc.guest.memory import PROT_READ, PROT_WRITE, GuestMemory
from aotc.linux import sockets
from aotc.linux.syscalls import SYSCALLS
from aotc.linux.user import LinuxUser
from aotc.loader.program import LoadedProgram

BUF = 0x10000000
BAD = 0xC0000000
ARGS = (EBX, ECX, EDX, ESI, EDI, EBP)
SOCKETCALL, SOCKETPAIR, GETSOCKNAME, GETPEERNAME = 102, 360, 367, 368
SENDMSG, RECVMSG, SETSOCKOPT, GETSOCKOPT, SENDTO, RECVFROM = 370, 372, 366, 365, 369, 371
SOL_SOCKET, SCM_RIGHTS, SCM_CREDENTIALS, SO_PASSCRED = 1, 1, 2, 16
SO_RCVTIMEO, SO_TYPE = 20, 3
MSG_CTRUNC = 8
CMSG32 = struct.Struct("<Iii")
MSGHDR32 = struct.Struct("<IiIIIIi")
# kernel/net/socket.c: nargs[] in bytes, SYS_SOCKET..SYS_SENDMMSG
KERNEL_NARGS = [3, 3, 3, 2, 3, 3, 3, 4, 4, 4, 6, 6, 2, 5, 5, 3, 3, 4, 5, 4]


@pytest.fixture
def k() -> Iterator[LinuxUser]:
    mem = GuestMemory()
    mem.map(BUF, 0x10000, PROT_READ | PROT_WRITE)
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


def pair(k: LinuxUser, kind: int = socket.SOCK_STREAM) -> tuple[int, int]:
    assert call(k, SOCKETPAIR, socket.AF_UNIX, kind, 0, BUF + 0xF000) == 0
    return struct.unpack("<ii", k.mem.read(BUF + 0xF000, 8))


def next_fd() -> int:
    fd = os.dup(0)
    os.close(fd)
    return fd


def test_socketcall_table_is_the_kernels() -> None:
    assert sorted(sockets.SOCKETCALLS) == list(range(1, 21))
    assert [sockets.SOCKETCALLS[c][1] for c in range(1, 21)] == KERNEL_NARGS


def test_socketcall_dispatches_and_checks(k: LinuxUser) -> None:
    k.mem.write(BUF, struct.pack("<4I", socket.AF_UNIX, socket.SOCK_DGRAM, 0, BUF + 0x100))
    assert call(k, SOCKETCALL, 8, BUF) == 0                                   # SYS_SOCKETPAIR
    a, b = struct.unpack("<ii", k.mem.read(BUF + 0x100, 8))
    k.mem.write(BUF + 0x200, b"via socketcall")
    k.mem.write(BUF, struct.pack("<4I", a, BUF + 0x200, 14, 0))
    assert call(k, SOCKETCALL, 9, BUF) == 14                                  # SYS_SEND
    assert os.read(b, 100) == b"via socketcall"
    assert call(k, SOCKETCALL, 0, BUF) == -errno.EINVAL
    assert call(k, SOCKETCALL, 21, BUF) == -errno.EINVAL
    assert call(k, SOCKETCALL, 1, BAD) == -errno.EFAULT
    assert call(k, SOCKETCALL, 1, BUF + 0x10000 - 8) == -errno.EFAULT        # 3 args run off the mapping
    os.close(a)
    os.close(b)


def test_socketpair_efault_leaves_no_descriptor(k: LinuxUser) -> None:
    first = next_fd()
    assert call(k, SOCKETPAIR, socket.AF_UNIX, socket.SOCK_STREAM, 0, BAD) == -errno.EFAULT
    assert next_fd() == first


def test_new_descriptors_obey_the_guest_limit(k: LinuxUser) -> None:
    first = next_fd()
    k.rlimits[resource.RLIMIT_NOFILE] = (first + 1, k.rlimits[resource.RLIMIT_NOFILE][1])
    assert call(k, SOCKETPAIR, socket.AF_UNIX, socket.SOCK_STREAM, 0, BUF) == -errno.EMFILE
    assert next_fd() == first
    fd = call(k, 359, socket.AF_UNIX, socket.SOCK_STREAM, 0)                 # socket: just fits
    assert fd == first
    assert call(k, 359, socket.AF_UNIX, socket.SOCK_STREAM, 0) == -errno.EMFILE
    os.close(fd)


def test_aotcs_descriptors_are_ebadf(k: LinuxUser) -> None:
    a, b = pair(k)
    k.fd_limit = b                                                            # b now counts as aotc's
    assert call(k, GETSOCKNAME, b, BUF, BUF + 0x100) == -errno.EBADF
    assert call(k, GETSOCKNAME, a, BUF, BUF + 0x100) != -errno.EBADF
    # and cannot be passed with SCM_RIGHTS
    iov = BUF + 0x200
    k.mem.write(iov, struct.pack("<II", BUF + 0x300, 1))
    k.mem.write(BUF + 0x400, CMSG32.pack(16, SOL_SOCKET, SCM_RIGHTS) + struct.pack("<i", b))
    k.mem.write(BUF + 0x500, MSGHDR32.pack(0, 0, iov, 1, BUF + 0x400, 16, 0))
    assert call(k, SENDMSG, a, BUF + 0x500, 0) == -errno.EBADF
    os.close(a)
    os.close(b)


def test_getpeername_on_a_pipe_is_enotsock(k: LinuxUser) -> None:
    r, w = os.pipe()
    k.mem.write(BUF + 0x100, struct.pack("<I", 128))
    assert call(k, GETPEERNAME, r, BUF, BUF + 0x100) == -errno.ENOTSOCK
    os.close(r)
    os.close(w)


def test_returned_addresses_follow_move_addr_to_user(k: LinuxUser, tmp_path: os.PathLike) -> None:
    path = os.path.join(tmp_path, "s")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    srv.bind(path)
    full = 2 + len(path) + 1
    k.mem.write(BUF + 0x100, struct.pack("<I", 128))
    assert call(k, GETSOCKNAME, srv.fileno(), BUF, BUF + 0x100) == 0
    assert struct.unpack("<I", k.mem.read(BUF + 0x100, 4))[0] == full
    assert k.mem.read(BUF + 2, len(path)) == path.encode()
    k.mem.write(BUF, b"\xee" * 16)
    k.mem.write(BUF + 0x100, struct.pack("<I", 4))                           # room for 4 bytes only
    assert call(k, GETSOCKNAME, srv.fileno(), BUF, BUF + 0x100) == 0
    assert struct.unpack("<I", k.mem.read(BUF + 0x100, 4))[0] == full         # the full length back
    assert k.mem.read(BUF + 4, 4) == b"\xee" * 4                              # nothing past 4 written
    k.mem.write(BUF + 0x100, struct.pack("<i", -1))
    assert call(k, GETSOCKNAME, srv.fileno(), BUF, BUF + 0x100) == -errno.EINVAL
    assert call(k, GETSOCKNAME, srv.fileno(), BUF, BAD) == -errno.EFAULT
    srv.close()


def test_recvfrom_gives_the_senders_address(k: LinuxUser) -> None:
    a, b = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM), socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    a.bind(b"\0aotc-test-a-%d" % os.getpid())
    b.bind(b"\0aotc-test-b-%d" % os.getpid())
    a.sendto(b"hi", b.getsockname())
    k.mem.write(BUF + 0x100, struct.pack("<I", 64))
    assert call(k, RECVFROM, b.fileno(), BUF + 0x200, 10, 0, BUF, BUF + 0x100) == 2
    assert k.mem.read(BUF + 0x200, 2) == b"hi"
    name = a.getsockname()
    assert struct.unpack("<I", k.mem.read(BUF + 0x100, 4))[0] == 2 + len(name)
    assert k.mem.read(BUF + 2, len(name)) == name
    a.sendto(b"again", b.getsockname())
    assert call(k, RECVFROM, b.fileno(), BUF + 0x200, 10, 0, BAD, BUF + 0x100) == -errno.EFAULT
    with pytest.raises(BlockingIOError):                             # the datagram is gone, as natively
        b.recv(10, socket.MSG_DONTWAIT)
    a.close()
    b.close()


def _msg(k: LinuxUser, at: int, data_addr: int, n: int, control: int, controllen: int) -> int:
    k.mem.write(at + 0x40, struct.pack("<II", data_addr, n))
    k.mem.write(at, MSGHDR32.pack(0, 0, at + 0x40, 1, control, controllen, 0))
    return at


def test_scm_rights_in_the_i386_layout(k: LinuxUser) -> None:
    a, b = pair(k)
    r, w = os.pipe()
    k.mem.write(BUF + 0x300, b"X")
    k.mem.write(BUF + 0x400, CMSG32.pack(16, SOL_SOCKET, SCM_RIGHTS) + struct.pack("<i", r))
    assert call(k, SENDMSG, a, _msg(k, BUF, BUF + 0x300, 1, BUF + 0x400, 16), 0) == 1
    os.close(r)
    k.mem.write(BUF + 0x800, b"\xee" * 32)
    msg = _msg(k, BUF + 0x1000, BUF + 0x600, 8, BUF + 0x800, 32)
    assert call(k, RECVMSG, b, msg, 0) == 1
    length, level, type_ = CMSG32.unpack(k.mem.read(BUF + 0x800, 12))
    assert (length, level, type_) == (16, SOL_SOCKET, SCM_RIGHTS)            # a 12-byte header, 4-aligned
    passed = struct.unpack("<i", k.mem.read(BUF + 0x80C, 4))[0]
    controllen, flags = struct.unpack("<Ii", k.mem.read(msg + 20, 8))
    assert (controllen, flags) == (16, 0)
    os.write(w, b"through")
    assert os.read(passed, 10) == b"through"
    for fd in (a, b, w, passed):
        os.close(fd)


def test_received_descriptors_that_do_not_fit_are_closed(k: LinuxUser) -> None:
    a, b = pair(k)
    r, w = os.pipe()
    k.mem.write(BUF + 0x300, b"X")
    k.mem.write(BUF + 0x400, CMSG32.pack(24, SOL_SOCKET, SCM_RIGHTS) + struct.pack("<3i", r, w, r))
    first = next_fd()
    for controllen, given in ((16, 1), (8, 0)):
        assert call(k, SENDMSG, a, _msg(k, BUF, BUF + 0x300, 1, BUF + 0x400, 24), 0) == 1
        msg = _msg(k, BUF + 0x1000, BUF + 0x600, 8, BUF + 0x800, controllen)
        assert call(k, RECVMSG, b, msg, 0) == 1
        used, flags = struct.unpack("<Ii", k.mem.read(msg + 20, 8))
        assert flags & MSG_CTRUNC and used == (16 if given else 0)
        if given:
            os.close(struct.unpack("<i", k.mem.read(BUF + 0x80C, 4))[0])
        assert next_fd() == first                                             # nothing else installed
    for fd in (a, b, r, w):
        os.close(fd)


def test_received_descriptors_past_the_guest_limit_are_closed(k: LinuxUser) -> None:
    a, b = pair(k)
    r, w = os.pipe()
    first = next_fd()
    k.rlimits[resource.RLIMIT_NOFILE] = (first, k.rlimits[resource.RLIMIT_NOFILE][1])
    k.mem.write(BUF + 0x300, b"X")
    k.mem.write(BUF + 0x400, CMSG32.pack(16, SOL_SOCKET, SCM_RIGHTS) + struct.pack("<i", r))
    assert call(k, SENDMSG, a, _msg(k, BUF, BUF + 0x300, 1, BUF + 0x400, 16), 0) == 1
    msg = _msg(k, BUF + 0x1000, BUF + 0x600, 8, BUF + 0x800, 64)
    assert call(k, RECVMSG, b, msg, 0) == 1
    used, flags = struct.unpack("<Ii", k.mem.read(msg + 20, 8))
    assert (used, flags & MSG_CTRUNC) == (0, MSG_CTRUNC)
    assert next_fd() == first
    for fd in (a, b, r, w):
        os.close(fd)


def test_credentials_come_back_4_aligned(k: LinuxUser) -> None:
    a, b = pair(k)
    one = BUF + 0x100
    k.mem.write(one, struct.pack("<i", 1))
    assert call(k, SETSOCKOPT, b, SOL_SOCKET, SO_PASSCRED, one, 4) == 0
    k.mem.write(BUF + 0x300, b"X")
    creds = struct.pack("<iII", os.getpid(), os.getuid(), os.getgid())
    k.mem.write(BUF + 0x400, CMSG32.pack(24, SOL_SOCKET, SCM_CREDENTIALS) + creds)
    assert call(k, SENDMSG, a, _msg(k, BUF, BUF + 0x300, 1, BUF + 0x400, 24), 0) == 1
    msg = _msg(k, BUF + 0x1000, BUF + 0x600, 8, BUF + 0x800, 64)
    assert call(k, RECVMSG, b, msg, 0) == 1
    assert k.mem.read(BUF + 0x800, 24) == CMSG32.pack(24, SOL_SOCKET, SCM_CREDENTIALS) + creds
    assert struct.unpack("<I", k.mem.read(msg + 20, 4))[0] == 24
    os.close(a)
    os.close(b)


@pytest.mark.parametrize(("controllen", "err"), [(5, errno.EINVAL), (0x80000000, errno.ENOBUFS)])
def test_bad_control_buffers(k: LinuxUser, controllen: int, err: int) -> None:
    a, b = pair(k)
    k.mem.write(BUF + 0x400, CMSG32.pack(16, SOL_SOCKET, SCM_RIGHTS) + struct.pack("<i", 0))
    assert call(k, SENDMSG, a, _msg(k, BUF, BUF + 0x300, 1, BUF + 0x400, controllen), 0) == -err
    os.close(a)
    os.close(b)


def test_msghdr_errors_wait_for_the_descriptor(k: LinuxUser) -> None:
    r, w = os.pipe()
    assert call(k, SENDMSG, r, BAD, 0) == -errno.ENOTSOCK
    assert call(k, RECVMSG, 999, BAD, 0) == -errno.EBADF
    os.close(r)
    os.close(w)


def test_rcvtimeo_is_converted_both_ways(k: LinuxUser) -> None:
    a, b = socket.socketpair()
    k.mem.write(BUF, struct.pack("<ii", 2, 500000))
    assert call(k, SETSOCKOPT, a.fileno(), SOL_SOCKET, SO_RCVTIMEO, BUF, 8) == 0
    assert struct.unpack("<qq", a.getsockopt(SOL_SOCKET, SO_RCVTIMEO, 16)) == (2, 500000)
    assert call(k, SETSOCKOPT, a.fileno(), SOL_SOCKET, SO_RCVTIMEO, BUF, 4) == -errno.EINVAL
    a.setsockopt(SOL_SOCKET, SO_RCVTIMEO, struct.pack("<qq", 3, 500000))
    k.mem.write(BUF + 0x100, struct.pack("<I", 64))
    assert call(k, GETSOCKOPT, a.fileno(), SOL_SOCKET, SO_RCVTIMEO, BUF + 0x200, BUF + 0x100) == 0
    assert struct.unpack("<I", k.mem.read(BUF + 0x100, 4))[0] == 8
    assert struct.unpack("<ii", k.mem.read(BUF + 0x200, 8)) == (3, 500000)
    assert call(k, GETSOCKOPT, a.fileno(), SOL_SOCKET, SO_TYPE, BUF + 0x200, BUF + 0x100) == 0
    assert struct.unpack("<iI", k.mem.read(BUF + 0x200, 4) + k.mem.read(BUF + 0x100, 4)) == (1, 4)
    a.close()
    b.close()


def test_strace_names_socketcall(k: LinuxUser) -> None:
    lines: list[str] = []
    k.strace = lines.append
    call(k, SOCKETCALL, 0, BUF)
    assert lines == [f"socketcall(0,{BUF:#x}) = -1 errno=22 (Invalid argument)"]


def test_accept_without_a_free_descriptor_keeps_the_connection(k: LinuxUser, tmp_path: os.PathLike) -> None:
    path = os.path.join(tmp_path, "l")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    cli = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    cli.connect(path)
    limits = k.rlimits[resource.RLIMIT_NOFILE]
    k.rlimits[resource.RLIMIT_NOFILE] = (next_fd(), limits[1])
    assert call(k, 364, srv.fileno(), 0, 0, 0) == -errno.EMFILE
    assert call(k, 364, srv.fileno(), 0, 0, 0x40000000) == -errno.EINVAL
    k.rlimits[resource.RLIMIT_NOFILE] = limits
    fd = call(k, 364, srv.fileno(), 0, 0, 0)
    assert fd >= 0
    cli.send(b"queued")
    assert os.read(fd, 10) == b"queued"
    for s in (srv, cli):
        s.close()
    os.close(fd)


def test_receive_buffers_drop_translated_code_first(k: LinuxUser) -> None:
    a, b = socket.socketpair()
    a.send(b"data")
    written: list[tuple[int, int]] = []
    k.mem.on_write = lambda addr, n: written.append((addr, n))
    assert call(k, RECVFROM, b.fileno(), BUF + 0x100, 64, 0, 0, 0) == 4
    assert written == [(BUF + 0x100, 64)]
    a.close()
    b.close()
