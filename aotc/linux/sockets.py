"""Socket syscalls: socketcall (102, the i386 multiplexer glibc uses) and the direct calls 359–373.

sockaddr, socklen_t and most socket options have the same layout on i386 and x86-64, so most calls
are the host's with rebased pointers (see sockbase.py). Returned addresses go through a host buffer
and reach the guest as move_addr_to_user would copy them. The options whose layout differs are
converted by table: SO_RCVTIMEO/SO_SNDTIMEO (a timeval of two 32-bit longs; the *_NEW variants are
64-bit on both), SO_ATTACH_FILTER (struct sock_fprog holds a pointer), and the MCAST_* group
requests (sockaddr_storage is 4-aligned inside them on i386). New descriptors (socket, socketpair,
accept) obey the guest's RLIMIT_NOFILE, as the kernel would make them do (EMFILE).
msghdr-based calls (sendmsg, recvmsg, sendmmsg, recvmmsg) are in sockmsg.py.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aotc.guest.memory import GUARD_SIZE, GuestFault
from aotc.linux import sockmsg, structs
from aotc.linux.blocking import host_call
from aotc.linux.errors import SyscallError
from aotc.linux.sockbase import (
    MAX_RW,
    MSG_CMSG_COMPAT,
    SO_RCVTIMEO,
    SO_SNDTIMEO,
    SOCKADDR_MAX,
    SOL_SOCKET,
    SYS_ACCEPT4,
    SYS_BIND,
    SYS_CONNECT,
    SYS_GETPEERNAME,
    SYS_GETSOCKNAME,
    SYS_GETSOCKOPT,
    SYS_LISTEN,
    SYS_RECVFROM,
    SYS_SENDTO,
    SYS_SETSOCKOPT,
    SYS_SHUTDOWN,
    SYS_SOCKET,
    SYS_SOCKETPAIR,
    AddrOut,
    fd_limit,
    host_buf,
    host_sockaddr,
    host_word,
    socket_errors_first,
    socket_io,
)
from aotc.linux.structs import s32

if TYPE_CHECKING:
    from aotc.linux.user import LinuxUser

INT = struct.Struct("<i")
TIMEVAL64 = struct.Struct("<qq")
SOL_IP, SOL_IPV6 = 0, 41
SO_ATTACH_FILTER, SO_ATTACH_REUSEPORT_CBPF = 26, 51
SOCK_FPROG32 = struct.Struct("<H2xI")          # struct compat_sock_fprog
SOCK_FPROG64 = struct.Struct("<H6xQ")
SOCK_FILTER_SIZE = 8
OPTVAL_CHECKED = GUARD_SIZE    # getsockopt writes at most the option's size, never near this much
ACCEPT_FLAGS = os.O_CLOEXEC | os.O_NONBLOCK     # SOCK_CLOEXEC, SOCK_NONBLOCK


# -- sockets, addresses, connections -------------------------------------------------------------

def sys_socket(k: LinuxUser, domain: int, type_: int, protocol: int) -> int:
    fd = host_call(k, SYS_SOCKET, domain, type_, protocol)
    k.new_fd(fd)
    return fd


def sys_socketpair(k: LinuxUser, domain: int, type_: int, protocol: int, sv: int) -> int:
    """socketpair: the pair is made, then limited to the guest's RLIMIT_NOFILE, then stored (EFAULT
    drops it), in the kernel's order."""
    fds = (ctypes.c_int32 * 2)()
    host_call(k, SYS_SOCKETPAIR, domain, type_, protocol, ctypes.addressof(fds))
    k.new_fd(fds[0], fds[1])
    try:
        k.put(sv, struct.pack("<ii", fds[0], fds[1]))
    except BaseException:
        os.close(fds[0])
        os.close(fds[1])
        raise
    return 0


def sys_bind(k: LinuxUser, fd: int, addr: int, addrlen: int) -> int:
    return host_call(k, SYS_BIND, k.fd(fd), host_sockaddr(k, addr, addrlen), addrlen)


