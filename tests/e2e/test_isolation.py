"""The guest's environment is not aotc's: the installed `aotc` (the sh launcher bin/aotc) runs Python in
isolated mode, so PYTHON* variables meant for a guest's Python cannot break aotc, while the guest gets
its environment exactly as given (order, odd names and values, no PWD added); and it records the
signals ignored on entry in AOTC_SIGIGN, which aotc takes out before the guest sees its environment."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import AOTC_SCRIPT, REPO, guest_env, run_aotc, run_native

from aotc.launch import aotc_argv, inherited_ignored

HERE = Path(__file__).resolve().parent
LAUNCHER = REPO / "bin" / "aotc"
PYTHON_VARS = {"PYTHONHOME": "/nonsense", "PYTHONPATH": "/nonsense", "PYTHONSTARTUP": "/nonsense",
               "PYTHONINSPECT": "1", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONSAFEPATH": "1"}
HUP = 1 << (signal.SIGHUP - 1)
PIPE = 1 << (signal.SIGPIPE - 1)
XFSZ = 1 << (signal.SIGXFSZ - 1)

needs_launcher = pytest.mark.skipif(not AOTC_SCRIPT.exists(), reason="aotc is not installed in .venv")


@pytest.fixture(scope="module")
def envdump(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("isolation") / "envdump"
    subprocess.run(["gcc", "-m32", "-static", "-O2", "-o", str(out), str(HERE / "envdump.c")], check=True)
    return out


def own_ignored() -> int:
    """This process's SigIgn mask, as /proc shows it."""
    status = Path("/proc/self/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("SigIgn:")).split()[1], 16)


def ignoring(*signos: int) -> Callable[[], None]:
    """A preexec_fn that leaves `signos` ignored in the child (it runs after subprocess restores SIGPIPE)."""
    def preexec() -> None:
        for signo in signos:
            signal.signal(signo, signal.SIG_IGN)
    return preexec


# -- PYTHON* variables: the guest's, not aotc's -----------------------------------------------------


@needs_launcher
def test_installed_launcher_is_bin_aotc() -> None:
    """The tests run the installed command: it must be the launcher of this checkout, not a stale copy."""
    assert AOTC_SCRIPT.read_bytes() == LAUNCHER.read_bytes()


def test_python_variables_break_a_plain_interpreter(envdump: Path) -> None:
    """Why isolation is needed: without -I, PYTHONHOME=/nonsense kills aotc before any of its code runs."""
    env = guest_env(PYTHON_VARS)
    proc = subprocess.run([sys.executable, "-m", "aotc.cli", "run", "--no-cache", str(envdump)],
                          capture_output=True, env=env, timeout=60)
    assert proc.returncode != 0 and b"encodings" in proc.stderr


@needs_launcher
def test_python_variables_reach_the_guest_untouched(envdump: Path) -> None:
    env = guest_env(PYTHON_VARS)
    native = run_native(envdump, env=env)
    assert native.stdout == "".join(f"{k}={v}\n" for k, v in PYTHON_VARS.items()).encode()
    under = run_aotc(envdump, env=env)
    assert (under.returncode, under.stdout, under.stderr) == (native.returncode, native.stdout, b"")


def test_reexec_command_is_isolated(envdump: Path) -> None:
    """aotc_argv(), how aotc re-executes itself, also ignores the guest's PYTHON* variables."""
    env = guest_env(PYTHON_VARS)
    native = run_native(envdump, env=env)
    proc = subprocess.run([*aotc_argv(), "run", "--no-cache", str(envdump)], capture_output=True, env=env,
                          timeout=300)
    assert (proc.returncode, proc.stdout, proc.stderr) == (native.returncode, native.stdout, b"")


def test_module_is_named_aotc() -> None:
    """`python -m aotc` is the command line, and says it is `aotc`."""
    proc = subprocess.run([*aotc_argv(), "--help"], capture_output=True, timeout=60)
    assert proc.returncode == 0 and b"Usage: aotc " in proc.stdout


@needs_launcher
@pytest.mark.parametrize("locale", [{}, {b"LC_CTYPE": b"C"}, {b"LANG": b"C.UTF-8"}])
def test_whole_environment_reaches_the_guest_as_given(envdump: Path, locale: dict[bytes, bytes]) -> None:
    """The launcher's shell would reorder the environment, add PWD and drop names it cannot hold, and
    Python sets LC_CTYPE=C.UTF-8 under a C locale; the guest must see none of that. Also the names the
    launcher's own shell code uses (path, key, mask)."""
    env = {**locale, b"PATH": os.environ.get("PATH", "/usr/bin:/bin").encode(), b"Zed": b"1", b"Alpha": b"2",
           b"x-y.z": b"not a shell name", b"QUOTES": b"it's \"q\" $HOME `id` \\ '\\''",
           b"LINES": b"a\nb\n", b"EMPTY": b"", b"BYTES": b"\xff\xfe caf\xc3\xa9",
           b"path": b"keep", b"key": b"keep", b"mask": b"keep",
           **{k.encode(): v.encode() for k, v in PYTHON_VARS.items()}}
    native = subprocess.run([str(envdump), ""], capture_output=True, env=env, timeout=60)
    assert native.returncode == len(env)
    under = subprocess.run([str(AOTC_SCRIPT), "run", "--no-cache", str(envdump), ""], capture_output=True,
                           env=env, timeout=300)
    assert (under.returncode, under.stdout, under.stderr) == (native.returncode, native.stdout, b"")


# -- signals ignored on entry ------------------------------------------------------------------------


@needs_launcher
def test_sigign_record_never_reaches_the_guest(envdump: Path) -> None:
    env = guest_env({"AOTC_OTHER": "mine"})
    native = subprocess.run([str(envdump)], capture_output=True, env=env, timeout=60,
                            preexec_fn=ignoring(signal.SIGHUP, signal.SIGPIPE))
    assert native.stdout == b"AOTC_OTHER=mine\n"
    under = subprocess.run([str(AOTC_SCRIPT), "run", "--no-cache", str(envdump)], capture_output=True,
                           env=env, timeout=300, preexec_fn=ignoring(signal.SIGHUP, signal.SIGPIPE))
    assert (under.returncode, under.stdout, under.stderr) == (native.returncode, native.stdout, b"")


# a stand-in for the venv's python, in Python: a shell would rebuild the environment it was given
FAKE_PYTHON = f"""#!{sys.executable} -I
import sys
from pathlib import Path
here = Path(sys.argv[0]).parent
(here / "args").write_bytes(b"".join(arg.encode() + b"\\0" for arg in sys.argv[1:]))
(here / "env").write_bytes(Path("/proc/self/environ").read_bytes())
"""


def fake_venv(where: Path, python: str = "python") -> Path:
    """A copy of the launcher next to a stand-in Python that writes down its arguments and environment."""
    where.mkdir(parents=True)
    shutil.copy(LAUNCHER, where / "aotc")
    (where / python).write_text(FAKE_PYTHON)
    (where / python).chmod(0o755)
    return where / "aotc"


def written(where: Path, name: str) -> list[bytes]:
    return (where / name).read_bytes().split(b"\0")[:-1]


@pytest.mark.parametrize("ignored", [(), (signal.SIGHUP, signal.SIGPIPE)])
def test_launcher_passes_arguments_environment_and_ignored_signals(tmp_path: Path, ignored: tuple) -> None:
    """The stand-in Python gets `-I -m aotc ARGS`, the environment entry for entry in its order, and last
    AOTC_SIGIGN: the mask the launcher was started with (which SIGPIPE is in only if the parent left it
    ignored; subprocess resets SIGPIPE and SIGXFSZ to default)."""
    launcher = fake_venv(tmp_path / "venv" / "bin")
    env = {"PATH": "/nonexistent", "Zed": "1", "Alpha": "2", "path": "keep", "AOTC_OTHER": "x y"}
    subprocess.run([str(launcher), "run", "a b", ""], env=env, check=True, timeout=60,
                   preexec_fn=ignoring(*ignored))
    assert written(launcher.parent, "args") == [b"-I", b"-m", b"aotc", b"run", b"a b", b""]
    expected = own_ignored() & ~(PIPE | XFSZ) | (HUP | PIPE if ignored else 0)
    assert written(launcher.parent, "env") == [f"{k}={v}".encode() for k, v in env.items()] + [
        f"AOTC_SIGIGN={expected:016x}".encode()]


def test_launcher_follows_a_symlink_to_its_python(tmp_path: Path) -> None:
    launcher = fake_venv(tmp_path / "venv" / "bin")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "aotc").symlink_to(launcher)
    subprocess.run([str(tmp_path / "elsewhere" / "aotc"), "--help"], env={}, check=True, timeout=60)
    assert written(launcher.parent, "args") == [b"-I", b"-m", b"aotc", b"--help"]


