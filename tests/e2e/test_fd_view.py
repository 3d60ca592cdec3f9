"""The guest's descriptors are its own: the same /proc/self/fd, fdinfo, open numbers, first free
descriptor and limits' behaviour as natively, with a cache and a -D log open in aotc; a guest that
closes and dup2s over every descriptor 3..1023 leaves aotc's cache working and its own files clean."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import aotc_command, guest_env

HERE = Path(__file__).resolve().parent
RESERVE = 16       # aotc.linux.fdzone.RESERVE: the descriptors above the guest's hard limit


@pytest.fixture(scope="module")
def fdview(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("fdview") / "fdview"
    subprocess.run(["gcc", "-m32", "-static", "-O2", "-o", str(out), str(HERE / "fdview.c")], check=True)
    return out


def run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """Run with one extra inherited descriptor (7, a file) besides 0, 1 and 2."""
    inherited = os.open(cwd / "inherited.txt", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        return subprocess.run(argv, capture_output=True, cwd=cwd, env=guest_env(), pass_fds=(7,),
                              timeout=300, preexec_fn=lambda: os.dup2(inherited, 7))
    finally:
        os.close(inherited)


def expected_limit(native_line: bytes) -> bytes:
    """The RLIMIT_NOFILE line aotc must print: the native one, or, where aotc may not raise its own
    hard limit to make room above it, a hard limit RESERVE lower (and the soft one no higher)."""
    soft, hard = (int(v) for v in native_line.split()[1:])
    try:
        probe = subprocess.run(["prlimit", f"--nofile={hard + 1}:{hard + 1}", "true"], capture_output=True)
        raisable = probe.returncode == 0
    except FileNotFoundError:
        raisable = False
    if raisable:
        return native_line
    return b"RLIMIT_NOFILE %d %d" % (min(soft, hard - RESERVE), hard - RESERVE)


@pytest.mark.parametrize(("clobber", "with_log"), ((False, True), (True, True), (False, False)),
                         ids=("view", "clobber", "view-without-log"))
def test_descriptors_as_natively_with_cache_and_log(fdview: Path, tmp_path: Path, clobber: bool,
                                                    with_log: bool) -> None:
    """With a -D log aotc keeps a descriptor in the guest's table (out of its reach); without one it
    keeps none, and even RLIMIT_NOFILE is the native one."""
    args = ["clobber"] if clobber else []
    native = run([str(fdview), *args], tmp_path)
    assert native.returncode == 0, native.stderr
    native_file = (tmp_path / "clobbered.txt").read_bytes() if clobber else b""
    cache, log, stats = tmp_path / "cache", tmp_path / "log.txt", tmp_path / "stats.json"
    for attempt in range(2):     # cold, then warm from the cache the first run (clobbered or not) left
        logging = ["-D", str(log), "-d", "in_asm"] if with_log else []
        under = run([*aotc_command(), "run", "--cache", str(cache), *logging, "--stats", str(stats),
                     str(fdview), *args], tmp_path)
        assert under.returncode == 0, under.stderr.decode(errors="replace")
        assert b"warning" not in under.stderr
        want = native.stdout.splitlines()
        got = under.stdout.splitlines()
        assert got[0] == (expected_limit(want[0]) if with_log else want[0])
        assert got[1:] == want[1:]
        if clobber:
            assert (tmp_path / "clobbered.txt").read_bytes() == native_file   # only the guest's writes
        if attempt == 1:
            assert json.loads(stats.read_text())["tbs_from_cache"] > 0
        elif with_log:           # the -D log was open all along, at a number the guest never saw
            assert b"IN:" in log.read_bytes()
