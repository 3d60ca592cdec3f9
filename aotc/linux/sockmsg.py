"""sendmsg, recvmsg, sendmmsg, recvmmsg: the i386 struct msghdr, iovec and cmsghdr (32-bit fields,
control messages 4-aligned) converted to the host's and back, as the kernel's compat layer does.

Sending, the guest's control messages are walked with the kernel's CMSG_COMPAT_* rules (EINVAL for
a bad length, ENOBUFS for an absurd buffer) and rebuilt 8-aligned; an SCM_RIGHTS descriptor of
aotc's own becomes -1, so the host kernel refuses it (EBADF) where it would refuse a closed one.
Receiving, the host gets a control buffer large enough for all that the guest's could hold, and its
messages are replayed into the guest's buffer as put_cmsg_compat and scm_detach_fds_compat write
them: truncation sets MSG_CTRUNC, descriptors that do not fit, or that lie at or past the guest's
RLIMIT_NOFILE, are closed (as the kernel never installs them), 64-bit timestamps of the *_OLD
options become 32-bit ones. Data buffers are the guest's own, rebased (see sockbase.py).
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aotc.guest.memory import GuestFault
from aotc.linux import structs
from aotc.linux.errors import SyscallError
from aotc.linux.sockbase import (
    MAX_RW,
    MSG_CMSG_COMPAT,
    SO_RCVTIMEO,
    SO_SNDTIMEO,
    SOCKADDR_MAX,
    SOL_SOCKET,
    SYS_RECVMMSG,
    SYS_RECVMSG,
    SYS_SENDMMSG,
    SYS_SENDMSG,
    AddrOut,
    fd_limit,
    host_buf,
    host_sockaddr,
    require_socket,
    socket_errors_first,
    socket_io,
)
from aotc.linux.structs import s32

if TYPE_CHECKING:
    from aotc.linux.user import LinuxUser

MSGHDR32 = struct.Struct("<IiIIIIi")         # struct compat_msghdr: 28 bytes
MSGHDR64 = struct.Struct("<QI4xQQQQi4x")     # struct user_msghdr on x86-64: 56 bytes
MMSG32, MMSG64 = MSGHDR32.size + 4, MSGHDR64.size + 8     # + msg_len (and padding)
CMSG32 = struct.Struct("<Iii")               # struct compat_cmsghdr
CMSG64 = struct.Struct("<Qii")
OFF_NAMELEN, OFF_CONTROLLEN, OFF_FLAGS = 4, 20, 24      # in the i386 msghdr
UIO_MAXIOV = 1024
INT_MAX = 0x7FFFFFFF
MSG_CTRUNC = 0x8
SCM_RIGHTS, SCM_PIDFD = 1, 4
SCM_MAX_FD = 253
HOST_CONTROL_MAX = 1 << 16
ANY_FD_MSG = ((SOL_SOCKET, SCM_RIGHTS), (SOL_SOCKET, SCM_PIDFD))

# SCM_TIMESTAMP, SCM_TIMESTAMPNS, SCM_TIMESTAMPING (the *_OLD ones): longs, 64-bit on the host
TIMESTAMPS_OLD = {(SOL_SOCKET, 29): 2, (SOL_SOCKET, 35): 2, (SOL_SOCKET, 37): 6}


def _align4(n: int) -> int:
    return (n + 3) & ~3


def _align8(n: int) -> int:
    return (n + 7) & ~7


# -- control messages ----------------------------------------------------------------------------

def _control_to_host(k: LinuxUser, control: int, controllen: int) -> bytes:
    """The guest's control messages as the host's (cmsghdr_from_user_compat_to_kern)."""
    if controllen > INT_MAX:
        raise SyscallError(errno.ENOBUFS)
    if controllen == 0:
        return b""
    out = bytearray()
    pos: int | None = 0 if controllen >= CMSG32.size else None
    while pos is not None:
        length, level, type_ = CMSG32.unpack(k.get(control + pos, CMSG32.size))
        if length < CMSG32.size or pos + length > controllen:
            raise SyscallError(errno.EINVAL)
        data = k.get(control + pos + CMSG32.size, length - CMSG32.size)
        if (level, type_) == (SOL_SOCKET, SCM_RIGHTS) and len(data) // 4 <= SCM_MAX_FD:
            fds = struct.unpack(f"<{len(data) // 4}I", data[:len(data) // 4 * 4])
            data = struct.pack(f"<{len(fds)}i", *(-1 if fd >= k.fd_limit else fd for fd in fds)) \
                + data[len(fds) * 4:]
        host_len = CMSG64.size + len(data)
        out += CMSG64.pack(host_len, level, type_) + data + bytes(_align8(host_len) - host_len)
        nxt = pos + _align4(length)
        pos = nxt if nxt + CMSG32.size <= controllen else None
    if not out:
        raise SyscallError(errno.EINVAL)
    return bytes(out)


def _host_cmsgs(raw: bytes) -> Iterator[tuple[int, int, bytes]]:
    """(level, type, data) of each control message the host kernel wrote."""
    pos = 0
    while pos + CMSG64.size <= len(raw):
        length, level, type_ = CMSG64.unpack_from(raw, pos)
        if length < CMSG64.size or pos + length > len(raw):
            return
        yield level, type_, raw[pos + CMSG64.size:pos + length]
        pos += _align8(length)


def _fds_in(level: int, type_: int, data: bytes) -> list[int]:
    """The descriptors a received control message installed (SCM_RIGHTS, SCM_PIDFD)."""
    if (level, type_) not in ANY_FD_MSG:
        return []
    return list(struct.unpack(f"<{len(data) // 4}i", data[:len(data) // 4 * 4]))


def _close_all(fds: list[int]) -> None:
    for fd in fds:
        os.close(fd)


class ControlOut:
    """The guest's control buffer, filled as the compat kernel fills it (put_cmsg_compat and
    scm_detach_fds_compat): a cursor, the room left, and whether something was truncated."""

    def __init__(self, k: LinuxUser, control: int, controllen: int) -> None:
        self.k, self.start, self.ptr, self.left = k, control, control, controllen
        self.truncated = False

    @property
    def used(self) -> int:
        """How much of the buffer the messages took (the msg_controllen given back)."""
        return self.ptr - self.start

    def _advance(self, space: int) -> None:
        space = min(space, self.left)
        self.ptr += space
        self.left -= space

    def put(self, level: int, type_: int, data: bytes) -> None:
        """put_cmsg_compat: one message, cut short (MSG_CTRUNC) if the room left is too small."""
        if self.ptr == 0 or self.left < CMSG32.size:
            self.truncated = True
            return
        longs = TIMESTAMPS_OLD.get((level, type_))
        if longs is not None and len(data) == 8 * longs:
            values = struct.unpack(f"<{longs}q", data)
            data = struct.pack(f"<{longs}i", *(s32(v & 0xFFFFFFFF) for v in values))
        cmlen = CMSG32.size + len(data)
        if self.left < cmlen:
            self.truncated = True
            cmlen = self.left
        try:
            self.k.put(self.ptr, CMSG32.pack(cmlen, level, type_))
            self.k.put(self.ptr + CMSG32.size, data[:cmlen - CMSG32.size])
        except GuestFault:
            return
        self._advance(CMSG32.size + _align4(len(data)))

    def put_fds(self, fds: list[int]) -> None:
        """scm_detach_fds_compat: as many descriptors as fit and may be the guest's; the rest closed."""
        limit = fd_limit(self.k)
        room = (self.left - CMSG32.size) // 4 if self.ptr and self.left > CMSG32.size else 0
        fdmax = min(room, len(fds))
        given = 0
        while given < fdmax and fds[given] < limit:
            try:
                self.k.put(self.ptr + CMSG32.size + 4 * given, struct.pack("<i", fds[given]))
            except GuestFault:
                break
            given += 1
        _close_all(fds[given:])
        if given:
            cmlen = CMSG32.size + 4 * given
            try:
                self.k.put(self.ptr, CMSG32.pack(cmlen, SOL_SOCKET, SCM_RIGHTS))
            except GuestFault:
                pass
            else:
                self._advance(cmlen)
        if given < len(fds) or (fds and fdmax <= 0):
            self.truncated = True

    def put_pidfd(self, data: bytes) -> None:
        """scm_pidfd_recv: the pidfd stays only if its message went in whole (and it may be the guest's)."""
        fd = struct.unpack_from("<i", data)[0]
        if fd >= fd_limit(self.k):
            os.close(fd)
            return
        self.put(SOL_SOCKET, SCM_PIDFD, data)
        if self.truncated:
            os.close(fd)

    def replay(self, raw: bytes) -> None:
        """Every message the host kernel wrote, in its order."""
        for level, type_, data in _host_cmsgs(raw):
            if (level, type_) == (SOL_SOCKET, SCM_RIGHTS):
                self.put_fds(_fds_in(level, type_, data))
            elif (level, type_) == (SOL_SOCKET, SCM_PIDFD) and len(data) >= 4:
                self.put_pidfd(data)
            else:
                self.put(level, type_, data)


