/* Loops gcc -O3 -mssse3 vectorizes (float, double and integer arrays: element-wise arithmetic, integer
   sums and dot products, saturating byte arithmetic, min/max, abs, conversions, shuffles, reversals,
   widening and narrowing), then SSE/SSE2/SSE3/SSSE3 and MMX intrinsics directly: pshufb, palignr,
   phadd/phsub, pmaddubsw, pmulhrsw, psign, pabs, cvtps2dq under each MXCSR rounding mode, packs,
   psadbw, movemask, min/max with NaNs, DAZ/FTZ, the MMX <-> SSE forms (pshufw, pextrw, pinsrw,
   movq2dq, cvtpi2ps, cvtps2pi...), maskmovq/maskmovdqu (and one that faults: the registers its
   SIGSEGV handler sees), non-temporal stores and fences, thread-local vectors, and SSE stores into a
   page that holds code. The intrinsics are compiled only where the flags allow them (__SSE2__,
   __SSE3__, __SSSE3__); the loops everywhere. */
#define _GNU_SOURCE
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#ifdef __SSE3__
#include <pmmintrin.h>
#endif
#ifdef __SSSE3__
#include <tmmintrin.h>
#endif

#define N 1003   /* odd, so that every vector loop has a scalar tail */

static float fa[N], fb[N], fc[N];
static double da[N], db[N], dc[N];
static int ia[N], ib[N], ic[N];
static short sa[N], sb[N], sc[N];
static unsigned char ua[N], ub[N], uc[N];
static signed char ca[N], cb[N];
static unsigned ux[N];

static uint32_t rng = 12345;
static uint32_t next(void) { rng = rng * 1103515245u + 12345u; return rng >> 8; }

static uint64_t hash = 1469598103934665603ull;
static void mix(const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) hash = (hash ^ b[i]) * 1099511628211ull;
}
static void report(const char *what, const void *p, size_t n) {
    hash = 1469598103934665603ull;
    mix(p, n);
    printf("%-26s %016llx\n", what, (unsigned long long)hash);
}

static void init(void) {
    for (int i = 0; i < N; i++) {
        fa[i] = (float)((int)(next() % 20001) - 10000) / 37.0f;
        fb[i] = (float)((int)(next() % 2001) - 1000) / 7.0f + 0.5f;
        da[i] = (double)((int)(next() % 200001) - 100000) / 37.0;
        db[i] = (double)((int)(next() % 20001) - 10000) / 11.0 + 0.25;
        ia[i] = (int)next() - (1 << 23);
        ib[i] = (int)(next() % 100000) - 50000;
        sa[i] = (short)next();
        sb[i] = (short)(next() % 2000 - 1000);
        ua[i] = (unsigned char)next();
        ub[i] = (unsigned char)(next() >> 3);
        ca[i] = (signed char)next();
        cb[i] = (signed char)(next() >> 5);
        ux[i] = next() * 2654435761u;
    }
    fa[5] = -0.0f; fb[6] = 0.0f; da[7] = -0.0f; fa[100] = 1e-40f; db[100] = 1e-310;
}

static void __attribute__((noinline)) float_loops(void) {
    for (int i = 0; i < N; i++) fc[i] = fa[i] * fb[i] + fa[i];
    report("float a*b+a", fc, sizeof fc);
    for (int i = 0; i < N; i++) fc[i] = fa[i] / fb[i];
    report("float a/b", fc, sizeof fc);
    for (int i = 0; i < N; i++) fc[i] = sqrtf(fabsf(fa[i]));
    report("float sqrt|a|", fc, sizeof fc);
    for (int i = 0; i < N; i++) fc[i] = fa[i] < fb[i] ? fa[i] : fb[i];
    report("float min", fc, sizeof fc);
    for (int i = 0; i < N; i++) fc[i] = fa[i] > fb[i] ? fa[i] : fb[i];
    report("float max", fc, sizeof fc);
    for (int i = 0; i < N; i++) fc[i] = (float)ia[i];
    report("int->float", fc, sizeof fc);
    for (int i = 0; i < N; i++) ic[i] = (int)(fa[i] * 1000.0f);
    report("float->int", ic, sizeof ic);
    for (int i = 0; i < N; i++) fc[i] = (float)da[i];
    report("double->float", fc, sizeof fc);
    for (int i = 0; i < N; i++) dc[i] = (double)fa[i] * db[i];
    report("float->double*", dc, sizeof dc);
    float s = 0;
    for (int i = 0; i < N; i++) s += fa[i] * fb[i];
    printf("float dot (in order)      %a\n", s);
    float m = fa[0];
    for (int i = 1; i < N; i++) m = m > fa[i] ? m : fa[i];
    printf("float max reduction       %a\n", m);
}

