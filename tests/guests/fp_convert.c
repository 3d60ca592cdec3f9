/* long double arithmetic and the x87 precision control (set with fldcw: 24, 53 and 64-bit
   significands, with each rounding mode), the x87's own operations (fprem/fprem1, fxtract, fscale,
   frndint, f2xm1, fyl2x, fpatan, fsqrt, fbld/fbstp, fxam, fcomi/fucomi, fist/fisttp), conversions from
   float to every integer type of out-of-range values, NaN, -0.5, 2^31-0.5..., and from integers to
   float, double and long double with their rounding. The x87 state itself: fnsave/frstor,
   fnstenv/fldenv in both formats, fxsave/fxrstor, the constants under each rounding mode, stack
   overflow and underflow, values left on the stack across system calls and cpuid, thread-local
   long doubles and doubles (through %gs), and FP stores into a page that holds code. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static uint64_t dbits(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }
static uint32_t fbits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

static const char *lbits(long double x) {
    static char out[16][32];
    static int n;
    unsigned char b[10];
    memcpy(b, &x, 10);
    char *o = out[n++ & 15];
    sprintf(o, "%02x%02x:%02x%02x%02x%02x%02x%02x%02x%02x", b[9], b[8], b[7], b[6], b[5], b[4], b[3], b[2], b[1],
            b[0]);
    return o;
}

static long double ldfrom(uint16_t se, uint64_t mant) {
    long double x = 0;
    memcpy(&x, &mant, 8);
    memcpy((char *)&x + 8, &se, 2);
    return x;
}

static void set_cw(unsigned short cw) { __asm__ volatile("fldcw %0" ::"m"(cw) : "memory"); }
static unsigned short get_cw(void) { unsigned short cw; __asm__ volatile("fnstcw %0" : "=m"(cw)); return cw; }
static unsigned short get_sw(void) { unsigned short sw; __asm__ volatile("fnstsw %0" : "=m"(sw)); return sw; }

static volatile long double L1 = 1.0L, L3 = 3.0L, L7 = 7.0L, L10 = 10.0L, Ltiny = 1e-4940L, Lbig = 1e4900L;

static void precision_control(void) {
    static const char *pc_names[] = {"24", "res", "53", "64"};
    static const char *rc_names[] = {"near", "down", "up", "zero"};
    for (int pc = 0; pc < 4; pc++) {
        if (pc == 1) continue;
        for (int rc = 0; rc < 4; rc++) {
            volatile long double q, s, p, d, sq, acc = 0;
            long double root;
            unsigned short cw = 0x037f & ~0x0f00;
            cw |= (unsigned short)(pc << 8 | rc << 10);
            set_cw(cw);
            q = L1 / L3;
            s = L1 + L1 / (L3 * 1e10L);
            p = L7 * L7 * L7 * L7 * L7 * L7 * L7 * L7 * L7 * L7 * L7 * L7 * L7 * L7 * L7 * L7 * L7 * L7 * L7 * L7 * L7 * L7 * L7;
            d = Ltiny / L3;     /* denormal: precision control does not apply below */
            __asm__ volatile("fsqrt" : "=t"(root) : "0"(L3));
            sq = root;
            for (int k = 1; k <= 100; k++) acc += L1 / (k * L7);
            unsigned short sw = get_sw();
            set_cw(0x037f);
            printf("pc %s rc %s: 1/3 %s 1+1/3e10 %s 7^23 %s tiny/3 %s sqrt3 %s sum %s sw %04x\n", pc_names[pc],
                   rc_names[rc], lbits(q), lbits(s), lbits(p), lbits(d), lbits(sq), lbits(acc), sw & 0x3fff);
        }
    }
    set_cw(0x037f);
    printf("cw back %04x\n", get_cw());
}