def _discard(raw: bytes) -> None:
    """Close the descriptors in control messages the guest will never see."""
    for level, type_, data in _host_cmsgs(raw):
        _close_all(_fds_in(level, type_, data))


# -- msghdr --------------------------------------------------------------------------------------

@dataclass
class HostMsg:
    """One guest msghdr converted into a host msghdr at `host` (in a buffer of the caller's), with the
    host buffers it points to and what recvmsg must give back to the guest."""

    guest: int
    host: int
    name: int
    control: int
    controllen: int
    keep: tuple[object, ...]
    name_out: AddrOut | None = None
    control_in: ctypes.Array | None = None


def _iovecs(k: LinuxUser, iov: int, count: int, write: bool) -> ctypes.Array:
    """The guest's compat iovecs as the host's: EMSGSIZE past UIO_MAXIOV, EINVAL for a negative
    length, the total cut to MAX_RW_COUNT, each buffer rebased."""
    if count > UIO_MAXIOV:
        raise SyscallError(errno.EMSGSIZE)
    raw = k.get(iov, count * structs.IOVEC.size)
    out = (ctypes.c_uint64 * (2 * count or 1))()
    total = 0
    for i in range(count):
        base, length = structs.IOVEC.unpack_from(raw, i * structs.IOVEC.size)
        if s32(length) < 0:
            raise SyscallError(errno.EINVAL)
        length = min(length, MAX_RW - total)
        total += length
        out[2 * i], out[2 * i + 1] = host_buf(k, base, length, write), length
    return out


