/* A mixed integer workload: sieve, CRC-32, a SHA-256-style compression, bignum factorial, matrix product, LCG sort. */
#include <stdio.h>
#include <stdint.h>
#include <string.h>

static uint32_t crc_table[256];

static void crc_init(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[n] = c;
    }
}

static uint32_t crc32(const uint8_t *p, size_t n) {
    uint32_t c = 0xffffffffu;
    while (n--)
        c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

#define ROR(x, n) ((x) >> (n) | (x) << (32 - (n)))

static void compress(uint32_t state[8], const uint32_t block[16]) {
    static const uint32_t k[8] = {0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5,
                                  0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5};
    uint32_t w[64], a = state[0], b = state[1], c = state[2], d = state[3], e = state[4], f = state[5],
                    g = state[6], h = state[7];
    memcpy(w, block, 64);
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + k[i & 7] + w[i];
        uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
    }
    state[0] += a, state[1] += b, state[2] += c, state[3] += d;
    state[4] += e, state[5] += f, state[6] += g, state[7] += h;
}

static void factorial(unsigned n) {
    uint32_t digits[200] = {1};
    unsigned len = 1;
    for (unsigned m = 2; m <= n; m++) {
        uint64_t carry = 0;
        for (unsigned i = 0; i < len; i++) {
            uint64_t v = (uint64_t)digits[i] * m + carry;
            digits[i] = (uint32_t)(v % 1000000000u);
            carry = v / 1000000000u;
        }
        while (carry) {
            digits[len++] = (uint32_t)(carry % 1000000000u);
            carry /= 1000000000u;
        }
    }
    printf("%u! = %u", n, digits[len - 1]);
    for (unsigned i = len - 1; i-- > 0;)
        printf("%09u", digits[i]);
    printf("\n");
}

int main(void) {
    static uint8_t composite[20000];
    unsigned primes = 0, last = 0;
    for (unsigned i = 2; i < sizeof composite; i++) {
        if (composite[i])
            continue;
        primes++, last = i;
        for (unsigned j = i * i; j < sizeof composite; j += i)
            composite[j] = 1;
    }
    printf("primes below 20000: %u, last %u\n", primes, last);

    crc_init();
    printf("crc32(abc)=%08x crc32(sieve)=%08x\n", crc32((const uint8_t *)"abc", 3), crc32(composite, 5000));

    uint32_t state[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                         0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    uint32_t block[16];
    for (int round = 0; round < 40; round++) {
        for (int i = 0; i < 16; i++)
            block[i] = (uint32_t)(round * 16 + i) * 0x01010101u;
        compress(state, block);
    }
    printf("digest");
    for (int i = 0; i < 8; i++)
        printf(" %08x", state[i]);
    printf("\n");

    factorial(20);
    factorial(100);

    static int32_t ma[12][12], mb[12][12], mc[12][12];
    for (int i = 0; i < 12; i++)
        for (int j = 0; j < 12; j++)
            ma[i][j] = i * 7 - j * 3, mb[i][j] = (i ^ j) - 5;
    int64_t trace = 0;
    for (int i = 0; i < 12; i++)
        for (int j = 0; j < 12; j++) {
            int32_t s = 0;
            for (int k = 0; k < 12; k++)
                s += ma[i][k] * mb[k][j];
            mc[i][j] = s;
        }
    for (int i = 0; i < 12; i++)
        trace += mc[i][i] * (int64_t)(i + 1);
    printf("matrix trace %lld corner %d %d\n", (long long)trace, mc[0][11], mc[11][0]);

    uint32_t arr[600], x = 1;
    for (int i = 0; i < 600; i++)
        arr[i] = x = x * 1664525u + 1013904223u;
    for (int i = 1; i < 600; i++) { /* insertion sort */
        uint32_t v = arr[i];
        int j = i - 1;
        while (j >= 0 && arr[j] > v)
            arr[j + 1] = arr[j], j--;
        arr[j + 1] = v;
    }
    printf("sorted %08x %08x %08x crc %08x\n", arr[0], arr[300], arr[599], crc32((uint8_t *)arr, sizeof arr));
    return (int)(state[0] & 0x7f);
}
