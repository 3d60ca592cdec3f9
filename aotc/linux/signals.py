"""Guest signal dispositions, the blocked mask, pending signals and the alternate stack.

Every signal reaches the guest through the host: one the guest sends (kill, tgkill) is sent for real,
and aotc's host handler takes it like one from outside, with the siginfo the kernel made
(`receive`). Pending signals go to their handlers on the way back from a syscall or from generated
code. A signal whose action is fatal kills at once (as Linux's complete_signal does), an ignored one
is dropped unless blocked, and a job-control stop signal left at its default stops aotc itself.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from dataclasses import dataclass, field

from aotc.linux.errors import GuestKilled
from aotc.linux.sigframe import SS_DISABLE, SS_ONSTACK, SigInfo, altstack_flags

NSIG = 64
SIG_DFL = 0
SIG_IGN = 1
SIGKILL = int(signal.SIGKILL)
SIGSTOP = int(signal.SIGSTOP)
SA_RESTART = 0x10000000
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
    stop: Callable[[int], None] = lambda signo: None
    """Applies a stop signal's default action to aotc itself (the host kernel decides: it stops, or
    ignores the signal in an orphaned process group)."""

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
        return handler == SIG_IGN or (handler == SIG_DFL and signo in DEFAULT_IGNORED)

    def _act_now(self, signo: int) -> bool:
        """Apply a deliverable signal's default action; True if a handler still has to run it."""
        if self._ignored(signo):
            return False
        if self.action(signo).handler == SIG_DFL:
            if signo in DEFAULT_STOP:
                self.stop(signo)
                return False
            raise GuestKilled(signo)
        return True

    def receive(self, info: SigInfo) -> None:
        """A signal that arrived for the guest: pending (a standard signal already pending is not
        queued twice), dropped if ignored and not blocked, or fatal at once."""
        signo = info.signo
        if not self.blocked & sigbit(signo) and not self._act_now(signo):
            return
        self.pending.setdefault(signo, info)

    def handler_ready(self) -> bool:
        """Whether a pending signal is deliverable to a handler now (default actions of the others
        are applied on the way, as `dequeue` would)."""
        for signo in sorted(self.pending):
            if self.blocked & sigbit(signo):
                continue
            if self._act_now(signo):
                return True
            del self.pending[signo]
        return False

    def take(self, wanted: int) -> SigInfo | None:
        """The lowest pending signal in the mask `wanted`, taken off the pending set (sigtimedwait)."""
        for signo in sorted(self.pending):
            if wanted & sigbit(signo):
                return self.pending.pop(signo)
        return None

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
