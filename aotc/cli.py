"""The `aotc` command line (typer): `aotc run [options] PROGRAM [ARGS...]`."""

from __future__ import annotations

import os
import resource
import signal
import sys
import time
from pathlib import Path
from typing import Annotated, NoReturn

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Run 32-bit x86 Linux programs on x86-64 by dynamic binary translation.")

_RUN_SETTINGS = {"allow_interspersed_args": False, "ignore_unknown_options": True}


def fail(message: str, status: int = 1) -> NoReturn:
    """One line on stderr, a non-zero exit: how aotc reports bad input."""
    print(f"aotc: {message}", file=sys.stderr)
    raise SystemExit(status)


def die_by_signal(signo: int) -> NoReturn:
    """End aotc with the guest's fatal signal so the shell sees the same status as natively."""
    sys.stdout.flush()
    sys.stderr.flush()
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    signal.signal(signo, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signo])
    os.kill(os.getpid(), signo)
    os._exit(128 + signo)


@app.callback()
def main() -> None:
    """aotc: a dynamic binary translator for i386 Linux programs, with a persistent translation cache."""


@app.command(context_settings=_RUN_SETTINGS)
def run(
    program: Annotated[str, typer.Argument(help="The i386 Linux program to run.")],
    args: Annotated[list[str] | None, typer.Argument(help="Arguments passed to the guest.")] = None,
    cache: Annotated[Path | None, typer.Option("--cache", help="Translation cache directory.")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Run without the persistent cache.")] = False,
    stats: Annotated[Path | None, typer.Option("--stats", help="Write run statistics as JSON here.")] = None,
    debug: Annotated[str, typer.Option("-d", help="Log items: in_asm,op,op_opt,out_asm,exec.")] = "",
    logfile: Annotated[str | None, typer.Option("-D", help="Write the -d log to this file.")] = None,
    strace: Annotated[bool, typer.Option("--strace", help="Log every system call on stderr.")] = False,
) -> None:
    """Run PROGRAM under aotc; options come before PROGRAM, everything after it goes to the guest."""
    from aotc.exec.runner import GuestRun
    from aotc.loader import LoadError

    try:
        guest = GuestRun.start(program, [program, *(args or [])], debug, logfile, strace)
    except (LoadError, OSError, ValueError) as e:
        fail(str(e))
    t0 = time.perf_counter()
    outcome = guest.run()
    guest.stats.run_seconds = time.perf_counter() - t0
    if stats is not None:
        guest.stats.write(str(stats))
    guest.log.flush()
    if outcome.signo:
        die_by_signal(outcome.signo)
    sys.stdout.flush()
    raise SystemExit(outcome.status)


if __name__ == "__main__":
    app()
