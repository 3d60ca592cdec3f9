/* The FP state and signals, as the i386 kernel keeps them (arch/x86/kernel/fpu/signal.c):
   - a program and every handler start with the initial FP state (FCW 0x37f, MXCSR 0x1f80, empty
     x87 stack), whatever the interrupted code set;
   - a timer interrupting long x87 and SSE work: the handler sees the interrupted rounding mode, x87
     stack and xmm7 in uc_mcontext.fpregs (or sigcontext.fpstate), does FP of its own, and the
     interrupted work goes on intact;
   - the frame's FP area (fsave header, fxsave image, xsave extension) and where it lies;
   - what sigreturn takes back from a frame a handler edited (the header wins, fxsave-only frames,
     xstate_bv bits, a null fpstate);
   - unmasked exceptions (feenableexcept): SIGFPE with the kernel's si_code, si_addr, trapno.
   With an argument, one edit that makes sigreturn fail: the process dies of SIGSEGV.
   Built as x87 code by default, and also with -msse2 -mfpmath=sse (tests/e2e/test_fp_signals.py). */
#define _GNU_SOURCE
#include <fenv.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <ucontext.h>
#include <unistd.h>

#define HDR 112                     /* the fsave-format header before the fxsave image */
#define FX_MXCSR 24
#define FX_ST 32
#define FX_XMM 160
#define FX_SW 464                   /* struct _fpx_sw_bytes */
#define FX_XHDR 512                 /* the xsave header: xstate_bv, xcomp_bv, reserved */
#define MAGIC1 0x46505853u
#define MAGIC2 0x46505845u
#define FCW_RZ 0x0f7f               /* round toward zero, all masked */
#define MXCSR_RZ 0x7f80
#ifdef __SSE__
#define XMM(r) r
#else
#define XMM(r) "memory"             /* without -msse the compiler keeps nothing in xmm registers */
#endif