static void __attribute__((noinline)) double_loops(void) {
    for (int i = 0; i < N; i++) dc[i] = da[i] * db[i] - da[i] / 3.0;
    report("double a*b-a/3", dc, sizeof dc);
    for (int i = 0; i < N; i++) dc[i] = sqrt(fabs(da[i])) + db[i];
    report("double sqrt|a|+b", dc, sizeof dc);
    for (int i = 0; i < N; i++) dc[i] = da[i] < db[i] ? db[i] : da[i];
    report("double max", dc, sizeof dc);
    for (int i = 0; i < N; i++) dc[i] = (double)ia[i] * 0.5;
    report("int->double", dc, sizeof dc);
    for (int i = 0; i < N; i++) ic[i] = (int)(da[i] * 100.0);
    report("double->int", ic, sizeof ic);
    for (int i = 0; i < N; i++) dc[i] = floor(da[i]) + ceil(db[i]);
    report("double floor+ceil", dc, sizeof dc);
    double s = 0;
    for (int i = 0; i < N; i++) s += da[i] * db[i];
    printf("double dot (in order)     %a\n", s);
    for (int i = 0; i < N; i++) dc[N - 1 - i] = da[i];
    report("double reverse", dc, sizeof dc);
    for (int i = 0; i + 1 < N; i += 2) { dc[i] = da[i + 1]; dc[i + 1] = da[i]; }
    report("double swap pairs", dc, sizeof dc);
}

