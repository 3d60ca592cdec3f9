/* printf integer, character and string conversions with widths, precisions and flags (no floating point). */
#include <stdio.h>
#include <stddef.h>
#include <limits.h>

static const int ints[] = {0, 1, -1, 7, -42, 127, -128, 255, 32767, -32768, 65535, 1000000, INT_MAX, INT_MIN};
static const long long wides[] = {0, 1, -1, 4294967296LL, -4294967297LL, LLONG_MAX, LLONG_MIN,
                                  1234567890123456789LL};

int main(void) {
    for (unsigned i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        int v = ints[i];
        printf("[%d][%i][%u][%x][%X][%o]\n", v, v, (unsigned)v, (unsigned)v, (unsigned)v, (unsigned)v);
        printf("[%5d][%-8d|][%+d][% d][%05d][%.3d][%8.4d][%-+7d]\n", v, v, v, v, v, v, v, v);
        printf("[%#x][%#o][%#X][%08x][%-10x][%.0d][%hhd][%hd][%hhu][%hu]\n", (unsigned)v, (unsigned)v,
               (unsigned)v, (unsigned)v, (unsigned)v, v, (signed char)v, (short)v, (unsigned char)v,
               (unsigned short)v);
        printf("[%*d][%-*d][%.*d]\n", 6, v, 6, v, 4, v);
    }
    for (unsigned i = 0; i < sizeof wides / sizeof wides[0]; i++) {
        long long w = wides[i];
        printf("[%lld][%llu][%llx][%#llX][%20lld][%-22lli|][%+lld]\n", w, (unsigned long long)w,
               (unsigned long long)w, (unsigned long long)w, w, w, w);
    }
    size_t z = 123456789u;
    ptrdiff_t pd = -98765;
    printf("[%zu][%zx][%td][%ld][%lu]\n", z, z, pd, -5L, 4000000000UL);
    const char *s = "abcdefgh";
    printf("[%s][%10s][%-10s|][%.3s][%5.3s][%-5.3s|][%.0s][%.*s]\n", s, s, s, s, s, s, s, 5, s);
    printf("[%c][%3c][%-3c|][%c%c%c]\n", 'A', 'b', 'c', 'x', 'y', 'z');
    printf("[%%][%5%][100%%]\n");
    char buf[64];
    int n = snprintf(buf, sizeof buf, "%d-%s-%x", 77, "mid", 0xbeef);
    printf("snprintf %d [%s]\n", n, buf);
    n = snprintf(buf, 8, "%s", "truncated output");
    printf("snprintf trunc %d [%s]\n", n, buf);
    int pos1, pos2;
    printf("count%n here%n\n", &pos1, &pos2);
    printf("n=%d %d\n", pos1, pos2);
    long total = 0;
    for (int i = -300; i < 300; i += 7) {
        n = sprintf(buf, "%d:%x:%o:%s", i * 12345, (unsigned)i * 2654435761u, (unsigned)i, i & 1 ? "odd" : "even");
        total += n;
        for (int k = 0; k < n; k++)
            total = total * 31 + buf[k];
    }
    printf("sprintf total %ld\n", total);
    fprintf(stderr, "this line goes to stderr\n");
    return 0;
}
