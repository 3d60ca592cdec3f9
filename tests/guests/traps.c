/* Traps and faults as the kernel delivers them: each instruction below runs under a SA_SIGINFO handler
   that prints the signal, si_code, si_addr and the saved eip relative to the instruction, trapno, err
   and the TF/RF bits of the saved eflags. Then single-stepping with the trap flag set by popf: the
   handler counts SIGTRAPs (TRAP_TRACE) over a straight-line sequence, a loop, a call and a syscall,
   and clears TF through the saved context. */
#define _GNU_SOURCE
#include <signal.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

static sigjmp_buf back;
static volatile unsigned start;          /* the address of the instruction under test */

static void on_fault(int sig, siginfo_t *si, void *ucv) {
    ucontext_t *uc = ucv;
    greg_t *g = uc->uc_mcontext.gregs;
    printf("  sig=%d code=%d addr=%+d eip=%+d trapno=%d err=%#x tf=%d rf=%d\n", sig, si->si_code,
           si->si_addr ? (int)((unsigned)si->si_addr - start) : -99999, (int)((unsigned)g[REG_EIP] - start),
           (int)g[REG_TRAPNO], (unsigned)g[REG_ERR], (int)(g[REG_EFL] >> 8 & 1), (int)(g[REG_EFL] >> 16 & 1));
    siglongjmp(back, 1);
}

