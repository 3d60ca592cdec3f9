"""One entry of the syscall table, kept apart from the table so that LinuxUser, which runs entries,
need not import the handlers, which take a LinuxUser."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Sys:
    """A syscall: number, name, handler, argument kinds for strace (see strace.py), result kind."""

    nr: int
    name: str
    handler: Callable[..., int]
    fmt: str
    ret: str = "d"
