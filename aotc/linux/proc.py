"""Process syscalls: exit, ids, signals to oneself and dispositions, limits, TLS, system information."""

from __future__ import annotations

import errno
import os
import resource
import signal
import socket
import threading
from typing import TYPE_CHECKING

from aotc.guest.cpu import DS, EAX, ES, ESP, FS, GS, CPUState, refresh_tb_mode
from aotc.linux import host, structs
from aotc.linux.blocking import host_call
from aotc.linux.errors import GuestExit, GuestKilled, SyscallError
from aotc.linux.sigframe import BadFrame, altstack_flags, rt_sigreturn, sigreturn
from aotc.linux.signals import MINSIGSTKSZ, NSIG, SIGKILL, SIGSTOP, UNBLOCKABLE, SigAction
from aotc.linux.structs import s32

if TYPE_CHECKING:
    from aotc.linux.user import LinuxUser

OVERFLOW_ID = 65534
RLIM_INFINITY32 = 0xFFFFFFFF
RLIM_INFINITY64 = (1 << 64) - 1
SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK = 0, 1, 2
SS_ONSTACK, SS_DISABLE = 1, 2
SIGSEGV = int(signal.SIGSEGV)



def sys_exit(k: LinuxUser, status: int) -> int:
    raise GuestExit(status & 0xFF)


def sys_getpid(k: LinuxUser) -> int:
    return k.pid


def sys_getppid(k: LinuxUser) -> int:
    return os.getppid()


def sys_getpgrp(k: LinuxUser) -> int:
    return os.getpgrp()


def sys_getpgid(k: LinuxUser, pid: int) -> int:
    return os.getpgid(s32(pid))


def sys_setpgid(k: LinuxUser, pid: int, pgid: int) -> int:
    os.setpgid(s32(pid), s32(pgid))
    return 0


def sys_getsid(k: LinuxUser, pid: int) -> int:
    return os.getsid(s32(pid))


def sys_setsid(k: LinuxUser) -> int:
    return os.setsid()


def _low16(value: int) -> int:
    return value if value < 0x10000 else OVERFLOW_ID


def sys_getuid16(k: LinuxUser) -> int:
    return _low16(os.getuid())


def sys_geteuid16(k: LinuxUser) -> int:
    return _low16(os.geteuid())


def sys_getgid16(k: LinuxUser) -> int:
    return _low16(os.getgid())


def sys_getegid16(k: LinuxUser) -> int:
    return _low16(os.getegid())


def sys_getuid(k: LinuxUser) -> int:
    return os.getuid()


def sys_geteuid(k: LinuxUser) -> int:
    return os.geteuid()


def sys_getgid(k: LinuxUser) -> int:
    return os.getgid()


def sys_getegid(k: LinuxUser) -> int:
    return os.getegid()


def _put_ids(k: LinuxUser, ptrs: tuple[int, int, int], ids: tuple[int, int, int], width: int) -> int:
    for ptr, value in zip(ptrs, ids, strict=True):
        k.put(ptr, (value if width == 4 else _low16(value)).to_bytes(width, "little"))
    return 0


def sys_getresuid(k: LinuxUser, r: int, e: int, s: int) -> int:
    return _put_ids(k, (r, e, s), os.getresuid(), 4)


def sys_getresgid(k: LinuxUser, r: int, e: int, s: int) -> int:
    return _put_ids(k, (r, e, s), os.getresgid(), 4)


def sys_getresuid16(k: LinuxUser, r: int, e: int, s: int) -> int:
    return _put_ids(k, (r, e, s), os.getresuid(), 2)


def sys_getresgid16(k: LinuxUser, r: int, e: int, s: int) -> int:
    return _put_ids(k, (r, e, s), os.getresgid(), 2)


def sys_set_tid_address(k: LinuxUser, tidptr: int) -> int:
    k.clear_child_tid = tidptr
    return k.pid


def sys_set_robust_list(k: LinuxUser, head: int, length: int) -> int:
    if length != 12:                      # sizeof(struct robust_list_head) on i386
        raise SyscallError(errno.EINVAL)
    return 0


# -- signals -------------------------------------------------------------------------------------

def _check_signo(signo: int) -> int:
    if not 1 <= signo <= NSIG:
        raise SyscallError(errno.EINVAL)
    return signo


# kill, tkill and tgkill run on the host: a signal for the guest itself comes back through aotc's host
# handler with the siginfo the kernel made (si_pid, si_uid, si_code), like any other.


def sys_kill(k: LinuxUser, pid: int, signo: int) -> int:
    return host_call(k, host.SYS_KILL, s32(pid), s32(signo))


