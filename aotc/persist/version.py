"""The translator version: a hash of aotc's own source files and the capstone version, so that any
change to the code that produced a record (or to the decoder) makes old records unreachable."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import capstone

VERSION_SIZE = 8
_PACKAGE = Path(__file__).resolve().parent.parent


@functools.cache
def translator_version() -> bytes:
    """VERSION_SIZE bytes naming this translator: blake2b over every aotc/*.py path and contents."""
    h = hashlib.blake2b(digest_size=VERSION_SIZE)
    h.update(capstone.__version__.encode())
    for path in sorted(_PACKAGE.rglob("*.py")):
        h.update(str(path.relative_to(_PACKAGE)).encode() + b"\0")
        h.update(path.read_bytes())
    return h.digest()
