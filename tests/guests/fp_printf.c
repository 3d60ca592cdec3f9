/* printf and strtod of float, double and long double: edge values (signed zeros, infinities, NaN
   payloads, denormals, the extremes, the 2^31/2^32/2^63/2^64 boundaries) in %a %e %f %g at many
   precisions, printed with their bit patterns; strtod/strtof/strtold of edge strings (halfway cases,
   overflow, underflow, hex floats, nan(...)), with errno and where parsing stopped; round trips. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t dbits(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }
static uint32_t fbits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static double dfrom(uint64_t u) { double d; memcpy(&d, &u, 8); return d; }
static float ffrom(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

static void ldbits(char *out, long double x) {
    unsigned char b[10];
    memcpy(b, &x, 10);
    sprintf(out, "%02x%02x:%02x%02x%02x%02x%02x%02x%02x%02x", b[9], b[8], b[7], b[6], b[5], b[4], b[3],
            b[2], b[1], b[0]);
}

static long double ldfrom(uint16_t se, uint64_t mant) {
    long double x = 0;
    unsigned char b[16] = {0};
    memcpy(b, &mant, 8);
    memcpy(b + 8, &se, 2);
    memcpy(&x, b, 10);
    return x;
}

static const char *DFORMATS[] = {
    "%a", "%A", "%.0a", "%.1a", "%.3a", "%.13a", "%.20a", "%e", "%.0e", "%.1e", "%.3e", "%.16e", "%.17e",
    "%.30e", "%E", "%f", "%.0f", "%.1f", "%.3f", "%.10f", "%.20f", "%F", "%g", "%.0g", "%.1g", "%.2g",
    "%.6g", "%.10g", "%.15g", "%.16g", "%.17g", "%.25g", "%G", "%#g", "%#.0f", "%#.0e", "%#a", "%+e",
    "% f", "%+.3g", "%015.4e", "%-20g|", "%20.10a", "%'.2f", "%.40f", "%.60e",
};

static double dvalues[32];
static const char *dnames[32];
static int ndvalues;

static void add(const char *name, double v) { dnames[ndvalues] = name; dvalues[ndvalues++] = v; }

static void print_double_table(void) {
    char buf[1600];
    add("+0", 0.0); add("-0", -0.0); add("1", 1.0); add("-1", -1.0); add("0.1", 0.1);
    add("1/3", 1.0 / 3); add("-2/3", -2.0 / 3); add("0.5", 0.5); add("1.5", 1.5); add("2.5", 2.5);
    add("DBL_MIN", DBL_MIN); add("DBL_MIN/2", DBL_MIN / 2); add("TRUE_MIN", dfrom(1));
    add("max_denorm", dfrom(0x000fffffffffffffull)); add("DBL_MAX", DBL_MAX); add("-DBL_MAX", -DBL_MAX);
    add("EPS", DBL_EPSILON); add("inf", INFINITY); add("-inf", -INFINITY);
    add("qnan", dfrom(0x7ff8000000000000ull)); add("-qnan", dfrom(0xfff8000000000000ull));
    add("nan_payload", dfrom(0x7ff800000000dead)); add("-nan_payload", dfrom(0xfffc0000beef0001ull));
    add("2^31", 2147483648.0); add("2^31-0.5", 2147483647.5); add("2^32", 4294967296.0);
    add("2^63", 9223372036854775808.0); add("2^64", 18446744073709551616.0);
    add("1e22", 1e22); add("1e23", 1e23); add("pi", 3.14159265358979323846); add("123456789.125", 123456789.125);
    for (int v = 0; v < ndvalues; v++) {
        printf("double %s bits %016llx\n", dnames[v], (unsigned long long)dbits(dvalues[v]));
        for (unsigned f = 0; f < sizeof DFORMATS / sizeof *DFORMATS; f++) {
            int n = snprintf(buf, sizeof buf, DFORMATS[f], dvalues[v]);
            printf("  %-8s %d [%s]\n", DFORMATS[f], n, buf);
        }
    }
    /* %f of the largest double: every digit */
    printf("DBL_MAX %%f [%f]\n", DBL_MAX);
    printf("TRUE_MIN %%.1074f ends [%s]\n", (snprintf(buf, sizeof buf, "%.1074f", dfrom(1)), buf + 1040));
}

static void print_float_table(void) {
    static const uint32_t fvals[] = {
        0x00000000, 0x80000000, 0x3f800000, 0x3dcccccd, 0x3eaaaaab, 0x00800000, 0x00400000, 0x00000001,
        0x007fffff, 0x7f7fffff, 0xff7fffff, 0x34000000, 0x7f800000, 0xff800000, 0x7fc00000, 0x7fc0abcd,
        0xffe00001, 0x4f000000, 0x4effffff, 0x5f000000, 0x4b800001, 0x4b7fffff,
    };
    static const char *ffmt[] = {"%a", "%.0a", "%.6a", "%e", "%.3e", "%.9e", "%f", "%.0f", "%g", "%.9g",
                                 "%.17g", "%#.3g"};
    for (unsigned v = 0; v < sizeof fvals / sizeof *fvals; v++) {
        float x = ffrom(fvals[v]);
        printf("float %08x ->double %016llx:", fvals[v], (unsigned long long)dbits(x));
        for (unsigned f = 0; f < sizeof ffmt / sizeof *ffmt; f++) {
            printf(" ");
            printf(ffmt[f], x);
        }
        printf("\n");
    }
}

