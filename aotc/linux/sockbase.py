"""What the socket syscalls share: host syscall numbers, guest buffers handed to the host kernel,
addresses returned the way the kernel's move_addr_to_user returns them, new descriptors, and blocking
calls that end as the socket's timeout says.

Guest address `a` is host address `base + a` and the host pages carry the guest's protection, so a
guest buffer is given to the host kernel as it is, rebased: the host faults (EFAULT), copies a part,
or drops a datagram exactly where the i386 kernel would. Two things are done first: a buffer must lie
inside the guest's 4 GiB (else EFAULT: nothing past it is the guest's), and a buffer the kernel may
write has the code translated from it dropped (which also lifts the write protection of such pages).
"""

from __future__ import annotations

import ctypes
import errno
import os
import resource
import stat
from contextlib import contextmanager
from typing import TYPE_CHECKING

from aotc.guest.memory import GUEST_SPACE, GuestFault
from aotc.linux import structs
from aotc.linux.blocking import blocking, host_call
from aotc.linux.errors import SyscallError
from aotc.linux.interrupt import Interrupted, Restart
from aotc.linux.structs import s32

if TYPE_CHECKING:
    from collections.abc import Iterator

    from aotc.linux.user import LinuxUser

# x86-64 host syscall numbers
SYS_SOCKET, SYS_CONNECT, SYS_ACCEPT, SYS_SENDTO, SYS_RECVFROM = 41, 42, 43, 44, 45
SYS_SENDMSG, SYS_RECVMSG, SYS_SHUTDOWN, SYS_BIND, SYS_LISTEN = 46, 47, 48, 49, 50
SYS_GETSOCKNAME, SYS_GETPEERNAME, SYS_SOCKETPAIR, SYS_SETSOCKOPT, SYS_GETSOCKOPT = 51, 52, 53, 54, 55
SYS_ACCEPT4, SYS_RECVMMSG, SYS_SENDMMSG = 288, 299, 307

SOL_SOCKET = 1
SO_RCVTIMEO, SO_SNDTIMEO = 20, 21        # the host's: a 64-bit struct timeval
SOCKADDR_MAX = 128                       # sizeof(struct sockaddr_storage)
MAX_RW = 0x7FFFF000                      # MAX_RW_COUNT
MSG_CMSG_COMPAT = 0x80000000             # the kernel's own flag: never the host's to see


def host_buf(k: LinuxUser, addr: int, n: int, write: bool) -> int:
    """The host address of guest buffer [addr, addr+n) for the host kernel (NULL stays NULL); EFAULT
    if it runs past the guest's space; translated code in a buffer to write is dropped first."""
    if addr == 0:
        return 0
    if n > 0:
        if addr + n > GUEST_SPACE:
            raise SyscallError(errno.EFAULT)
        if write:
            k.mem.notify_written(addr, n)
    return k.mem.host_addr(addr)


def host_word(k: LinuxUser, addr: int, write: bool) -> int:
    """A guest int (a socklen_t the kernel reads and writes) for the host kernel, like host_buf."""
    return host_buf(k, addr, 4, write)


def host_sockaddr(k: LinuxUser, addr: int, length: int) -> int:
    """A sockaddr the kernel reads: at most sizeof(sockaddr_storage) bytes (it refuses longer ones
    with EINVAL before reading), so it never reads past the guard above the guest's space."""
    return host_buf(k, addr, min(max(s32(length), 0), SOCKADDR_MAX), write=False)


class AddrOut:
    """A host sockaddr_storage for a call that returns an address (accept, getsockname, recvfrom...):
    the host kernel fills it, then `give` copies it to the guest as move_addr_to_user does."""

    def __init__(self) -> None:
        self.buf = ctypes.create_string_buffer(SOCKADDR_MAX)
        self.len = ctypes.c_uint32(SOCKADDR_MAX)

    @property
    def addr(self) -> int:
        """The host address of the buffer."""
        return ctypes.addressof(self.buf)

    @property
    def len_addr(self) -> int:
        """The host address of its length (in: the buffer's size; out: the address's)."""
        return ctypes.addressof(self.len)

    def give(self, k: LinuxUser, addr: int, len_addr: int, klen: int | None = None) -> None:
        """move_addr_to_user: read the guest's length (EFAULT), copy at most that much of the `klen`
        bytes (EINVAL for a negative length), and store klen as the length."""
        klen = self.len.value if klen is None else klen
        n = min(s32(structs.U32.unpack(k.get(len_addr, 4))[0]), klen)
        if n < 0:
            raise SyscallError(errno.EINVAL)
        if n:
            k.put(addr, self.buf.raw[:n])
        k.put(len_addr, structs.U32.pack(klen))


def fd_limit(k: LinuxUser) -> int:
    """The lowest descriptor the guest may not be given (its RLIMIT_NOFILE soft limit)."""
    return k.rlimits[resource.RLIMIT_NOFILE][0]


def require_socket(k: LinuxUser, fd: int) -> None:
    """EBADF or ENOTSOCK as the kernel's sockfd_lookup says them, before any other error."""
    if not stat.S_ISSOCK(os.fstat(k.fd(fd)).st_mode):
        raise SyscallError(errno.ENOTSOCK)


@contextmanager
def socket_errors_first(k: LinuxUser, fd: int) -> Iterator[None]:
    """Errors found converting a call's arguments count only once `fd` is known to be a socket: the
    kernel looks the descriptor up first."""
    try:
        yield
    except (SyscallError, GuestFault):
        require_socket(k, fd)
        raise


def _has_timeout(k: LinuxUser, fd: int, option: int) -> bool:
    tv = (ctypes.c_int64 * 2)()
    size = ctypes.c_uint32(ctypes.sizeof(tv))
    try:
        host_call(k, SYS_GETSOCKOPT, fd, SOL_SOCKET, option, ctypes.addressof(tv), ctypes.addressof(size))
    except SyscallError:
        return False
    return tv[0] != 0 or tv[1] != 0


def socket_io(k: LinuxUser, fd: int, timeout_option: int, nr: int, *args: int) -> int:
    """A socket call that may block: a handler's signal ends it with ERESTARTSYS, or EINTR if the
    socket has a timeout (SO_RCVTIMEO/SO_SNDTIMEO), as the kernel's sock_intr_errno says."""
    try:
        return blocking(k, Restart.SYS, nr, *args)
    except Interrupted as e:
        if e.kind is Restart.SYS and _has_timeout(k, fd, timeout_option):
            raise Interrupted(Restart.NOHAND) from None
        raise
