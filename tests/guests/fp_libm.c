/* libm in its double, float and long double forms over a spread of arguments, edge ones included
   (signed zeros, denormals, the extremes, infinities, NaN, halfway cases for the rounding functions):
   each result as bits and %.17g, with the exception flags the call raised and errno. */
#include <errno.h>
#include <fenv.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static volatile double DARGS[] = {
    -INFINITY, -DBL_MAX, -1e300, -1000.0, -710.5, -100.0, -3.5, -2.5, -1.0, -0.75, -0.5, -DBL_MIN, -0.0, 0.0,
    4.9406564584124654e-324, DBL_MIN, 1e-300, 1e-10, 0.25, 0.5, 0.9999999999999999, 1.0, 1.5, 2.0, 2.5,
    1.5707963267948966, 3.141592653589793, 10.0, 88.7, 100.0, 709.78, 710.0, 1e10, 4503599627370497.0, 1e22,
    1e300, DBL_MAX, INFINITY, NAN,
};
#define NDARGS (sizeof DARGS / sizeof *DARGS)
static volatile double PAIR[] = {-INFINITY, -2.5, -1.0, -0.5, -0.0, 0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 1e300, INFINITY, NAN};
#define NPAIR (sizeof PAIR / sizeof *PAIR)

static uint64_t dbits(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }
static uint32_t fbits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

static unsigned flags(void) {
    int e = fetestexcept(FE_ALL_EXCEPT);
    return (e & FE_INVALID ? 1 : 0) | (e & FE_DIVBYZERO ? 2 : 0) | (e & FE_OVERFLOW ? 4 : 0) |
           (e & FE_UNDERFLOW ? 8 : 0) | (e & FE_INEXACT ? 16 : 0);
}

static void begin(void) { feclearexcept(FE_ALL_EXCEPT); errno = 0; }

static void rd(const char *fn, double x, double r) {
    unsigned f = flags();
    printf("%s(%a) = %016llx %.17g fl %02x errno %d\n", fn, x, (unsigned long long)dbits(r), r, f, errno);
}
static void rf(const char *fn, float x, float r) {
    unsigned f = flags();
    printf("%s(%a) = %08x %.9g fl %02x errno %d\n", fn, x, fbits(r), r, f, errno);
}
static void rl(const char *fn, long double x, long double r) {
    unsigned f = flags();
    unsigned char b[10];
    memcpy(b, &r, 10);
    printf("%s(%La) = %02x%02x:%02x%02x%02x%02x%02x%02x%02x%02x %.21Lg fl %02x errno %d\n", fn, x, b[9], b[8],
           b[7], b[6], b[5], b[4], b[3], b[2], b[1], b[0], r, f, errno);
}
static void ri(const char *fn, long double x, long long r) {
    unsigned f = flags();
    printf("%s(%La) = %lld fl %02x errno %d\n", fn, x, r, f, errno);
}