static void __attribute__((noinline)) int_loops(void) {
    int s = 0;
    for (int i = 0; i < N; i++) s += ia[i];
    long long d = 0;
    for (int i = 0; i < N; i++) d += (long long)ib[i] * ib[i];
    int sd = 0;
    for (int i = 0; i < N; i++) sd += sa[i] * sb[i];
    unsigned us = 0;
    for (int i = 0; i < N; i++) us += ua[i];
    printf("int sums %d %lld %d %u\n", s, d, sd, us);
    for (int i = 0; i < N; i++) ic[i] = ia[i] * ib[i] + (ia[i] >> 3);
    report("int a*b+a>>3", ic, sizeof ic);
    for (int i = 0; i < N; i++) ic[i] = ia[i] < ib[i] ? ia[i] : ib[i];
    report("int min", ic, sizeof ic);
    for (int i = 0; i < N; i++) ic[i] = ia[i] > ib[i] ? ia[i] : ib[i];
    report("int max", ic, sizeof ic);
    for (int i = 0; i < N; i++) ic[i] = ia[i] < 0 ? -ia[i] : ia[i];
    report("int abs", ic, sizeof ic);
    for (int i = 0; i < N; i++) ic[i] = (int)(ux[i] >> 7) ^ (ia[i] << 3);
    report("int shifts", ic, sizeof ic);
    for (int i = 0; i < N; i++) sc[i] = (short)(sa[i] * sb[i]);
    report("short mul", sc, sizeof sc);
    for (int i = 0; i < N; i++) sc[i] = (short)((sa[i] * sb[i]) >> 16);
    report("short mulhi", sc, sizeof sc);
    for (int i = 0; i < N; i++) { int t = sa[i] + sb[i] * 8; sc[i] = t > 32767 ? 32767 : t < -32768 ? -32768 : t; }
    report("short saturating add", sc, sizeof sc);
    for (int i = 0; i < N; i++) { unsigned t = ua[i] + ub[i]; uc[i] = t > 255 ? 255 : t; }
    report("byte saturating add", uc, sizeof uc);
    for (int i = 0; i < N; i++) { int t = ua[i] - ub[i]; uc[i] = t < 0 ? 0 : t; }
    report("byte saturating sub", uc, sizeof uc);
    for (int i = 0; i < N; i++) uc[i] = ua[i] < ub[i] ? ua[i] : ub[i];
    report("byte min", uc, sizeof uc);
    for (int i = 0; i < N; i++) uc[i] = ua[i] > ub[i] ? ua[i] : ub[i];
    report("byte max", uc, sizeof uc);
    for (int i = 0; i < N; i++) uc[i] = (unsigned char)((ua[i] + ub[i] + 1) >> 1);
    report("byte average", uc, sizeof uc);
    for (int i = 0; i < N; i++) uc[i] = (unsigned char)(ca[i] < 0 ? -ca[i] : ca[i]);
    report("byte abs", uc, sizeof uc);
    for (int i = 0; i < N; i++) sc[i] = (short)(ca[i] * cb[i]);
    report("byte widening mul", sc, sizeof sc);
    for (int i = 0; i < N; i++) uc[i] = (unsigned char)(ux[i] >> 24);
    report("narrow >>24", uc, sizeof uc);
    for (int i = 0; i < N; i++) ux[i] = __builtin_bswap32(ux[i]) + 1;
    report("bswap32", ux, sizeof ux);
    for (int i = 0; i + 3 < N; i += 4) {
        uc[i] = ua[i + 3]; uc[i + 1] = ua[i + 2]; uc[i + 2] = ua[i + 1]; uc[i + 3] = ua[i];
    }
    report("byte reverse quads", uc, sizeof uc);
    for (int i = 0; i < N / 2; i++) { sc[2 * i] = sa[i]; sc[2 * i + 1] = sb[i]; }
    report("short interleave", sc, sizeof sc);
    int cnt = 0;
    for (int i = 0; i < N; i++) cnt += ua[i] == ub[i] || ca[i] == cb[i];
    printf("count equal %d\n", cnt);
}

#ifdef __SSE2__
/* emms, after every MMX result is in memory: gcc orders _mm_empty() with nothing, and moves MMX work
   past it (leaving the x87 stack full of MMX values for the FP code that follows) */
static void mmx_done(void) { __asm__ volatile("emms" ::: "memory"); }

static void show128(const char *what, __m128i v) {
    uint8_t b[16];
    _mm_storeu_si128((__m128i *)b, v);
    printf("%-22s", what);
    for (int i = 15; i >= 0; i--) printf("%02x%s", b[i], i % 4 == 0 && i ? "_" : "");
    printf("\n");
}
static void showps(const char *what, __m128 v) {
    float f[4];
    _mm_storeu_ps(f, v);
    uint32_t u[4];
    memcpy(u, f, 16);
    printf("%-22s %08x %08x %08x %08x  %a %a %a %a\n", what, u[0], u[1], u[2], u[3], f[0], f[1], f[2], f[3]);
}
static void showpd(const char *what, __m128d v) {
    double d[2];
    _mm_storeu_pd(d, v);
    printf("%-22s %a %a\n", what, d[0], d[1]);
}