def sys_tkill(k: LinuxUser, tid: int, signo: int) -> int:
    return host_call(k, host.SYS_TKILL, s32(tid), s32(signo))


def sys_tgkill(k: LinuxUser, tgid: int, tid: int, signo: int) -> int:
    return host_call(k, host.SYS_TGKILL, s32(tgid), s32(tid), s32(signo))


def sys_gettid(k: LinuxUser) -> int:
    return threading.get_native_id()


def sys_rt_sigaction(k: LinuxUser, signo: int, act: int, oact: int, sigsetsize: int) -> int:
    if sigsetsize != 8:
        raise SyscallError(errno.EINVAL)
    _check_signo(signo)
    new = SigAction(*structs.SIGACTION.unpack(k.get(act, structs.SIGACTION.size))) if act else None
    if new is not None and signo in (SIGKILL, SIGSTOP):
        raise SyscallError(errno.EINVAL)
    if oact:
        old = k.signals.action(signo)
        k.put(oact, structs.SIGACTION.pack(old.handler, old.flags, old.restorer, old.mask))
    if new is not None:
        k.signals.set_action(signo, new)
    return 0


def sys_rt_sigprocmask(k: LinuxUser, how: int, set_ptr: int, oset: int, sigsetsize: int) -> int:
    if sigsetsize != 8:
        raise SyscallError(errno.EINVAL)
    old = k.signals.blocked
    if set_ptr:
        mask = structs.U64.unpack(k.get(set_ptr, 8))[0] & ~UNBLOCKABLE
        updates = {SIG_BLOCK: old | mask, SIG_UNBLOCK: old & ~mask, SIG_SETMASK: mask}
        if how not in updates:
            raise SyscallError(errno.EINVAL)
        new = updates[how]
    else:
        new = old
    if oset:
        k.put(oset, structs.U64.pack(old))
    k.signals.set_blocked(new)
    return 0


def sys_rt_sigpending(k: LinuxUser, set_ptr: int, sigsetsize: int) -> int:
    if sigsetsize > 8:
        raise SyscallError(errno.EINVAL)
    k.take_host_signals()
    k.put(set_ptr, structs.U64.pack(k.signals.pending_mask() & k.signals.blocked)[:sigsetsize])
    return 0


def sys_sigpending(k: LinuxUser, set_ptr: int) -> int:
    k.take_host_signals()
    k.put(set_ptr, structs.U32.pack(k.signals.pending_mask() & k.signals.blocked & 0xFFFFFFFF))
    return 0


def _syscall_cpu(k: LinuxUser) -> CPUState:
    if k.cpu is None:
        raise RuntimeError("sigreturn outside a syscall")
    return k.cpu


def sys_sigreturn(k: LinuxUser) -> int:
    """Restore the state a sigframe saved; the result is the restored eax, so eax keeps its value."""
    cpu = _syscall_cpu(k)
    try:
        mask = sigreturn(k.mem, cpu, k.descriptor)
    except BadFrame as e:
        raise GuestKilled(SIGSEGV, f"bad signal frame: {e}") from None
    k.signals.set_blocked(mask)
    return cpu.regs[EAX]


def sys_rt_sigreturn(k: LinuxUser) -> int:
    """Restore the state an rt_sigframe saved, and its uc_stack; the result is the restored eax."""
    cpu = _syscall_cpu(k)
    try:
        mask, stack = rt_sigreturn(k.mem, cpu, k.descriptor)
    except BadFrame as e:
        raise GuestKilled(SIGSEGV, f"bad signal frame: {e}") from None
    k.signals.set_blocked(mask)
    k.signals.restore_altstack(cpu.regs[ESP], stack)
    return cpu.regs[EAX]


def sys_sigaltstack(k: LinuxUser, ss: int, oss: int) -> int:
    """Set or query the alternate stack; EPERM for a change while running on it."""
    sp = k.cpu.regs[ESP] if k.cpu is not None else 0
    old = k.signals.altstack
    new = structs.STACK_T.unpack(k.get(ss, structs.STACK_T.size)) if ss else None
    if new is not None:
        if altstack_flags(sp, old) == SS_ONSTACK:
            raise SyscallError(errno.EPERM)
        if new[1] not in (0, SS_ONSTACK, SS_DISABLE):
            raise SyscallError(errno.EINVAL)
        if not new[1] & SS_DISABLE and new[2] < MINSIGSTKSZ:
            raise SyscallError(errno.ENOMEM)
    if oss:
        k.put(oss, structs.STACK_T.pack(old[0], altstack_flags(sp, old), old[2]))
    if new is not None:
        k.signals.altstack = (0, SS_DISABLE, 0) if new[1] & SS_DISABLE else (new[0], 0, new[2])
    return 0


