/* The FP environment, and control flow across FP code.

   fenv: the four rounding modes applied to arithmetic (float, double, long double), conversions
   (int <-> float, double -> float, lrint/llrint, printf and strtod) and rint; the exception flags each
   operation raises (div-by-zero, invalid, overflow, underflow, inexact); feraiseexcept,
   fegetexceptflag/fesetexceptflag, feholdexcept/feupdateenv, fegetenv/fesetenv and FE_DFL_ENV; the
   control words themselves; an unmasked exception's SIGFPE, left by siglongjmp.

   setjmp/longjmp: out of nested FP computations, with values kept in volatile locals, in statics and
   in registers around the jump; the rounding mode, the x87 precision, MXCSR and the exception flags
   stay as the code that jumped left them (longjmp restores no FP state); the x87 stack depth after a
   jump out of code that left values on it. siglongjmp out of a handler: the FP state is the handler's
   (the initial one).

   Signals: an interval timer at 5 ms interrupting loops that accumulate in x87, SSE and long double,
   under a rounding mode and a precision of their own, while the handler does FP work of its own: each
   chunk of work gives the result it gives without signals. Only deterministic things are printed. */
#define _GNU_SOURCE
#include <fenv.h>
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

static uint64_t dbits(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }
static uint32_t fbits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

static const int MODES[] = {FE_TONEAREST, FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO};
static const char *MODE_NAMES[] = {"nearest", "upward", "downward", "towardzero"};

static volatile double one = 1.0, three = 3.0, tiny = 1e-300, huge = 1e300, two53 = 9007199254740992.0;
static volatile float onef = 1.0f, threef = 3.0f, hugef = 3e38f, tinyf = 1e-30f;
static volatile long double onel = 1.0L, threel = 3.0L;
static volatile long long big = 9007199254740993ll, bigger = 0x7fffffffffffffffll;
static volatile int i24 = 16777217, imax = 0x7fffffff;
static volatile unsigned umax = 0xffffffffu;
static volatile double halves[] = {0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.25, -0.75, 1e15 + 0.5, 2147483647.5};

static unsigned flags(void) {
    int e = fetestexcept(FE_ALL_EXCEPT);
    return (e & FE_INVALID ? 1 : 0) | (e & FE_DIVBYZERO ? 2 : 0) | (e & FE_OVERFLOW ? 4 : 0) |
           (e & FE_UNDERFLOW ? 8 : 0) | (e & FE_INEXACT ? 16 : 0);
}

static void control_words(const char *when) {
    unsigned short cw, sw;
    unsigned mx;
    __asm__ volatile("fnstcw %0\n\tfnstsw %1" : "=m"(cw), "=m"(sw));
#ifdef __SSE__
    __asm__ volatile("stmxcsr %0" : "=m"(mx));
#else
    mx = 0;
#endif
    printf("  [%s] cw %04x sw %04x mxcsr %08x round %d\n", when, cw, sw & 0x3fff, mx, fegetround());
}

