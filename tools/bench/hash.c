/* Benchmark guest: CRC32 (table and bitwise) and FNV-1a over a generated buffer, checked on known vectors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUF_SIZE (3 << 18)
#define BITWISE_CHECK_SIZE 4096

static unsigned crc_table[256];
static unsigned char buf[BUF_SIZE];

static void crc_init(void) {
    for (unsigned i = 0; i < 256; i++) {
        unsigned c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

static unsigned crc32_table(const unsigned char *p, unsigned n) {
    unsigned c = 0xFFFFFFFFu;
    for (unsigned i = 0; i < n; i++) c = crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

static unsigned crc32_bitwise(const unsigned char *p, unsigned n) {
    unsigned c = 0xFFFFFFFFu;
    for (unsigned i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & -(c & 1));
    }
    return c ^ 0xFFFFFFFFu;
}

static unsigned fnv1a(const unsigned char *p, unsigned n) {
    unsigned h = 0x811C9DC5u;
    for (unsigned i = 0; i < n; i++) h = (h ^ p[i]) * 0x01000193u;
    return h;
}

static int check_vectors(void) {
    const unsigned char *digits = (const unsigned char *)"123456789";
    if (crc32_table(digits, 9) != 0xCBF43926u || crc32_bitwise(digits, 9) != 0xCBF43926u) return 0;
    if (fnv1a(digits, 0) != 0x811C9DC5u || fnv1a((const unsigned char *)"a", 1) != 0xE40C292Cu) return 0;
    return 1;
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 100;
    crc_init();
    if (!check_vectors()) {
        printf("FAIL known CRC32/FNV-1a vectors\n");
        return 1;
    }
    unsigned seed = 1;
    for (unsigned i = 0; i < BUF_SIZE; i++) {
        seed = seed * 1664525u + 1013904223u;
        buf[i] = (unsigned char)(seed >> 24);
    }
    if (crc32_table(buf, BITWISE_CHECK_SIZE) != crc32_bitwise(buf, BITWISE_CHECK_SIZE)) {
        printf("FAIL table and bitwise CRC32 disagree\n");
        return 1;
    }
    unsigned sum = 0;
    for (int i = 0; i < rounds; i++) {
        buf[(unsigned)i * 7919u % BUF_SIZE] ^= (unsigned char)i;
        sum = sum * 31 + (crc32_table(buf, BUF_SIZE) ^ fnv1a(buf, BUF_SIZE));
    }
    printf("hash rounds=%d checksum=%08x ok\n", rounds, sum);
    return 0;
}