# -- limits, usage, system information -----------------------------------------------------------

def _rlimit(k: LinuxUser, res: int) -> tuple[int, int]:
    if res not in k.rlimits:
        raise SyscallError(errno.EINVAL)
    return k.rlimits[res]


def _clamp(value: int, infinity: int, cap: int) -> int:
    return infinity if value == resource.RLIM_INFINITY or value > cap else value


def sys_prlimit64(k: LinuxUser, pid: int, res: int, new: int, old: int) -> int:
    if pid not in (0, k.pid):
        raise SyscallError(errno.EPERM)
    cur = _rlimit(k, res)
    if old:
        k.put(old, structs.RLIMIT64.pack(*(_clamp(v, RLIM_INFINITY64, RLIM_INFINITY64) for v in cur)))
    if new:
        _set_rlimit(k, res, *structs.RLIMIT64.unpack(k.get(new, structs.RLIMIT64.size)))
    return 0


def _set_rlimit(k: LinuxUser, res: int, soft: int, hard: int) -> None:
    """Take a new limit (EINVAL for soft above hard); a descriptor limit may not reach aotc's own."""
    finite = [RLIM_INFINITY64 if v == resource.RLIM_INFINITY else v for v in (soft, hard)]
    if finite[0] > finite[1]:
        raise SyscallError(errno.EINVAL)
    if res == resource.RLIMIT_NOFILE and finite[1] > k.fd_limit:
        raise SyscallError(errno.EPERM)
    k.rlimits[res] = (soft, hard)


def sys_ugetrlimit(k: LinuxUser, res: int, rlim: int) -> int:
    cur = _rlimit(k, res)
    k.put(rlim, structs.RLIMIT32.pack(*(_clamp(v, RLIM_INFINITY32, RLIM_INFINITY32) for v in cur)))
    return 0


def sys_getrlimit(k: LinuxUser, res: int, rlim: int) -> int:
    """The old getrlimit: infinity and large values read as 0x7fffffff."""
    cur = _rlimit(k, res)
    k.put(rlim, structs.RLIMIT32.pack(*(_clamp(v, 0x7FFFFFFF, 0x7FFFFFFF) for v in cur)))
    return 0


def sys_setrlimit(k: LinuxUser, res: int, rlim: int) -> int:
    _rlimit(k, res)
    soft, hard = (resource.RLIM_INFINITY if v == RLIM_INFINITY32 else v
                  for v in structs.RLIMIT32.unpack(k.get(rlim, 8)))
    _set_rlimit(k, res, soft, hard)
    return 0


def _timeval(seconds: float) -> tuple[int, int]:
    usec = int(seconds * 1_000_000)
    return usec // 1_000_000, usec % 1_000_000


def sys_getrusage(k: LinuxUser, who: int, usage: int) -> int:
    whos = {0: resource.RUSAGE_SELF, 0xFFFFFFFF: resource.RUSAGE_CHILDREN, 1: resource.RUSAGE_SELF}
    if who not in whos:
        raise SyscallError(errno.EINVAL)
    r = resource.getrusage(whos[who])
    longs = (r.ru_maxrss, r.ru_ixrss, r.ru_idrss, r.ru_isrss, r.ru_minflt, r.ru_majflt, r.ru_nswap,
             r.ru_inblock, r.ru_oublock, r.ru_msgsnd, r.ru_msgrcv, r.ru_nsignals, r.ru_nvcsw, r.ru_nivcsw)
    k.put(usage, structs.RUSAGE.pack(*_timeval(r.ru_utime), *_timeval(r.ru_stime),
                                     *(min(v, 0x7FFFFFFF) for v in longs)))
    return 0


def sys_times(k: LinuxUser, buf: int) -> int:
    t = os.times()
    hz = os.sysconf("SC_CLK_TCK")
    if buf:
        k.put(buf, structs.TMS.pack(*(int(v * hz) & 0x7FFFFFFF for v in
                                      (t.user, t.system, t.children_user, t.children_system))))
    return int(t.elapsed * hz) & 0xFFFFFFFF


def sys_umask(k: LinuxUser, mask: int) -> int:
    return os.umask(mask & 0o777)


