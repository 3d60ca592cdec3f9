"""Shared fixtures for the end-to-end tests: the guest binaries, and running a program natively or under aotc.

The oracle is always the same i386 binary run natively on this machine.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BUILD_DIR = REPO / "build"
AOTC_SCRIPT = REPO / ".venv" / "bin" / "aotc"
DEFAULT_TIMEOUT = 300.0


def _load_build_guests():
    """Import tools/build_guests.py (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location("build_guests", REPO / "tools" / "build_guests.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build_guests = _load_build_guests()


@dataclass(frozen=True)
class RunResult:
    """What a finished process left behind."""

    returncode: int
    stdout: bytes
    stderr: bytes


def aotc_command() -> list[str]:
    """The command line prefix that starts aotc: the installed script, else the module."""
    if AOTC_SCRIPT.exists():
        return [str(AOTC_SCRIPT)]
    return [sys.executable, "-m", "aotc.cli"]


def _aotc_env(env: Mapping[str, str] | None) -> dict[str, str]:
    """The environment for aotc itself: the guest's, plus PYTHONPATH when running from the source tree."""
    run_env = dict(env) if env is not None else guest_env()
    if not AOTC_SCRIPT.exists():
        run_env.setdefault("PYTHONPATH", str(REPO))
    return run_env


def _run(
    argv: Sequence[str], env: Mapping[str, str] | None, cwd: Path | None, timeout: float, stdin: bytes | None
) -> RunResult:
    """Run a command to completion with captured output and an explicit environment."""
    if cwd is None:
        cwd = BUILD_DIR / "run"  # never the repository tree: a crashing guest may leave a core file
        cwd.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        list(argv),
        input=stdin if stdin is not None else b"",
        capture_output=True,
        env=dict(env) if env is not None else guest_env(),
        cwd=cwd,
        timeout=timeout,
    )
    return RunResult(proc.returncode, proc.stdout, proc.stderr)


def guest_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A small deterministic environment for guests (plus `extra`)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"}
    env.update(extra or {})
    return env


def run_native(
    path: Path,
    args: Sequence[str] = (),
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 60.0,
    stdin: bytes | None = None,
) -> RunResult:
    """Run the i386 program natively: the oracle."""
    return _run([str(path), *args], env, cwd, timeout, stdin)


def run_aotc(
    path: Path,
    args: Sequence[str] = (),
    *,
    options: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    stdin: bytes | None = None,
) -> RunResult:
    """Run the program under `aotc run --no-cache [options]` (without --no-cache if options name a
    --cache)."""
    cache = [] if "--cache" in options else ["--no-cache"]
    argv = [*aotc_command(), "run", *cache, *options, str(path), *args]
    return _run(argv, _aotc_env(env), cwd, timeout, stdin)


@pytest.fixture(scope="session")
def guest_bins() -> dict[str, Path]:
    """Build every guest once per session; map '<name>-<opt>' to its binary."""
    built = build_guests.build_all(BUILD_DIR / "guests")
    return {path.name: path for path in built}


@pytest.fixture(scope="session")
def build_dir() -> Path:
    """The git-ignored directory for generated artifacts."""
    BUILD_DIR.mkdir(exist_ok=True)
    return BUILD_DIR


@pytest.fixture(scope="session")
def debian_package() -> Callable[[str], Path]:
    """Map a Debian package name to its i386 tree unpacked under build/debian/ by tools/debian_i386.py.

    tools/test.sh fetches the packages the tests use before pytest starts; a package missing here is
    fetched now, and one that cannot be fetched fails the test that asked for it (never a skip).
    """

    def unpacked(name: str) -> Path:
        tree = BUILD_DIR / "debian" / name
        if not tree.is_dir():  # the tool renames a tree into place only once it is complete
            tool = [sys.executable, str(REPO / "tools" / "debian_i386.py"), name]
            proc = subprocess.run(tool, capture_output=True, text=True)
            if proc.returncode != 0:
                pytest.fail(f"cannot fetch Debian package {name}: {proc.stderr.strip()}", pytrace=False)
        return tree

    return unpacked


@pytest.fixture(scope="session")
def debian_sysroot() -> Path:
    """build/debian/sysroot: the Debian i386 sysroot tools/debian_sysroot.py assembles from its PACKAGES
    (libc6, the programs tests/e2e/test_debian_dynamic.py runs and their libraries), with its own
    etc/ld.so.cache. tools/test.sh assembles it before pytest starts (and brings it up to date); missing
    here, or built from other packages, it is assembled now, and one that cannot be fails the test that
    asked for it (never a skip)."""
    spec = importlib.util.spec_from_file_location("debian_sysroot", REPO / "tools" / "debian_sysroot.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    root = BUILD_DIR / "debian" / "sysroot"
    built = tool.built_from(root) or {}
    if not set(tool.PACKAGES) <= set(built) or not (root / "etc" / "ld.so.cache").is_file():
        proc = subprocess.run([sys.executable, str(REPO / "tools" / "debian_sysroot.py")],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            pytest.fail(f"cannot assemble the Debian sysroot: {proc.stderr.strip()}", pytrace=False)
    return root