static void print_long_double_table(void) {
    struct { const char *name; long double v; } vals[] = {
        {"+0", 0.0L}, {"-0", -0.0L}, {"1", 1.0L}, {"0.1", 0.1L}, {"1/3", 1.0L / 3}, {"-2/3", -2.0L / 3},
        {"LDBL_MIN", LDBL_MIN}, {"LDBL_MIN/2", LDBL_MIN / 2}, {"TRUE_MIN", ldfrom(0, 1)},
        {"LDBL_MAX", LDBL_MAX}, {"-LDBL_MAX", -LDBL_MAX}, {"EPS", LDBL_EPSILON}, {"inf", ldfrom(0x7fff, 1ull << 63)},
        {"-inf", ldfrom(0xffff, 1ull << 63)}, {"qnan", ldfrom(0x7fff, 3ull << 62)},
        {"nan_payload", ldfrom(0x7fff, 0xc000000000001234ull)}, {"-nan", ldfrom(0xffff, 0xe000000000000000ull)},
        {"2^63", 9223372036854775808.0L}, {"2^64-1", 18446744073709551615.0L}, {"2^64", 18446744073709551616.0L},
        {"DBL_MAX*2", (long double)DBL_MAX * 2}, {"pi", 3.14159265358979323846264338327950288L},
        {"1e4000", 1e4000L}, {"1e-4940", 1e-4940L},
    };
    static const char *lfmt[] = {"%La", "%.0La", "%.3La", "%.15La", "%.20La", "%Le", "%.0Le", "%.3Le", "%.18Le",
                                 "%.21Le", "%.40Le", "%Lf", "%.0Lf", "%.25Lf", "%Lg", "%.3Lg", "%.18Lg",
                                 "%.21Lg", "%.30Lg", "%#.0Lf", "%+LE", "%LG"};
    char bits[32], buf[600];
    for (unsigned v = 0; v < sizeof vals / sizeof *vals; v++) {
        ldbits(bits, vals[v].v);
        printf("long double %s bits %s\n", vals[v].name, bits);
        for (unsigned f = 0; f < sizeof lfmt / sizeof *lfmt; f++) {
            snprintf(buf, sizeof buf, lfmt[f], vals[v].v);
            printf("  %-7s [%s]\n", lfmt[f], buf);
        }
    }
}

static const char *STRINGS[] = {
    "0", "-0", "+0.0e10", "1", "0.1", "0.3", "1e23", "8.988465674311579e307", "1.7976931348623157e308",
    "1.7976931348623158e308", "1.7976931348623159e308", "1e309", "-1e309", "2.2250738585072014e-308",
    "2.2250738585072011e-308", "2.2250738585072009e-308", "4.9406564584124654e-324", "2.4703282292062328e-324",
    "2.4703282292062327e-324", "1e-330", "-1e-400", "0x1p-1074", "0x1p-1075", "0x1.8p-1075", "0x1.0000000000001p-1074",
    "0x1.fffffffffffff8p1023", "0x1.fffffffffffff7ffp1023", "0x1.fffffffffffffp1023", "0X1.8P+1", "0x.8p1",
    "0x10", "0x", "0xg", "inf", "-INF", "infinity", "Infinityx", "infin", "nan", "-nan", "NAN(0x1234)",
    "nan(123)", "nan(abc_1)", "nan(", "nan()x", "9007199254740993", "9007199254740992.0000000000000001",
    "9007199254740991.5", "2147483647.5", "4294967295.99999999", "9223372036854775807", "18446744073709551615",
    "123.456e-2", "  +42", "\t-7.5e+2xyz", "1e", "1e+", ".5", "5.", ".", "-", "+-1", "1_000", "0.1e+1x",
    "1.00000000000000011102230246251565404236316680908203125", "1.000000000000000111022302462515654042363166809082031250001",
    "0.000000000000000000000000000000000000000000000000000000000000000000000000001e75",
    "123456789012345678901234567890123456789012345678901234567890e-40", "3.4028235677973366e38",
    "3.4028234663852886e38", "1.40129846e-45", "7.0064923e-46", "7.0064924e-46", "1.17549435e-38",
    "1e4932", "1.18973149535723176502e+4932", "1.18973149535723176508e+4932", "3.6451995318824746e-4951",
    "1.8225997659412373e-4951", "0x1p-16445", "0x1p-16446", "0x1.fffffffffffffffep16383", "0x1.ffffffffffffffffp16383",
};