def sys_uname(k: LinuxUser, buf: int) -> int:
    u = os.uname()
    fields = [b"Linux", u.nodename.encode(), u.release.encode(), u.version.encode(), b"i686",
              socket.getfqdn().partition(".")[2].encode() or b"(none)"]
    k.put(buf, structs.pack_utsname(fields))
    return 0


def sys_sysinfo(k: LinuxUser, info: int) -> int:
    """struct sysinfo from /proc, with mem_unit scaled so the sizes fit 32 bits as the compat kernel does."""
    meminfo = {}
    with open("/proc/meminfo") as f:
        for line in f:
            key, _, rest = line.partition(":")
            meminfo[key] = int(rest.split()[0]) * 1024
    with open("/proc/uptime") as f:
        uptime = int(float(f.read().split()[0]))
    sizes = [meminfo.get(key, 0) for key in ("MemTotal", "MemFree", "Shmem", "Buffers", "SwapTotal",
                                             "SwapFree")]
    unit = 1
    while max(sizes) // unit > 0xFFFFFFFF:
        unit <<= 1
    loads = [int(x * 65536) for x in os.getloadavg()]
    procs = min(len([d for d in os.listdir("/proc") if d.isdigit()]), 0xFFFF)
    k.put(info, structs.SYSINFO.pack(min(uptime, 0x7FFFFFFF), *loads, *(s // unit for s in sizes),
                                     procs, 0, 0, 0, unit))
    return 0


def sys_getrandom(k: LinuxUser, buf: int, count: int, flags: int) -> int:
    if flags & ~0x7:
        raise SyscallError(errno.EINVAL)
    count = min(count, 1 << 25)
    k.put(buf, os.urandom(count))
    return count


def sys_sched_yield(k: LinuxUser) -> int:
    os.sched_yield()
    return 0


def sys_sched_getaffinity(k: LinuxUser, pid: int, size: int, mask: int) -> int:
    """The host's CPU set; the size written is the host kernel's cpumask size, capped by `size`."""
    cpus = os.sched_getaffinity(s32(pid) if pid not in (0, k.pid) else 0)
    if size * 8 <= max(cpus) or size & 3:
        raise SyscallError(errno.EINVAL)
    nbytes = min(size, (max(cpus) // 64 + 1) * 8)
    k.put(mask, sum(1 << c for c in cpus).to_bytes(nbytes, "little"))
    return nbytes


# -- TLS -----------------------------------------------------------------------------------------

UD_FLAG_BITS = 0xFF
UD_EMPTY = 0x28        # read_exec_only | seg_not_present, all else 0: the kernel's LDT_empty


def sys_set_thread_area(k: LinuxUser, u_info: int) -> int:
    """Install a TLS descriptor in GDT entry 12..14 (the first free one when entry_number is -1); an
    empty or all-zero one clears the entry, which is free again. As on x86-64, a data segment register
    holding the entry's selector is reloaded from the new descriptor (to 0 if it can no longer be)."""
    entry, base, limit, bits = structs.USER_DESC.unpack(k.get(u_info, structs.USER_DESC.size))
    if entry == 0xFFFFFFFF:
        free = [e for e in (12, 13, 14) if e not in k.tls]
        if not free:
            raise SyscallError(errno.ESRCH)
        entry = free[0]
        k.put(u_info, structs.U32.pack(entry))
    if entry not in (12, 13, 14):
        raise SyscallError(errno.EINVAL)
    if base == 0 and limit == 0 and bits & UD_FLAG_BITS in (0, UD_EMPTY):
        k.tls.pop(entry, None)
    else:
        k.tls[entry] = (base, limit, bits)
    if k.cpu is not None:
        _reload_data_segments(k, k.cpu, entry << 3 | 3)
    return 0


def _reload_data_segments(k: LinuxUser, cpu: CPUState, selector: int) -> None:
    """The kernel's forced reload of ds/es/fs/gs that hold `selector` after its descriptor changed."""
    for seg in (DS, ES, FS, GS):
        if cpu.seg_sel[seg] == selector:
            try:
                cpu.seg_base[seg] = k.segment_base(selector)
            except ValueError:
                cpu.seg_sel[seg], cpu.seg_base[seg] = 0, 0
    refresh_tb_mode(cpu)


def sys_get_thread_area(k: LinuxUser, u_info: int) -> int:
    entry = structs.U32.unpack(k.get(u_info, 4))[0]
    if entry not in (12, 13, 14):
        raise SyscallError(errno.EINVAL)
    base, limit, bits = k.tls.get(entry, (0, 0, 0x28))
    k.put(u_info, structs.USER_DESC.pack(entry, base, limit, bits))
    return 0