static void long_double_arith(void) {
    long double v[] = {0.0L, -0.0L, 1.0L, 0.1L, 1.0L / 3, LDBL_MAX, LDBL_MIN, LDBL_MIN / 8, ldfrom(0, 1),
                       LDBL_EPSILON, 1e300L, -7.5L, 18446744073709551615.0L, ldfrom(0x7fff, 1ull << 63),
                       ldfrom(0x7fff, 3ull << 62), ldfrom(0x3fff, 0xffffffffffffffffull)};
    int n = sizeof v / sizeof *v;
    for (int i = 0; i < n; i++) {
        volatile long double a = v[i];
        for (int j = 0; j < n; j += 3) {
            volatile long double b = v[j];
            long double s = a + b, d = a - b, m = a * b, q = a / b;
            printf("ld %s op %s: + %s - %s * %s / %s cmp %d%d%d\n", lbits(a), lbits(b), lbits(s), lbits(d), lbits(m),
                   lbits(q), a < b, a == b, a > b);
        }
        volatile long double a2 = a;
        printf("ld %s: sqrt %s (double) %016llx (float) %08x (long long) %lld %s\n", lbits(a2), lbits(sqrtl(a2)),
               (unsigned long long)dbits((double)a2), fbits((float)a2), (long long)a2, isnan(a2) ? "nan" : "");
    }
    /* unsupported encodings (pseudo-NaN, unnormal) and pseudo-denormals, through the x87 */
    long double odd[] = {ldfrom(0x7fff, 0), ldfrom(0x4000, 0x4000000000000000ull), ldfrom(0, 1ull << 63),
                         ldfrom(0x7fff, 0x4000000000000000ull)};
    for (int i = 0; i < 4; i++) {
        volatile long double a = odd[i];
        long double s = a + L1, m = a * L1;
        unsigned short sw;
        __asm__ volatile("fnclex");
        s = a + L1;
        sw = get_sw();
        printf("odd %s: +1 %s *1 %s sw %04x\n", lbits(a), lbits(s), lbits(m), sw & 0x3f);
    }
}

