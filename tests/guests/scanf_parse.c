/* sscanf of integers and strings, strtol/strtoul in several bases, atoi; a tiny expression evaluator. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>

static const char *pos;

static long expr(void);

static long atom(void) {
    while (*pos == ' ')
        pos++;
    if (*pos == '(') {
        pos++;
        long v = expr();
        pos++; /* ')' */
        return v;
    }
    if (*pos == '-') {
        pos++;
        return -atom();
    }
    char *end;
    long v = strtol(pos, &end, 0);
    pos = end;
    return v;
}

static long term(void) {
    long v = atom();
    for (;;) {
        while (*pos == ' ')
            pos++;
        char op = *pos;
        if (op != '*' && op != '/' && op != '%')
            return v;
        pos++;
        long r = atom();
        v = op == '*' ? v * r : r == 0 ? 0 : op == '/' ? v / r : v % r;
    }
}

static long expr(void) {
    long v = term();
    for (;;) {
        while (*pos == ' ')
            pos++;
        char op = *pos;
        if (op != '+' && op != '-')
            return v;
        pos++;
        long r = term();
        v = op == '+' ? v + r : v - r;
    }
}

int main(void) {
    static const char *lines[] = {
        "12 -34 0x1f 077 hello",
        "2147483647 -2147483648 0xffffffff 0 world!",
        "  +5   -0  0X10 010 tabs\tand spaces",
        "999999999999 1 2 3 x",
        "abc 1 2 3 4",
        "-1 -1 -1 -1 -",
    };
    for (unsigned i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        int a = -7, b = -7;
        unsigned c = 7, d = 7;
        char word[16] = "none";
        int n = sscanf(lines[i], "%d %i %x %o %15s", &a, &b, &c, &d, word);
        printf("sscanf[%u] n=%d a=%d b=%d c=%x d=%o word=%s\n", i, n, a, b, c, d, word);
        long long ll = 0;
        char rest[32] = "";
        n = sscanf(lines[i], "%lld %31[^\n]", &ll, rest);
        printf("  ll n=%d %lld rest=[%s]\n", n, ll, rest);
    }
    int h, m, s;
    char tag[8];
    int n = sscanf("T=12:34:56 ok", "T=%d:%d:%d %7s", &h, &m, &s, tag);
    printf("time fields n=%d %d %d %d %s\n", n, h, m, s, tag);
    char key[16], val[16];
    n = sscanf("name = value;", "%15[a-z] = %15[^;]", key, val);
    printf("kv n=%d [%s]=[%s]\n", n, key, val);

    static const char *nums[] = {"0", "-17", "0x7fffffff", "0xffffffff", "2147483648", "-2147483649",
                                 "zz", "101", "  42abc", "0777", "-0x10"};
    for (unsigned i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        char *end;
        long v10 = strtol(nums[i], &end, 10);
        int used10 = (int)(end - nums[i]);
        unsigned long u0 = strtoul(nums[i], &end, 0);
        long v2 = strtol(nums[i], NULL, 2);
        long v36 = strtol(nums[i], NULL, 36);
        printf("%-12s strtol10=%ld(%d) strtoul0=%lu strtol2=%ld strtol36=%ld atoi=%d\n", nums[i], v10,
               used10, u0, v2, v36, atoi(nums[i]));
    }
    static const char *exprs[] = {"1 + 2 * 3", "(1 + 2) * 3", "100 / 7 % 5 - -3", "0x10 * 010 + 1",
                                  "((((2))))*(3+4)*(5-6)", "2147483647 + 1", "-(8 - 10) * 123456"};
    long acc = 0;
    for (unsigned i = 0; i < sizeof exprs / sizeof exprs[0]; i++) {
        pos = exprs[i];
        long v = expr();
        acc = acc * 7 + v;
        printf("expr %s = %ld\n", exprs[i], v);
    }
    int upper = 0;
    for (const char *p = "Mixed CASE letters 123"; *p; p++)
        upper += isupper((unsigned char)*p) ? 1 : 0;
    printf("upper %d acc %ld\n", upper, acc);
    return (int)(acc & 0xff);
}
