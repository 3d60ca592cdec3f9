/* Signals as the kernel delivers them: timers, interrupted syscalls with and without SA_RESTART,
   sigsuspend, sigtimedwait, pending and blocked signals, process-group kill, tgkill, sigqueue values,
   pause and nanosleep. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t hits, last_sig, last_code, last_pid_ok, last_value;
static int wake_fd = -1;      /* a handler that finds it set writes a byte there */

static void on_sig(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    hits++;
    last_sig = sig;
    last_code = si->si_code;
    last_pid_ok = si->si_pid == getpid() && si->si_uid == getuid();
    last_value = si->si_value.sival_int;
    if (wake_fd >= 0) write(wake_fd, "w", 1);
}

static void handle(int sig, int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sig;
    sa.sa_flags = SA_SIGINFO | flags;
    sigaction(sig, &sa, NULL);
}

static void timer_ms(int ms) {
    struct itimerval it = {{0, 0}, {ms / 1000, (ms % 1000) * 1000}};
    setitimer(ITIMER_REAL, &it, NULL);
}

static void spin_until(int n) {
    volatile unsigned x = 0;
    while (hits < n) x = x * 1103515245u + 12345u;
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (setpgid(0, 0) != 0) {           /* kill(0, ...) below must reach this process alone */
        perror("setpgid");
        return 1;
    }
    printf("gettid==getpid: %d\n", (int)syscall(SYS_gettid) == getpid());

    handle(SIGALRM, 0);
    alarm(1);
    spin_until(1);
    printf("alarm in a busy loop: sig=%d code=%d\n", last_sig, last_code);

    struct itimerval it = {{0, 0}, {0, 100000}}, old;
    setitimer(ITIMER_REAL, &it, NULL);
    getitimer(ITIMER_REAL, &old);
    printf("getitimer: armed=%d interval=%ld\n", old.it_value.tv_sec == 0 && old.it_value.tv_usec > 0,
           (long)old.it_interval.tv_usec);
    spin_until(2);
    printf("setitimer fired: sig=%d\n", last_sig);

    handle(SIGVTALRM, 0);
    handle(SIGPROF, 0);
    struct itimerval cpu_time = {{0, 0}, {0, 50000}};
    setitimer(ITIMER_VIRTUAL, &cpu_time, NULL);
    spin_until(3);
    printf("ITIMER_VIRTUAL in a busy loop: sig=%d\n", last_sig);
    setitimer(ITIMER_PROF, &cpu_time, NULL);
    spin_until(4);
    printf("ITIMER_PROF in a busy loop: sig=%d\n", last_sig);

    int fds[2];
    pipe(fds);
    char buf[8];
    struct itimerval every_50ms = {{0, 50000}, {0, 50000}}, off = {{0, 0}, {0, 0}};
    int before = hits;
    setitimer(ITIMER_REAL, &every_50ms, NULL);    /* periodic: see the nanosleep below */
    ssize_t n = read(fds[0], buf, sizeof buf);
    setitimer(ITIMER_REAL, &off, NULL);
    printf("read without SA_RESTART: n=%d errno=%s handled=%d\n", (int)n, n < 0 ? strerror(errno) : "-",
           hits > before);

    handle(SIGALRM, SA_RESTART);
    wake_fd = fds[1];
    before = hits;
    timer_ms(50);
    n = read(fds[0], buf, sizeof buf);
    printf("read with SA_RESTART: n=%d hits=%d\n", (int)n, hits - before);
    wake_fd = -1;
    handle(SIGUSR2, 0);
    sigset_t block, orig;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, &orig);
    handle(SIGUSR1, 0);
    kill(getpid(), SIGUSR1);
    sigset_t pend;
    sigpending(&pend);
    printf("blocked SIGUSR1 pending: %d\n", sigismember(&pend, SIGUSR1));
    before = hits;
    sigsuspend(&orig);
    printf("sigsuspend ran the handler: %d sig=%d code=%d sender ok=%d\n", hits - before, last_sig,
           last_code, last_pid_ok);
    sigprocmask(SIG_SETMASK, NULL, &pend);
    printf("mask restored after sigsuspend: %d\n", sigismember(&pend, SIGUSR1));

    struct timespec ts = {0, 100000000};
    kill(getpid(), SIGUSR1);
    siginfo_t info;
    int got = sigtimedwait(&block, &info, &ts);
    printf("sigtimedwait: %d code=%d pid ok=%d\n", got, info.si_code, info.si_pid == getpid());
    errno = 0;
    got = sigtimedwait(&block, &info, &ts);
    printf("sigtimedwait timeout: %d %s\n", got, strerror(errno));

    union sigval v = {.sival_int = 4242};
    sigqueue(getpid(), SIGUSR1, v);
    got = sigwaitinfo(&block, &info);
    printf("sigqueue: %d code=%d value=%d\n", got, info.si_code, info.si_value.sival_int);

    sigprocmask(SIG_SETMASK, &orig, NULL);
    before = hits;
    kill(0, SIGUSR2);
    printf("kill(0): hits=%d sig=%d code=%d\n", hits - before, last_sig, last_code);
    kill(-getpgrp(), SIGUSR2);
    printf("kill(-pgrp): hits=%d\n", hits - before);
    syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR2);
    printf("tgkill: hits=%d code=%d\n", hits - before, last_code);

    signal(SIGUSR2, SIG_IGN);
    kill(getpid(), SIGUSR2);
    printf("ignored: hits=%d\n", hits - before);

    handle(SIGALRM, 0);
    timer_ms(50);
    before = hits;
    pause();
    printf("pause: %d\n", hits - before);

    /* a periodic timer: one that fires before the sleep starts (a loaded machine) is followed by
       one that cuts it short */
    struct timespec long_sleep = {5, 0}, rem = {0, 0};
    setitimer(ITIMER_REAL, &every_50ms, NULL);
    int r = nanosleep(&long_sleep, &rem);
    setitimer(ITIMER_REAL, &off, NULL);
    printf("nanosleep interrupted: r=%d errno=%s rem>=4: %d\n", r, strerror(errno), rem.tv_sec >= 4);

    signal(SIGALRM, SIG_IGN);
    struct timespec short_sleep = {0, 200000000};
    timer_ms(50);
    r = nanosleep(&short_sleep, &rem);
    printf("nanosleep through an ignored signal: r=%d\n", r);

    /* Exit with a 1 ms timer still firing, handled, after syscalls and a busy loop it interrupts:
       whatever takes the signals after the program is gone must not outlive what it writes to. */
    handle(SIGALRM, 0);
    struct itimerval storm = {{0, 1000}, {0, 1000}};
    setitimer(ITIMER_REAL, &storm, NULL);
    before = hits;
    for (int i = 0; i < 20000; i++) getppid();
    spin_until(before + 20);
    printf("exit under a 1 ms timer: %d\n", hits - before >= 20);
    return 0;
}