def to_host(k: LinuxUser, addr: int, host: int, receiving: bool) -> HostMsg:
    """Read the guest msghdr at `addr` (__get_compat_msghdr's checks) and write the host's at `host`."""
    name, namelen, iov, iovlen, control, controllen, flags = MSGHDR32.unpack(k.get(addr, MSGHDR32.size))
    if not name:
        namelen = 0
    if namelen < 0:
        raise SyscallError(errno.EINVAL)
    namelen = min(namelen, SOCKADDR_MAX)
    vecs = _iovecs(k, iov, iovlen, write=receiving)
    msg = HostMsg(addr, host, name, control, controllen, (vecs,))
    if receiving:
        msg.name_out = AddrOut() if name else None
        host_name = msg.name_out.addr if msg.name_out and namelen else 0
        host_namelen = SOCKADDR_MAX if host_name else 0
        if control and controllen >= CMSG32.size:
            msg.control_in = ctypes.create_string_buffer(min(2 * controllen + 32, HOST_CONTROL_MAX))
        ctl = msg.control_in
        host_control, host_controllen = (ctypes.addressof(ctl), len(ctl)) if ctl is not None else (0, 0)
    else:
        host_name = host_sockaddr(k, name, namelen) if namelen else 0
        host_namelen = namelen
        data = _control_to_host(k, control, controllen)
        ctl = ctypes.create_string_buffer(data, max(len(data), 1))
        host_control, host_controllen = (ctypes.addressof(ctl) if data else 0), len(data)
        msg.keep = (vecs, ctl)
    MSGHDR64.pack_into((ctypes.c_char * MSGHDR64.size).from_address(host), 0, host_name, host_namelen,
                       ctypes.addressof(vecs), iovlen, host_control, host_controllen,
                       flags & ~MSG_CMSG_COMPAT & INT_MAX)
    return msg