static void sse2_intrinsics(void) {
    __m128i a = _mm_set_epi32(0x80017fff, 0x12345678, (int)0xfedcba98, 0x00ff7f80);
    __m128i b = _mm_set_epi32(0x7fff8000, (int)0xffff0001, 0x01020304, (int)0x80808080);
    __m128i x = _mm_loadu_si128((const __m128i *)(ua + 3));
    show128("paddsw", _mm_adds_epi16(a, b));
    show128("psubusb", _mm_subs_epu8(a, b));
    show128("pmulhw", _mm_mulhi_epi16(a, b));
    show128("pmulhuw", _mm_mulhi_epu16(a, b));
    show128("pmuludq", _mm_mul_epu32(a, b));
    show128("pmaddwd", _mm_madd_epi16(a, b));
    show128("psadbw", _mm_sad_epu8(a, x));
    show128("packssdw", _mm_packs_epi32(a, b));
    show128("packsswb", _mm_packs_epi16(a, b));
    show128("packuswb", _mm_packus_epi16(a, b));
    show128("punpcklbw", _mm_unpacklo_epi8(a, b));
    show128("punpckhqdq", _mm_unpackhi_epi64(a, b));
    show128("pshufd 1b", _mm_shuffle_epi32(a, 0x1b));
    show128("pshuflw/hw", _mm_shufflehi_epi16(_mm_shufflelo_epi16(a, 0x93), 0x4e));
    show128("pslldq 5", _mm_slli_si128(a, 5));
    show128("psrldq 11", _mm_srli_si128(a, 11));
    show128("psraw 3 / psrad 31", _mm_xor_si128(_mm_srai_epi16(a, 3), _mm_srai_epi32(b, 31)));
    show128("psllq by xmm", _mm_sll_epi64(a, _mm_cvtsi32_si128(13)));
    show128("pcmpgtb", _mm_cmpgt_epi8(a, b));
    show128("pavgb", _mm_avg_epu8(a, x));
    printf("pmovmskb %04x movmskps %x movmskpd %x pextrw %d\n", _mm_movemask_epi8(a),
           _mm_movemask_ps(_mm_castsi128_ps(b)), _mm_movemask_pd(_mm_castsi128_pd(a)), _mm_extract_epi16(a, 7));
    show128("pinsrw", _mm_insert_epi16(a, 0xbeef, 3));

    __m128 p = _mm_set_ps(2.5f, -1.5f, 0.5f, -2.5f), q = _mm_set_ps(NAN, 1.0f, -0.0f, 1e-39f);
    __m128 big = _mm_set_ps(3e9f, -3e9f, NAN, 16777217.0f);
    static const unsigned rounding[] = {_MM_ROUND_NEAREST, _MM_ROUND_DOWN, _MM_ROUND_UP, _MM_ROUND_TOWARD_ZERO};
    unsigned saved = _mm_getcsr();
    for (int r = 0; r < 4; r++) {
        _mm_setcsr((saved & ~0x6000u) | rounding[r]);
        printf("rounding %d:\n", r);
        show128(" cvtps2dq", _mm_cvtps_epi32(p));
        show128(" cvtps2dq big", _mm_cvtps_epi32(big));
        show128(" cvttps2dq", _mm_cvttps_epi32(p));
        show128(" cvtpd2dq", _mm_cvtpd_epi32(_mm_set_pd(-0.5, 2147483647.5)));
        printf(" cvtss2si %d cvtsd2si %d\n", _mm_cvtss_si32(p), _mm_cvtsd_si32(_mm_set_sd(-3.5)));
        showps(" cvtdq2ps", _mm_cvtepi32_ps(_mm_set_epi32(16777217, -16777219, 0x7fffffff, 33554435)));
        showps(" 1/3", _mm_div_ps(_mm_set1_ps(1.0f), _mm_set1_ps(3.0f)));
        showpd(" cvtps2pd/cvtpd2ps", _mm_cvtps_pd(_mm_cvtpd_ps(_mm_set_pd(1.0 / 3.0, -1e-40))));
        printf(" mxcsr flags %02x\n", _mm_getcsr() & 0x3f);
    }
    _mm_setcsr(saved);
    showps("minps p,q", _mm_min_ps(p, q));
    showps("minps q,p", _mm_min_ps(q, p));
    showps("maxps q,p", _mm_max_ps(q, p));
    showps("cmpunordps", _mm_cmpunord_ps(p, q));
    showps("cmpneqps", _mm_cmpneq_ps(q, q));
    showps("cmpleps", _mm_cmple_ps(p, q));
    showps("sqrtps", _mm_sqrt_ps(_mm_set_ps(2.0f, -1.0f, 0.0f, 1e-40f)));
    showps("rcpps", _mm_rcp_ps(p));
    showps("rsqrtps", _mm_rsqrt_ps(_mm_set_ps(2.0f, 4.0f, 0.25f, 1e6f)));
    showps("shufps", _mm_shuffle_ps(p, q, 0xb1));
    showps("unpcklps", _mm_unpacklo_ps(p, q));
    showps("movhlps", _mm_movehl_ps(p, q));
    showps("andnps", _mm_andnot_ps(q, p));
    showpd("minpd nan", _mm_min_pd(_mm_set_pd(NAN, 1.0), _mm_set_pd(2.0, NAN)));
    showpd("sqrtsd", _mm_sqrt_sd(_mm_set1_pd(7.0), _mm_set_pd(5.0, 2.0)));
    printf("comisd %d%d%d ucomisd nan %d%d\n", _mm_comilt_sd(_mm_set_sd(1.0), _mm_set_sd(2.0)),
           _mm_comieq_sd(_mm_set_sd(1.0), _mm_set_sd(1.0)), _mm_comigt_sd(_mm_set_sd(-0.0), _mm_set_sd(0.0)),
           _mm_ucomieq_sd(_mm_set_sd(NAN), _mm_set_sd(NAN)), _mm_ucomineq_sd(_mm_set_sd(NAN), _mm_set_sd(1.0)));
    /* denormals with FTZ and DAZ */
    _mm_setcsr(saved | 0x8040);
    showps("daz/ftz mul", _mm_mul_ps(_mm_set_ps(1e-39f, 1e-20f, 1e-38f, 3.0f), _mm_set_ps(1.0f, 1e-20f, 0.5f, 1e-39f)));
    showpd("daz/ftz add", _mm_add_pd(_mm_set_pd(1e-310, 2.2250738585072014e-308), _mm_set_pd(0.0, -1e-310)));
    printf("daz/ftz flags %02x\n", _mm_getcsr() & 0x3f);
    _mm_setcsr(saved);
}
#endif