static void arithmetic(int m) {
    char buf[80];
    double q = one / three, nq = -one / three, s = one + DBL_EPSILON / 2 * 1.5, p = huge * huge, u = tiny * tiny;
    double sq = sqrt(2.0 * one);
    float qf = onef / threef, pf = hugef * 10.0f, uf = tinyf * tinyf;
    long double ql = onel / threel, nql = -onel / threel;
    printf(" %s: 1/3 %016llx -1/3 %016llx 1+1.5eps/2 %016llx 1e300^2 %a 1e-300^2 %a sqrt2 %016llx\n",
           MODE_NAMES[m], (unsigned long long)dbits(q), (unsigned long long)dbits(nq), (unsigned long long)dbits(s),
           p, u, (unsigned long long)dbits(sq));
    printf("  float 1/3 %08x 3e38*10 %a 1e-30^2 %a; long double 1/3 %La -1/3 %La\n", fbits(qf), pf, uf, ql, nql);
    printf("  (float)1/3 %08x (float)-1/3 %08x (double)2^53+1 %a (float)16777217 %a (float)imax %a "
           "(float)umax %a (double)llmax %a (float)llmax %a\n", fbits((float)q), fbits((float)nq), (double)big,
           (float)i24, (float)imax, (float)umax, (double)bigger, (float)bigger);
    printf("  (double)1/3L %016llx (float)1/3L %08x\n", (unsigned long long)dbits((double)ql), fbits((float)ql));
    for (unsigned i = 0; i < sizeof halves / sizeof *halves; i++) {
        double h = halves[i];
        printf("  %g: rint %g nearbyint %g lrint %ld llrint %lld rintf %g lrintl %ld (int) %d\n", h, rint(h),
               nearbyint(h), lrint(h), llrint(h), rintf((float)h), lrintl(h + 0.0L), (int)h);
    }
    snprintf(buf, sizeof buf, "%.3f %.0f %.2e %.1f %g", 0.0005, 2.5, 1.005, -0.25, 1.0 / 3);
    printf("  printf: %s\n", buf);
    printf("  strtod 0.1 %016llx 1e-320 %016llx 1.7976931348623159e308 %a 0x1.00000000000008p0 %a\n",
           (unsigned long long)dbits(strtod("0.1", 0)), (unsigned long long)dbits(strtod("1e-320", 0)),
           strtod("1.7976931348623159e308", 0), strtod("0x1.00000000000008p0", 0));
    double acc = 0;
    for (int k = 1; k <= 200; k++) acc += one / k;
    float accf = 0;
    for (int k = 1; k <= 200; k++) accf += onef / k;
    printf("  harmonic(200) %016llx %08x exp(1) %016llx log(10) %016llx\n", (unsigned long long)dbits(acc),
           fbits(accf), (unsigned long long)dbits(exp(one)), (unsigned long long)dbits(log(10 * one)));
}

#define EXC(what, expr) do { feclearexcept(FE_ALL_EXCEPT); volatile double r_ = (expr); unsigned f_ = flags(); \
                             printf("  %-22s -> %a flags %02x\n", what, r_, f_); } while (0)
#define EXCF(what, expr) do { feclearexcept(FE_ALL_EXCEPT); volatile float r_ = (expr); unsigned f_ = flags(); \
                              printf("  %-22s -> %a flags %02x\n", what, r_, f_); } while (0)
#define EXCI(what, expr) do { feclearexcept(FE_ALL_EXCEPT); volatile long long r_ = (expr); unsigned f_ = flags(); \
                              printf("  %-22s -> %lld flags %02x\n", what, r_, f_); } while (0)

