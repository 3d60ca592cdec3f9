/* Calls into code that is gone and to the top of the address space: each faults with SIGSEGV at the
   target (a translator's "empty" marker for its jump cache, 0xffffffff, is a target like any other). */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

typedef int (*fn)(int);
static sigjmp_buf back;
static volatile unsigned fault_addr;

static void on_segv(int sig, siginfo_t *si, void *uc) {
    (void)sig; (void)uc;
    fault_addr = (unsigned)si->si_addr;
    siglongjmp(back, 1);
}

static void call(const char *what, unsigned target) {
    if (sigsetjmp(back, 1) == 0) {
        int r = ((fn)target)(10);
        printf("%s: returned %d\n", what, r);
    } else {
        printf("%s: SIGSEGV at %#x\n", what, fault_addr);
    }
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    unsigned char body[] = {0x8b, 0x44, 0x24, 0x04, 0x6b, 0xc0, 5, 0xc3};   /* return x * 5 */
    for (int round = 0; round < 3; round++) {
        unsigned char *p = mmap((void *)0x30000000, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                                MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        memcpy(p, body, sizeof body);
        call("mapped code", 0x30000000);
        munmap(p, 4096);
        call("unmapped code", 0x30000000);
        call("0xffffffff", 0xffffffffu);
        call("0xfffffff0", 0xfffffff0u);
    }
    return 0;
}