static uint32_t rd32(const void *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static void wr32(void *p, uint32_t v) { memcpy(p, &v, 4); }

struct fpenv { unsigned short cw, sw, tag; unsigned mxcsr; };

static struct fpenv read_env(void) {
    struct fpenv e; unsigned char env[28];
    __asm__ volatile("fnstenv %0\n\tfldenv %0\n\tstmxcsr %1" : "=m"(env), "=m"(e.mxcsr));
    e.cw = rd32(env) & 0xffff; e.sw = rd32(env + 4) & 0xffff; e.tag = rd32(env + 8) & 0xffff;
    return e;
}

static int is_initial(struct fpenv e) {
    return e.cw == 0x37f && e.sw == 0 && e.tag == 0xffff && e.mxcsr == 0x1f80;
}

/* ---- the interrupted work: x87 and SSE in a loop, K kept at the bottom of the x87 stack and the
   pattern in xmm7 throughout (fp_work(n, out): out[0..7] the x87 result, [8..15] the SSE one,
   [16..25] K as it is at the end, [32..47] xmm7 at the end) ---- */
__asm__(
    ".section .rodata\n.balign 16\n"
    "k_value: .byte 0x35,0xc2,0x68,0x21,0xa2,0xda,0x0f,0xc9,0x00,0x40\n.balign 16\n"   /* pi */
    "x7_pattern: .byte 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16\n"
    "c_mul: .double 1.7320508075688772\nc_add: .double 0.4142135623730950\n"
    "s_mul: .double 2.2360679774997896\ns_add: .double 0.7071067811865475\n"
    ".text\n.globl fp_work, loop_begin, loop_end\n"
    "fp_work:\n"
    "  movl 4(%esp), %ecx\n  movl 8(%esp), %edx\n"
    "  fldt k_value\n  movdqu x7_pattern, %xmm7\n"
    "  fld1\n  movsd c_add, %xmm0\n"
    "loop_begin:\n"
    "  fld %st(0)\n  fmull c_mul\n  faddl c_add\n  fsqrt\n  fxch\n  fstp %st(0)\n"    /* a = sqrt(a*m + c) */
    "  mulsd s_mul, %xmm0\n  addsd s_add, %xmm0\n  sqrtsd %xmm0, %xmm0\n"
    "  decl %ecx\n  jnz loop_begin\n"
    "loop_end:\n"
    "  fstpl (%edx)\n  movsd %xmm0, 8(%edx)\n  fstpt 16(%edx)\n  movdqu %xmm7, 32(%edx)\n"
    "  ret\n");
void fp_work(int n, unsigned char *out);
extern char loop_begin[], loop_end[], k_value[], x7_pattern[];

static volatile int ticks, in_loop, bad_init, bad_cw, bad_mxcsr, bad_k, bad_x7, bad_own;
static volatile double own_result;

static void check_interrupted(unsigned eip, const unsigned char *fp) {
    if (eip < (unsigned)loop_begin || eip >= (unsigned)loop_end)
        return;
    in_loop++;
    const unsigned char *fx = fp + HDR;
    if ((rd32(fp) & 0xffff) != FCW_RZ || (*(uint16_t *)fx) != FCW_RZ) bad_cw++;
    if ((rd32(fx + FX_MXCSR) & ~0x3fu) != MXCSR_RZ) bad_mxcsr++;     /* flags aside */
    int top = (rd32(fp + 4) >> 11) & 7;           /* K went in first: physical register 7 */
    int k = (7 - top) & 7;
    if (memcmp(fp + 28 + 10 * k, k_value, 10) || memcmp(fx + FX_ST + 16 * k, k_value, 10)) bad_k++;
    if (((rd32(fp + 8) >> 14) & 3) == 3) bad_k++;    /* physical 7 tagged empty */
    if (memcmp(fx + FX_XMM + 7 * 16, x7_pattern, 16)) bad_x7++;
}

/* the handler's own FP: another rounding mode, the whole x87 stack, xmm7, MXCSR */
static void own_fp(void) {
    struct fpenv e = read_env();
    if (!is_initial(e)) bad_init++;
    fesetround(FE_UPWARD);
    volatile double a = 1.0, b = 3.0;
    own_result = a / b;
    double sum;
    __asm__ volatile("fld1\n\tfld1\n\tfld1\n\tfld1\n\tfld1\n\tfld1\n\tfld1\n\tfldpi\n\t"
                     "faddp\n\tfaddp\n\tfaddp\n\tfaddp\n\tfaddp\n\tfaddp\n\tfaddp\n\tfstpl %0\n\t"
                     "pcmpeqb %%xmm7, %%xmm7\n\txorps %%xmm0, %%xmm0" : "=m"(sum) :: XMM("xmm0"), XMM("xmm7"));
    if (sum < 10.14 || sum > 10.15) bad_own++;
    unsigned mx = 0x9fc0;                         /* FTZ, DAZ, round down */
    __asm__ volatile("ldmxcsr %0" :: "m"(mx));
}

static void on_tick(int sig, siginfo_t *si, void *ucv) {
    ucontext_t *uc = ucv;
    check_interrupted(uc->uc_mcontext.gregs[REG_EIP], (unsigned char *)uc->uc_mcontext.fpregs);
    own_fp();
    ticks++;
}

/* A handler without SA_SIGINFO gets a sigframe: pretcode, the signal number, then the sigcontext.
   old_entry(sig) calls fn(frame) with the frame's address (its own esp on entry). */
#define OLD_HANDLER(name, fn) \
    __asm__(".text\n" #name ":\n  leal (%esp), %eax\n  pushl %eax\n  call " #fn "\n  addl $4, %esp\n  ret\n"); \
    void name(int)
__attribute__((used, noinline)) static void tick_old(unsigned *frame) {
    struct sigcontext *sc = (struct sigcontext *)(frame + 2);
    check_interrupted(sc->eip, (unsigned char *)sc->fpstate);
    own_fp();
    ticks++;
}
OLD_HANDLER(on_tick_old, tick_old);

static void timer_phase(const char *name, int siginfo) {
    struct sigaction sa; memset(&sa, 0, sizeof sa);
    if (siginfo) { sa.sa_sigaction = on_tick; sa.sa_flags = SA_SIGINFO | SA_RESTART; }
    else { sa.sa_handler = on_tick_old; sa.sa_flags = SA_RESTART; }
    sigaction(SIGALRM, &sa, 0);
    ticks = in_loop = bad_init = bad_cw = bad_mxcsr = bad_k = bad_x7 = bad_own = 0;
    unsigned char first[48], out[48];
    fesetround(FE_TOWARDZERO);
    fp_work(1000, first);
    struct itimerval it = {{0, 2000}, {0, 2000}};
    setitimer(ITIMER_REAL, &it, 0);
    int chunks = 0, differ = 0;
    while ((ticks < 20 || in_loop < 5) && chunks < 20000) {
        fp_work(1000, out);
        differ += memcmp(out, first, 26) != 0 || memcmp(out + 32, x7_pattern, 16) != 0;
        chunks++;
    }
    /* C-level FP work under the timer too */
    double s = 0; long double l = 0; float f = 0;
    for (long i = 1; i < 300000; i++) { s += 1.0 / i; l += 1.0L / i; f += 1.0f / (float)i; }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, 0);
    struct fpenv e = read_env();
    fesetround(FE_TONEAREST);
    printf("%s: ticks>=20 %d in_loop>=5 %d differ %d bad init %d cw %d mxcsr %d k %d xmm7 %d own %d\n",
           name, ticks >= 20, in_loop >= 5, differ, bad_init, bad_cw, bad_mxcsr, bad_k, bad_x7, bad_own);
    printf("%s: after cw %04x mxcsr %04x results %.17g %.17g k_ok %d own %.17g sums %.17g %.21Lg %.9g\n",
           name, e.cw, e.mxcsr, *(double *)first, *(double *)(first + 8), !memcmp(first + 16, k_value, 10),
           own_result, s, l, f);
}

/* ---- the frame's FP area, and sigreturn from an edited frame ---- */

enum edit {
    E_NONE, E_HDR_CW, E_HDR_ST0, E_FX_ST0, E_FX_CW, E_HDR_TAG, E_FX_MXCSR, E_FX_XMM, E_FX_ONLY,
    E_NO_FP, E_NO_SSE, E_SW_NO_FP, E_MAGIC2_NO_FP, E_SMALL_XSTATE, E_NULL, E_MAGIC_FFFF, E_MXCSR_MASK,
    E_HDR_SW, E_NO_FP_NO_SSE,
    E_BAD_MXCSR, E_BAD_MXCSR_FXONLY, E_BAD_XCOMP, E_BAD_XFEATURES, E_BAD_RESERVED, E_BAD_POINTER,
    E_COUNT
};
static const char *edit_names[E_COUNT] = {
    "none", "hdr-cw", "hdr-st0", "fx-st0", "fx-cw", "hdr-tag", "fx-mxcsr", "fx-xmm", "fx-only",
    "no-fp", "no-sse", "sw-no-fp", "magic2-no-fp", "small-xstate", "null", "magic-ffff", "mxcsr-mask",
    "hdr-sw", "no-fp-no-sse",
    "bad-mxcsr", "bad-mxcsr-fxonly", "bad-xcomp", "bad-xfeatures", "bad-reserved", "bad-pointer",
};
static volatile int edit;
static char layout[400];

static void describe(ucontext_t *uc, siginfo_t *si) {
    unsigned char *fp = (unsigned char *)uc->uc_mcontext.fpregs, *fx = fp + HDR;
    unsigned isp = uc->uc_mcontext.gregs[REG_ESP], frame = (unsigned)si - 16;
    int xsave = rd32(fx + FX_SW) == MAGIC1;
    unsigned xsize = rd32(fx + FX_SW + 16), ext = rd32(fx + FX_SW + 4);
    unsigned math = xsave ? xsize + 4 : 512;
    snprintf(layout, sizeof layout,
             "layout: uc_flags %lx fx%%64 %d fx_at %d frame_at %d hdr %08x %08x %08x cs %08x ds %08x "
             "status %08x xsave %d ext-size %d xfeatures %llx magic2 %d xstate_bv %llx xcomp %llx",
             uc->uc_flags, (unsigned)fx % 64, (unsigned)fx == ((isp - math) & ~63u),
             frame == ((((unsigned)fp - 268) + 4) & ~15u) - 4, rd32(fp), rd32(fp + 4), rd32(fp + 8),
             rd32(fp + 16), rd32(fp + 24), rd32(fp + 108), xsave, xsave ? (int)(ext - xsize) : -1,
             xsave ? *(unsigned long long *)(fx + FX_SW + 8) : 0ull, xsave && rd32(fx + xsize) == MAGIC2,
             xsave ? *(unsigned long long *)(fx + FX_XHDR) : 0ull,
             xsave ? *(unsigned long long *)(fx + FX_XHDR + 8) : 0ull);
}

static void on_edit(int sig, siginfo_t *si, void *ucv) {
    ucontext_t *uc = ucv;
    unsigned char *fp = (unsigned char *)uc->uc_mcontext.fpregs, *fx = fp + HDR;
    static const unsigned char one[10] = {0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x3f};
    int xsave = rd32(fx + FX_SW) == MAGIC1;
    unsigned xsize = rd32(fx + FX_SW + 16);
    if (!is_initial(read_env())) bad_init++;
    switch (edit) {
    case E_NONE: describe(uc, si); break;
    case E_HDR_CW: wr32(fp, 0xffff027f); break;
    case E_HDR_ST0: memcpy(fp + 28, one, 10); break;
    case E_FX_ST0: memcpy(fx + FX_ST, one, 10); break;
    case E_FX_CW: *(uint16_t *)fx = 0x027f; break;
    case E_HDR_TAG: wr32(fp + 8, rd32(fp + 8) | 3u << (2 * ((rd32(fp + 4) >> 11) & 7))); break;
    case E_FX_MXCSR: wr32(fx + FX_MXCSR, 0x1fc0); break;
    case E_FX_XMM: fx[FX_XMM + 6 * 16] = 0xee; break;
    case E_FX_ONLY: wr32(fx + FX_SW, 0); fx[FX_XMM + 6 * 16] = 0xee; fx[FX_XHDR] &= ~3; break;
    case E_NO_FP: if (xsave) fx[FX_XHDR] &= ~1; break;
    case E_NO_SSE: if (xsave) fx[FX_XHDR] &= ~2; break;
    case E_NO_FP_NO_SSE: if (xsave) fx[FX_XHDR] &= ~3; wr32(fx + FX_MXCSR, 0x1fc0); break;
    case E_SW_NO_FP: if (xsave) fx[FX_SW + 8] &= ~1; break;
    case E_MAGIC2_NO_FP: if (xsave) { wr32(fx + xsize, 0); fx[FX_XHDR] &= ~1; } break;
    case E_SMALL_XSTATE: if (xsave) { wr32(fx + FX_SW + 16, 512); fx[FX_XHDR] &= ~1; } break;
    case E_NULL: uc->uc_mcontext.fpregs = 0; break;
    case E_MAGIC_FFFF: *(uint16_t *)(fp + 110) = 0xffff; break;
    case E_MXCSR_MASK: wr32(fx + FX_MXCSR + 4, 0); break;
    case E_HDR_SW: wr32(fp + 4, 0xffff0000 | 0x3800 | 0x4); *(uint16_t *)(fp + 108) = 0x1234; break;
    case E_BAD_MXCSR: wr32(fx + FX_MXCSR, 0x80001f80); break;
    case E_BAD_MXCSR_FXONLY: wr32(fx + FX_SW, 0); wr32(fx + FX_MXCSR, 0x80001f80); break;
    case E_BAD_XCOMP: fx[FX_XHDR + 15] = 0x80; break;
    case E_BAD_XFEATURES: fx[FX_XHDR + 7] = 0x40; break;
    case E_BAD_RESERVED: fx[FX_XHDR + 20] = 1; break;
    case E_BAD_POINTER: uc->uc_mcontext.fpregs = (void *)16; break;
    }
    if (edit >= E_BAD_MXCSR)
        write(1, "edited: sigreturn must fail\n", 28);
    /* the handler's own state must not leak back */
    fesetround(FE_UPWARD);
    __asm__ volatile("fld1\n\tfld1\n\tpcmpeqb %%xmm6, %%xmm6" ::: XMM("xmm6"));
}

static unsigned char saved_fx[512] __attribute__((aligned(16)));

/* The interrupted state: FCW round-to-zero, MXCSR round-to-zero, pi in st(0), a pattern in xmm6;
   kill(getpid(), SIGUSR2) delivers the handler on the way back from int 0x80; then fxsave. */
static void edit_case(int which) {
    static const unsigned short cw = FCW_RZ; static const unsigned mx = MXCSR_RZ;
    static const unsigned char pat[16] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
                                          0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf};
    unsigned char x6[16], *fx = saved_fx;
    int pid = getpid(), ret;
    edit = which;
    __asm__ volatile("fninit\n\tfldcw %[cw]\n\tldmxcsr %[mx]\n\tfldpi\n\tmovdqu %[pat], %%xmm6\n\t"
                     "int $0x80\n\t"
                     "fxsave %[fx]\n\tmovdqu %%xmm6, %[x6]\n\tfninit\n\t"
                     : "=a"(ret), [fx] "=m"(saved_fx), [x6] "=m"(x6)
                     : "0"(37), "b"(pid), "c"(SIGUSR2), [cw] "m"(cw), [mx] "m"(mx), [pat] "m"(pat)
                     : XMM("xmm6"), "memory");
    unsigned init_mx = 0x1f80;
    __asm__ volatile("ldmxcsr %0" :: "m"(init_mx));
    printf("edit %-13s cw %04x sw %04x ftw %02x mxcsr %04x st0", edit_names[which], *(uint16_t *)fx,
           *(uint16_t *)(fx + 2), fx[4], rd32(fx + FX_MXCSR));
    for (int i = 9; i >= 0; i--) printf(" %02x", fx[FX_ST + i]);
    printf(" xmm6 %02x%02x\n", x6[0], x6[1]);
    fflush(stdout);
}