static void x87_ops(void) {
    static volatile long double args[] = {0.0L, -0.0L, 0.5L, 1.0L, 2.0L, -3.75L, 10.0L, 1e-10L, 1e10L, 3.14159265358979323846L,
                                          1e4000L, 1e-4940L, INFINITY, NAN};
    for (unsigned i = 0; i < sizeof args / sizeof *args; i++) {
        long double x = args[i], sig, ex, r, sc, s2, rem, rem1, at, yl, pt;
        unsigned short sw, swp;
        __asm__ volatile("fnclex");
        __asm__("fxtract" : "=t"(sig), "=u"(ex) : "0"(x));
        __asm__("frndint" : "=t"(r) : "0"(x * 1.5L));
        __asm__("fscale" : "=t"(sc) : "0"(x), "u"(3.5L));
        __asm__("f2xm1" : "=t"(s2) : "0"(x / 1e11L));
        __asm__("1: fprem\n\tfnstsw %%ax\n\tsahf\n\tjp 1b" : "=t"(rem) : "0"(x), "u"(0.7L) : "ax", "cc");
        __asm__("1: fprem1\n\tfnstsw %%ax\n\tsahf\n\tjp 1b" : "=t"(rem1) : "0"(x), "u"(0.7L) : "ax", "cc");
        __asm__("fpatan" : "=t"(at) : "0"(x), "u"(2.0L) : "st(1)");
        __asm__("fyl2x" : "=t"(yl) : "0"(x), "u"(1.5L) : "st(1)");
        __asm__("fptan\n\tfstp %%st(0)" : "=t"(pt) : "0"(x / 1e5L));
        sw = get_sw();
        unsigned short exam;
        __asm__("fxam\n\tfnstsw %0" : "=m"(exam) : "t"(x));
        int zf, pf, cf;
        __asm__("fucomi %%st(1), %%st\n\tsetz %b0\n\tsetp %b1\n\tsetc %b2" : "=q"(zf), "=q"(pf), "=q"(cf)
                : "t"(x), "u"(1.0L) : "cc");
        swp = get_sw();
        printf("x87 %s: fxtract %s %s frndint %s fscale %s f2xm1 %s fprem %s fprem1 %s fpatan %s fyl2x %s fptan %s"
               " sw %04x fxam %04x fucomi %d%d%d sw %04x\n", lbits(x), lbits(sig), lbits(ex), lbits(r), lbits(sc),
               lbits(s2), lbits(rem), lbits(rem1), lbits(at), lbits(yl), lbits(pt), sw & 0x3fff, exam & 0x4700,
               zf & 1, pf & 1, cf & 1, swp & 0x3fff);
    }
    /* packed BCD */
    static volatile long long bcd_in[] = {0, 1, -1, 123456789012345678ll, -999999999999999999ll, 1000000000000000000ll};
    for (unsigned i = 0; i < sizeof bcd_in / sizeof *bcd_in; i++) {
        unsigned char bcd[10], bcd2[10];
        long double x = (long double)bcd_in[i], back;
        __asm__ volatile("fnclex");
        __asm__ volatile("fbstp %0" : "=m"(bcd) : "t"(x) : "st");
        unsigned short sw = get_sw();
        __asm__ volatile("fbld %1" : "=t"(back) : "m"(bcd));
        long double h = x / 2.5L;
        __asm__ volatile("fbstp %0" : "=m"(bcd2) : "t"(h) : "st");
        printf("fbstp %lld: ", bcd_in[i]);
        for (int k = 9; k >= 0; k--) printf("%02x", bcd[k]);
        printf(" sw %04x fbld %s /2.5 ", sw & 0x3fff, lbits(back));
        for (int k = 9; k >= 0; k--) printf("%02x", bcd2[k]);
        printf("\n");
    }
    /* fist / fisttp of edge values at each rounding mode */
    static volatile long double fist_in[] = {-0.5L, 0.5L, 1.5L, 2.5L, -2.5L, 2147483647.5L, 2147483648.0L,
                                             -2147483648.5L, -2147483649.0L, 32767.5L, 9223372036854775807.5L,
                                             9223372036854775808.0L, -9223372036854775808.5L, INFINITY, NAN};
    for (int rc = 0; rc < 4; rc++) {
        set_cw((unsigned short)(0x037f | rc << 10));
        for (unsigned i = 0; i < sizeof fist_in / sizeof *fist_in; i++) {
            long double x = fist_in[i];
            short s16; int s32; long long s64; int t32;
            __asm__ volatile("fnclex");
            __asm__ volatile("fists %0" : "=m"(s16) : "t"(x));
            __asm__ volatile("fistl %0" : "=m"(s32) : "t"(x));
            __asm__ volatile("fld %%st(0)\n\tfistpll %0" : "=m"(s64) : "t"(x));
            unsigned short sw = get_sw();
            __asm__ volatile("fld %%st(0)\n\tfisttpl %0" : "=m"(t32) : "t"(x));
            set_cw(0x037f);
            printf("rc %d fist %s: %d %d %lld fisttp %d sw %04x\n", rc, lbits(x), s16, s32, s64, t32, sw & 0x3fff);
            set_cw((unsigned short)(0x037f | rc << 10));
        }
    }
    set_cw(0x037f);
}

static volatile double DCONV[] = {
    0.0, -0.0, 0.5, -0.5, 0.9999999999999999, -0.9999999999999999, 1.5, -1.5, 127.5, 128.0, 255.5, 256.0,
    -129.0, 32767.5, 32768.0, 65535.9, 65536.0, -32769.0, 2147483647.0, 2147483647.5, 2147483648.0,
    -2147483648.0, -2147483648.5, -2147483649.0, 4294967295.0, 4294967295.5, 4294967296.0, -1.0, -4294967296.0,
    9007199254740993.0, 9223372036854774784.0, 9223372036854775808.0, -9223372036854775808.0,
    -9223372036854777856.0, 18446744073709549568.0, 18446744073709551616.0, 1e20, -1e20, 1e300, INFINITY,
    -INFINITY, NAN, -NAN,
};

