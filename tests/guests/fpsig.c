/* FP state across signal handlers, as the kernel keeps it: the handler starts with the initial FP
   state whatever the interrupted code set, sees the interrupted state in uc_mcontext.fpregs (header
   and fxsave image), may change it there, and its own FP work leaves the interrupted code's alone. */
#define _GNU_SOURCE
#include <fenv.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <ucontext.h>

#ifdef __SSE__
#define XMM7 "xmm7"
#else
#define XMM7 "memory"   /* without -msse the compiler keeps nothing in xmm7 */
#endif

static volatile unsigned short h_cw, h_sw, h_top;
static volatile unsigned h_mxcsr, h_magic, f_mxcsr, f_cw, f_tag;
static volatile double h_result;
static unsigned char f_st0[10], f_xmm7[16];
static volatile int ticks;

static void on_usr1(int sig, siginfo_t *si, void *ucv) {
    ucontext_t *uc = ucv;
    unsigned char *fp = (unsigned char *)uc->uc_mcontext.fpregs;
    unsigned short cw, sw; unsigned mx;
    __asm__ volatile("fnstcw %0\n\tfnstsw %1\n\tstmxcsr %2" : "=m"(cw), "=m"(sw), "=m"(mx));
    h_cw = cw; h_sw = sw; h_top = (sw >> 11) & 7; h_mxcsr = mx;
    f_cw = uc->uc_mcontext.fpregs->cw & 0xffff;
    f_tag = uc->uc_mcontext.fpregs->tag & 0xffff;
    memcpy(f_st0, &uc->uc_mcontext.fpregs->_st[0], 10);
    h_magic = *(unsigned short *)(fp + 110);
    f_mxcsr = *(unsigned *)(fp + 112 + 24);
    memcpy(f_xmm7, fp + 112 + 160 + 7 * 16, 16);
    /* the handler's own FP work: another rounding mode, x87 pushes, xmm registers */
    fesetround(FE_UPWARD);
    volatile double a = 1.0, b = 3.0;
    h_result = a / b;
    __asm__ volatile("fld1\n\tfldpi\n\tfaddp\n\tfstp %%st(0)\n\tpcmpeqb %%xmm7, %%xmm7" ::: XMM7);
    uc->uc_mcontext.fpregs->cw = (uc->uc_mcontext.fpregs->cw & ~0x300) | 0x200;  /* precision 53 */
}

static void on_alarm(int sig) { volatile double x = 0.1; for (int i = 0; i < 10; i++) x = x * 1.5 + 0.25; ticks++; }

int main(void) {
    struct sigaction sa; memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_usr1; sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, 0);
    fesetround(FE_TOWARDZERO);
    unsigned mx = 0; __asm__ volatile("stmxcsr %0" : "=m"(mx));
    mx |= 0x8000;                                   /* FTZ on in the interrupted code */
    __asm__ volatile("ldmxcsr %0" :: "m"(mx));
    static const unsigned char pattern[16] = {1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16};
    double kept; unsigned short cw_after; unsigned char x7[16];
    __asm__ volatile("movdqu %1, %%xmm7" :: "m"(pattern[0]), "m"(pattern) : XMM7);
    __asm__ volatile("fldl2e" ::: "st");
    raise(SIGUSR1);
    __asm__ volatile("fstpl %0\n\tfnstcw %1\n\tmovdqu %%xmm7, %2" : "=m"(kept), "=m"(cw_after), "=m"(x7));
    printf("handler: cw %04x sw %04x top %d mxcsr %08x result %.17g\n", h_cw, h_sw, h_top, h_mxcsr, h_result);
    printf("fpregs: magic %04x cw %04x tag %04x mxcsr %08x st0", h_magic, f_cw, f_tag, f_mxcsr);
    for (int i = 9; i >= 0; i--) printf(" %02x", f_st0[i]);
    printf("\nxmm7 seen:");
    for (int i = 0; i < 16; i++) printf(" %d", f_xmm7[i]);
    printf("\nafter: st0 %.17g cw %04x xmm7 intact %d round %d\n", kept, cw_after, !memcmp(x7, pattern, 16),
           fegetround() == FE_TOWARDZERO);
    /* a timer interrupting FP work: the result is the same as without it */
    signal(SIGALRM, on_alarm);
    struct itimerval it = {{0, 10000}, {0, 10000}};
    setitimer(ITIMER_REAL, &it, 0);
    fesetround(FE_TONEAREST);
    double s = 0; long double l = 0; float f = 0;
    for (long i = 1; i < 20000000; i++) { s += 1.0 / i; l += 1.0L / i; f += 1.0f / (float)i; }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, 0);
    printf("timer: ticks>0 %d sums %.17g %.21Lg %.9g\n", ticks > 0, s, l, f);
    return 0;
}