static void edit_phase(void) {
    struct sigaction sa; memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_edit; sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR2, &sa, 0);
    bad_init = 0;
    for (int i = 0; i < E_BAD_MXCSR; i++) {
        edit_case(i);
        if (i == E_NONE) printf("%s\n", layout);
    }
    printf("edit: handlers started with the initial state: %d\n", bad_init == 0);
}

/* a sigframe (no SA_SIGINFO): sigreturn restores from sigcontext.fpstate too */
__attribute__((used, noinline)) static void edit_old(unsigned *frame) {
    struct sigcontext *sc = (struct sigcontext *)(frame + 2);
    unsigned char *fp = (unsigned char *)sc->fpstate;
    printf("old frame: at %d cw %04x mxcsr %04x\n",
           (unsigned)frame == ((((unsigned)fp - 732) + 4) & ~15u) - 4, rd32(fp) & 0xffff,
           rd32(fp + HDR + FX_MXCSR));
    wr32(fp, 0xffff027f);
    wr32(fp + HDR + FX_MXCSR, 0x1fc0);
    fesetround(FE_DOWNWARD);
}
OLD_HANDLER(on_edit_old, edit_old);

static void old_frame_phase(void) {
    signal(SIGUSR2, on_edit_old);
    fesetround(FE_TOWARDZERO);
    raise(SIGUSR2);
    struct fpenv e = read_env();
    fesetround(FE_TONEAREST);
    unsigned mx = 0x1f80;
    __asm__ volatile("ldmxcsr %0" :: "m"(mx));
    printf("old frame: after cw %04x mxcsr %04x\n", e.cw, e.mxcsr);
}

