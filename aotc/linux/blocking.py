"""Blocking syscalls as the kernel runs them: a signal interrupts them, and then they restart or fail
with EINTR, as the kernel's -ERESTART* codes and the handler's SA_RESTART decide.

A blocking guest syscall runs as a raw host syscall through `Host.syscall`, which returns -EINTR when a
host signal interrupts it in the kernel and -NOT_STARTED when one arrived before it entered the kernel
(aotc.exec.hostsig). The signal is then taken into the guest's signal state: if
the guest ignores it, the call goes on as if nothing happened (the kernel never woke the task); if it
kills, the guest dies; if a handler of the guest's will run, the call ends with `Interrupted(kind)`,
and LinuxUser sets up the handler's frame with eax and eip as the kernel's handle_signal leaves them.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from aotc.linux.errors import SyscallError
from aotc.linux.interrupt import NOT_STARTED, Interrupted, Restart

if TYPE_CHECKING:
    from aotc.linux.user import LinuxUser


def blocking(k: LinuxUser, kind: Restart, nr: int, *args: int) -> int:
    """Run host syscall `nr` to completion through signals the guest does not handle; SyscallError
    for an error, Interrupted(kind) when a guest handler is to run."""
    while True:
        result = k.host.syscall(nr, *args)
        if result >= 0:
            return result
        if result == -NOT_STARTED:
            if k.handler_ready():
                raise Interrupted(Restart.NOINTR)     # it never ran: run it again after the handler
            continue
        if result != -errno.EINTR:
            raise SyscallError(-result)
        if k.handler_ready():
            raise Interrupted(kind)


def host_call(k: LinuxUser, nr: int, *args: int) -> int:
    """A host syscall that does not block: its result, SyscallError for -errno. One that a signal beat
    to the kernel runs anyway, the signal taken in for delivery after it (a call that cannot sleep
    finishes natively before the signal is delivered)."""
    result = k.host.syscall(nr, *args)
    while result == -NOT_STARTED:
        k.take_host_signals()
        result = k.host.syscall(nr, *args)
    if result < 0:
        raise SyscallError(-result)
    return result
