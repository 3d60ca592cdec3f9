"""i386 layouts of the kernel structures syscalls read and write (sizes as the i386 kernel has them)."""

from __future__ import annotations

import os
import struct

STAT64 = struct.Struct("<Q4xIIIIIQ4xqIQIIIIIIQ")   # struct stat64, 96 bytes
TIMESPEC32 = struct.Struct("<iI")                  # struct old_timespec32
TIMESPEC64 = struct.Struct("<qq")                  # struct __kernel_timespec
TIMEVAL = struct.Struct("<ii")
TIMEZONE = struct.Struct("<ii")
RLIMIT32 = struct.Struct("<II")
RLIMIT64 = struct.Struct("<QQ")
RUSAGE = struct.Struct("<4i14i")                   # two timevals, fourteen longs: 72 bytes
TMS = struct.Struct("<4i")
SYSINFO = struct.Struct("<i3I6IHH2II8x")           # 64 bytes
SIGACTION = struct.Struct("<IIIQ")                 # kernel sigaction: handler, flags, restorer, mask
USER_DESC = struct.Struct("<IIII")                 # entry_number, base_addr, limit, flag bits
STACK_T = struct.Struct("<IiI")                    # ss_sp, ss_flags, ss_size
IOVEC = struct.Struct("<II")
U32 = struct.Struct("<I")
U64 = struct.Struct("<Q")
UTSNAME_FIELD = 65


def s32(v: int) -> int:
    """A 32-bit register value as the signed int it stands for (fds, pids, offsets, clock ids)."""
    return v - (1 << 32) if v & 0x80000000 else v


def _split_ns(ns: int) -> tuple[int, int]:
    return (ns // 1_000_000_000) & 0xFFFFFFFF, ns % 1_000_000_000


def pack_stat64(st: os.stat_result) -> bytes:
    """A host stat result as the i386 struct stat64."""
    return STAT64.pack(
        st.st_dev, st.st_ino & 0xFFFFFFFF, st.st_mode, st.st_nlink, st.st_uid, st.st_gid, st.st_rdev,
        st.st_size, st.st_blksize, st.st_blocks,
        *_split_ns(st.st_atime_ns), *_split_ns(st.st_mtime_ns), *_split_ns(st.st_ctime_ns),
        st.st_ino)


def pack_utsname(fields: list[bytes]) -> bytes:
    """struct new_utsname: six NUL-padded 65-byte strings."""
    return b"".join(f[:UTSNAME_FIELD - 1].ljust(UTSNAME_FIELD, b"\0") for f in fields)