static void exceptions(void) {
    volatile double zero = 0.0, neg = -1.0, inf = INFINITY, qnan = NAN, big = 1e308, dmin = DBL_MIN;
    volatile float zerof = 0.0f, bigf = 3e38f, minf = FLT_MIN;
    printf("exceptions:\n");
    EXC("1/0", one / zero);
    EXC("-1/0", neg / zero);
    EXC("0/0", zero / zero);
    EXC("inf-inf", inf - inf);
    EXC("inf*0", inf * zero);
    EXC("sqrt(-1)", sqrt(neg));
    EXC("nan+1", qnan + one);
    EXC("nan<1 (ordered)", (double)(qnan < one));
    EXC("nan==1", (double)(qnan == one));
    EXC("isless(nan,1)", (double)isless(qnan, one));
    EXC("1e308*10", big * 10);
    EXC("1e308+1e308", big + big);
    EXC("DBL_MIN/3", dmin / 3);
    EXC("DBL_MIN/2 (exact)", dmin / 2);
    EXC("DBL_MIN*DBL_MIN", dmin * dmin);
    EXC("1/3", one / three);
    EXC("1+1 (exact)", one + one);
    EXC("log(0)", log(zero));
    EXC("log(-1)", log(neg));
    EXC("pow(0,-1)", pow(zero, neg));
    EXC("exp(1000)", exp(1000 * one));
    EXC("exp(-1000)", exp(-1000 * one));
    EXC("fmod(1,0)", fmod(one, zero));
    EXCF("1f/0f", onef / zerof);
    EXCF("3e38f*3e38f", bigf * bigf);
    EXCF("FLT_MIN/3", minf / 3);
    EXCF("(float)1e300", (float)big);
    EXCF("(float)1/3", (float)(one / three));
    EXCI("(int)1e10", (int)(1e10 * one));
    EXCI("(int)nan", (int)qnan);
    EXCI("(int)2.5", (int)(2.5 * one));
    EXCI("(long long)1e19", (long long)(1e19 * one));
    EXCI("lrint(1e10)", lrint(1e10 * one));
    EXCI("llrint(nan)", llrint(qnan));
    EXCI("lrint(2.5)", lrint(2.5 * one));
    EXC("rint(2.5)", rint(2.5 * one));
    EXC("nearbyint(2.5)", nearbyint(2.5 * one));
    feclearexcept(FE_ALL_EXCEPT);
    for (int e = 0; e < 5; e++) {
        static const int E[] = {FE_INVALID, FE_DIVBYZERO, FE_OVERFLOW, FE_UNDERFLOW, FE_INEXACT};
        feraiseexcept(E[e]);
        printf("  feraiseexcept(%x): flags %02x\n", E[e], flags());
    }
    fexcept_t saved;
    fegetexceptflag(&saved, FE_OVERFLOW | FE_INVALID);
    feclearexcept(FE_ALL_EXCEPT);
    printf("  cleared: %02x\n", flags());
    fesetexceptflag(&saved, FE_OVERFLOW | FE_INVALID);
    printf("  fesetexceptflag(overflow|invalid): %02x\n", flags());
    feclearexcept(FE_INVALID);
    printf("  feclearexcept(invalid): %02x\n", flags());
    control_words("after flags");
}

static void environments(void) {
    fenv_t env, held, dfl;
    printf("environments:\n");
    feclearexcept(FE_ALL_EXCEPT);
    fesetround(FE_DOWNWARD);
    volatile double x = one / three;
    printf("  downward 1/3 %a flags %02x\n", x, flags());
    fegetenv(&env);
    printf("  fegetenv: cw %04x sw %04x tags %04x\n", env.__control_word, env.__status_word & 0x3fff,
           env.__tags);
    feholdexcept(&held);
    printf("  feholdexcept: round %d flags %02x\n", fegetround(), flags());
    control_words("held");
    fesetround(FE_UPWARD);
    x = huge * huge;
    printf("  held, upward: 1e300^2 %a 1/3 %a flags %02x\n", x, one / three, flags());
    feupdateenv(&held);
    printf("  feupdateenv: round %d flags %02x (overflow and inexact merged)\n", fegetround(), flags());
    control_words("updated");
    fesetenv(FE_DFL_ENV);
    printf("  FE_DFL_ENV: round %d flags %02x\n", fegetround(), flags());
    control_words("default");
    fegetenv(&dfl);
    fesetenv(&env);
    printf("  fesetenv(saved): round %d flags %02x 1/3 %a\n", fegetround(), flags(), one / three);
    control_words("restored");
    fesetenv(&dfl);
    printf("  fesetenv(default copy): round %d flags %02x\n", fegetround(), flags());
    feclearexcept(FE_ALL_EXCEPT);
}

static sigjmp_buf fpe_jump;
static volatile int fpe_code;

static void on_fpe(int sig, siginfo_t *si, void *uc) {
    fpe_code = si->si_code;
    siglongjmp(fpe_jump, 1);
}