#ifdef __SSE2__
static void hex(const char *what, const void *p, int n) {
    const unsigned char *b = p;
    printf("%-22s", what);
    for (int i = 0; i < n; i++) printf("%02x", b[i]);
    printf("\n");
}

static __thread __m128i tls_v;
static sigjmp_buf segv_jump;
static volatile int segv_edi_ok, segv_esi, segv_eax, segv_code;
static volatile uintptr_t segv_expect_edi;

static void on_segv(int sig, siginfo_t *si, void *ucv) {
    ucontext_t *uc = ucv;
    segv_edi_ok = (uintptr_t)uc->uc_mcontext.gregs[REG_EDI] == segv_expect_edi;
    segv_esi = uc->uc_mcontext.gregs[REG_ESI];
    segv_eax = uc->uc_mcontext.gregs[REG_EAX];
    segv_code = si->si_code;
    siglongjmp(segv_jump, 1);
}

static void sse2_memory(void) {
    /* the MMX <-> SSE forms */
    __m64 ma = _mm_set_pi16(-1, 2, -3, 4);
    __m64 sh = _mm_shuffle_pi16(ma, 0x1b);
    int ex = _mm_extract_pi16(ma, 2);
    __m64 ins = _mm_insert_pi16(ma, 77, 1);
    int mk = _mm_movemask_pi8(ma);
    __m128i q = _mm_movpi64_epi64(ma);
    __m64 back = _mm_movepi64_pi64(_mm_set_epi32(1, 2, 3, 4));
    __m128 cp = _mm_cvtpi32_ps(_mm_set1_ps(9.0f), _mm_set_pi32(-5, 7));
    __m64 cps = _mm_cvtps_pi32(_mm_set_ps(1.5f, 2.5f, -3.5f, 4.5f));
    __m128d cpd = _mm_cvtpi32_pd(_mm_set_pi32(-5, 7));
    __m64 ctd = _mm_cvttpd_pi32(_mm_set_pd(-2.7, 9.9));
    __m64 avg = _mm_avg_pu8(ma, sh), mx = _mm_max_pi16(ma, sh), sad = _mm_sad_pu8(ma, sh);
    static unsigned long long o[8];
    memcpy(&o[0], &sh, 8); memcpy(&o[1], &ins, 8); memcpy(&o[2], &back, 8); memcpy(&o[3], &cps, 8);
    memcpy(&o[4], &ctd, 8); memcpy(&o[5], &avg, 8); memcpy(&o[6], &mx, 8); memcpy(&o[7], &sad, 8);
    mmx_done();
    printf("pshufw %016llx pextrw %d pinsrw %016llx pmovmskb %x movdq2q %016llx\n", o[0], ex, o[1], mk, o[2]);
    printf("cvtps2pi %016llx cvttpd2pi %016llx pavgb %016llx pmaxsw %016llx psadbw %016llx\n", o[3], o[4], o[5],
           o[6], o[7]);
    show128("movq2dq", q);
    showps("cvtpi2ps", cp);
    showpd("cvtpi2pd", cpd);
    /* masked and non-temporal stores, fences */
    unsigned char buf[48] __attribute__((aligned(16)));
    memset(buf, 0xee, sizeof buf);
    _mm_maskmoveu_si128(_mm_set1_epi8(0x11), _mm_set_epi8(-1, 0, -1, 0, 0, 0, 0, -1, 0, 0, 0, 0, 0, 0, -1, -1),
                        (char *)buf + 3);
    _mm_maskmove_si64(_mm_set1_pi8(0x22), _mm_set_pi8(-1, 0, 0, 0, -1, 0, 0, -1), (char *)buf + 20);
    mmx_done();
    hex("maskmov", buf, 32);
    _mm_stream_si32((int *)buf, 0x12345678);
    _mm_stream_pd((double *)(buf + 16), _mm_set1_pd(1.0));
    _mm_stream_si128((__m128i *)(buf + 32), _mm_set1_epi16(0x3344));
    _mm_stream_ps((float *)(buf + 16), _mm_set1_ps(-2.0f));
    _mm_sfence();
    _mm_mfence();
    _mm_lfence();
    hex("movnti/movnt*", buf, 48);
    volatile int vals[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    int outs[8];
    for (int i = 0; i < 8; i++) _mm_stream_si32(&outs[(i * 3) & 7], vals[i] * vals[(i + 1) & 7] + vals[(i + 5) & 7]);
    hex("movnti in a loop", outs, 32);
    /* a maskmovdqu whose [edi] runs into an unmapped page: SIGSEGV, nothing stored, registers intact */
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, &old);
    char *page = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page != MAP_FAILED) {
        munmap(page + 4096, 4096);
        segv_expect_edi = (uintptr_t)(page + 4096 - 4);
        if (sigsetjmp(segv_jump, 1) == 0) {
            __asm__ volatile("movl $0x1234, %%esi\n\tmovl $0x777, %%eax\n\tmaskmovdqu %1, %0"
                             ::"x"(_mm_set1_epi8(5)), "x"(_mm_set1_epi8(-1)), "D"(page + 4096 - 4)
                             : "esi", "eax", "memory");
            printf("maskmovdqu did not fault\n");
        }
        printf("maskmovdqu fault: code %d edi ok %d esi %x eax %x\n", segv_code, segv_edi_ok, segv_esi, segv_eax);
        hex("before the fault", page + 4096 - 4, 4);
        munmap(page, 4096);
    }
    sigaction(SIGSEGV, &old, 0);
    /* a thread-local vector (%gs) */
    volatile int k = 2;
    tls_v = _mm_set1_epi32(k);
    tls_v = _mm_add_epi32(tls_v, _mm_slli_si128(tls_v, 4));
    show128("tls vector", tls_v);
    /* SSE stores into a page that holds translated code: the code changes */
    unsigned char *code = mmap(0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (code == MAP_FAILED) return;
    unsigned char fn[16] = {0xb8, 1, 0, 0, 0, 0xc3};   /* mov $n, %eax; ret */
    memcpy(code, fn, 16);
    int r[5];
    r[0] = ((int (*)(void))code)();
    for (int i = 1; i < 5; i++) {
        fn[1] = (unsigned char)(i + 1);
        __m128i v = _mm_loadu_si128((const __m128i *)fn);
        if (i == 1) _mm_storeu_si128((__m128i *)code, v);
        else if (i == 2) _mm_maskmoveu_si128(v, _mm_set1_epi8(-1), (char *)code);
        else if (i == 3) _mm_storel_epi64((__m128i *)code, v);
        else _mm_stream_si128((__m128i *)code, v);
        r[i] = ((int (*)(void))code)();
    }
    printf("code rewritten by movdqu/maskmovdqu/movq/movntdq: %d %d %d %d %d\n", r[0], r[1], r[2], r[3], r[4]);
    munmap(code, 4096);
}
#endif

