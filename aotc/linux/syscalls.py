"""The i386 syscall table: number → name, handler, argument kinds for strace, result kind.

A handler takes the LinuxUser and as many raw 32-bit arguments as `fmt` has letters (see strace.py
for the letters) and returns the result, raising SyscallError (or OSError, GuestFault) for -errno.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aotc.linux import clock, fileio, mm, paths, proc


@dataclass(frozen=True)
class Sys:
    nr: int
    name: str
    handler: Callable[..., int]
    fmt: str
    ret: str = "d"


_TABLE = (
    Sys(1, "exit", proc.sys_exit, "d"),
    Sys(3, "read", fileio.sys_read, "dpu"),
    Sys(4, "write", fileio.sys_write, "dpu"),
    Sys(5, "open", fileio.sys_open, "sxo"),
    Sys(6, "close", fileio.sys_close, "d"),
    Sys(8, "creat", fileio.sys_creat, "so"),
    Sys(10, "unlink", paths.sys_unlink, "s"),
    Sys(12, "chdir", paths.sys_chdir, "s"),
    Sys(13, "time", clock.sys_time, "p"),
    Sys(19, "lseek", fileio.sys_lseek, "ddd"),
    Sys(20, "getpid", proc.sys_getpid, ""),
    Sys(24, "getuid", proc.sys_getuid16, ""),
    Sys(33, "access", paths.sys_access, "so"),
    Sys(37, "kill", proc.sys_kill, "dd"),
    Sys(38, "rename", paths.sys_rename, "ss"),
    Sys(39, "mkdir", paths.sys_mkdir, "so"),
    Sys(40, "rmdir", paths.sys_rmdir, "s"),
    Sys(41, "dup", fileio.sys_dup, "d"),
    Sys(42, "pipe", fileio.sys_pipe, "p"),
    Sys(43, "times", proc.sys_times, "p"),
    Sys(45, "brk", mm.sys_brk, "p", "x"),
    Sys(47, "getgid", proc.sys_getgid16, ""),
    Sys(49, "geteuid", proc.sys_geteuid16, ""),
    Sys(50, "getegid", proc.sys_getegid16, ""),
    Sys(54, "ioctl", fileio.sys_ioctl, "dxp"),
    Sys(55, "fcntl", fileio.sys_fcntl64, "ddx"),
    Sys(60, "umask", proc.sys_umask, "o", "o"),
    Sys(63, "dup2", fileio.sys_dup2, "dd"),
    Sys(64, "getppid", proc.sys_getppid, ""),
    Sys(65, "getpgrp", proc.sys_getpgrp, ""),
    Sys(66, "setsid", proc.sys_setsid, ""),
    Sys(75, "setrlimit", proc.sys_setrlimit, "dp"),
    Sys(76, "getrlimit", proc.sys_getrlimit, "dp"),
    Sys(77, "getrusage", proc.sys_getrusage, "dp"),
    Sys(78, "gettimeofday", clock.sys_gettimeofday, "pp"),
    Sys(73, "sigpending", proc.sys_sigpending, "p"),
    Sys(85, "readlink", paths.sys_readlink, "spu"),
    Sys(90, "mmap", mm.sys_old_mmap, "p", "x"),
    Sys(91, "munmap", mm.sys_munmap, "px"),
    Sys(116, "sysinfo", proc.sys_sysinfo, "p"),
    Sys(118, "fsync", fileio.sys_fsync, "d"),
    Sys(119, "sigreturn", proc.sys_sigreturn, ""),
    Sys(122, "uname", proc.sys_uname, "p"),
    Sys(125, "mprotect", mm.sys_mprotect, "pxx"),
    Sys(132, "getpgid", proc.sys_getpgid, "d"),
    Sys(133, "fchdir", paths.sys_fchdir, "d"),
    Sys(140, "_llseek", fileio.sys_llseek, "dxxpd"),
    Sys(145, "readv", fileio.sys_readv, "dpd"),
    Sys(146, "writev", fileio.sys_writev, "dpd"),
    Sys(147, "getsid", proc.sys_getsid, "d"),
    Sys(148, "fdatasync", fileio.sys_fdatasync, "d"),
    Sys(158, "sched_yield", proc.sys_sched_yield, ""),
    Sys(162, "nanosleep", clock.sys_nanosleep, "pp"),
    Sys(163, "mremap", mm.sys_mremap, "pxxxp", "x"),
    Sys(165, "getresuid", proc.sys_getresuid16, "ppp"),
    Sys(171, "getresgid", proc.sys_getresgid16, "ppp"),
    Sys(173, "rt_sigreturn", proc.sys_rt_sigreturn, ""),
    Sys(174, "rt_sigaction", proc.sys_rt_sigaction, "dppu"),
    Sys(175, "rt_sigprocmask", proc.sys_rt_sigprocmask, "dppu"),
    Sys(176, "rt_sigpending", proc.sys_rt_sigpending, "pu"),
    Sys(180, "pread64", fileio.sys_pread64, "dpuxx"),
    Sys(181, "pwrite64", fileio.sys_pwrite64, "dpuxx"),
    Sys(183, "getcwd", paths.sys_getcwd, "pu"),
    Sys(186, "sigaltstack", proc.sys_sigaltstack, "pp"),
    Sys(191, "ugetrlimit", proc.sys_ugetrlimit, "dp"),
    Sys(192, "mmap2", mm.sys_mmap2, "pxxxdx", "x"),
    Sys(193, "truncate64", fileio.sys_truncate64, "sxx"),
    Sys(194, "ftruncate64", fileio.sys_ftruncate64, "dxx"),
    Sys(195, "stat64", paths.sys_stat64, "sp"),
    Sys(196, "lstat64", paths.sys_lstat64, "sp"),
    Sys(197, "fstat64", paths.sys_fstat64, "dp"),
    Sys(199, "getuid32", proc.sys_getuid, ""),
    Sys(200, "getgid32", proc.sys_getgid, ""),
    Sys(201, "geteuid32", proc.sys_geteuid, ""),
    Sys(202, "getegid32", proc.sys_getegid, ""),
    Sys(209, "getresuid32", proc.sys_getresuid, "ppp"),
    Sys(211, "getresgid32", proc.sys_getresgid, "ppp"),
    Sys(219, "madvise", mm.sys_madvise, "pxd"),
    Sys(220, "getdents64", paths.sys_getdents64, "dpu"),
    Sys(221, "fcntl64", fileio.sys_fcntl64, "ddx"),
    Sys(224, "gettid", proc.sys_getpid, ""),
    Sys(238, "tkill", proc.sys_tkill, "dd"),
    Sys(242, "sched_getaffinity", proc.sys_sched_getaffinity, "dup"),
    Sys(243, "set_thread_area", proc.sys_set_thread_area, "p"),
    Sys(244, "get_thread_area", proc.sys_get_thread_area, "p"),
    Sys(252, "exit_group", proc.sys_exit, "d"),
    Sys(258, "set_tid_address", proc.sys_set_tid_address, "p"),
    Sys(265, "clock_gettime", clock.sys_clock_gettime, "dp"),
    Sys(266, "clock_getres", clock.sys_clock_getres, "dp"),
    Sys(267, "clock_nanosleep", clock.sys_clock_nanosleep, "ddpp"),
    Sys(270, "tgkill", proc.sys_tgkill, "ddd"),
    Sys(295, "openat", fileio.sys_openat, "dsxo"),
    Sys(296, "mkdirat", paths.sys_mkdirat, "dso"),
    Sys(300, "fstatat64", paths.sys_fstatat64, "dspx"),
    Sys(301, "unlinkat", paths.sys_unlinkat, "dsx"),
    Sys(302, "renameat", paths.sys_renameat, "dsds"),
    Sys(305, "readlinkat", paths.sys_readlinkat, "dspu"),
    Sys(307, "faccessat", paths.sys_faccessat, "dso"),
    Sys(311, "set_robust_list", proc.sys_set_robust_list, "pu"),
    Sys(330, "dup3", fileio.sys_dup3, "ddx"),
    Sys(331, "pipe2", fileio.sys_pipe2, "px"),
    Sys(340, "prlimit64", proc.sys_prlimit64, "ddpp"),
    Sys(355, "getrandom", proc.sys_getrandom, "pux"),
    Sys(383, "statx", paths.sys_statx, "dsxxp"),
    Sys(403, "clock_gettime64", clock.sys_clock_gettime64, "dp"),
    Sys(406, "clock_getres_time64", clock.sys_clock_getres64, "dp"),
    Sys(407, "clock_nanosleep_time64", clock.sys_clock_nanosleep64, "ddpp"),
    Sys(439, "faccessat2", paths.sys_faccessat2, "dsox"),
)

SYSCALLS: dict[int, Sys] = {s.nr: s for s in _TABLE}