/* ---- unmasked exceptions ---- */
__asm__(
    ".section .rodata\n.balign 8\n"
    "d_one: .double 1.0\nd_big: .double 1e300\nd_minus: .double -1.0\nd_tiny: .double 1e-300\n"
    "d_three: .double 3.0\nd_zero: .double 0.0\n"
    ".text\n"
    ".globl x87_div, x87_div_wait\nx87_div:\n  fldz\n  fld1\n  fdiv %st(1), %st\n"
    "x87_div_wait:\n  fwait\n  fstp %st(0)\n  fstp %st(0)\n  ret\n"
    ".globl x87_inv, x87_inv_wait\nx87_inv:\n  fldl d_minus\n  fsqrt\n"
    "x87_inv_wait:\n  fstp %st(0)\n  ret\n"
    ".globl x87_ovf, x87_ovf_wait\nx87_ovf:\n  subl $8, %esp\n  fldl d_big\n  fmul %st(0), %st\n"
    "  fstpl (%esp)\nx87_ovf_wait:\n  fwait\n  addl $8, %esp\n  ret\n"
    ".globl x87_tb, x87_tb_wait\nx87_tb:\n  fldz\n  fld1\n  fdiv %st(1), %st\n  jmp 1f\n  nop\n"
    "1:\n  movl $20, %eax\n  int $0x80\n"                       /* getpid between: a syscall exit */
    "x87_tb_wait:\n  fwait\n  fstp %st(0)\n  fstp %st(0)\n  ret\n"
    ".globl x87_mem, x87_mem_wait\nx87_mem:\n  fld1\n  fdivl d_zero\n"
    "x87_mem_wait:\n  fwait\n  fstp %st(0)\n  ret\n"
    ".globl sse_div, sse_div_op\nsse_div:\n  movsd d_one, %xmm0\n  xorpd %xmm1, %xmm1\n"
    "sse_div_op:\n  divsd %xmm1, %xmm0\n  ret\n"
    ".globl sse_inv, sse_inv_op\nsse_inv:\n  movsd d_minus, %xmm0\n"
    "sse_inv_op:\n  sqrtsd %xmm0, %xmm1\n  ret\n"
    ".globl sse_ovf, sse_ovf_op\nsse_ovf:\n  movsd d_big, %xmm0\n"
    "sse_ovf_op:\n  mulsd %xmm0, %xmm0\n  ret\n"
    ".globl sse_und, sse_und_op\nsse_und:\n  movsd d_tiny, %xmm0\n"
    "sse_und_op:\n  mulsd %xmm0, %xmm0\n  ret\n"
    ".globl sse_res, sse_res_op\nsse_res:\n  movsd d_one, %xmm0\n"
    "sse_res_op:\n  divsd d_three, %xmm0\n  ret\n");