def finish_recv(k: LinuxUser, msg: HostMsg) -> None:
    """After the host's recvmsg: control messages into the guest's buffer, then the sender's address,
    msg_flags and msg_controllen into its msghdr, in ____sys_recvmsg's order."""
    _, namelen, _, _, _, controllen, flags = MSGHDR64.unpack(ctypes.string_at(msg.host, MSGHDR64.size))
    out = ControlOut(k, msg.control, msg.controllen)
    if msg.control_in is not None:
        out.replay(msg.control_in.raw[:controllen])
    if msg.name_out is not None:
        msg.name_out.give(k, msg.name, msg.guest + OFF_NAMELEN, klen=namelen)
    flags |= MSG_CTRUNC if out.truncated else 0
    k.put(msg.guest + OFF_FLAGS, structs.U32.pack(flags & ~MSG_CMSG_COMPAT & INT_MAX))
    k.put(msg.guest + OFF_CONTROLLEN, structs.U32.pack(out.used))


def _received_control(msg: HostMsg) -> bytes:
    """The control messages the host wrote for `msg` (for descriptors to close)."""
    if msg.control_in is None:
        return b""
    controllen = MSGHDR64.unpack(ctypes.string_at(msg.host, MSGHDR64.size))[5]
    return msg.control_in.raw[:controllen]


# -- the syscalls --------------------------------------------------------------------------------

def sys_sendmsg(k: LinuxUser, fd: int, msg: int, flags: int) -> int:
    fd = k.fd(fd)
    hdr = ctypes.create_string_buffer(MSGHDR64.size)
    with socket_errors_first(k, fd):
        buffers = to_host(k, msg, ctypes.addressof(hdr), receiving=False)
    result = socket_io(k, fd, SO_SNDTIMEO, SYS_SENDMSG, fd, ctypes.addressof(hdr), flags & ~MSG_CMSG_COMPAT)
    del buffers                                 # the host buffers hdr points to lived until here
    return result


def sys_recvmsg(k: LinuxUser, fd: int, msg: int, flags: int) -> int:
    fd = k.fd(fd)
    hdr = ctypes.create_string_buffer(MSGHDR64.size)
    with socket_errors_first(k, fd):
        conv = to_host(k, msg, ctypes.addressof(hdr), receiving=True)
    n = socket_io(k, fd, SO_RCVTIMEO, SYS_RECVMSG, fd, ctypes.addressof(hdr), flags & ~MSG_CMSG_COMPAT)
    finish_recv(k, conv)
    return n


def _convert_vector(k: LinuxUser, mmsg: int, vlen: int, receiving: bool
                    ) -> tuple[ctypes.Array, list[HostMsg], Exception | None]:
    """The guest's mmsghdr array as the host's: the entries up to the first that cannot be converted
    (and that error), and none past the first whose msg_len cannot be stored (the kernel sends or
    receives that one, fails to store its length, and stops)."""
    vlen = min(vlen, UIO_MAXIOV)
    hdrs = ctypes.create_string_buffer(MMSG64 * vlen or 1)
    msgs: list[HostMsg] = []
    error: Exception | None = None
    for i in range(vlen):
        entry = mmsg + MMSG32 * i
        try:
            msgs.append(to_host(k, entry, ctypes.addressof(hdrs) + MMSG64 * i, receiving))
        except (SyscallError, GuestFault) as e:
            error = e
            break
        if not k.mem.check(entry + MSGHDR32.size, 4, write=True):
            break
    return hdrs, msgs, error


