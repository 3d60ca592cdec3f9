"""The initial guest stack, laid out as Linux's create_elf_tables builds it for an i386 task.

From the top down: a 4-byte NULL end marker, the AT_EXECFN string, the envp strings, the argv strings
(so ascending memory holds argv[0] first); then, 16-byte aligned, the AT_PLATFORM string and the 16
AT_RANDOM bytes; then argc, argv[], NULL, envp[], NULL and the auxv pairs, with esp 16-byte aligned.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

from aotc.guest.cpumodel import HWCAP
from aotc.guest.memory import PROT_READ, PROT_WRITE, GuestMemory

STACK_TOP = 0xFFFDD000
STACK_SIZE = 8 << 20
PLATFORM = b"i686"

AT_NULL = 0
AT_PHDR = 3
AT_PHENT = 4
AT_PHNUM = 5
AT_PAGESZ = 6
AT_BASE = 7
AT_FLAGS = 8
AT_ENTRY = 9
AT_UID = 11
AT_EUID = 12
AT_GID = 13
AT_EGID = 14
AT_PLATFORM = 15
AT_HWCAP = 16
AT_CLKTCK = 17
AT_SECURE = 23
AT_RANDOM = 25
AT_EXECFN = 31

ELF32_PHENT = 32


@dataclass(frozen=True)
class ExecInfo:
    """What the auxiliary vector says about the program."""

    entry: int
    phdr: int
    phnum: int
    execfn: bytes
    base: int = 0        # where the interpreter is (AT_BASE); 0 without one


@dataclass(frozen=True)
class InitialStack:
    esp: int
    low: int
    top: int
    auxv: list[tuple[int, int]]
    args: tuple[int, int] = (0, 0)    # [start, end) of the argv strings (what /proc/PID/cmdline shows)
    env: tuple[int, int] = (0, 0)     # and of the environment strings (/proc/PID/environ)


def build_stack(mem: GuestMemory, argv: list[bytes], envp: list[bytes], info: ExecInfo) -> InitialStack:
    """Map the stack and write argc, argv, envp and auxv into it; return esp and the auxv written."""
    if sum(len(s) + 1 for s in (*argv, *envp, info.execfn)) > STACK_SIZE // 4:
        raise ValueError("argument list too long")
    low = STACK_TOP - STACK_SIZE
    mem.map(low, STACK_SIZE, PROT_READ | PROT_WRITE)
    p = STACK_TOP - 4

    def push_bytes(data: bytes) -> int:
        nonlocal p
        p -= len(data)
        mem.write(p, data)
        return p

    execfn_addr = push_bytes(info.execfn + b"\0")
    env_addrs = [push_bytes(s + b"\0") for s in reversed(envp)][::-1]
    arg_addrs = [push_bytes(s + b"\0") for s in reversed(argv)][::-1]
    env_start = env_addrs[0] if env_addrs else execfn_addr
    args, env = (p, env_start), (env_start, execfn_addr)
    p &= ~15
    platform_addr = push_bytes(PLATFORM + b"\0")
    random_addr = push_bytes(os.urandom(16))

    auxv = [
        (AT_HWCAP, HWCAP), (AT_PAGESZ, 4096), (AT_CLKTCK, 100),
        (AT_PHDR, info.phdr), (AT_PHENT, ELF32_PHENT), (AT_PHNUM, info.phnum),
        (AT_BASE, info.base), (AT_FLAGS, 0), (AT_ENTRY, info.entry),
        (AT_UID, os.getuid()), (AT_EUID, os.geteuid()), (AT_GID, os.getgid()), (AT_EGID, os.getegid()),
        (AT_SECURE, 0), (AT_RANDOM, random_addr), (AT_EXECFN, execfn_addr),
        (AT_PLATFORM, platform_addr), (AT_NULL, 0),
    ]
    words = [len(argv), *arg_addrs, 0, *env_addrs, 0, *(x for pair in auxv for x in pair)]
    esp = (p - 4 * len(words)) & ~15
    if esp < low:
        raise ValueError("argument list too long")
    mem.write(esp, struct.pack(f"<{len(words)}I", *(w & 0xFFFFFFFF for w in words)))
    return InitialStack(esp=esp, low=low, top=STACK_TOP, auxv=auxv, args=args, env=env)
