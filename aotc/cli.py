"""The `aotc` command line (typer): `aotc run [options] PROGRAM [ARGS...]`, `aotc warm PROGRAM...`,
`aotc inspect [PROGRAM] [--pc ADDR]`, `aotc cache stats|clear`."""

from __future__ import annotations

import os
import resource
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:
    from aotc.persist.db import CacheDB

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Run 32-bit x86 Linux programs on x86-64 by dynamic binary translation.")

cache_app = typer.Typer(no_args_is_help=True, help="Look after the persistent translation cache.")
app.add_typer(cache_app, name="cache")

_RUN_SETTINGS = {"allow_interspersed_args": False, "ignore_unknown_options": True}
_CACHE_HELP = "Translation cache directory (default: $AOTC_CACHE, the checkout's cache/, ~/.cache/aotc)."
CacheOption = Annotated[Path | None, typer.Option("--cache", help=_CACHE_HELP)]
_SYSROOT_HELP = ("Look the guest's absolute paths (its interpreter and libraries too) up under this "
                 "directory first (default: $AOTC_LD_PREFIX, else $QEMU_LD_PREFIX).")
SysrootOption = Annotated[str | None, typer.Option("-L", help=_SYSROOT_HELP)]


def fail(message: str, status: int = 1) -> NoReturn:
    """One line on stderr, a non-zero exit: how aotc reports bad input."""
    print(f"aotc: {message}", file=sys.stderr)
    raise SystemExit(status)


def die_by_signal(signo: int) -> NoReturn:
    """End aotc with the guest's fatal signal so the shell sees the same status as natively."""
    sys.stdout.flush()
    sys.stderr.flush()
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    from aotc.exec.hostsig import default_action  # raw: glibc refuses signals 32 and 33

    default_action(signo)
    os._exit(128 + signo)


def open_cache(option: Path | None) -> CacheDB:
    """The cache the commands other than `run` work on; one that is not the user's alone is refused."""
    from aotc.persist.db import CacheDB
    from aotc.persist.location import resolve_cache_dir
    from aotc.persist.secure import UnsafeCache

    try:
        return CacheDB(resolve_cache_dir(option))
    except UnsafeCache as e:
        fail(str(e))


@app.callback()
def main() -> None:
    """aotc: a dynamic binary translator for i386 Linux programs, with a persistent translation cache."""


@app.command(context_settings=_RUN_SETTINGS)
def run(
    program: Annotated[str, typer.Argument(help="The i386 Linux program to run.")],
    args: Annotated[list[str] | None, typer.Argument(help="Arguments passed to the guest.")] = None,
    cache: CacheOption = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Run without the persistent cache.")] = False,
    stats: Annotated[Path | None, typer.Option("--stats", help="Write run statistics as JSON here.")] = None,
    debug: Annotated[str, typer.Option("-d", help="Log items: in_asm,op,op_opt,out_asm,exec,unimp.")] = "",
    logfile: Annotated[str | None, typer.Option("-D", help="Write the -d log to this file.")] = None,
    strace: Annotated[bool, typer.Option("--strace", help="Log every system call on stderr.")] = False,
    sysroot: SysrootOption = None,
) -> None:
    """Run PROGRAM under aotc; options come before PROGRAM, everything after it goes to the guest."""
    from aotc.exec.runner import GuestRun
    from aotc.launch import inherited_ignored, restore_given_environ
    from aotc.loader import LoadError, Sysroot
    from aotc.persist.location import resolve_cache_dir
    from aotc.persist.secure import UnsafeCache

    restore_given_environ()         # the guest's environment, before the guest is loaded with it
    ignored = inherited_ignored()   # takes AOTC_SIGIGN out of the environment before the guest's is built
    cache_dir = None if no_cache else resolve_cache_dir(cache)
    try:
        guest = GuestRun.start(program, [program, *(args or [])], debug, logfile, strace, cache_dir,
                               ignored, Sysroot.from_option(sysroot))
    except (LoadError, OSError, ValueError, UnsafeCache) as e:
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


@app.command()
def warm(
    programs: Annotated[list[str], typer.Argument(help="The i386 Linux programs to translate.")],
    cache: CacheOption = None,
    sysroot: SysrootOption = None,
) -> None:
    """Translate PROGRAMs (and the interpreter and libraries each needs) into the cache ahead of time,
    without running them."""
    from aotc.loader import LoadError, Sysroot
    from aotc.persist.warm import warm_programs

    db = open_cache(cache)
    try:
        summary = warm_programs(programs, db, show_progress=sys.stderr.isatty(),
                                sysroot=Sysroot.from_option(sysroot))
    except (LoadError, OSError, ValueError) as e:
        fail(str(e))
    finally:
        db.close()
    print(f"warmed {summary.programs} program(s): {summary.blocks} blocks ({summary.translated} translated, "
          f"{summary.blocks - summary.translated} already cached), {summary.guest_bytes} guest bytes, "
          f"{summary.seconds:.2f} s")


@app.command()
def inspect(
    program: Annotated[str | None, typer.Argument(help="Only the blocks valid for this program.")] = None,
    pc: Annotated[str | None, typer.Option("--pc", help="Show one block in detail (hex address).")] = None,
    cache: CacheOption = None,
    sysroot: SysrootOption = None,
) -> None:
    """List the blocks the cache holds, or show one block's guest code, optimized IR and host code."""
    from aotc.loader import LoadError, Sysroot
    from aotc.persist.inspect import describe_block, list_blocks

    db = open_cache(cache)
    root = Sysroot.from_option(sysroot)
    try:
        if pc is None:
            list_blocks(db, program, sys.stdout, root)
        elif not describe_block(db, program, int(pc, 16), sys.stdout, root):
            fail(f"no cached block at {pc}")
    except (LoadError, OSError, ValueError) as e:
        fail(str(e))
    finally:
        db.close()


@cache_app.command("stats")
def cache_stats(cache: CacheOption = None) -> None:
    """Show where the cache is and how much it holds."""
    db = open_cache(cache)
    for key, value in db.stats().items():
        print(f"{key}: {value}")
    db.close()


@cache_app.command("clear")
def cache_clear(cache: CacheOption = None) -> None:
    """Delete every cached block."""
    db = open_cache(cache)
    db.clear()
    print(f"cleared {db.path}")
    db.close()


if __name__ == "__main__":
    app()