def _put_msg_len(k: LinuxUser, mmsg: int, hdrs: ctypes.Array, i: int) -> None:
    length = structs.U32.unpack_from(hdrs.raw, MMSG64 * i + MSGHDR64.size)[0]
    k.put(mmsg + MMSG32 * i + MSGHDR32.size, structs.U32.pack(length))


def sys_sendmmsg(k: LinuxUser, fd: int, mmsg: int, vlen: int, flags: int) -> int:
    """sendmmsg: how many were sent (and had their msg_len stored); an error only if none was."""
    fd = k.fd(fd)
    hdrs, msgs, error = _convert_vector(k, mmsg, vlen, receiving=False)
    if not msgs and error is not None:
        require_socket(k, fd)
        raise error
    sent = socket_io(k, fd, SO_SNDTIMEO, SYS_SENDMMSG, fd, ctypes.addressof(hdrs), len(msgs),
                     flags & ~MSG_CMSG_COMPAT)
    for i in range(sent):
        try:
            _put_msg_len(k, mmsg, hdrs, i)
        except GuestFault:
            if i == 0:
                raise
            return i
    return sent


def _recvmmsg(k: LinuxUser, fd: int, mmsg: int, vlen: int, flags: int, timeout: int,
              layout: struct.Struct) -> int:
    """recvmmsg with a timeout in `layout` (written back with the time left, if any arrived)."""
    ts = None
    if timeout:
        sec, nsec = layout.unpack(k.get(timeout, layout.size))
        nsec = nsec & 0xFFFFFFFF if layout is structs.TIMESPEC64 else s32(nsec)
        ts = (ctypes.c_int64 * 2)(sec, nsec)
    fd = k.fd(fd)
    hdrs, msgs, error = _convert_vector(k, mmsg, vlen, receiving=True)
    if not msgs and error is not None:
        require_socket(k, fd)
        raise error
    got = socket_io(k, fd, SO_RCVTIMEO, SYS_RECVMMSG, fd, ctypes.addressof(hdrs), len(msgs),
                    flags & ~MSG_CMSG_COMPAT, ctypes.addressof(ts) if ts is not None else 0)
    counted, failure = got, None
    for i in range(got):
        if failure is not None:
            _discard(_received_control(msgs[i]))    # natively never received: nothing of it installed
            continue
        try:
            finish_recv(k, msgs[i])
            _put_msg_len(k, mmsg, hdrs, i)
        except (SyscallError, GuestFault) as e:
            counted, failure = i, e
    if counted == 0 and failure is not None:
        raise failure
    if ts is not None and counted:
        sec, nsec = ts[0], ts[1]
        if layout is structs.TIMESPEC32:
            sec = s32(sec & 0xFFFFFFFF)
        k.put(timeout, layout.pack(sec, nsec))
    return counted


def sys_recvmmsg(k: LinuxUser, fd: int, mmsg: int, vlen: int, flags: int, timeout: int) -> int:
    """recvmmsg (337): the timeout is struct old_timespec32."""
    return _recvmmsg(k, fd, mmsg, vlen, flags, timeout, structs.TIMESPEC32)


def sys_recvmmsg_time64(k: LinuxUser, fd: int, mmsg: int, vlen: int, flags: int, timeout: int) -> int:
    """recvmmsg_time64 (417): the timeout is struct __kernel_timespec."""
    return _recvmmsg(k, fd, mmsg, vlen, flags, timeout, structs.TIMESPEC64)
