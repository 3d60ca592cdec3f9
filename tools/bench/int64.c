/* Benchmark guest: 64-bit multiply, divide, modulo (libgcc __udivdi3 & co.) and shifts, checked by identities. */
#include <stdio.h>
#include <stdlib.h>

typedef unsigned long long u64;
typedef long long i64;

static u64 next(u64 *state) {
    *state = *state * 6364136223846793005ull + 1442695040888963407ull;
    return *state;
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 100;
    u64 state = 2024, sum = 0;
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < 60000; i++) {
            u64 a = next(&state), b = next(&state) >> (next(&state) & 63);
            if (b == 0) b = 1;
            u64 q = a / b, m = a % b;
            if (q * b + m != a || m >= b) {
                printf("FAIL unsigned %llu / %llu = %llu rem %llu\n", a, b, q, m);
                return 1;
            }
            i64 sa = (i64)a >> (i & 31), sb = (i64)(b | 1) * ((i & 1) ? -1 : 1);
            i64 sq = sa / sb, sm = sa % sb;
            if (sq * sb + sm != sa || (sm != 0 && (sm < 0) != (sa < 0))) {
                printf("FAIL signed %lld / %lld = %lld rem %lld\n", sa, sb, sq, sm);
                return 1;
            }
            unsigned s = (unsigned)(a >> 58);
            u64 rot = (a << s) | (a >> ((64 - s) & 63));
            if (s != 0 && (rot >> s | rot << (64 - s)) != a) {
                printf("FAIL rotate %llu by %u\n", a, s);
                return 1;
            }
            sum = sum * 0x100000001B3ull + (q ^ m) + (u64)(sq ^ sm) + rot;
        }
    }
    printf("int64 rounds=%d checksum=%016llx ok\n", rounds, sum);
    return 0;
}
