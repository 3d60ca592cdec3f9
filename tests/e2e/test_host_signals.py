"""Signals sent from outside to a guest spinning in chained code: handlers run with the sender's
siginfo, default actions kill with the same signal, ignored and blocked signals behave as natively,
job-control stops stop, and Ctrl-C (SIGINT to the process group) stops it."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import aotc_command, guest_env

HERE = Path(__file__).resolve().parent
S = signal.Signals


def name(signo: int) -> str:
    """SIGTERM, or SIG37 for a real-time signal (or one of glibc's, 32 and 33)."""
    return signal.Signals(signo).name if signo < 32 else f"SIG{int(signo)}"


HANDLED = (S.SIGTERM, S.SIGINT, S.SIGHUP, S.SIGQUIT, S.SIGUSR1, S.SIGUSR2, S.SIGALRM, S.SIGCHLD, S.SIGPIPE,
           S.SIGWINCH, S.SIGCONT, S.SIGURG, S.SIGXCPU, S.SIGVTALRM, S.SIGPROF, S.SIGTSTP, S.SIGSEGV,
           S.SIGBUS, S.SIGFPE, S.SIGILL, S.SIGTRAP, signal.SIGRTMIN + 3, signal.SIGRTMAX)



FATAL = (S.SIGTERM, S.SIGINT, S.SIGHUP, S.SIGUSR1, S.SIGUSR2, S.SIGALRM, S.SIGPIPE, S.SIGVTALRM, S.SIGPROF,
         S.SIGSEGV, 32, 33, S.SIGRTMIN + 1)   # 32 and 33: glibc keeps them for itself, aotc must not


@pytest.fixture(scope="module")
def spin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("spin") / "spin"
    subprocess.run(["gcc", "-m32", "-static", "-O2", "-o", str(out), str(HERE / "spin.c")], check=True)
    return out


def drive(argv: list[str], cwd: Path, sends: list[int], group: bool = False,
          between=None) -> tuple[bytes, int]:
    """Start argv in a process group of its own (whose parent, this process, is in another group of
    the session, so job control applies), wait for its "ready", send each signal (to its process group
    with `group`), and return what it printed and how it ended; `between(proc)` runs after the first
    signal."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=guest_env(),
                            cwd=cwd, process_group=0)
    try:
        first = proc.stdout.readline()
        assert first == b"ready\n", proc.stderr.read().decode(errors="replace")[-2000:]
        for i, signo in enumerate(sends):
            time.sleep(0.1)
            (os.killpg if group else os.kill)(proc.pid, signo)
            if i == 0 and between is not None:
                between(proc)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert err == b"", err.decode(errors="replace")       # aotc adds nothing to the guest's stderr
    return first + out, proc.returncode


def both(spin: Path, tmp_path: Path, args: list[str], sends: list[int], **kw) -> tuple[bytes, int]:
    """Native and aotc runs must agree; the native outcome is returned for the test's own checks."""
    native = drive([str(spin), *args], tmp_path, sends, **kw)
    under = drive([*aotc_command(), "run", "--no-cache", str(spin), *args], tmp_path, sends, **kw)
    assert under == native
    return native


@pytest.mark.parametrize("signo", HANDLED, ids=name)
def test_handler_gets_the_signal_and_its_sender(spin: Path, tmp_path: Path, signo: int) -> None:
    out, status = both(spin, tmp_path, ["handler", str(int(signo))], [signo])
    assert status == 0 and out.startswith(b"ready\ncaught %d code=0 from_parent=1 uid_ok=1" % signo)


@pytest.mark.parametrize("signo", FATAL, ids=name)
def test_default_action_kills_with_the_same_signal(spin: Path, tmp_path: Path, signo: int) -> None:
    _, status = both(spin, tmp_path, ["default", str(int(signo))], [signo])
    assert status == -signo


def test_ctrl_c_stops_a_spinning_guest(spin: Path, tmp_path: Path) -> None:
    _, status = both(spin, tmp_path, ["default", "0"], [signal.SIGINT], group=True)
    assert status == -signal.SIGINT


@pytest.mark.parametrize("signo", (S.SIGTERM, S.SIGINT, S.SIGCHLD, S.SIGWINCH, S.SIGURG))
def test_ignored_signal_is_ignored(spin: Path, tmp_path: Path, signo: int) -> None:
    out, status = both(spin, tmp_path, ["ignore", str(int(signo))], [signo, signal.SIGUSR1])
    assert status == 0 and b"caught 10 " in out


@pytest.mark.parametrize("signo", (S.SIGUSR2, S.SIGTERM, S.SIGRTMIN + 2))
def test_blocked_signal_waits_until_unblocked(spin: Path, tmp_path: Path, signo: int) -> None:
    out, status = both(spin, tmp_path, ["block", str(int(signo))], [signo, signal.SIGUSR1])
    assert status == 0
    assert out.endswith(b"pending while blocked: 1\ncaught %d code=0 from_parent=1 uid_ok=1\n" % signo)


def _stopped_then_continued(proc: subprocess.Popen) -> None:
    """The default action of SIGTSTP stops the process; SIGCONT lets it go on."""
    for _ in range(100):
        state = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        if state == "T":
            break
        time.sleep(0.05)
    assert state == "T"
    os.kill(proc.pid, signal.SIGCONT)


def test_stop_signal_stops_and_sigcont_resumes(spin: Path, tmp_path: Path) -> None:
    _, status = both(spin, tmp_path, ["default", "0"], [signal.SIGTSTP, signal.SIGTERM],
                     between=_stopped_then_continued)
    assert status == -signal.SIGTERM
