/* What a fault leaves in the signal frame: trap number, page-fault error code (present, write,
   instruction-fetch bits), and eflags.RF, which the CPU sets for faults but not for traps; a shift by
   zero still writes its memory operand. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

static sigjmp_buf back;

static void on_fault(int sig, siginfo_t *si, void *ctx) {
    ucontext_t *uc = ctx;
    greg_t *g = uc->uc_mcontext.gregs;
    printf("  sig=%d code=%d trapno=%d err=%#x rf=%d\n", sig, si->si_code, (int)g[REG_TRAPNO],
           (unsigned)g[REG_ERR], (g[REG_EFL] & 0x10000) != 0);
    siglongjmp(back, 1);
}

typedef void (*fn)(void);

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    for (int s = 1; s < 32; s++) sigaction(s, &sa, NULL);
    char *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *none = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *data = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *gone = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(gone, 4096);
    volatile char sink = ro[0];           /* make the read-only page present */
    (void)sink;
    data[0] = (char)0xc3;
    const char *names[] = {"read unmapped", "write unmapped", "write read-only", "read PROT_NONE",
                           "write PROT_NONE", "jump unmapped", "jump to data", "ud2", "int3",
                           "divide by zero", "hlt",
                           "shl $0 into read-only", "shld $0 into read-only"};
    for (int i = 0; i < 13; i++) {
        printf("%s\n", names[i]);
        if (sigsetjmp(back, 1)) continue;
        switch (i) {
        case 0: sink = *(volatile char *)gone; break;
        case 1: *(volatile char *)gone = 1; break;
        case 2: *(volatile char *)ro = 1; break;
        case 3: sink = *(volatile char *)none; break;
        case 4: *(volatile char *)none = 1; break;
        case 5: ((fn)gone)(); break;
        case 6: ((fn)data)(); break;
        case 7: __asm__ volatile("ud2"); break;
        case 8: __asm__ volatile("int3"); break;
        case 9: { volatile int z = 0, n = 100; sink = (char)(n / z); break; }
        case 10: __asm__ volatile("hlt"); break;
        case 11: __asm__ volatile("shll $0, (%0)" : : "r"(ro) : "memory"); break;
        case 12: __asm__ volatile("shldl $0, %%eax, (%0)" : : "r"(ro) : "memory"); break;
        }
        printf("  no fault\n");
    }
    return 0;
}