def sys_connect(k: LinuxUser, fd: int, addr: int, addrlen: int) -> int:
    fd = k.fd(fd)
    return socket_io(k, fd, SO_SNDTIMEO, SYS_CONNECT, fd, host_sockaddr(k, addr, addrlen), addrlen)


def sys_listen(k: LinuxUser, fd: int, backlog: int) -> int:
    return host_call(k, SYS_LISTEN, k.fd(fd), backlog)


def _room_for_one(k: LinuxUser, fd: int, flags: int) -> None:
    """accept's checks before a connection is taken: EBADF, EINVAL for unknown flags, and EMFILE if
    the guest has no descriptor free below its limit (the kernel reserves one first, so the
    connection stays queued)."""
    probe = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 0)
    os.close(probe)
    if flags & ~ACCEPT_FLAGS:
        raise SyscallError(errno.EINVAL)
    if probe >= fd_limit(k):
        raise SyscallError(errno.EMFILE)


def sys_accept4(k: LinuxUser, fd: int, addr: int, addrlen: int, flags: int) -> int:
    """accept4: the peer's address reaches the guest after the connection is taken; if it cannot be
    stored, the connection is dropped, as the kernel drops it."""
    fd = k.fd(fd)
    _room_for_one(k, fd, flags)
    out = AddrOut() if addr else None
    new = socket_io(k, fd, SO_RCVTIMEO, SYS_ACCEPT4, fd, out.addr if out else 0, out.len_addr if out else 0,
                    flags)
    k.new_fd(new)
    if out is not None:
        try:
            out.give(k, addr, addrlen)
        except BaseException:
            os.close(new)
            raise
    return new


def sys_accept(k: LinuxUser, fd: int, addr: int, addrlen: int) -> int:
    """accept (socketcall only on i386): accept4 without flags."""
    return sys_accept4(k, fd, addr, addrlen, 0)


def _name(k: LinuxUser, nr: int, fd: int, addr: int, addrlen: int) -> int:
    out = AddrOut()
    host_call(k, nr, k.fd(fd), out.addr, out.len_addr)
    out.give(k, addr, addrlen)
    return 0


def sys_getsockname(k: LinuxUser, fd: int, addr: int, addrlen: int) -> int:
    return _name(k, SYS_GETSOCKNAME, fd, addr, addrlen)


def sys_getpeername(k: LinuxUser, fd: int, addr: int, addrlen: int) -> int:
    return _name(k, SYS_GETPEERNAME, fd, addr, addrlen)


def sys_shutdown(k: LinuxUser, fd: int, how: int) -> int:
    return host_call(k, SYS_SHUTDOWN, k.fd(fd), how)


# -- data ----------------------------------------------------------------------------------------

def sys_sendto(k: LinuxUser, fd: int, buf: int, length: int, flags: int, addr: int, addrlen: int) -> int:
    fd, length = k.fd(fd), min(length, MAX_RW)
    return socket_io(k, fd, SO_SNDTIMEO, SYS_SENDTO, fd, host_buf(k, buf, length, write=False), length,
                     flags & ~MSG_CMSG_COMPAT, host_sockaddr(k, addr, addrlen), addrlen)


def sys_recvfrom(k: LinuxUser, fd: int, buf: int, length: int, flags: int, addr: int, addrlen: int) -> int:
    """recvfrom: the sender's address, if asked for, is stored after the data is taken (an EFAULT
    then loses the data, as natively)."""
    fd, length = k.fd(fd), min(length, MAX_RW)
    out = AddrOut() if addr else None
    n = socket_io(k, fd, SO_RCVTIMEO, SYS_RECVFROM, fd, host_buf(k, buf, length, write=True), length,
                  flags & ~MSG_CMSG_COMPAT, out.addr if out else 0, out.len_addr if out else 0)
    if out is not None:
        out.give(k, addr, addrlen)
    return n


