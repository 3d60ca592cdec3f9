/* A guest that spins in one chained block while a test sends it signals from outside.
   spin MODE SIG: prints "ready" once set up, then loops without a syscall until a handler ends it.
   MODE: handler (SA_SIGINFO handler for SIG prints what it got and exits), default (no handler: the
   default action applies), ignore (SIG ignored; SIGUSR1's handler ends the run), block (SIG blocked;
   SIGUSR1's handler unblocks it, and SIG's own handler then ends the run). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile unsigned state = 1;
static int watched;

static void report(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    printf("caught %d code=%d from_parent=%d uid_ok=%d\n", sig, si->si_code, si->si_pid == getppid(),
           si->si_uid == getuid());
    exit(0);
}

static void unblock(int sig, siginfo_t *si, void *uc) {
    (void)sig; (void)si; (void)uc;
    sigset_t pending, set;
    sigpending(&pending);
    printf("SIGUSR1: %d pending while blocked: %d\n", watched, sigismember(&pending, watched));
    fflush(stdout);
    sigemptyset(&set);
    sigaddset(&set, watched);
    sigprocmask(SIG_UNBLOCK, &set, NULL);    /* delivered on the way out of this syscall */
}

static void on(int sig, void (*fn)(int, siginfo_t *, void *)) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fn;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(sig, &sa, NULL);
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    const char *mode = argv[1];
    watched = atoi(argv[2]);
    if (!strcmp(mode, "handler")) {
        on(watched, report);
    } else if (!strcmp(mode, "ignore")) {
        signal(watched, SIG_IGN);
        on(SIGUSR1, report);
    } else if (!strcmp(mode, "block")) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, watched);
        sigprocmask(SIG_BLOCK, &set, NULL);
        on(watched, report);
        on(SIGUSR1, unblock);
    } else if (strcmp(mode, "default")) {
        return 2;
    }
    printf("ready\n");
    fflush(stdout);
    for (;;) state = state * 1103515245u + 12345u;
}
