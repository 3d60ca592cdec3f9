/* Signal handlers: raise, blocked-then-delivered signals, SIG_IGN, and recovery from SIGSEGV/SIGFPE/SIGILL. */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t hits[65];
static sigjmp_buf recover;
static volatile int zero = 0;
static volatile unsigned fault_addr, fault_code;

static void counter(int sig) { hits[sig]++; }

static void nested(int sig) {
    hits[sig]++;
    if (hits[sig] == 1)
        raise(SIGUSR2); /* delivered inside this handler: SIGUSR2 is not blocked */
}

static void fault(int sig, siginfo_t *info, void *uctx) {
    (void)uctx;
    hits[sig]++;
    fault_addr = (unsigned)(unsigned long)info->si_addr;
    fault_code = (unsigned)info->si_code;
    siglongjmp(recover, sig);
}

static void install(int sig, void (*handler)(int)) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigaction(sig, &sa, NULL);
}

static void try_fault(const char *what, void (*body)(void)) {
    int sig = sigsetjmp(recover, 1);
    if (sig == 0) {
        body();
        printf("%s: no fault\n", what);
    } else {
        printf("%s: caught signal %d code %u", what, sig, fault_code);
        if (sig == SIGSEGV)
            printf(" addr %#x", fault_addr);
        printf("\n");
    }
}

static void segv_body(void) { *(volatile int *)0x1234 = 5; }
static void fpe_body(void) { printf("%d\n", 7 / zero); }
static void ill_body(void) { __asm__ volatile("ud2"); }
static void jump_body(void) { ((void (*)(void))0x5000)(); }   /* no code there: SIGSEGV at the target */

int main(void) {
    install(SIGUSR1, counter);
    install(SIGUSR2, counter);
    for (int i = 0; i < 5; i++)
        raise(SIGUSR1);
    printf("usr1 hits %d\n", hits[SIGUSR1]);

    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, &old);
    raise(SIGUSR1);
    raise(SIGUSR1);
    sigset_t pending;
    sigpending(&pending);
    printf("while blocked: hits %d pending %d\n", hits[SIGUSR1], sigismember(&pending, SIGUSR1));
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("after unblock: hits %d\n", hits[SIGUSR1]);

    install(SIGUSR1, nested);
    hits[SIGUSR1] = 0;
    raise(SIGUSR1);
    printf("nested: usr1 %d usr2 %d\n", hits[SIGUSR1], hits[SIGUSR2]);

    install(SIGUSR2, SIG_IGN);
    raise(SIGUSR2);
    printf("ignored usr2, still %d\n", hits[SIGUSR2]);
    kill(getpid(), SIGUSR1);
    printf("kill self usr1 %d\n", hits[SIGUSR1]);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fault;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGFPE, &sa, NULL);
    sigaction(SIGILL, &sa, NULL);
    for (int round = 0; round < 3; round++) {
        try_fault("segv", segv_body);
        try_fault("fpe", fpe_body);
        try_fault("ill", ill_body);
        try_fault("jump", jump_body);
    }
    printf("fault hits segv %d fpe %d ill %d\n", hits[SIGSEGV], hits[SIGFPE], hits[SIGILL]);
    return 0;
}
