"""Where the translation cache lives: --cache DIR, else $AOTC_CACHE, else the source checkout's
`cache/`, else $XDG_CACHE_HOME/aotc (~/.cache/aotc)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parent.parent.parent


def checkout_cache() -> Path | None:
    """The checkout's `cache/` directory when aotc runs from a source checkout, else None."""
    cache = _CHECKOUT / "cache"
    return cache if (_CHECKOUT / "pyproject.toml").is_file() and cache.is_dir() else None


def resolve_cache_dir(option: Path | None, env: Mapping[str, str] | None = None) -> Path:
    """The cache directory by the documented order of precedence."""
    env = os.environ if env is None else env
    if option is not None:
        return option
    if env.get("AOTC_CACHE"):
        return Path(env["AOTC_CACHE"])
    checkout = checkout_cache()
    if checkout is not None:
        return checkout
    xdg = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "aotc"
