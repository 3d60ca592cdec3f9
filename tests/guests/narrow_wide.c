/* 8-, 16- and 64-bit C arithmetic: wraparound, promotions, signed/unsigned comparisons, casts, shifts. */
#include <stdio.h>
#include <stdint.h>

static volatile uint32_t seeds[] = {0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000,
                                    0xffffffff, 0xdeadbeef, 0x01234567};
#define N (sizeof seeds / sizeof seeds[0])

int main(void) {
    uint32_t acc = 0;
    for (unsigned i = 0; i < N; i++) {
        for (unsigned j = 0; j < N; j++) {
            uint32_t a = seeds[i], b = seeds[j];
            uint8_t a8 = (uint8_t)a, b8 = (uint8_t)b;
            int8_t s8 = (int8_t)a, t8 = (int8_t)b;
            uint16_t a16 = (uint16_t)a, b16 = (uint16_t)b;
            int16_t s16 = (int16_t)a, t16 = (int16_t)b;
            uint8_t r8[6] = {(uint8_t)(a8 + b8), (uint8_t)(a8 - b8), (uint8_t)(a8 * b8),
                             (uint8_t)(b8 ? a8 / b8 : 0), (uint8_t)(a8 << (b8 & 7)), (uint8_t)(a8 >> (b8 & 7))};
            int8_t q8 = t8 ? (int8_t)(s8 / t8) : 0, m8 = t8 ? (int8_t)(s8 % t8) : 0;
            uint16_t r16[4] = {(uint16_t)(a16 + b16), (uint16_t)(a16 * b16), (uint16_t)(b16 ? a16 % b16 : 0),
                               (uint16_t)(a16 >> (b16 & 15))};
            int16_t q16 = t16 ? (int16_t)(s16 / t16) : 0, sh16 = (int16_t)(s16 >> (b & 15));
            int cmp = (s8 < t8) | (a8 < b8) << 1 | (s16 < t16) << 2 | (a16 < b16) << 3 |
                      ((int32_t)a < (int32_t)b) << 4 | (a < b) << 5 | (s8 == (int8_t)b16) << 6;
            printf("%x %x: %02x %02x %02x %02x %02x %02x %d %d | %04x %04x %04x %04x %d %d | %02x\n", a, b,
                   r8[0], r8[1], r8[2], r8[3], r8[4], r8[5], q8, m8, r16[0], r16[1], r16[2], r16[3], q16, sh16,
                   cmp);
            int64_t w = (int64_t)(int32_t)a * (int32_t)b;
            uint64_t u = (uint64_t)a * b;
            acc = acc * 31 + (uint32_t)(w >> 17) + (uint32_t)(u >> 32) + r8[2] + r16[1];
        }
    }
    int64_t x = 1;
    for (int i = 0; i < 70; i++) {
        x = x * 3 + (x >> 7) - i;
        printf("%d:%lld:%llx%c", i, (long long)x, (unsigned long long)(x ^ (x << 13)), i % 4 == 3 ? '\n' : ' ');
    }
    printf("\nacc %08x\n", acc);
    return (int)(acc % 250);
}
