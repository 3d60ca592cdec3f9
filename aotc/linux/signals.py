"""Guest signal dispositions, the blocked mask and the alternate stack, and signals sent to oneself.

Delivery to a guest handler is not implemented yet: such a signal is reported and kills the guest.
Job-control stop signals sent to oneself are ignored (aotc does not stop itself).
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, field

from aotc.linux.errors import GuestKilled

NSIG = 64
SIG_DFL = 0
SIG_IGN = 1
SS_DISABLE = 2
SIGKILL = int(signal.SIGKILL)
SIGSTOP = int(signal.SIGSTOP)

DEFAULT_IGNORED = frozenset(int(s) for s in (signal.SIGCHLD, signal.SIGCONT, signal.SIGURG,
                                              signal.SIGWINCH))
DEFAULT_STOP = frozenset(int(s) for s in (signal.SIGSTOP, signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU))


@dataclass
class SigAction:
    """One signal's disposition as the guest set it (i386 kernel sigaction fields)."""

    handler: int = SIG_DFL
    flags: int = 0
    restorer: int = 0
    mask: int = 0


@dataclass
class SignalState:
    """The guest's dispositions, blocked mask and sigaltstack."""

    actions: dict[int, SigAction] = field(default_factory=dict)
    blocked: int = 0
    altstack: tuple[int, int, int] = (0, SS_DISABLE, 0)
    pending: int = 0
    undelivered: list[int] = field(default_factory=list)
    """Signals that had a guest handler aotc could not run."""

    def action(self, signo: int) -> SigAction:
        return self.actions.get(signo, SigAction())

    def raise_self(self, signo: int) -> None:
        """Apply a signal sent to the guest itself: keep it pending while blocked, ignore it, or raise
        GuestKilled."""
        if self.blocked & (1 << (signo - 1)) and signo not in (SIGKILL, SIGSTOP):
            self.pending |= 1 << (signo - 1)
            return
        act = self.action(signo)
        if signo not in (SIGKILL, SIGSTOP) and act.handler == SIG_IGN:
            return
        if act.handler == SIG_DFL or signo in (SIGKILL, SIGSTOP):
            if signo in DEFAULT_IGNORED or signo in DEFAULT_STOP:
                return
            raise GuestKilled(signo)
        self.undelivered.append(signo)
        raise GuestKilled(signo, "the guest has a handler, but signal delivery is not implemented yet")

    def set_blocked(self, mask: int) -> None:
        """Change the blocked mask, then act on the pending signals it unblocks (lowest first)."""
        self.blocked = mask
        ready = self.pending & ~mask
        self.pending &= mask
        for signo in range(1, NSIG + 1):
            if ready & (1 << (signo - 1)):
                self.raise_self(signo)