#define ONE(fn) \
    for (unsigned i = 0; i < NDARGS; i++) { double x = DARGS[i]; begin(); double r = fn(x); rd(#fn, x, r); } \
    for (unsigned i = 0; i < NDARGS; i++) { float x = (float)DARGS[i]; begin(); float r = fn##f(x); rf(#fn "f", x, r); } \
    for (unsigned i = 0; i < NDARGS; i++) { long double x = DARGS[i] * 1.0000000000000000001L; begin(); \
                                            long double r = fn##l(x); rl(#fn "l", x, r); }

#define TOINT(fn) \
    for (unsigned i = 0; i < NDARGS; i++) { double x = DARGS[i]; begin(); long long r = fn(x); ri(#fn, x, r); } \
    for (unsigned i = 0; i < NDARGS; i++) { float x = (float)DARGS[i]; begin(); long long r = fn##f(x); ri(#fn "f", x, r); } \
    for (unsigned i = 0; i < NDARGS; i++) { long double x = DARGS[i] + 0.25L; begin(); long long r = fn##l(x); \
                                            ri(#fn "l", x, r); }

#define TWO(fn) \
    for (unsigned i = 0; i < NPAIR; i++) for (unsigned j = 0; j < NPAIR; j++) { \
        double x = PAIR[i], y = PAIR[j]; begin(); double r = fn(x, y); unsigned f = flags(); \
        printf(#fn "(%a, %a) = %016llx %.17g fl %02x errno %d\n", x, y, (unsigned long long)dbits(r), r, f, errno); \
        float xf = (float)x, yf = (float)y * 0.75f; begin(); float rf_ = fn##f(xf, yf); f = flags(); \
        printf(#fn "f(%a, %a) = %08x %.9g fl %02x errno %d\n", xf, yf, fbits(rf_), rf_, f, errno); \
        long double xl = x / 3.0L, yl = y; begin(); long double rl_ = fn##l(xl, yl); f = flags(); \
        printf(#fn "l(%La, %La) = %La fl %02x errno %d\n", xl, yl, rl_, f, errno); \
    }

static void rounding_halfway(void) {
    static volatile double h[] = {0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999999999999994, 4503599627370495.5,
                                  4503599627370496.5, 9007199254740993.0, -2147483648.5, 2147483647.5,
                                  2147483648.5, 9.2233720368547758e18, -9.2233720368547758e18, 1e19};
    for (unsigned i = 0; i < sizeof h / sizeof *h; i++) {
        double x = h[i];
        begin(); long a = lrint(x); unsigned fa = flags();
        begin(); long long b = llrint(x); unsigned fb = flags();
        begin(); long c = lround(x); unsigned fc = flags();
        begin(); long long d = llround(x); unsigned fd = flags();
        printf("halfway %a: rint %a nearbyint %a round %a lrint %ld/%02x llrint %lld/%02x lround %ld/%02x "
               "llround %lld/%02x\n", x, rint(x), nearbyint(x), round(x), a, fa, b, fb, c, fc, d, fd);
    }
}

static void decompose(void) {
    for (unsigned i = 0; i < NDARGS; i++) {
        double x = DARGS[i], ip;
        int e = 0, ef = 0, el = 0, q = 0;
        double m = frexp(x, &e);
        float mf = frexpf((float)x, &ef);
        long double ml = frexpl(x, &el);
        double fr = modf(x, &ip);
        double rq = remquo(x, 0.75, &q);
        printf("frexp(%a) = %a %d, f %a %d, l %La %d; modf %a %a; ilogb %d logb %a; remquo %a %d; "
               "scalbn(.,-1070) %a\n", x, m, e, mf, ef, ml, el, fr, ip, ilogb(x), logb(x), rq, q & 7,
               scalbn(x, -1070));
    }
    static volatile int exps[] = {-1100, -1075, -1074, -1022, -1, 0, 1, 1023, 1024, 2000, 16384, -16446};
    for (unsigned i = 0; i < sizeof exps / sizeof *exps; i++) {
        begin();
        double a = ldexp(1.5, exps[i]);
        unsigned fa = flags();
        begin();
        float b = ldexpf(1.5f, exps[i]);
        unsigned fb = flags();
        begin();
        long double c = ldexpl(1.5L, exps[i]);
        unsigned fc = flags();
        printf("ldexp(1.5, %d) = %a/%02x, f %a/%02x, l %La/%02x\n", exps[i], a, fa, b, fb, c, fc);
    }
}

int main(void) {
    ONE(sqrt) ONE(cbrt) ONE(exp) ONE(expm1) ONE(log) ONE(log1p) ONE(sin) ONE(cos) ONE(tan)
    ONE(floor) ONE(ceil) ONE(trunc) ONE(round) ONE(rint) ONE(nearbyint)
    TOINT(lrint) TOINT(llrint)
    TWO(pow) TWO(atan2) TWO(fmod) TWO(remainder) TWO(hypot)
    rounding_halfway();
    decompose();
    return 0;
}