void x87_div(void), x87_inv(void), x87_ovf(void), x87_tb(void), x87_mem(void);
void sse_div(void), sse_inv(void), sse_ovf(void), sse_und(void), sse_res(void);
extern char x87_div_wait[], x87_inv_wait[], x87_ovf_wait[], x87_tb_wait[], x87_mem_wait[];
extern char sse_div_op[], sse_inv_op[], sse_ovf_op[], sse_und_op[], sse_res_op[];

static sigjmp_buf fpe_jump;
static volatile unsigned fpe_addr, fpe_eip, fpe_trapno, fpe_err, fpe_flags, fpe_fsw, fpe_mxcsr;
static volatile int fpe_code, fpe_signo, fpe_init;

static void on_fpe(int sig, siginfo_t *si, void *ucv) {
    ucontext_t *uc = ucv;
    unsigned char *fp = (unsigned char *)uc->uc_mcontext.fpregs;
    fpe_init = is_initial(read_env());
    fpe_signo = si->si_signo; fpe_code = si->si_code; fpe_addr = (unsigned)si->si_addr;
    fpe_eip = uc->uc_mcontext.gregs[REG_EIP]; fpe_trapno = uc->uc_mcontext.gregs[REG_TRAPNO];
    fpe_err = uc->uc_mcontext.gregs[REG_ERR]; fpe_flags = uc->uc_mcontext.gregs[REG_EFL];
    fpe_fsw = rd32(fp + 4) & 0xffff; fpe_mxcsr = rd32(fp + HDR + FX_MXCSR);
    siglongjmp(fpe_jump, 1);
}