static void unmasked(void) {
    static const struct { const char *name; int exc; } cases[] = {
        {"divbyzero", FE_DIVBYZERO}, {"invalid", FE_INVALID}, {"overflow", FE_OVERFLOW},
    };
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fpe;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGFPE, &sa, 0);
    printf("unmasked:\n");
    for (unsigned c = 0; c < sizeof cases / sizeof *cases; c++) {
        volatile double zero = 0.0, r = 0;
        fpe_code = -1;
        fesetround(FE_UPWARD);
        if (sigsetjmp(fpe_jump, 1) == 0) {
            feenableexcept(cases[c].exc);
            if (cases[c].exc == FE_DIVBYZERO) r = one / zero;
            else if (cases[c].exc == FE_INVALID) r = zero / zero;
            else r = huge * huge;
            printf("  %s: no signal?! %a\n", cases[c].name, r);   /* x87: raised at the next FP insn */
            r = r + 1;
            printf("  %s: still no signal %a\n", cases[c].name, r);
        }
        /* the handler ran with the initial FP state and siglongjmp left it in place */
        printf("  %s: si_code %d, after siglongjmp: enabled %x round %d flags %02x\n", cases[c].name, fpe_code,
               fegetexcept(), fegetround(), flags());
        control_words("after siglongjmp");
        fedisableexcept(FE_ALL_EXCEPT);
        feclearexcept(FE_ALL_EXCEPT);
        fesetround(FE_TONEAREST);
    }
}

/* ---- setjmp/longjmp ---- */

static unsigned short get_cw(void) { unsigned short cw; __asm__ volatile("fnstcw %0" : "=m"(cw)); return cw; }
static unsigned short get_sw(void) { unsigned short sw; __asm__ volatile("fnstsw %0" : "=m"(sw)); return sw; }
static void set_cw(unsigned short cw) { __asm__ volatile("fldcw %0" ::"m"(cw) : "memory"); }
static unsigned get_mxcsr(void) {
#ifdef __SSE__
    unsigned m;
    __asm__ volatile("stmxcsr %0" : "=m"(m));
    return m;
#else
    return 0;
#endif
}

static void state(const char *when) {
    printf("  [%s] cw %04x top %d mxcsr %08x round %d except %02x\n", when, get_cw(), (get_sw() >> 11) & 7,
           get_mxcsr(), fegetround(), fetestexcept(FE_ALL_EXCEPT));
}

static jmp_buf jb;
static volatile double g_partial;
static volatile int depth_reached;

static double __attribute__((noinline)) descend(double x, int depth) {
    double y = x * 1.0000001 + sin(x) / (depth + 1);
    depth_reached = depth;
    if (depth == 7) {
        g_partial = y;
        fesetround(FE_DOWNWARD);
        feraiseexcept(FE_INEXACT | FE_UNDERFLOW);
        longjmp(jb, depth);
    }
    return descend(y, depth + 1) * 0.5 + y;
}

/* leaves two values on the x87 stack (lying to the compiler), then jumps */
static void __attribute__((noinline)) leave_on_stack(void) {
    __asm__ volatile("fldpi\n\tfld1");
    longjmp(jb, 42);
}

