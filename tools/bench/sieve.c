/* Benchmark guest: sieve of Eratosthenes over a byte array, checked by trial division and pi(10^6). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LIMIT 1400000

static unsigned char composite[MAX_LIMIT + 1];

static unsigned sieve(unsigned limit) {
    memset(composite, 0, limit + 1);
    unsigned count = 0;
    for (unsigned i = 2; i <= limit; i++) {
        if (composite[i]) continue;
        count++;
        for (unsigned j = i * i; j <= limit && i < 65536; j += i) composite[j] = 1;
    }
    return count;
}

static int is_prime_slow(unsigned n) {
    if (n < 2) return 0;
    for (unsigned d = 2; d * d <= n; d++)
        if (n % d == 0) return 0;
    return 1;
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 100;
    unsigned sum = 0, probe = 12345;
    for (int i = 0; i < rounds; i++) {
        unsigned limit = 1000000 + (unsigned)(i % 8) * 50000;
        unsigned count = sieve(limit);
        if (limit == 1000000 && count != 78498) {
            printf("FAIL pi(1000000)=%u expected 78498\n", count);
            return 1;
        }
        for (int t = 0; t < 16; t++) {
            probe = probe * 1103515245u + 12345u;
            unsigned n = (probe >> 8) % (limit + 1);
            if (n >= 2 && (composite[n] == 0) != is_prime_slow(n)) {
                printf("FAIL sieve says %u is %s\n", n, composite[n] ? "composite" : "prime");
                return 1;
            }
        }
        sum = sum * 31 + count;
    }
    printf("sieve rounds=%d checksum=%08x ok\n", rounds, sum);
    return 0;
}
