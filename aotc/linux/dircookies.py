"""Directory offsets as the guest sees them, per directory descriptor."""

from __future__ import annotations


class DirCookies:
    """Directory offsets as 31-bit cookies, for one directory fd.

    A 64-bit host process gets 64-bit ext4 hash offsets where an i386 process gets 32-bit ones, and
    i386 glibc's readdir fails with EOVERFLOW on an offset that does not fit: the guest sees cookies,
    and lseek on the fd turns a cookie back into the host offset.
    """

    def __init__(self, hides_fds: bool = False) -> None:
        self.hides_fds = hides_fds
        """A /proc fd directory: entries for aotc's own descriptors are left out."""
        self.to_host: dict[int, int] = {}
        self.to_guest: dict[int, int] = {}

    def cookie(self, host_off: int) -> int:
        if host_off not in self.to_guest:
            cookie = len(self.to_host) + 1
            self.to_guest[host_off] = cookie
            self.to_host[cookie] = host_off
        return self.to_guest[host_off]

    def host_offset(self, cookie: int) -> int:
        return self.to_host.get(cookie, cookie)