static void fpe_case(const char *name, void (*op)(void), int excepts, const char *where) {
    fpe_signo = 0;
    if (sigsetjmp(fpe_jump, 1) == 0) {
        feclearexcept(FE_ALL_EXCEPT);
        feenableexcept(excepts);
        op();
        fedisableexcept(FE_ALL_EXCEPT);
        printf("fpe %-8s no signal\n", name);
        return;
    }
    int still = fegetexcept();         /* the handler's state: all masked */
    fedisableexcept(FE_ALL_EXCEPT);
    feclearexcept(FE_ALL_EXCEPT);
    printf("fpe %-8s signo %d code %d addr %+d eip %+d trapno %d err %d rf %d fsw %04x mxcsr %04x "
           "init %d masked-after %d\n",
           name, fpe_signo, fpe_code, (int)(fpe_addr - (unsigned)where), (int)(fpe_eip - (unsigned)where),
           fpe_trapno, fpe_err, !!(fpe_flags & 0x10000), fpe_fsw, fpe_mxcsr, fpe_init, still == 0);
}

static void fpe_phase(void) {
    struct sigaction sa; memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fpe; sa.sa_flags = SA_SIGINFO;
    sigaction(SIGFPE, &sa, 0);
    fpe_case("x87-div", x87_div, FE_DIVBYZERO, x87_div_wait);
    fpe_case("x87-inv", x87_inv, FE_INVALID, x87_inv_wait);
    fpe_case("x87-ovf", x87_ovf, FE_OVERFLOW, x87_ovf_wait);
    fpe_case("x87-tb", x87_tb, FE_DIVBYZERO, x87_tb_wait);
    fpe_case("x87-mem", x87_mem, FE_DIVBYZERO, x87_mem_wait);
    fpe_case("sse-div", sse_div, FE_DIVBYZERO, sse_div_op);
    fpe_case("sse-inv", sse_inv, FE_INVALID, sse_inv_op);
    fpe_case("sse-ovf", sse_ovf, FE_OVERFLOW, sse_ovf_op);
    fpe_case("sse-und", sse_und, FE_UNDERFLOW, sse_und_op);
    fpe_case("sse-res", sse_res, FE_INEXACT, sse_res_op);
    fpe_case("masked", sse_div, 0, sse_div_op);
    /* C code dividing by zero with the exception unmasked */
    volatile double zero = 0.0, r = 0;
    if (sigsetjmp(fpe_jump, 1) == 0) {
        feenableexcept(FE_DIVBYZERO);
        r = 1.0 / zero;
        r += 1.0;
        fedisableexcept(FE_ALL_EXCEPT);
        printf("fpe c-div no signal %g\n", r);
    } else {
        fedisableexcept(FE_ALL_EXCEPT);
        feclearexcept(FE_ALL_EXCEPT);
        printf("fpe c-div signo %d code %d trapno %d\n", fpe_signo, fpe_code, fpe_trapno);
    }
}

int main(int argc, char **argv) {
    struct fpenv e = read_env();
    printf("start: cw %04x sw %04x tag %04x mxcsr %04x\n", e.cw, e.sw, e.tag, e.mxcsr);
    fflush(stdout);
    if (argc > 1) {                     /* an edit that makes sigreturn fail: SIGSEGV */
        for (int i = E_BAD_MXCSR; i < E_COUNT; i++)
            if (!strcmp(argv[1], edit_names[i])) {
                struct sigaction sa; memset(&sa, 0, sizeof sa);
                sa.sa_sigaction = on_edit; sa.sa_flags = SA_SIGINFO;
                sigaction(SIGUSR2, &sa, 0);
                edit_case(i);
                return 0;
            }
        printf("unknown edit %s\n", argv[1]);
        return 2;
    }
    timer_phase("timer rt", 1);
    timer_phase("timer old", 0);
    edit_phase();
    old_frame_phase();
    fpe_phase();
    return 0;
}
