"""Where aotc's own file descriptors live: a zone above every number the guest may ever use.

Guest descriptors are host descriptors, number for number, so the guest's first open returns what it
returns natively only if aotc holds no low number. aotc's descriptors in the guest's table (the `-D`
log; the cache lives in a thread with a table of its own, see aotc.persist.worker) are moved into
[start, start + RESERVE), close-on-exec, and the guest is shown an RLIMIT_NOFILE hard limit of at most
`start`: it can neither reach them by number (EBADF) nor be given one by the kernel. Where the host
lets aotc raise its own hard limit (root), the zone is put above the limit aotc was started with and
the guest sees that limit unchanged; elsewhere the zone is the top of the hard limit, and the guest
sees a hard limit RESERVE lower. A run with nothing to hide there claims no zone at all.
"""

from __future__ import annotations

import fcntl
import os
import resource
from dataclasses import dataclass

RESERVE = 16


@dataclass(frozen=True)
class FdZone:
    """aotc's descriptor zone and the RLIMIT_NOFILE the guest starts with."""

    start: int
    guest_limit: tuple[int, int]

    def hide(self, fd: int) -> int:
        """Move one of aotc's descriptors into the zone (close-on-exec); return its new number."""
        moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, self.start)
        os.close(fd)
        return moved

    def opener(self, path: str, flags: int) -> int:
        """An `open(opener=...)` that gives the file a descriptor in the zone."""
        return self.hide(os.open(path, flags, 0o666))


def claim(needed: bool = True) -> FdZone:
    """Reserve the zone: raise aotc's own soft limit to its hard one (so F_DUPFD may reach the zone)
    and, if the host allows, the hard limit RESERVE above where it was. A run that keeps no descriptor
    in the guest's table (no -D log) needs no zone, and the guest sees its limits as they are."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if not needed:
        return FdZone(hard, (soft, hard))
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard + RESERVE, hard + RESERVE))
        return FdZone(hard, (soft, hard))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        top = hard - RESERVE
        return FdZone(top, (min(soft, top), top))
