/* mul/imul/div/idiv in 8, 16 and 32 bits (inline asm), and 64-bit arithmetic through libgcc. */
#include <stdio.h>
#include <stdint.h>

#define ARITH 0x801u /* CF and OF are the defined flags after mul */
#define N(a) (sizeof a / sizeof a[0])

static const uint32_t vals[] = {0, 1, 2, 3, 7, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x10000,
                                0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe, 0xffffffff, 0x9e3779b9};

static void mul32(uint32_t a, uint32_t b) {
    uint32_t lo, hi, fl, ilo, ihi, ifl, i2 = a, i3;
    __asm__("mull %4\n\tpushfl\n\tpopl %2" : "=a"(lo), "=d"(hi), "=r"(fl) : "a"(a), "r"(b) : "cc");
    __asm__("imull %4\n\tpushfl\n\tpopl %2" : "=a"(ilo), "=d"(ihi), "=r"(ifl) : "a"(a), "r"(b) : "cc");
    __asm__("imull %1, %0" : "+r"(i2) : "r"(b) : "cc");
    __asm__("imull $-7, %1, %0" : "=r"(i3) : "r"(a) : "cc");
    printf("mul32 %x*%x = %x:%x %x | imul %x:%x %x | %x %x\n", a, b, hi, lo, fl & ARITH, ihi, ilo,
           ifl & ARITH, i2, i3);
}

static void mul16_8(uint32_t a, uint32_t b) {
    uint32_t r16 = a, d16 = 0xdddd, r8 = a, s16 = a, s8 = a, fl1, fl2;
    __asm__("mulw %w3\n\tpushfl\n\tpopl %2" : "+a"(r16), "+d"(d16), "=r"(fl1) : "r"(b) : "cc");
    __asm__("mulb %b1" : "+a"(r8) : "q"(b) : "cc");
    __asm__("imulb %b2\n\tpushfl\n\tpopl %1" : "+a"(s8), "=r"(fl2) : "q"(b) : "cc");
    __asm__("imulw %w1, %w0" : "+r"(s16) : "r"(b) : "cc");
    printf("mul16 %x:%x %x mul8 %x imul8 %x %x imul16 %x\n", d16 & 0xffff, r16 & 0xffff, fl1 & ARITH,
           r8 & 0xffff, s8 & 0xffff, fl2 & ARITH, s16 & 0xffff);
}

static void div32(uint32_t a, uint32_t b) {
    if (b == 0)
        return;
    uint32_t q, r, hi = a % b; /* high half < divisor: no overflow */
    __asm__("divl %4" : "=a"(q), "=d"(r) : "a"(a ^ 0x5555), "d"(hi), "r"(b) : "cc");
    printf("div32 %x:%x/%x = %x r %x", hi, a ^ 0x5555, b, q, r);
    int32_t sa = (int32_t)a, sb = (int32_t)b;
    if (!(sb == -1 && sa == INT32_MIN)) {
        int32_t sq, sr;
        __asm__("cltd\n\tidivl %3" : "=a"(sq), "=&d"(sr) : "a"(sa), "r"(sb) : "cc");
        printf(" idiv %d r %d", sq, sr);
    }
    uint16_t w = (uint16_t)b;
    if (w > 1) {
        uint32_t ax = a & 0xffff, dx = (a >> 16) % w;
        __asm__("divw %w2" : "+a"(ax), "+d"(dx) : "r"((uint32_t)w) : "cc");
        printf(" div16 %x r %x", ax & 0xffff, dx & 0xffff);
        int16_t sw = (int16_t)w, num = (int16_t)a;
        if (sw == -1)
            num = 5;
        uint32_t sax = (uint16_t)num, sdx;
        __asm__("cwtd\n\tidivw %w2" : "+a"(sax), "=&d"(sdx) : "r"((uint32_t)(uint16_t)sw) : "cc");
        printf(" idiv16 %x r %x", sax & 0xffff, sdx & 0xffff);
    }
    uint8_t c = (uint8_t)b;
    if (c > 1) {
        uint32_t ax = ((a >> 8) % c) << 8 | (a & 0xff);
        __asm__("divb %b1" : "+a"(ax) : "q"((uint32_t)c) : "cc");
        printf(" div8 %x", ax & 0xffff);
        if ((int8_t)c != -1) {
            uint32_t sax = (uint32_t)(int32_t)(int8_t)a & 0xffff;
            __asm__("idivb %b1" : "+a"(sax) : "q"((uint32_t)c) : "cc");
            printf(" idiv8 %x", sax & 0xffff);
        }
    }
    printf("\n");
}

static volatile uint64_t v64[] = {0, 1, 2, 3, 10, 0x7f, 0xff, 0x7fffffff, 0x80000000, 0xffffffff,
                                  0x100000000ull, 0x123456789abcdefull, 0x7fffffffffffffffull,
                                  0x8000000000000000ull, 0xfffffffffffffffeull, 0xffffffffffffffffull};

static void arith64(void) {
    uint64_t acc = 0;
    for (unsigned i = 0; i < N(v64); i++) {
        for (unsigned j = 0; j < N(v64); j++) {
            uint64_t a = v64[i], b = v64[j];
            int64_t sa = (int64_t)a, sb = (int64_t)b;
            uint64_t prod = a * b, sum = a + b, diff = a - b;
            printf("%llx %llx: %llx %llx %llx", (unsigned long long)a, (unsigned long long)b,
                   (unsigned long long)prod, (unsigned long long)sum, (unsigned long long)diff);
            if (b) {
                printf(" u/ %llx u%% %llx", (unsigned long long)(a / b), (unsigned long long)(a % b));
                if (!(sb == -1 && sa == INT64_MIN))
                    printf(" s/ %lld s%% %lld", (long long)(sa / sb), (long long)(sa % sb));
            }
            unsigned sh = (unsigned)(b & 63);
            printf(" << %llx >> %llx >>s %llx", (unsigned long long)(a << sh), (unsigned long long)(a >> sh),
                   (unsigned long long)(sa >> sh));
            printf(" cmp %d%d%d%d\n", a < b, sa < sb, a == b, sa >= sb);
            acc = acc * 1000003 + prod + (sum ^ diff);
        }
    }
    printf("acc64 %llx\n", (unsigned long long)acc);
}

int main(void) {
    for (unsigned i = 0; i < N(vals); i++)
        for (unsigned j = 0; j < N(vals); j++) {
            mul32(vals[i], vals[j]);
            mul16_8(vals[i], vals[j]);
            div32(vals[i], vals[j]);
        }
    arith64();
    return 37;
}
