"""The cache is the user's alone: aotc creates it private (0700) and refuses, with one `aotc:` line and
a non-zero status, a cache directory, tb.lmdb or file in it that another user owns or could write.

Tests run as root, who owns everything: "another user" is uid 65534 (nobody), set with chown."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import REPO, aotc_command, guest_env, run_native

from aotc.persist.db import ENV_NAME, CacheDB
from aotc.persist.secure import UnsafeCache, check_cache, make_private_dir

HELLO = REPO / "build" / "examples" / "hello"
NOBODY = 65534


@pytest.fixture(scope="module")
def hello() -> Path:
    """The example guest, built as tools/setup.sh builds it if it is not there yet."""
    if not HELLO.exists():
        HELLO.parent.mkdir(parents=True, exist_ok=True)
        source = REPO / "examples" / "hello.c"
        subprocess.run(["gcc", "-m32", "-static", "-O2", "-o", str(HELLO), str(source)], check=True)
    return HELLO


def chown_to_nobody(path: Path) -> None:
    """Give `path` (not what a symlink points to) to another user; only root can."""
    if os.geteuid() != 0:
        pytest.skip("giving a file to another user needs root")
    os.lchown(path, NOBODY, NOBODY)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def filled_cache(tmp_path: Path) -> Path:
    """A cache directory as aotc leaves it: 0700, with tb.lmdb holding data.mdb, lock.mdb and good."""
    cache = tmp_path / "cache"
    CacheDB(cache).close()
    assert {p.name for p in (cache / ENV_NAME).iterdir()} >= {"data.mdb", "lock.mdb", "good"}
    return cache


def refusal(cache: Path) -> str:
    """check_cache's message for `cache`, which must be one line."""
    with pytest.raises(UnsafeCache) as caught:
        check_cache(cache, cache / ENV_NAME)
    message = str(caught.value)
    assert "\n" not in message
    return message


# -- creating the cache private ---------------------------------------------------------------------


@pytest.mark.parametrize("umask", [0o000, 0o002, 0o022])
def test_created_private_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    """The cache directory and tb.lmdb are 0700 even with umask 0; the parents made on the way get the
    usual modes."""
    cache = tmp_path / "parent" / "cache"
    old = os.umask(umask)
    try:
        CacheDB(cache).close()
    finally:
        os.umask(old)
    assert mode(cache) == mode(cache / ENV_NAME) == 0o700
    assert mode(cache.parent) == 0o777 & ~umask


def test_created_usable_under_a_narrowing_umask(tmp_path: Path) -> None:
    """A umask that takes the owner's own bits away cannot leave the directory unusable to us."""
    old = os.umask(0o277)
    try:
        make_private_dir(tmp_path / "cache")
    finally:
        os.umask(old)
    assert mode(tmp_path / "cache") == 0o700


def test_existing_directory_keeps_its_mode(tmp_path: Path) -> None:
    """A cache directory that is already there (like the checkout's cache/, 0755 from git) is not
    chmod-ed, and being readable by others is fine."""
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o755)
    cache.chmod(0o755)
    make_private_dir(cache)
    assert mode(cache) == 0o755
    CacheDB(cache).close()
    check_cache(cache, cache / ENV_NAME)


# -- what is refused -------------------------------------------------------------------------------


def owned_dir(cache: Path) -> Path:
    chown_to_nobody(cache)
    return cache


def owned_env(cache: Path) -> Path:
    chown_to_nobody(cache / ENV_NAME)
    return cache / ENV_NAME


def owned_file(cache: Path) -> Path:
    chown_to_nobody(cache / ENV_NAME / "data.mdb")
    return cache / ENV_NAME / "data.mdb"


@pytest.mark.parametrize("give_away", [owned_dir, owned_env, owned_file])
def test_owned_by_another_user_is_refused(tmp_path: Path, give_away: Callable[[Path], Path]) -> None:
    cache = filled_cache(tmp_path)
    path = give_away(cache)
    assert refusal(cache) == (f"translation cache {path}: owned by uid {NOBODY}, not you "
                              f"(uid {os.geteuid()}); use a cache of your own (--cache DIR)")


@pytest.mark.parametrize(("where", "bits"), [("", 0o770), ("", 0o707), (ENV_NAME, 0o770), (ENV_NAME, 0o757),
                                             (f"{ENV_NAME}/data.mdb", 0o666), (f"{ENV_NAME}/good", 0o646),
                                             (f"{ENV_NAME}/lock.mdb", 0o664)])