static void float_to_int(void) {
    for (unsigned i = 0; i < sizeof DCONV / sizeof *DCONV; i++) {
        double x = DCONV[i];
        float f = (float)x;
        long double l = x;
        printf("d->int %016llx (%.17g): sc %d uc %u s %d us %u i %d u %u ll %lld ull %llu\n",
               (unsigned long long)dbits(x), x, (signed char)x, (unsigned char)x, (short)x, (unsigned short)x, (int)x,
               (unsigned)x, (long long)x, (unsigned long long)x);
        printf("  f->int %08x: i %d u %u ll %lld ull %llu; ld->int: i %d u %u ll %lld ull %llu\n", fbits(f), (int)f,
               (unsigned)f, (long long)f, (unsigned long long)f, (int)l, (unsigned)l, (long long)l,
               (unsigned long long)l);
        printf("  lrint %ld llrint %lld lround %ld llround %lld; lrintf %ld llrintl %lld\n", lrint(x), llrint(x),
               lround(x), llround(x), lrintf(f), llrintl(l));
    }
}

static void int_to_float(void) {
    static volatile long long ll[] = {0, 1, -1, 16777215, 16777216, 16777217, 16777219, 33554435, 2147483647,
                                      -2147483647 - 1, 4294967295ll, 9007199254740991ll, 9007199254740993ll,
                                      9007199254740995ll, -9007199254740993ll, 0x7fffffffffffffffll,
                                      -0x7fffffffffffffffll - 1, 0x4000000000000201ll, 0x20000000000003ffll};
    static volatile unsigned long long ull[] = {0, 1, 0x8000000000000000ull, 0x8000000000000401ull,
                                                0xfffffffffffff800ull, 0xfffffffffffffbffull, 0xffffffffffffffffull,
                                                0x80000000ull, 0xffffffffull, 0xffffff7fffffffffull};
    static volatile int ii[] = {0, -1, 1, 16777217, -16777217, 2147483647, -2147483647 - 1, 0x7fffffc0, 0x7fffffbf};
    static volatile unsigned uu[] = {0, 1, 0x7fffffff, 0x80000000u, 0x80000001u, 0xffffffffu, 0xffffff80u, 0xffffff7fu};
    for (unsigned i = 0; i < sizeof ll / sizeof *ll; i++)
        printf("ll %lld: f %08x d %016llx ld %s\n", ll[i], fbits((float)ll[i]), (unsigned long long)dbits((double)ll[i]),
               lbits((long double)ll[i]));
    for (unsigned i = 0; i < sizeof ull / sizeof *ull; i++)
        printf("ull %llu: f %08x d %016llx ld %s\n", ull[i], fbits((float)ull[i]),
               (unsigned long long)dbits((double)ull[i]), lbits((long double)ull[i]));
    for (unsigned i = 0; i < sizeof ii / sizeof *ii; i++)
        printf("int %d: f %08x d %016llx\n", ii[i], fbits((float)ii[i]), (unsigned long long)dbits((double)ii[i]));
    for (unsigned i = 0; i < sizeof uu / sizeof *uu; i++)
        printf("unsigned %u: f %08x d %016llx\n", uu[i], fbits((float)uu[i]), (unsigned long long)dbits((double)uu[i]));
    /* the same under each rounding mode of the x87 (the conversions gcc makes of these go through it) */
    for (int rc = 1; rc < 4; rc++) {
        set_cw((unsigned short)(0x037f | rc << 10));
        volatile float f1 = (float)ll[5], f2 = (float)ll[11], f3 = (float)ull[6], f4 = (float)uu[5];
        volatile double d1 = (double)ll[11], d2 = (double)ll[15], d3 = (double)ull[3];
        set_cw(0x037f);
        printf("rc %d: %08x %08x %08x %08x %016llx %016llx %016llx\n", rc, fbits(f1), fbits(f2), fbits(f3), fbits(f4),
               (unsigned long long)dbits(d1), (unsigned long long)dbits(d2), (unsigned long long)dbits(d3));
    }
    /* float <-> double <-> long double narrowing: double rounding, denormals, overflow */
    static volatile long double narrow[] = {1.0L + 0x1p-24L + 0x1p-54L, 1.0L + 0x1p-53L, 1.0L + 0x1p-53L + 0x1p-63L,
                                            0x1.fffffffffffff8p1023L, 0x1p-1075L, 0x1.8p-1075L, 0x1p-150L, 0x1.000001p-149L,
                                            3.4028235677973366e38L, 1e-46L, -0x1.fffffep127L * 2};
    for (unsigned i = 0; i < sizeof narrow / sizeof *narrow; i++) {
        long double x = narrow[i];
        double d = (double)x;
        printf("narrow %s: d %016llx f %08x f(d) %08x\n", lbits(x), (unsigned long long)dbits(d), fbits((float)x),
               fbits((float)d));
    }
}

