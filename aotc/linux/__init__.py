"""Linux user-mode emulation for i386 guests: the syscall table and the process state behind it."""

from aotc.linux.errors import GuestExit, GuestKilled, SyscallError
from aotc.linux.user import LinuxUser

__all__ = ["GuestExit", "GuestKilled", "LinuxUser", "SyscallError"]