def sys_send(k: LinuxUser, fd: int, buf: int, length: int, flags: int) -> int:
    """send (socketcall only): sendto without an address."""
    return sys_sendto(k, fd, buf, length, flags, 0, 0)


def sys_recv(k: LinuxUser, fd: int, buf: int, length: int, flags: int) -> int:
    """recv (socketcall only): recvfrom without an address."""
    return sys_recvfrom(k, fd, buf, length, flags, 0, 0)


# -- socket options ------------------------------------------------------------------------------

def _int_first(k: LinuxUser, optval: int, optlen: int) -> None:
    """sk_setsockopt's start: EINVAL below an int, EFAULT if the int cannot be read."""
    if optlen < INT.size:
        raise SyscallError(errno.EINVAL)
    k.get(optval, INT.size)


def _timeval_in(k: LinuxUser, optval: int, optlen: int) -> bytes:
    """SO_RCVTIMEO/SO_SNDTIMEO: the i386 timeval (two 32-bit longs) as the host's."""
    _int_first(k, optval, optlen)
    if optlen < structs.TIMEVAL.size:
        raise SyscallError(errno.EINVAL)
    return TIMEVAL64.pack(*structs.TIMEVAL.unpack(k.get(optval, structs.TIMEVAL.size)))


def _fprog_in(k: LinuxUser, optval: int, optlen: int) -> bytes:
    """SO_ATTACH_FILTER: struct compat_sock_fprog (exactly its size) as the host's, filter rebased."""
    _int_first(k, optval, optlen)
    if optlen != SOCK_FPROG32.size:
        raise SyscallError(errno.EINVAL)
    count, insns = SOCK_FPROG32.unpack(k.get(optval, SOCK_FPROG32.size))
    return SOCK_FPROG64.pack(count, host_buf(k, insns, count * SOCK_FILTER_SIZE, write=False))


def _group_req_in(sources: int) -> Callable[[LinuxUser, int, int], bytes]:
    """MCAST_* group requests: an interface then 1 + `sources` sockaddr_storage, which i386 packs at
    offset 4 and x86-64 aligns to 8 (EINVAL below the i386 size)."""
    size = 4 + SOCKADDR_MAX * (1 + sources)

    def convert(k: LinuxUser, optval: int, optlen: int) -> bytes:
        if optlen < size:
            raise SyscallError(errno.EINVAL)
        raw = k.get(optval, size)
        return raw[:4] + bytes(4) + raw[4:]
    return convert


def _timeval_out(raw: bytes) -> bytes:
    sec, usec = TIMEVAL64.unpack(raw)
    return structs.TIMEVAL.pack(((sec + (1 << 31)) & 0xFFFFFFFF) - (1 << 31), usec)


SETSOCKOPT_IN: dict[tuple[int, int], Callable[[LinuxUser, int, int], bytes]] = {
    (SOL_SOCKET, SO_RCVTIMEO): _timeval_in,
    (SOL_SOCKET, SO_SNDTIMEO): _timeval_in,
    (SOL_SOCKET, SO_ATTACH_FILTER): _fprog_in,
    (SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF): _fprog_in,
    **{(level, opt): _group_req_in(0) for level in (SOL_IP, SOL_IPV6) for opt in (42, 45)},
    **{(level, opt): _group_req_in(1) for level in (SOL_IP, SOL_IPV6) for opt in (43, 44, 46, 47)},
}
"""Options whose i386 value differs from the host's: (level, name) -> the host's bytes of it."""


@dataclass(frozen=True)
class OptOut:
    """An option getsockopt returns in another layout: the host's size, and the conversion."""

    host_size: int
    convert: Callable[[bytes], bytes]


GETSOCKOPT_OUT = {
    (SOL_SOCKET, SO_RCVTIMEO): OptOut(TIMEVAL64.size, _timeval_out),
    (SOL_SOCKET, SO_SNDTIMEO): OptOut(TIMEVAL64.size, _timeval_out),
}