#ifdef __SSE3__
static void sse3_intrinsics(void) {
    __m128 p = _mm_set_ps(4.0f, 3.0f, 2.0f, 1.0f), q = _mm_set_ps(-0.5f, 1e30f, 1e30f, NAN);
    showps("haddps", _mm_hadd_ps(p, q));
    showps("hsubps", _mm_hsub_ps(p, q));
    showps("addsubps", _mm_addsub_ps(p, q));
    showps("movshdup", _mm_movehdup_ps(p));
    showps("movsldup", _mm_moveldup_ps(q));
    showpd("haddpd", _mm_hadd_pd(_mm_set_pd(1.0, 2.0), _mm_set_pd(1e300, 1e300)));
    showpd("addsubpd", _mm_addsub_pd(_mm_set_pd(1.0, 2.0), _mm_set_pd(0.5, 0.25)));
    showpd("movddup", _mm_movedup_pd(_mm_set_pd(1.0, -2.0)));
    show128("lddqu", _mm_lddqu_si128((const __m128i *)(ua + 7)));
}
#endif

#ifdef __SSSE3__
static void ssse3_intrinsics(void) {
    __m128i a = _mm_set_epi8(-128, 127, -1, 0, 1, 2, 3, 100, -100, 50, -50, 7, 8, 9, -9, 33);
    __m128i b = _mm_set_epi8(15, 14, 13, 12, 0x80, 10, 9, 0x8f, 7, 6, 5, 4, 3, 2, 1, 0x11);
    __m128i w = _mm_set_epi16(32767, -32768, 1000, -1000, 16384, -16384, 3, -3);
    __m128i v = _mm_set_epi16(32767, 32767, -32768, 2, 16384, 16384, 7, -1);
    show128("pshufb", _mm_shuffle_epi8(a, b));
    show128("pshufb reverse", _mm_shuffle_epi8(a, _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)));
    show128("palignr 0", _mm_alignr_epi8(a, b, 0));
    show128("palignr 3", _mm_alignr_epi8(a, b, 3));
    show128("palignr 15", _mm_alignr_epi8(a, b, 15));
    show128("palignr 16", _mm_alignr_epi8(a, b, 16));
    show128("palignr 20", _mm_alignr_epi8(a, b, 20));
    show128("phaddw", _mm_hadd_epi16(w, v));
    show128("phaddsw", _mm_hadds_epi16(w, v));
    show128("phsubw", _mm_hsub_epi16(w, v));
    show128("phsubsw", _mm_hsubs_epi16(w, v));
    show128("phaddd", _mm_hadd_epi32(a, b));
    show128("phsubd", _mm_hsub_epi32(a, b));
    show128("pmaddubsw", _mm_maddubs_epi16(a, b));
    show128("pmaddubsw sat", _mm_maddubs_epi16(_mm_set1_epi8(-1), _mm_set1_epi8(127)));
    show128("pmulhrsw", _mm_mulhrs_epi16(w, v));
    show128("psignb", _mm_sign_epi8(a, b));
    show128("psignw", _mm_sign_epi16(w, v));
    show128("psignd", _mm_sign_epi32(w, a));
    show128("pabsb", _mm_abs_epi8(a));
    show128("pabsw", _mm_abs_epi16(w));
    show128("pabsd", _mm_abs_epi32(_mm_set_epi32(-2147483647 - 1, -1, 0, 2147483647)));
    /* the MMX forms, which share the x87 registers */
    __m64 ma = _mm_set_pi8(-128, 127, -1, 0, 1, 2, 3, 100), mb = _mm_set_pi8(7, 6, 0x85, 4, 3, 2, 1, 0);
    __m64 r1 = _mm_shuffle_pi8(ma, mb), r2 = _mm_alignr_pi8(ma, mb, 3), r3 = _mm_abs_pi16(ma);
    __m64 r4 = _mm_hadd_pi16(ma, mb), r5 = _mm_maddubs_pi16(ma, mb), r6 = _mm_sign_pi8(ma, mb);
    __m64 r7 = _mm_add_pi8(ma, mb), r8 = _mm_adds_pu8(ma, mb), r9 = _mm_madd_pi16(ma, mb);
    static unsigned long long out[9];
    memcpy(&out[0], &r1, 8); memcpy(&out[1], &r2, 8); memcpy(&out[2], &r3, 8);
    memcpy(&out[3], &r4, 8); memcpy(&out[4], &r5, 8); memcpy(&out[5], &r6, 8);
    memcpy(&out[6], &r7, 8); memcpy(&out[7], &r8, 8); memcpy(&out[8], &r9, 8);
    mmx_done();
    volatile double after = 1.0 / 3.0;
    long double after_l = (long double)after * 3;
    printf("mmx pshufb %016llx palignr %016llx pabsw %016llx phaddw %016llx\n    pmaddubsw %016llx psignb %016llx "
           "paddb %016llx paddusb %016llx pmaddwd %016llx\n    x87 after emms %a %La\n", out[0], out[1], out[2],
           out[3], out[4], out[5], out[6], out[7], out[8], after, after_l);
    /* a byte-wise lookup table with pshufb over an array */
    const __m128i lut = _mm_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4), low = _mm_set1_epi8(15);
    __m128i acc = _mm_setzero_si128();
    for (int i = 0; i + 16 <= N; i += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(ua + i));
        __m128i c = _mm_add_epi8(_mm_shuffle_epi8(lut, _mm_and_si128(x, low)),
                                 _mm_shuffle_epi8(lut, _mm_and_si128(_mm_srli_epi16(x, 4), low)));
        acc = _mm_add_epi64(acc, _mm_sad_epu8(c, _mm_setzero_si128()));
    }
    int pop = 0;
    for (int i = 0; i < N / 16 * 16; i++) pop += __builtin_popcount(ua[i]);
    printf("pshufb popcount %d (scalar %d)\n", _mm_cvtsi128_si32(acc) + _mm_extract_epi16(acc, 4), pop);
}
#endif

int main(void) {
    init();
    float_loops();
    double_loops();
    int_loops();
#ifdef __SSE2__
    sse2_intrinsics();
    sse2_memory();
#endif
#ifdef __SSE3__
    sse3_intrinsics();
#endif
#ifdef __SSSE3__
    ssse3_intrinsics();
#endif
    return 0;
}