static void plain_longjmp(void) {
    volatile double kept = 1.0 / 3.0;
    volatile long double kept_l = 1.0L / 7.0L;
    double reg = 2.5;
    printf("longjmp:\n");
    state("before");
    int r = setjmp(jb);
    if (r == 0) {
        kept = kept * 3;
        kept_l = kept_l * 7;
        double v = descend(reg, 0);
        printf("  not reached %a\n", v);
    }
    printf("  setjmp returned %d depth %d partial %016llx kept %a kept_l %La reg %a\n", r, depth_reached,
           (unsigned long long)dbits(g_partial), kept, kept_l, reg);
    state("after longjmp");
    volatile double third = 1.0;
    third /= 3;
    printf("  1/3 rounded down after the jump: %016llx\n", (unsigned long long)dbits(third));
    fesetround(FE_TONEAREST);
    feclearexcept(FE_ALL_EXCEPT);

    /* precision control and MXCSR survive a longjmp too */
    if (setjmp(jb) == 0) {
        set_cw(0x007f);                  /* precision 24, all masked */
#ifdef __SSE__
        unsigned m = 0x9fc0;             /* flush to zero, denormals are zero, round to nearest */
        __asm__ volatile("ldmxcsr %0" ::"m"(m));
#endif
        longjmp(jb, 1);
    }
    volatile long double a = 1.0L, b = 3.0L;
    volatile long double q = a / b;
    volatile double tiny = 1e-310;
    volatile double t2 = tiny * 0.5;
    unsigned char qb[10];
    memcpy(qb, (const void *)&q, 10);
    printf("  after the jump, precision 24: 1/3 = %02x%02x:%02x%02x%02x%02x... denormal*0.5 %a\n", qb[9], qb[8],
           qb[7], qb[6], qb[5], qb[4], t2);
    state("pc24 ftz");
    set_cw(0x037f);
#ifdef __SSE__
    unsigned m = 0x1f80;
    __asm__ volatile("ldmxcsr %0" ::"m"(m));
#endif

    /* the x87 stack after a jump out of code that left values on it: the depth shows in TOP */
    if (setjmp(jb) == 0)
        leave_on_stack();
    unsigned short sw = get_sw();
    long double top0, top1;
    __asm__ volatile("fstpt %0\n\tfstpt %1" : "=m"(top0), "=m"(top1));
    printf("  after leave_on_stack: top %d, popped %La %La, top %d\n", (sw >> 11) & 7, top0, top1,
           (get_sw() >> 11) & 7);
#ifdef __SSE2__
    /* xmm values the compiler keeps around a setjmp */
    volatile __m128d keep = _mm_set_pd(1.25, -0.0);
    if (setjmp(jb) == 0) {
        __m128d clobber = _mm_set1_pd(99.0);
        __asm__ volatile("movapd %0, %%xmm0\n\tmovapd %0, %%xmm7" ::"x"(clobber) : "xmm0", "xmm7");
        longjmp(jb, 2);
    }
    double lo, hi;
    _mm_storel_pd(&lo, keep);
    _mm_storeh_pd(&hi, keep);
    printf("  xmm kept across the jump: %a %a\n", lo, hi);
#endif
}

static sigjmp_buf sjb;

static void on_usr1(int sig) {
    /* the handler starts with the initial FP state; jumping out leaves it */
    volatile double h = 2.0;
    h = sqrt(h);
    siglongjmp(sjb, (int)(h * 100));
}

static void handler_longjmp(void) {
    printf("siglongjmp out of a handler:\n");
    signal(SIGUSR1, on_usr1);
    int r = sigsetjmp(sjb, 1);
    if (r == 0) {
        fesetround(FE_UPWARD);
        set_cw(get_cw() & ~0x0300);        /* precision 24 as well */
        feraiseexcept(FE_OVERFLOW);
        __asm__ volatile("fld1\n\tfldz");  /* two values on the x87 stack */
        raise(SIGUSR1);
        printf("  not reached\n");
    }
    printf("  sigsetjmp returned %d\n", r);
    state("after siglongjmp");
}

/* ---- timer ---- */

static volatile int ticks, handler_bad;
static volatile double handler_ref;
static volatile long double handler_ref_l;
#ifdef __SSE__
#define MXCSR_INIT 0x1f80u
#else
#define MXCSR_INIT 0u
#endif

static double handler_work(void) {
    volatile double x = 0.1;
    for (int i = 0; i < 20; i++) x = x * 1.5 + 1.0 / 3.0;
    return x + sqrt(x) + exp(-x);
}

static void on_alarm(int sig) {
    /* the handler's FP work: it must see the initial state, whatever the loop set, and leave it be */
    unsigned short cw = get_cw();
    unsigned mx = get_mxcsr();
    double v = handler_work();
    volatile long double three = 3.0L, l = 1.0L / three;
    if (dbits(v) != dbits(handler_ref) || cw != 0x037f || (mx & ~0x3fu) != MXCSR_INIT ||
        memcmp((const void *)&l, (const void *)&handler_ref_l, 10) != 0)
        handler_bad++;
    fesetround(FE_TOWARDZERO);
    set_cw(0x0c7f);
    ticks++;
}