def sys_setsockopt(k: LinuxUser, fd: int, level: int, optname: int, optval: int, optlen: int) -> int:
    """setsockopt; the option value is read by the host kernel in place (it reads at most the option's
    own size, which the guard above the guest's space covers), or converted first (SETSOCKOPT_IN)."""
    fd = k.fd(fd)
    convert = SETSOCKOPT_IN.get((s32(level), s32(optname)))
    if convert is None:
        return host_call(k, SYS_SETSOCKOPT, fd, level, optname, host_buf(k, optval, 0, write=False), optlen)
    with socket_errors_first(k, fd):
        data = convert(k, optval, s32(optlen))
    value = ctypes.create_string_buffer(data, len(data))
    return host_call(k, SYS_SETSOCKOPT, fd, level, optname, ctypes.addressof(value), len(data))


def sys_getsockopt(k: LinuxUser, fd: int, level: int, optname: int, optval: int, optlen: int) -> int:
    """getsockopt; the host kernel writes the value and its length in place (a length the guest left
    larger than any option is not held against it: the guard above its space takes what an option
    could write past the top), or a host buffer's value is converted (GETSOCKOPT_OUT) and stored as
    sk_getsockopt stores it."""
    fd = k.fd(fd)
    conv = GETSOCKOPT_OUT.get((s32(level), s32(optname)))
    if conv is None:
        try:
            room = min(max(s32(structs.U32.unpack(k.get(optlen, 4))[0]), 0), OPTVAL_CHECKED)
        except GuestFault:
            room = 0                 # the host kernel finds the length unreadable too
        return host_call(k, SYS_GETSOCKOPT, fd, level, optname, host_buf(k, optval, room, write=True),
                         host_word(k, optlen, write=True))
    value = ctypes.create_string_buffer(conv.host_size)
    size = ctypes.c_uint32(conv.host_size)
    host_call(k, SYS_GETSOCKOPT, fd, level, optname, ctypes.addressof(value), ctypes.addressof(size))
    out = conv.convert(value.raw)
    room = s32(structs.U32.unpack(k.get(optlen, 4))[0])
    if room < 0:
        raise SyscallError(errno.EINVAL)
    out = out[:room]
    k.put(optval, out)
    k.put(optlen, structs.U32.pack(len(out)))
    return 0


# -- socketcall ----------------------------------------------------------------------------------

SOCKETCALLS: dict[int, tuple[Callable[..., int], int]] = {
    1: (sys_socket, 3),
    2: (sys_bind, 3),
    3: (sys_connect, 3),
    4: (sys_listen, 2),
    5: (sys_accept, 3),
    6: (sys_getsockname, 3),
    7: (sys_getpeername, 3),
    8: (sys_socketpair, 4),
    9: (sys_send, 4),
    10: (sys_recv, 4),
    11: (sys_sendto, 6),
    12: (sys_recvfrom, 6),
    13: (sys_shutdown, 2),
    14: (sys_setsockopt, 5),
    15: (sys_getsockopt, 5),
    16: (sockmsg.sys_sendmsg, 3),
    17: (sockmsg.sys_recvmsg, 3),
    18: (sys_accept4, 4),
    19: (sockmsg.sys_recvmmsg, 5),
    20: (sockmsg.sys_sendmmsg, 4),
}
"""socketcall's call numbers (SYS_SOCKET..SYS_SENDMMSG): handler, and how many u32 arguments the
kernel's nargs table reads from the guest's array."""


def sys_socketcall(k: LinuxUser, call: int, args: int) -> int:
    """socketcall(call, args): EINVAL for an unknown call, EFAULT if its arguments cannot be read."""
    entry = SOCKETCALLS.get(call)
    if entry is None:
        raise SyscallError(errno.EINVAL)
    handler, nargs = entry
    return handler(k, *struct.unpack(f"<{nargs}I", k.get(args, 4 * nargs)))