def test_launcher_without_a_python_beside_it_uses_python3(tmp_path: Path) -> None:
    launcher = fake_venv(tmp_path / "bin", python="python3")
    subprocess.run([str(launcher), "warm"], env={"PATH": str(launcher.parent)}, check=True, timeout=60)
    assert written(launcher.parent, "args") == [b"-I", b"-m", b"aotc", b"warm"]


@pytest.mark.parametrize("ignored", [(), (signal.SIGPIPE,)])
def test_ignored_pipe_reaches_inherited_ignored(tmp_path: Path, ignored: tuple) -> None:
    """Through the launcher into an isolated Python: inherited_ignored() has SIGPIPE exactly when the
    parent left it ignored (Python's own SIG_IGN does not count), and the record is gone from the
    environment afterwards."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shutil.copy(LAUNCHER, bin_dir / "aotc")
    probe = ("import os; from aotc.launch import inherited_ignored; "
             "print(inherited_ignored(), 'AOTC_SIGIGN' in os.environ)")
    (bin_dir / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" -I -c "{probe}"\n')
    (bin_dir / "python").chmod(0o755)
    proc = subprocess.run([str(bin_dir / "aotc")], capture_output=True, env=guest_env(), check=True,
                          timeout=60, preexec_fn=ignoring(*ignored))
    mask, present = proc.stdout.split()
    assert bool(int(mask) & PIPE) == bool(ignored)
    assert present == b"False"


def test_restore_given_environ_undoes_changes() -> None:
    """What was added to os.environ goes, what was changed comes back, the rest stays in its order; and
    the process's own environment (what a child gets) agrees."""
    probe = ("import os, subprocess; os.environ['ADDED'] = '1'; os.environ['CHANGED'] = 'new'; "
             "from aotc.launch import restore_given_environ; restore_given_environ(); "
             "print(list(os.environ.items()), flush=True); subprocess.run(['/usr/bin/env'])")
    env = {"PATH": "/usr/bin:/bin", "CHANGED": "old", "LC_ALL": "C", "B": "2"}
    proc = subprocess.run([sys.executable, "-I", "-c", probe], capture_output=True, env=env, check=True,
                          timeout=60, text=True)
    first, *child = proc.stdout.splitlines()
    assert first == str(list(env.items()))
    assert sorted(child) == sorted(f"{k}={v}" for k, v in env.items())


def test_inherited_ignored_takes_the_record(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AOTC_SIGIGN", "0000000000001001")
    assert inherited_ignored() == HUP | PIPE
    assert "AOTC_SIGIGN" not in os.environ


@pytest.mark.parametrize("record", [None, "", "not hex"])
def test_inherited_ignored_without_a_record(monkeypatch: pytest.MonkeyPatch, record: str | None) -> None:
    """No (usable) record, as under `python -m aotc`: this process's mask, less the SIGPIPE and SIGXFSZ
    that Python's start-up ignores itself."""
    if record is None:
        monkeypatch.delenv("AOTC_SIGIGN", raising=False)
    else:
        monkeypatch.setenv("AOTC_SIGIGN", record)
    old = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        assert own_ignored() & (HUP | PIPE) == HUP | PIPE
        assert inherited_ignored() == own_ignored() & ~(PIPE | XFSZ)
    finally:
        signal.signal(signal.SIGHUP, old)
    assert "AOTC_SIGIGN" not in os.environ
