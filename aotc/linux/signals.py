"""Guest signal dispositions, the blocked mask, pending signals and the alternate stack.

A signal the guest sends itself becomes pending; `LinuxUser.deliver_pending` hands pending signals to
their handlers on the way back from a syscall. A signal whose action is fatal kills at once (as
Linux's complete_signal does); an ignored one is dropped unless blocked. Job-control stop signals are
ignored (aotc does not stop itself).
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, field

from aotc.linux.errors import GuestKilled
from aotc.linux.sigframe import SS_DISABLE, SS_ONSTACK, SigInfo, altstack_flags

NSIG = 64
SIG_DFL = 0
SIG_IGN = 1
SIGKILL = int(signal.SIGKILL)
SIGSTOP = int(signal.SIGSTOP)
SA_NODEFER = 0x40000000
SA_RESETHAND = 0x80000000
MINSIGSTKSZ = 2048

DEFAULT_IGNORED = frozenset(int(s) for s in (signal.SIGCHLD, signal.SIGCONT, signal.SIGURG,
                                              signal.SIGWINCH))
DEFAULT_STOP = frozenset(int(s) for s in (signal.SIGSTOP, signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU))
UNBLOCKABLE = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1))


def sigbit(signo: int) -> int:
    return 1 << (signo - 1)


@dataclass
class SigAction:
    """One signal's disposition as the guest set it (i386 kernel sigaction fields)."""

    handler: int = SIG_DFL
    flags: int = 0
    restorer: int = 0
    mask: int = 0


@dataclass
class SignalState:
    """The guest's dispositions, blocked mask, pending signals (with their siginfo) and sigaltstack."""

    actions: dict[int, SigAction] = field(default_factory=dict)
    blocked: int = 0
    altstack: tuple[int, int, int] = (0, SS_DISABLE, 0)
    pending: dict[int, SigInfo] = field(default_factory=dict)

    def action(self, signo: int) -> SigAction:
        return self.actions.get(signo, SigAction())

    def set_action(self, signo: int, act: SigAction) -> None:
        """Install a disposition; a pending signal it makes ignored is discarded (as do_sigaction does)."""
        self.actions[signo] = act
        if signo in self.pending and self._ignored(signo):
            del self.pending[signo]

    def pending_mask(self) -> int:
        return sum(sigbit(s) for s in self.pending)

    def _ignored(self, signo: int) -> bool:
        handler = self.action(signo).handler
        return handler == SIG_IGN or (handler == SIG_DFL and signo in DEFAULT_IGNORED | DEFAULT_STOP)

    def _act_now(self, signo: int) -> bool:
        """Apply a deliverable signal's default action; True if a handler still has to run it."""
        if self._ignored(signo):
            return False
        if self.action(signo).handler == SIG_DFL:
            raise GuestKilled(signo)
        return True

    def raise_self(self, signo: int, info: SigInfo | None = None) -> None:
        """A signal the guest sent itself: pending (first siginfo kept), dropped if ignored and not
        blocked, or fatal at once."""
        if signo == SIGKILL:
            raise GuestKilled(signo)
        if signo == SIGSTOP:
            return
        if not self.blocked & sigbit(signo) and not self._act_now(signo):
            return
        self.pending.setdefault(signo, info or SigInfo(signo, 0))

    def set_blocked(self, mask: int) -> None:
        """Change the blocked mask; pending signals it unblocks take their action if not handled."""
        self.blocked = mask & ~UNBLOCKABLE
        for signo in sorted(self.pending):
            if not self.blocked & sigbit(signo) and not self._act_now(signo):
                del self.pending[signo]

    def dequeue(self) -> tuple[SigInfo, SigAction] | None:
        """The lowest deliverable pending signal that has a handler, taken off the pending set (others
        are dropped or kill on the way), or None."""
        for signo in sorted(self.pending):
            if self.blocked & sigbit(signo):
                continue
            info = self.pending.pop(signo)
            if self._act_now(signo):
                return info, self.action(signo)
        return None

    def handler_for_fault(self, signo: int) -> SigAction:
        """The handler a synchronous fault runs; GuestKilled when it is blocked, ignored or default
        (Linux forces the default action then)."""
        act = self.action(signo)
        if self.blocked & sigbit(signo) or act.handler in (SIG_DFL, SIG_IGN):
            raise GuestKilled(signo)
        return act

    def delivered(self, signo: int, act: SigAction) -> None:
        """After a handler's frame is set up: block sa_mask and the signal itself (unless SA_NODEFER),
        and go back to SIG_DFL for SA_RESETHAND."""
        mask = self.blocked | act.mask
        if not act.flags & SA_NODEFER:
            mask |= sigbit(signo)
        self.blocked = mask & ~UNBLOCKABLE
        if act.flags & SA_RESETHAND:
            self.actions[signo] = SigAction()

    def restore_altstack(self, sp: int, stack: tuple[int, int, int]) -> None:
        """rt_sigreturn's uc_stack: applied as sigaltstack would, errors ignored (as Linux does)."""
        if altstack_flags(sp, self.altstack) == SS_ONSTACK:
            return
        if stack[1] & SS_DISABLE:
            self.altstack = (0, SS_DISABLE, 0)
        elif stack[1] in (0, SS_ONSTACK) and stack[2] >= MINSIGSTKSZ:
            self.altstack = (stack[0], 0, stack[2])