def test_writable_by_others_is_refused(tmp_path: Path, where: str, bits: int) -> None:
    cache = filled_cache(tmp_path)
    path = cache / where if where else cache
    path.chmod(bits)
    assert refusal(cache) == (f"translation cache {path}: writable by group or others (mode {bits:04o}); "
                              f"fix it with chmod go-w {path}")
    subprocess.run(["chmod", "go-w", str(path)], check=True)
    check_cache(cache, cache / ENV_NAME)   # the fix the message gives is enough


def test_symlink_inside_is_refused(tmp_path: Path) -> None:
    """Even a symlink to a file of our own: nothing in tb.lmdb is a link."""
    cache = filled_cache(tmp_path)
    mine = tmp_path / "mine"
    mine.write_bytes(b"")
    (cache / ENV_NAME / "extra").symlink_to(mine)
    assert refusal(cache) == (f"translation cache {cache / ENV_NAME / 'extra'}: a symbolic link, "
                              "not the cache's own file; remove it")


def test_symlinked_env_dir_is_refused(tmp_path: Path) -> None:
    cache = filled_cache(tmp_path)
    (cache / ENV_NAME).rename(tmp_path / "elsewhere")
    (cache / ENV_NAME).symlink_to(tmp_path / "elsewhere")
    assert "a symbolic link" in refusal(cache)


def test_symlinked_cache_dir_is_judged_by_its_target(tmp_path: Path) -> None:
    """A symlink as the cache directory is fine when it and its target are safe; not when the target is
    writable by others (the fix names the target), nor when another user owns the link itself."""
    target = filled_cache(tmp_path)
    link = tmp_path / "link"
    link.symlink_to(target)
    check_cache(link, link / ENV_NAME)
    target.chmod(0o777)
    assert refusal(link) == (f"translation cache {link}: points to a directory writable by group or others "
                             f"(mode 0777); fix it with chmod go-w {target}")
    target.chmod(0o700)
    chown_to_nobody(link)
    assert refusal(link).startswith(f"translation cache {link}: a symbolic link owned by uid {NOBODY}")


def test_unsafe_directory_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    """CacheDB raises UnsafeCache rather than degrading to 'no cache', and creates nothing in it."""
    cache = tmp_path / "cache"
    cache.mkdir()
    cache.chmod(0o777)
    with pytest.raises(UnsafeCache):
        CacheDB(cache)
    assert list(cache.iterdir()) == []


# -- end to end: aotc run / warm / inspect / cache ---------------------------------------------------


Proc = subprocess.CompletedProcess


def aotc(*args: str, cwd: Path) -> Proc:
    """aotc with ARGS, as tests/persist/test_cache.py runs it."""
    env = guest_env({"PYTHONPATH": str(REPO)})
    return subprocess.run([*aotc_command(), *args], capture_output=True, env=env, cwd=cwd, timeout=600)


def run_stats(hello: Path, cache: Path, tmp_path: Path, name: str) -> tuple[Proc, dict]:
    """`aotc run --cache CACHE --stats` of hello: the process, and the stats ({} if none were written)."""
    stats = tmp_path / f"{name}.json"
    proc = aotc("run", "--cache", str(cache), "--stats", str(stats), str(hello), cwd=tmp_path)
    return proc, json.loads(stats.read_text()) if stats.exists() else {}


def test_safe_cache_is_used(hello: Path, tmp_path: Path) -> None:
    """A fresh cache (nested, not there yet) is created private and the second run loads from it."""
    native = run_native(hello)
    cache = tmp_path / "new" / "cache"
    first, cold = run_stats(hello, cache, tmp_path, "cold")
    second, warm = run_stats(hello, cache, tmp_path, "warm")
    for proc in (first, second):
        assert (proc.returncode, proc.stdout, proc.stderr) == (native.returncode, native.stdout, b"")
    assert mode(cache) == mode(cache / ENV_NAME) == 0o700
    assert cold["tbs_from_cache"] == 0 and warm["tbs_from_cache"] > 0 and warm["tbs_translated"] == 0


