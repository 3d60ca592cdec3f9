/* What sigreturn does with the segment selectors a handler leaves in the frame: ds/es/fs take RPL 3,
   a selector the CPU would refuse (or a null one) becomes 0, as the kernel's loadsegment fixup does. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>
static int which;
static void h(int s, siginfo_t *si, void *u) {
    ucontext_t *uc = u;
    unsigned vals[] = {0x1234, 0x2b, 0x28, 0x0, 0x7, 0x63, 0xfffc};
    uc->uc_mcontext.gregs[REG_DS] = vals[which];
    uc->uc_mcontext.gregs[REG_ES] = vals[which];
    uc->uc_mcontext.gregs[REG_FS] = vals[which];
}

int main(void) {
    struct sigaction sa; memset(&sa, 0, sizeof sa); sa.sa_sigaction = h; sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, 0);
    for (which = 0; which < 7; which++) {
        raise(SIGUSR1);
        unsigned short ds, es, fs;
        __asm__ volatile("mov %%ds,%0; mov %%es,%1; mov %%fs,%2; mov %3,%%ds; mov %3,%%es" : "=&r"(ds), "=&r"(es), "=&r"(fs) : "r"(0x2b));
        printf("set %d: ds=%#x es=%#x fs=%#x\n", which, ds, es, fs);
    }
    return 0;
}