/* Each case is a label followed by the instruction: start = the label's address. */
#define CASE(name, insns)                                                                        \
    do {                                                                                         \
        extern char name##_at[];                                                                 \
        start = (unsigned)name##_at;                                                             \
        printf("%s\n", #name);                                                                   \
        fflush(stdout);                                                                          \
        if (sigsetjmp(back, 1) == 0) {                                                           \
            __asm__ volatile(".globl " #name "_at\n" #name "_at:\n" insns ::: "memory", "eax", "edx"); \
            printf("  no signal\n");                                                             \
        }                                                                                        \
    } while (0)

int bounds[2] = {10, 20};

static volatile int steps;
static volatile unsigned step_eips[64];

static void on_step(int sig, siginfo_t *si, void *ucv) {
    ucontext_t *uc = ucv;
    greg_t *g = uc->uc_mcontext.gregs;
    if (steps < 64)
        step_eips[steps] = (unsigned)g[REG_EIP];
    steps++;
    if (steps == 1)
        printf("  step: sig=%d code=%d trapno=%d err=%#x addr=eip%+d rf=%d\n", sig, si->si_code,
               (int)g[REG_TRAPNO], (unsigned)g[REG_ERR], (int)((unsigned)si->si_addr - (unsigned)g[REG_EIP]),
               (int)(g[REG_EFL] >> 16 & 1));
    if (steps >= 40)                     /* enough: clear TF through the saved context */
        g[REG_EFL] &= ~0x100;
}

extern char step_begin[], step_end[], step_func[];

static void single_step(void) {
    struct sigaction sa; memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_step; sa.sa_flags = SA_SIGINFO;
    sigaction(SIGTRAP, &sa, 0);
    steps = 0;
    __asm__ volatile(
        "pushf\n orl $0x100, (%%esp)\n popf\n"
        ".globl step_begin\nstep_begin:\n"
        "  movl $3, %%ecx\n"
        "1: addl %%ecx, %%eax\n  loop 1b\n"
        "  call step_func\n"
        "  movl $20, %%eax\n  int $0x80\n"          /* getpid under single-step */
        "  nop\n  nop\n"
        "  pushf\n andl $~0x100, (%%esp)\n popf\n"
        ".globl step_end\nstep_end:\n  nop\n"
        "  jmp 2f\n"
        ".globl step_func\nstep_func:\n  xorl %%edx, %%edx\n  ret\n"
        "2:\n" ::: "eax", "ecx", "edx", "memory", "cc");
    printf("single-step: %d traps\n", steps);
    for (int i = 0; i < steps && i < 64; i++)
        printf("  %d: %+d\n", i, (int)(step_eips[i] - (unsigned)step_begin));
    sa.sa_handler = SIG_DFL; sa.sa_flags = 0;
    sigaction(SIGTRAP, &sa, 0);
}

int main(void) {
    struct sigaction sa; memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault; sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    int sigs[] = {SIGSEGV, SIGILL, SIGTRAP, SIGFPE, SIGBUS};
    for (unsigned i = 0; i < sizeof sigs / sizeof *sigs; i++)
        sigaction(sigs[i], &sa, 0);
    CASE(int3, "int3");
    CASE(int_3, ".byte 0xcd, 0x03");
    CASE(icebp, ".byte 0xf1");
    CASE(int_1, "int $1");
    CASE(int_4, "int $4");
    CASE(int_0, "int $0");
    CASE(int_5, "int $5");
    CASE(int_13, "int $13");
    CASE(int_14, "int $14");
    CASE(int_0x81, "int $0x81");
    CASE(int_0xff, "int $0xff");
    CASE(into_of, "movl $0x7fffffff, %%eax\n addl $1, %%eax\n into");
    CASE(into_no, "xorl %%eax, %%eax\n into");
    CASE(bound_in, "movl $15, %%eax\n bound %%eax, bounds");
    CASE(bound_lo, "movl $5, %%eax\n bound %%eax, bounds");
    CASE(bound_hi, "movl $21, %%eax\n bound %%eax, bounds");
    CASE(hlt, "hlt");
    CASE(cli, "cli");
    CASE(sti, "sti");
    CASE(in_al, "inb $0x80, %%al");
    CASE(out_dx, "movw $0x80, %%dx\n outb %%al, %%dx");
    CASE(insb, "movw $0x80, %%dx\n insb");
    CASE(mov_dr0, ".byte 0x0f, 0x21, 0xc0");
    CASE(mov_to_cr0, ".byte 0x0f, 0x22, 0xc0");
    CASE(lidt, ".byte 0x0f, 0x01, 0x1d, 0, 0, 0, 0");
    CASE(lldt, ".byte 0x0f, 0x00, 0xd0");
    CASE(ltr, ".byte 0x0f, 0x00, 0xd8");
    CASE(lmsw, ".byte 0x0f, 0x01, 0xf0");
    CASE(invlpg, ".byte 0x0f, 0x01, 0x38");
    CASE(wrmsr, "wrmsr");
    CASE(swapgs, ".byte 0x0f, 0x01, 0xf8");
    CASE(sysexit, ".byte 0x0f, 0x35");
    CASE(sysret, ".byte 0x0f, 0x07");
    CASE(sysenter, ".byte 0x0f, 0x34");
    CASE(monitor, ".byte 0x0f, 0x01, 0xc8");
    CASE(mwait, ".byte 0x0f, 0x01, 0xc9");
    CASE(outsb, "movw $0x80, %%dx\n outsb");
    CASE(in_dx, "movw $0x80, %%dx\n inl %%dx, %%eax");
    CASE(out_imm, "outb %%al, $0x80");
    CASE(ud2, "ud2");
    CASE(ud1, ".byte 0x0f, 0xb9, 0xc0");
    CASE(lock_nop, ".byte 0xf0, 0x90");
    CASE(bad_0f_ff, ".byte 0x0f, 0xff, 0xc0");
    CASE(mov_cr0, ".byte 0x0f, 0x20, 0xc0");
    CASE(lgdt, ".byte 0x0f, 0x01, 0x15, 0, 0, 0, 0");
    CASE(rdmsr, "rdmsr");
    CASE(wbinvd, "wbinvd");
    CASE(clts, "clts");
    CASE(invd, "invd");
    CASE(sysenter_not, "xorl %%eax, %%eax");
    CASE(div0, "xorl %%edx, %%edx\n xorl %%eax, %%eax\n divl %%eax");
    single_step();
    return 0;
}
