"""Linux user-mode emulation for i386 guests: the syscall table and the process state behind it
(LinuxUser, in aotc.linux.user). The package itself exports only the exceptions, so that its modules
can import one another through it without a cycle."""

from aotc.linux.errors import GuestExit, GuestKilled, SyscallError

__all__ = ["GuestExit", "GuestKilled", "SyscallError"]
