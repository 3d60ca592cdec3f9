"""The cache is the user's alone: its records are machine code that aotc runs, so, as ssh does with its
keys, aotc refuses a cache directory, LMDB directory or file in it that another user owns or could write."""

from __future__ import annotations

import os
import shlex
import stat
from pathlib import Path

PRIVATE_DIR_MODE = 0o700
_OTHERS_WRITE = stat.S_IWGRP | stat.S_IWOTH


class UnsafeCache(Exception):
    """A cache path that someone else owns or could write; the message is one line naming it and the fix."""


def make_private_dir(path: Path) -> None:
    """Create the directory `path` with mode 0700 whatever the umask (missing parents get the usual
    modes); one that exists is left as it is, for `check_cache` to judge."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.mkdir(path, PRIVATE_DIR_MODE)
    except FileExistsError:
        return
    os.chmod(path, PRIVATE_DIR_MODE)    # a umask like 0200 narrows it below what we need


def check_cache(directory: Path, env_dir: Path) -> None:
    """Raise UnsafeCache unless `directory`, `env_dir` (if it exists) and every entry of `env_dir` are
    owned by us (or root) and writable by nobody else. A symlink as `directory` is judged by its owner
    and its target; a symlink as `env_dir` or in it is refused."""
    st = os.lstat(directory)
    if stat.S_ISLNK(st.st_mode):
        _check_owner(directory, st, "a symbolic link ")
        st = os.stat(directory)
        _check_owner(directory, st, "points to a directory ")
        _check_mode(directory, st, "points to a directory ")
    else:
        _check_owner(directory, st)
        _check_mode(directory, st)
    try:
        st = os.lstat(env_dir)
    except FileNotFoundError:
        return
    _check_entry(env_dir, st)
    if stat.S_ISDIR(st.st_mode):
        for path in _entries(env_dir):
            try:
                _check_entry(path, os.lstat(path))
            except FileNotFoundError:
                continue        # another run's temporary file, renamed meanwhile


def _entries(env_dir: Path) -> list[Path]:
    """What `env_dir` holds; nothing if another run set it aside meanwhile (it rebuilds a damaged one)."""
    try:
        return list(env_dir.iterdir())
    except FileNotFoundError:
        return []


def _check_entry(path: Path, st: os.stat_result) -> None:
    if stat.S_ISLNK(st.st_mode):
        raise UnsafeCache(f"translation cache {path}: a symbolic link, not the cache's own file; remove it")
    _check_owner(path, st)
    _check_mode(path, st)


def _check_owner(path: Path, st: os.stat_result, what: str = "") -> None:
    me = os.geteuid()
    if st.st_uid not in (me, 0):
        raise UnsafeCache(f"translation cache {path}: {what}owned by uid {st.st_uid}, not you (uid {me}); "
                          "use a cache of your own (--cache DIR)")


def _check_mode(path: Path, st: os.stat_result, what: str = "") -> None:
    if st.st_mode & _OTHERS_WRITE:
        fix = f"chmod go-w {shlex.quote(os.path.realpath(path))}"
        raise UnsafeCache(f"translation cache {path}: {what}writable by group or others "
                          f"(mode {stat.S_IMODE(st.st_mode):04o}); fix it with {fix}")
