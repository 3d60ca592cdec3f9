"""modify_ldt (123), as arch/x86/kernel/ldt.c answers it: entries made by fill_ldt() from a struct
user_desc into the process's LDT (aotc.linux.ldtable), reads that zero-fill up to the count asked
for, and an x86-64 kernel's 128 zero bytes of "default LDT".
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from aotc.guest.segments import UD_CONTENTS_SHIFT, UD_SEG_NOT_PRESENT, UD_USEABLE, encode_user_desc
from aotc.linux import structs
from aotc.linux.errors import SyscallError
from aotc.linux.ldtable import ENTRY_SIZE, LDT_ENTRIES

if TYPE_CHECKING:
    from aotc.linux.user import LinuxUser

DEFAULT_LDT_SIZE = 128
CONTENTS_CODE_CONFORMING = 3


def _read(k: LinuxUser, ptr: int, count: int) -> int:
    if k.ldt.size == 0:
        return 0
    count = min(count, LDT_ENTRIES * ENTRY_SIZE)
    k.put(ptr, k.ldt.table()[:count].ljust(count, b"\0"))
    return count


def _read_default(k: LinuxUser, ptr: int, count: int) -> int:
    count = min(count, DEFAULT_LDT_SIZE)
    k.put(ptr, bytes(count))
    return count


def _write(k: LinuxUser, ptr: int, count: int, oldmode: bool) -> int:
    if count != structs.USER_DESC.size:
        raise SyscallError(errno.EINVAL)
    entry, base, limit, flags = structs.USER_DESC.unpack(k.get(ptr, count))
    if entry >= LDT_ENTRIES:
        raise SyscallError(errno.EINVAL)
    conforming = flags >> UD_CONTENTS_SHIFT & 3 == CONTENTS_CODE_CONFORMING
    if conforming and (oldmode or not flags & UD_SEG_NOT_PRESENT):
        raise SyscallError(errno.EINVAL)
    if oldmode and base == 0 and limit == 0:
        desc = bytes(ENTRY_SIZE)
    else:
        desc = encode_user_desc(base, limit, flags & ~UD_USEABLE if oldmode else flags)
    k.ldt.entries[entry] = desc
    k.ldt.size = max(k.ldt.size, entry + 1)
    return 0


def sys_modify_ldt(k: LinuxUser, func: int, ptr: int, count: int) -> int:
    """modify_ldt: 0 read, 1 write (old mode), 2 read the default LDT, 0x11 write; else ENOSYS."""
    if func == 0:
        return _read(k, ptr, count)
    if func == 2:
        return _read_default(k, ptr, count)
    if func in (1, 0x11):
        return _write(k, ptr, count, func == 1)
    raise SyscallError(errno.ENOSYS)