static void hex(const char *what, const void *p, int n) {
    const unsigned char *b = p;
    printf("%s:", what);
    for (int i = 0; i < n; i++) printf("%02x", b[i]);
    printf("\n");
}

static __thread double tls_d = 1.5;
static __thread long double tls_l = 2.25L;
static __thread float tls_f[4] = {1, 2, 3, 4};

static void x87_state(void) {
    unsigned char save[108], env16[14], env32[28], fxbuf[512 + 16];
    unsigned char *fx = (unsigned char *)(((uintptr_t)fxbuf + 15) & ~(uintptr_t)15);
    long double a, b;
    unsigned short cw;
    /* fnsave empties the unit; frstor brings the stack back (the pointers FIP/FDP/FOP are not shown:
       under aotc they are the host's) */
    __asm__ volatile("fninit\n\tfldpi\n\tfld1\n\tfnsave %0" : "=m"(save));
    printf("after fnsave cw %04x sw %04x\n", get_cw(), get_sw());
    hex("fnsave cw/sw/tag", save, 12);
    hex("fnsave st0 st1", save + 28, 20);
    __asm__ volatile("frstor %2\n\tfstpt %0\n\tfstpt %1" : "=m"(a), "=m"(b) : "m"(save));
    printf("frstor %s %s\n", lbits(a), lbits(b));
    __asm__ volatile("fldln2\n\tdata16 fnstenv %0\n\tfnstenv %1\n\tfstp %%st(0)" : "=m"(env16), "=m"(env32));
    hex("fnstenv16 cw/sw/tag", env16, 6);
    hex("fnstenv32 cw/sw/tag", env32, 12);
    unsigned short e16[7];
    memcpy(e16, env16, 14);
    e16[0] = 0x0c7f;
    __asm__ volatile("data16 fldenv %0" : : "m"(e16));
    printf("after fldenv16 cw %04x sw %04x\n", get_cw(), get_sw());
    __asm__ volatile("fninit\n\tfld1\n\tfldl2t\n\tfxsave %0\n\tfstp %%st(0)\n\tfstp %%st(0)"
                     : "=m"(*(unsigned char(*)[512])fx));
    hex("fxsave cw/sw/tag", fx, 5);
    hex("fxsave st0 st1", fx + 32, 26);
    ((unsigned short *)fx)[0] = 0x077f;
    __asm__ volatile("fxrstor %2\n\tfnstcw %0\n\tfstpt %1\n\tfstp %%st(0)" : "=m"(cw), "=m"(a)
                     : "m"(*(unsigned char(*)[512])fx));
    printf("fxrstor cw %04x st0 %s\n", cw, lbits(a));
    __asm__ volatile("fninit");
    for (int rc = 0; rc < 4; rc++) {
        unsigned short c = (unsigned short)(0x037f | rc << 10);
        long double k[7];
        __asm__ volatile("fldcw %7\n\tfldpi\n\tfstpt %0\n\tfldl2e\n\tfstpt %1\n\tfldl2t\n\tfstpt %2\n\t"
                         "fldlg2\n\tfstpt %3\n\tfldln2\n\tfstpt %4\n\tfld1\n\tfstpt %5\n\tfldz\n\tfchs\n\tfstpt %6"
                         : "=m"(k[0]), "=m"(k[1]), "=m"(k[2]), "=m"(k[3]), "=m"(k[4]), "=m"(k[5]), "=m"(k[6])
                         : "m"(c));
        printf("constants rc %d: pi %s l2e %s l2t %s lg2 %s ln2 %s 1 %s -0 %s\n", rc, lbits(k[0]), lbits(k[1]),
               lbits(k[2]), lbits(k[3]), lbits(k[4]), lbits(k[5]), lbits(k[6]));
    }
    set_cw(0x037f);
    /* stack overflow (a ninth push) and underflow (a pop of an empty register), masked */
    long double over, under;
    unsigned short sw_over, sw_under;
    __asm__ volatile("fninit\n\tfld1\n\tfld1\n\tfld1\n\tfld1\n\tfld1\n\tfld1\n\tfld1\n\tfld1\n\tfldpi\n\t"
                     "fnstsw %1\n\tfstpt %0\n\tfninit" : "=m"(over), "=m"(sw_over));
    __asm__ volatile("fninit\n\tfadd %%st(0), %%st(0)\n\tfnstsw %1\n\tfstpt %0\n\tfninit"
                     : "=m"(under), "=m"(sw_under));
    printf("stack overflow %s sw %04x, underflow %s sw %04x\n", lbits(over), sw_over, lbits(under), sw_under);
    __asm__ volatile("fninit\n\tfld1\n\tffreep %%st(0)\n\tfld1\n\tfldz\n\tfxch\n\tfdecstp\n\tfincstp\n\t"
                     "fstp %%st(0)\n\tfstp %%st(0)\n\tfnstsw %0" : "=m"(sw_over));
    printf("ffreep/fxch/fdecstp/fincstp sw %04x\n", sw_over);
    /* values on the x87 stack across a system call and cpuid (aotc leaves its code for both) */
    long double p0, p1, p2;
    __asm__ volatile("fldpi\n\tfld1\n\tfldl2e\n\t"
                     "push %%ebx\n\tmovl $20, %%eax\n\tint $0x80\n\txorl %%eax, %%eax\n\tcpuid\n\tpop %%ebx\n\t"
                     "fstpt %0\n\tfstpt %1\n\tfstpt %2" : "=m"(p0), "=m"(p1), "=m"(p2) :: "eax", "ecx", "edx");
    printf("across getpid and cpuid: %s %s %s\n", lbits(p0), lbits(p1), lbits(p2));
    /* thread-local FP data, reached through %gs */
    volatile long double k3 = 3.0L;
    tls_d *= 3;
    tls_f[2] += (float)tls_d;
    tls_l = tls_l * tls_d / k3;
    double sq;
    __asm__ volatile("fldl %%gs:tls_d@ntpoff\n\tfmul %%st(0), %%st\n\tfstpl %0" : "=m"(sq));
    printf("tls %a %a %s %a\n", tls_d, tls_f[2], lbits(tls_l), sq);
    /* FP stores into a page that holds translated code: the code changes */
    unsigned char *code = mmap(0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (code == MAP_FAILED) return;
    unsigned char fn[16] = {0xb8, 1, 0, 0, 0, 0xc3};   /* mov $n, %eax; ret */
    memcpy(code, fn, 16);
    int r[4];
    r[0] = ((int (*)(void))code)();
    for (int i = 1; i < 4; i++) {
        fn[1] = (unsigned char)(i + 1);
        if (i == 1) {
            double d;
            memcpy(&d, fn, 8);
            __asm__ volatile("fldl %1\n\tfstpl %0" : "=m"(*(double *)code) : "m"(d));
        } else if (i == 2) {
            long double l;
            memcpy(&l, fn, 10);
            __asm__ volatile("fldt %1\n\tfstpt %0" : "=m"(*(long double *)code) : "m"(l));
        } else {
            long long q;
            memcpy(&q, fn, 8);
            __asm__ volatile("fildll %1\n\tfistpll %0" : "=m"(*(long long *)code) : "m"(q));
        }
        r[i] = ((int (*)(void))code)();
    }
    printf("code rewritten by fstpl/fstpt/fistpll: %d %d %d %d\n", r[0], r[1], r[2], r[3]);
    munmap(code, 4096);
}

int main(void) {
    printf("start cw %04x\n", get_cw());
    x87_state();
    precision_control();
    long_double_arith();
    x87_ops();
    float_to_int();
    int_to_float();
    printf("end cw %04x sw %04x\n", get_cw(), get_sw() & 0x3800);
    return 0;
}