def test_checkout_style_cache_dir_is_used(hello: Path, tmp_path: Path) -> None:
    """A 0755 cache directory, as git makes the checkout's cache/, works as before."""
    cache = tmp_path / "cache"
    cache.mkdir()
    cache.chmod(0o755)
    run_stats(hello, cache, tmp_path, "cold")
    proc, warm = run_stats(hello, cache, tmp_path, "warm")
    assert (proc.returncode, proc.stdout) == (0, run_native(hello).stdout)
    assert warm["tbs_from_cache"] > 0


def test_cache_made_under_umask_0_is_used_again(hello: Path, tmp_path: Path) -> None:
    """A cache made by a run under umask 0 (a guest may set it, too) is the user's alone, so it is used."""
    cache = tmp_path / "cache"
    stats = tmp_path / "cold.json"
    argv = [*aotc_command(), "run", "--cache", str(cache), "--stats", str(stats), str(hello)]
    subprocess.run(argv, capture_output=True, env=guest_env(), cwd=tmp_path, timeout=600,
                   preexec_fn=lambda: os.umask(0), check=True)
    proc, warm = run_stats(hello, cache, tmp_path, "warm")
    assert (proc.returncode, proc.stderr) == (0, b"")
    assert warm["tbs_from_cache"] > 0


def others_can_write(cache: Path) -> tuple[Path, str]:
    cache.chmod(0o770)
    return cache, "writable by group or others"


def owned_by_nobody(cache: Path) -> tuple[Path, str]:
    chown_to_nobody(cache / ENV_NAME)
    return cache / ENV_NAME, f"owned by uid {NOBODY}, not you"


def data_writable(cache: Path) -> tuple[Path, str]:
    (cache / ENV_NAME / "data.mdb").chmod(0o666)
    return cache / ENV_NAME / "data.mdb", "writable by group or others"


def symlink_inside(cache: Path) -> tuple[Path, str]:
    (cache / ENV_NAME / "good").unlink()
    (cache / ENV_NAME / "good").symlink_to(cache / ENV_NAME / "lock.mdb")
    return cache / ENV_NAME / "good", "a symbolic link"


def assert_refused(proc: Proc, path: Path, why: str) -> None:
    """Status 1, nothing on stdout, one `aotc:` line on stderr naming the path and the reason."""
    line = proc.stderr.decode()
    assert (proc.returncode, proc.stdout) == (1, b""), line
    assert line.startswith(f"aotc: translation cache {path}: {why}") and line.count("\n") == 1, line


@pytest.mark.parametrize("spoil", [others_can_write, owned_by_nobody, data_writable, symlink_inside])
def test_run_refuses_unsafe_cache(hello: Path, tmp_path: Path,
                                  spoil: Callable[[Path], tuple[Path, str]]) -> None:
    """The guest does not run at all: what it would print natively is not there."""
    cache = tmp_path / "cache"
    filled = aotc("run", "--cache", str(cache), str(hello), cwd=tmp_path)
    assert (filled.returncode, filled.stdout) == (0, run_native(hello).stdout)
    path, why = spoil(cache)
    assert_refused(aotc("run", "--cache", str(cache), str(hello), cwd=tmp_path), path, why)


@pytest.mark.parametrize("command", [["warm", "HELLO"], ["inspect"], ["cache", "stats"], ["cache", "clear"]])
def test_every_command_refuses_unsafe_cache(hello: Path, tmp_path: Path, command: list[str]) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    cache.chmod(0o707)
    args = [str(hello) if arg == "HELLO" else arg for arg in command]
    assert_refused(aotc(*args, "--cache", str(cache), cwd=tmp_path), cache, "writable by group or others")
    assert list(cache.iterdir()) == []


def test_no_cache_run_ignores_unsafe_default(hello: Path, tmp_path: Path) -> None:
    """--no-cache opens no cache, so an unsafe $AOTC_CACHE does not matter to it."""
    cache = tmp_path / "cache"
    cache.mkdir()
    cache.chmod(0o777)
    env = guest_env({"AOTC_CACHE": str(cache)})
    proc = subprocess.run([*aotc_command(), "run", "--no-cache", str(hello)], capture_output=True, env=env,
                          cwd=tmp_path, timeout=600)
    native = run_native(hello)
    assert (proc.returncode, proc.stdout, proc.stderr) == (native.returncode, native.stdout, b"")
    assert list(cache.iterdir()) == []
