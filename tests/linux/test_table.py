"""The syscall table against the i386 kernel headers, and each handler's arity against its strace format."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from aotc.linux.syscalls import SYSCALLS

HEADER = Path("/usr/include/asm/unistd_32.h")
REQUIRED = {
    "exit", "exit_group", "getpid", "getppid", "gettid", "getuid", "geteuid", "getgid", "getegid",
    "getuid32", "geteuid32", "getgid32", "getegid32", "getresuid32", "getresgid32", "getpgrp", "kill",
    "tgkill", "tkill", "set_tid_address", "set_robust_list", "prlimit64", "ugetrlimit", "getrlimit", "brk",
    "mmap2", "mmap", "munmap", "mprotect", "mremap", "madvise", "read", "write", "readv", "writev", "open",
    "openat", "creat", "close", "lseek", "_llseek", "pread64", "pwrite64", "dup", "dup2", "dup3", "pipe",
    "pipe2", "fcntl64", "ioctl", "fstat64", "stat64", "lstat64", "fstatat64", "statx", "access",
    "faccessat", "faccessat2", "getcwd", "chdir", "fchdir", "mkdir", "rmdir", "unlink", "unlinkat",
    "rename", "renameat", "readlink", "readlinkat", "getdents64", "time", "gettimeofday", "clock_gettime",
    "clock_gettime64", "clock_getres", "nanosleep", "clock_nanosleep", "clock_nanosleep_time64",
    "getrandom", "uname", "set_thread_area", "rt_sigaction", "rt_sigprocmask", "sigaltstack",
    "sched_getaffinity", "sched_yield", "getrusage", "times", "umask", "fsync", "fdatasync",
    "ftruncate64", "sysinfo",
}


@pytest.fixture(scope="module")
def header_numbers() -> dict[str, int]:
    if not HEADER.exists():
        pytest.skip("no i386 kernel headers")
    return {m[0]: int(m[1]) for m in re.findall(r"#define __NR_(\w+)\s+(\d+)", HEADER.read_text())}


def test_numbers_match_the_kernel_header(header_numbers: dict[str, int]) -> None:
    for nr, entry in SYSCALLS.items():
        assert header_numbers.get(entry.name) == nr, entry.name


def test_required_syscalls_present() -> None:
    names = {e.name for e in SYSCALLS.values()}
    assert REQUIRED - names == set()


def test_handler_arity_matches_format() -> None:
    for entry in SYSCALLS.values():
        params = list(inspect.signature(entry.handler).parameters)
        assert len(params) - 1 == len(entry.fmt), entry.name
        assert set(entry.fmt) <= set("duxops") and entry.ret in "duxop"
