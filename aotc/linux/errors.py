"""The exceptions that leave a syscall: an errno for the guest, or the end of the guest process."""

from __future__ import annotations


class SyscallError(Exception):
    """A syscall fails with `errno`; the guest sees -errno in eax."""

    def __init__(self, errno: int) -> None:
        super().__init__(errno)
        self.errno = errno


class GuestExit(Exception):
    """The guest called exit or exit_group: aotc exits with `status`."""

    def __init__(self, status: int) -> None:
        super().__init__(f"guest exited with status {status}")
        self.status = status


class GuestKilled(Exception):
    """A signal's default action killed the guest: the dispatcher flushes and kills aotc with `signo`."""

    def __init__(self, signo: int, note: str = "") -> None:
        super().__init__(f"guest killed by signal {signo}" + (f" ({note})" if note else ""))
        self.signo = signo
        self.note = note
