"""The guest's sysroot (`aotc run -L DIR`, $AOTC_LD_PREFIX, $QEMU_LD_PREFIX): QEMU's path() rule.

An absolute path the guest names is looked up under DIR first and falls back to the host's own path,
so a sysroot holding only the i386 libraries still sees the host's /tmp, /proc and home directories.
Relative paths are the guest's working directory's and are never redirected.
"""

from __future__ import annotations

import os

ENV_VARS = ("AOTC_LD_PREFIX", "QEMU_LD_PREFIX")


class Sysroot:
    """Where guest paths are looked up first; an empty root redirects nothing."""

    def __init__(self, root: str | bytes | None = None) -> None:
        root = os.fsencode(root or b"").rstrip(b"/")
        self.root = root

    @classmethod
    def from_option(cls, option: str | None) -> Sysroot:
        """-L DIR if given, else $AOTC_LD_PREFIX, else $QEMU_LD_PREFIX (so qemu set-ups carry over)."""
        if option is None:
            option = next((os.environ[v] for v in ENV_VARS if os.environ.get(v)), None)
        return cls(option)

    def __bool__(self) -> bool:
        return bool(self.root)

    def host_path(self, path: bytes) -> bytes:
        """The host path a guest path names: DIR + path when that exists (even as a dangling
        symlink), else the path itself."""
        if self.root and path.startswith(b"/"):
            inside = self.root + path
            if os.path.lexists(inside):
                return inside
        return path
