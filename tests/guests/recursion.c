/* Deep recursion: Ackermann, naive Fibonacci, Towers of Hanoi, N-queens, mutual recursion. */
#include <stdio.h>

static unsigned calls;

static unsigned ack(unsigned m, unsigned n) {
    calls++;
    if (m == 0)
        return n + 1;
    if (n == 0)
        return ack(m - 1, 1);
    return ack(m - 1, ack(m, n - 1));
}

static unsigned fib(unsigned n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

static unsigned long long hanoi(int n, int from, int to, int via, unsigned long long *sig) {
    if (n == 0)
        return 0;
    unsigned long long moves = hanoi(n - 1, from, via, to, sig);
    *sig = *sig * 31 + (unsigned)(from * 3 + to);
    return moves + 1 + hanoi(n - 1, via, to, from, sig);
}

static int queens(int n, int row, unsigned cols, unsigned d1, unsigned d2) {
    if (row == n)
        return 1;
    int count = 0;
    for (int c = 0; c < n; c++) {
        unsigned a = 1u << c, b = 1u << (row + c), d = 1u << (row - c + n);
        if (!(cols & a) && !(d1 & b) && !(d2 & d))
            count += queens(n, row + 1, cols | a, d1 | b, d2 | d);
    }
    return count;
}

static int is_odd(unsigned n);
static int is_even(unsigned n) { return n == 0 ? 1 : is_odd(n - 1); }
static int is_odd(unsigned n) { return n == 0 ? 0 : is_even(n - 1); }

static unsigned deep(unsigned n) {
    volatile char pad[64];
    pad[n % 64] = (char)n;
    return n == 0 ? 0 : pad[n % 64] + deep(n - 1);
}

int main(void) {
    for (unsigned m = 0; m < 4; m++)
        for (unsigned n = 0; n < 5; n++) {
            calls = 0;
            unsigned r = ack(m, n);
            printf("ack(%u,%u)=%u calls=%u\n", m, n, r, calls);
        }
    for (unsigned n = 0; n <= 24; n += 3)
        printf("fib(%u)=%u\n", n, fib(n));
    for (int n = 1; n <= 12; n += 3) {
        unsigned long long sig = 0;
        unsigned long long moves = hanoi(n, 1, 3, 2, &sig);
        printf("hanoi(%d)=%llu sig=%llx\n", n, moves, sig);
    }
    for (int n = 1; n <= 8; n++)
        printf("queens(%d)=%d\n", n, queens(n, 0, 0, 0, 0));
    printf("even(10001)=%d odd(7777)=%d\n", is_even(10001), is_odd(7777));
    printf("deep(20000)=%u\n", deep(20000));
    return fib(10) & 0xff;
}
