/* Benchmark guest: deep call/return traffic (naive fib and Ackermann), checked against closed forms. */
#include <stdio.h>
#include <stdlib.h>

static unsigned fib(unsigned n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

static unsigned ack(unsigned m, unsigned n) {
    if (m == 0) return n + 1;
    if (n == 0) return ack(m - 1, 1);
    return ack(m - 1, ack(m, n - 1));
}

static unsigned fib_iter(unsigned n) {
    unsigned a = 0, b = 1;
    for (unsigned i = 0; i < n; i++) {
        unsigned t = a + b;
        a = b;
        b = t;
    }
    return a;
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 100;
    unsigned sum = 0;
    for (int i = 0; i < rounds; i++) {
        unsigned n = 29 + (unsigned)(i % 4);
        unsigned f = fib(n);
        if (f != fib_iter(n)) {
            printf("FAIL fib(%u)=%u expected %u\n", n, f, fib_iter(n));
            return 1;
        }
        unsigned k = 5 + (unsigned)(i % 4);
        unsigned a = ack(3, k);
        if (a != (1u << (k + 3)) - 3) {
            printf("FAIL ack(3,%u)=%u expected %u\n", k, a, (1u << (k + 3)) - 3);
            return 1;
        }
        sum = sum * 31 + f + a;
    }
    printf("recursion rounds=%d checksum=%08x ok\n", rounds, sum);
    return 0;
}
