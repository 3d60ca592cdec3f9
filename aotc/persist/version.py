"""The translator version: a hash of the source files that decide what a record holds (frontend, IR,
backend, guest layout, the engine's TB handling, the record format) and of the capstone version, so any
change to them (or to the decoder) makes old records unreachable. Changes elsewhere (linux-user, the
loader, the command line) keep the cache."""

from __future__ import annotations

import functools
import hashlib
import importlib.util
from pathlib import Path

VERSION_SIZE = 8
_PACKAGE = Path(__file__).resolve().parent.parent
_SOURCES = ("frontend", "ir", "backend", "guest", "exec/engine.py", "exec/pipeline.py", "exec/tb.py",
            "exec/hostsig.py", "exec/codebuf.py", "persist/record.py", "persist/version.py")


def _capstone_release() -> str:
    """The installed capstone's dist-info name (it carries the version), found without importing
    capstone or importlib.metadata: a run served from the cache needs neither."""
    spec = importlib.util.find_spec("capstone")
    if spec is None or spec.origin is None:
        return "capstone-missing"
    site = Path(spec.origin).parent.parent
    return " ".join(sorted(p.name for p in site.glob("capstone-*.dist-info"))) or "capstone-unknown"


@functools.cache
def translator_version() -> bytes:
    """VERSION_SIZE bytes naming this translator: blake2b over the paths and contents of _SOURCES."""
    h = hashlib.blake2b(digest_size=VERSION_SIZE)
    h.update(_capstone_release().encode())
    paths = (_PACKAGE / s for s in _SOURCES)
    for path in sorted(f for p in paths for f in ([p] if p.is_file() else p.rglob("*.py"))):
        h.update(str(path.relative_to(_PACKAGE)).encode() + b"\0")
        h.update(path.read_bytes())
    return h.digest()