static void parse_strings(void) {
    char buf[64], bits[32];
    for (unsigned i = 0; i < sizeof STRINGS / sizeof *STRINGS; i++) {
        const char *s = STRINGS[i];
        char *end;
        errno = 0;
        double d = strtod(s, &end);
        int de = errno, dn = (int)(end - s);
        errno = 0;
        float f = strtof(s, &end);
        int fe = errno, fn = (int)(end - s);
        errno = 0;
        long double l = strtold(s, &end);
        int le = errno, ln = (int)(end - s);
        ldbits(bits, l);
        printf("strto [%s]\n  d %016llx %.17g end %d errno %d\n  f %08x %.9g end %d errno %d\n"
               "  l %s %.21Lg end %d errno %d\n", s, (unsigned long long)dbits(d), d, dn, de, fbits(f), f, fn, fe,
               bits, l, ln, le);
        double back;
        snprintf(buf, sizeof buf, "%.17g", d);
        back = strtod(buf, 0);
        printf("  %%.17g round trip %s", dbits(back) == dbits(d) ? "same" : "differs");
        snprintf(buf, sizeof buf, "%a", d);
        back = strtod(buf, 0);
        printf(", %%a round trip %s", dbits(back) == dbits(d) ? "same" : "differs");
        snprintf(buf, sizeof buf, "%.9g", f);
        printf(", float %s", fbits(strtof(buf, 0)) == fbits(f) ? "same" : "differs");
        snprintf(buf, sizeof buf, "%.21Lg", l);
        long double lb = strtold(buf, 0);
        printf(", long double %s\n", memcmp(&lb, &l, 10) == 0 ? "same" : "differs");
    }
}

/* every 2^k and 2^k +- 1 ulp, and a walk of pseudo-random bit patterns, through %.17g / %a and back */
static void round_trips(void) {
    char buf[64];
    unsigned bad17 = 0, bada = 0, badf = 0, badl = 0;
    uint64_t h = 0;
    for (int k = -1074; k <= 1023; k += 7) {
        for (int d = -1; d <= 1; d++) {
            double x = ldexp(1.0, k);
            if (d < 0) x = nextafter(x, 0);
            if (d > 0) x = nextafter(x, INFINITY);
            snprintf(buf, sizeof buf, "%.17g", x);
            bad17 += dbits(strtod(buf, 0)) != dbits(x);
            for (char *p = buf; *p; p++) h = h * 31 + (unsigned char)*p;
        }
    }
    uint64_t s = 0x123456789abcdefull;
    for (int i = 0; i < 1500; i++) {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17;
        double x = dfrom(s);
        if (isnan(x)) continue;
        snprintf(buf, sizeof buf, "%.17g", x);
        bad17 += dbits(strtod(buf, 0)) != dbits(x);
        for (char *p = buf; *p; p++) h = h * 31 + (unsigned char)*p;
        snprintf(buf, sizeof buf, "%a", x);
        bada += dbits(strtod(buf, 0)) != dbits(x);
        for (char *p = buf; *p; p++) h = h * 31 + (unsigned char)*p;
        float f = ffrom((uint32_t)s);
        if (!isnan(f)) {
            snprintf(buf, sizeof buf, "%.9g", f);
            badf += fbits(strtof(buf, 0)) != fbits(f);
            for (char *p = buf; *p; p++) h = h * 31 + (unsigned char)*p;
        }
        if (i % 5 == 0) {
            long double l = ldfrom((uint16_t)(s >> 48) & 0x7ffe, (s << 11) | (1ull << 63));
            snprintf(buf, sizeof buf, "%.21Lg", l);
            long double lb = strtold(buf, 0);
            badl += memcmp(&lb, &l, 10) != 0;
            for (char *p = buf; *p; p++) h = h * 31 + (unsigned char)*p;
        }
    }
    printf("round trips: %%.17g bad %u, %%a bad %u, float bad %u, long double bad %u, text hash %016llx\n", bad17,
           bada, badf, badl, (unsigned long long)h);
}

static void scanning(void) {
    const char *inputs[] = {"3.25 -0 1e-320 0x1.8p3 inf nan 1e999", "  7.5e-1,2.5;x", "1.5e+ 2", "-nan(0x7) +Inf"};
    for (unsigned i = 0; i < sizeof inputs / sizeof *inputs; i++) {
        double a = -1, b = -1, c = -1, d = -1;
        float e = -1;
        long double l = -1;
        int n = sscanf(inputs[i], "%lf %lf %lf %lf %f %Lf", &a, &b, &c, &d, &e, &l);
        printf("sscanf [%s] -> %d: %a %a %a %a %a %La\n", inputs[i], n, a, b, c, d, e, l);
    }
}

int main(void) {
    print_double_table();
    print_float_table();
    print_long_double_table();
    parse_strings();
    round_trips();
    scanning();
    return 0;
}