static volatile double seed = 0.7;

static uint64_t chunk_double(void) {
    double acc = 0, x = seed;
    for (int i = 0; i < 4000; i++) {
        x = x * 1.000001 + 1e-7;
        acc += x / (i + 1.0);
        if ((i & 255) == 0) acc = acc * 0.999 + sqrt(acc);
    }
    return dbits(acc);
}

static uint64_t chunk_long_double(void) {
    long double acc = 0, x = seed;
    for (int i = 0; i < 3000; i++) {
        x = x * 1.000001L + 1e-7L;
        acc += x / (i + 1.0L);
    }
    double d = (double)acc;
    uint64_t lo;
    memcpy(&lo, &acc, 8);
    return lo ^ dbits(d);
}

#ifdef __SSE2__
static uint64_t chunk_sse(void) {
    __m128d acc = _mm_setzero_pd(), x = _mm_set_pd(seed, seed * 2), step = _mm_set1_pd(1.000001);
    __m128d inc = _mm_set1_pd(1e-7);
    for (int i = 0; i < 3000; i++) {
        x = _mm_add_pd(_mm_mul_pd(x, step), inc);
        acc = _mm_add_pd(acc, _mm_div_pd(x, _mm_set1_pd(i + 1.0)));
    }
    double lo, hi;
    _mm_storel_pd(&lo, acc);
    _mm_storeh_pd(&hi, acc);
    return dbits(lo) ^ (dbits(hi) << 1);
}
#endif

static void timer_loops(void) {
    static const int modes[] = {FE_TONEAREST, FE_UPWARD, FE_DOWNWARD};
    uint64_t ref[3][3];
    handler_ref = handler_work();
    volatile long double three = 3.0L;
    handler_ref_l = 1.0L / three;
    printf("timer:\n");
    for (int m = 0; m < 3; m++) {
        fesetround(modes[m]);
        if (m == 2) set_cw((get_cw() & ~0x0300) | 0x0200);    /* and precision 53 */
        ref[m][0] = chunk_double();
        ref[m][1] = chunk_long_double();
#ifdef __SSE2__
        ref[m][2] = chunk_sse();
#else
        ref[m][2] = 0;
#endif
        printf("  mode %d reference %016llx %016llx %016llx\n", m, (unsigned long long)ref[m][0],
               (unsigned long long)ref[m][1], (unsigned long long)ref[m][2]);
        set_cw(0x037f);
        fesetround(FE_TONEAREST);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, 0);
    struct itimerval it = {{0, 5000}, {0, 5000}};
    setitimer(ITIMER_REAL, &it, 0);
    int chunks = 0, bad = 0;
    /* whole rounds of the three modes, so that the last x87 rounding (C1 in the status word) is
       always the same one */
    while (chunks % 3 != 0 || ((ticks < 12 || chunks < 30) && chunks < 200000)) {
        int m = chunks % 3;
        fesetround(modes[m]);
        if (m == 2) set_cw((get_cw() & ~0x0300) | 0x0200);
        bad += chunk_double() != ref[m][0];
        bad += chunk_long_double() != ref[m][1];
#ifdef __SSE2__
        bad += chunk_sse() != ref[m][2];
#endif
        if (fegetround() != modes[m]) bad += 100;
        set_cw(0x037f);
        fesetround(FE_TONEAREST);
        chunks++;
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, 0);
    printf("  ticks>=12 %d chunks>=30 %d bad chunks %d bad handler runs %d\n", ticks >= 12, chunks >= 30, bad,
           handler_bad);
    state("after the timer");
}

int main(void) {
    control_words("start");
    for (int m = 0; m < 4; m++) {
        if (fesetround(MODES[m]) != 0) printf("fesetround %d failed\n", m);
        arithmetic(m);
        control_words(MODE_NAMES[m]);
    }
    fesetround(FE_TONEAREST);
    exceptions();
    environments();
    unmasked();
    plain_longjmp();
    handler_longjmp();
    timer_loops();
    control_words("end");
    return 0;
}
