/* Benchmark guest: libc strlen/strcpy/strcmp/memcpy/strchr over generated strings, checked by plain loops. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NSTR 3072
#define MAXLEN 400
#define PLAIN __attribute__((noinline, optimize("no-tree-loop-distribute-patterns")))

static char strs[NSTR][MAXLEN + 1];
static char copy[MAXLEN + 1];
static char block[NSTR * (MAXLEN + 1)];

static PLAIN size_t plain_strlen(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

static PLAIN int plain_sign_strcmp(const char *a, const char *b) {
    while (*a && *a == *b) a++, b++;
    return (unsigned char)*a < (unsigned char)*b ? -1 : (unsigned char)*a > (unsigned char)*b;
}

static PLAIN const char *plain_strchr(const char *s, int c) {
    for (;; s++) {
        if (*s == (char)c) return s;
        if (!*s) return NULL;
    }
}

static int sign(int x) { return (x > 0) - (x < 0); }

static void generate(unsigned *seed) {
    for (int i = 0; i < NSTR; i++) {
        *seed = *seed * 1103515245u + 12345u;
        unsigned len = (*seed >> 16) % MAXLEN;
        for (unsigned k = 0; k < len; k++) {
            *seed = *seed * 1103515245u + 12345u;
            strs[i][k] = (char)('a' + (*seed >> 16) % 4);
        }
        strs[i][len] = 0;
    }
}

static int one_round(unsigned *seed, unsigned *sum) {
    generate(seed);
    size_t offset = 0;
    for (int i = 0; i < NSTR; i++) {
        const char *s = strs[i], *t = strs[(i * 37 + 11) % NSTR];
        size_t len = strlen(s);
        if (len != plain_strlen(s)) return printf("FAIL strlen of string %d\n", i), 0;
        strcpy(copy, s);
        if (strcmp(copy, s) != 0 || plain_strlen(copy) != len) return printf("FAIL strcpy %d\n", i), 0;
        if (sign(strcmp(s, t)) != plain_sign_strcmp(s, t)) return printf("FAIL strcmp %d\n", i), 0;
        int c = 'a' + i % 5;
        if (strchr(s, c) != plain_strchr(s, c)) return printf("FAIL strchr %d '%c'\n", i, c), 0;
        memcpy(block + offset, s, len + 1);
        offset += len;
        *sum = *sum * 31 + (unsigned)len + (unsigned)sign(strcmp(s, t)) * 7u;
    }
    if (plain_strlen(block) != offset || memcmp(block, strs[0], strlen(strs[0])) != 0)
        return printf("FAIL memcpy concatenation\n"), 0;
    *sum = *sum * 31 + (unsigned)(strrchr(block, 'c') ? strrchr(block, 'c') - block : -1);
    return 1;
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 100;
    unsigned seed = 7, sum = 0;
    for (int r = 0; r < rounds; r++)
        if (!one_round(&seed, &sum)) return 1;
    printf("strings rounds=%d checksum=%08x ok\n", rounds, sum);
    return 0;
}
