/* rep movs/stos/cmps/scas/lods in byte, word and dword sizes, forwards and backwards (df=1). */
#include <stdio.h>

static unsigned char area[256];

static void reset(void) {
    for (unsigned i = 0; i < sizeof area; i++)
        area[i] = (unsigned char)(i ^ 0x5a);
}

static void dump(const char *what, unsigned a, unsigned b, unsigned c) {
    unsigned h = 0;
    for (unsigned i = 0; i < sizeof area; i++)
        h = h * 33 + area[i];
    printf("%-10s esi=%+d edi=%+d ecx=%u area=%08x\n", what, (int)a, (int)b, c, h);
}

static void movs_tests(void) {
    static const unsigned counts[] = {0, 1, 3, 17, 40};
    for (unsigned k = 0; k < 5; k++) {
        unsigned n = counts[k];
        unsigned char *s, *d;
        unsigned c;
        reset();
        s = area + 10, d = area + 13, c = n;
        __asm__ volatile("cld\n\trep movsb" : "+S"(s), "+D"(d), "+c"(c) : : "memory");
        dump("movsb", (unsigned)(s - area), (unsigned)(d - area), c);
        reset();
        s = area + 200, d = area + 203, c = n;
        __asm__ volatile("std\n\trep movsb\n\tcld" : "+S"(s), "+D"(d), "+c"(c) : : "memory");
        dump("movsb-df", (unsigned)(s - area), (unsigned)(d - area), c);
        reset();
        s = area + 4, d = area + 80, c = n;
        __asm__ volatile("cld\n\trep movsl" : "+S"(s), "+D"(d), "+c"(c) : : "memory");
        dump("movsl", (unsigned)(s - area), (unsigned)(d - area), c);
        reset();
        s = area + 100, d = area + 250, c = n > 20 ? 20 : n;
        __asm__ volatile("std\n\trep movsw\n\tcld" : "+S"(s), "+D"(d), "+c"(c) : : "memory");
        dump("movsw-df", (unsigned)(s - area), (unsigned)(d - area), c);
        reset();
        d = area + 7, c = n;
        __asm__ volatile("cld\n\trep stosl" : "+D"(d), "+c"(c) : "a"(0xdeadbeef) : "memory");
        dump("stosl", 0, (unsigned)(d - area), c);
        reset();
        d = area + 120, c = n;
        __asm__ volatile("std\n\trep stosw\n\tcld" : "+D"(d), "+c"(c) : "a"(0x1234) : "memory");
        dump("stosw-df", 0, (unsigned)(d - area), c);
        reset();
        d = area + 255, c = n;
        __asm__ volatile("std\n\trep stosb\n\tcld" : "+D"(d), "+c"(c) : "a"(0x77) : "memory");
        dump("stosb-df", 0, (unsigned)(d - area), c);
    }
}

static void compare_tests(void) {
    static const char a[] = "hello world, hello there";
    static const char b[] = "hello world! hello there";
    for (unsigned n = 0; n < 26; n += 5) {
        const char *s = a, *d = b;
        unsigned c = n, fl;
        __asm__ volatile("cld\n\ttestl %%esp, %%esp\n\trepe cmpsb\n\tpushfl\n\tpopl %3" : "+S"(s), "+D"(d), "+c"(c), "=r"(fl) : : "cc");
        printf("repe cmpsb n=%u: stop=%d ecx=%u zf=%u cf=%u\n", n, (int)(s - a), c, fl >> 6 & 1, fl & 1);
        const char *p = a + n;
        c = n + 1;
        __asm__ volatile("std\n\ttestl %%esp, %%esp\n\trepne scasb\n\tcld\n\tpushfl\n\tpopl %2" : "+D"(p), "+c"(c), "=r"(fl)
                         : "a"('o') : "cc");
        printf("std repne scasb from %u: at=%d ecx=%u zf=%u\n", n, (int)(p - a), c, fl >> 6 & 1);
        const unsigned *w = (const unsigned *)a;
        c = 6;
        __asm__ volatile("cld\n\trepe scasl\n\tpushfl\n\tpopl %2" : "+D"(w), "+c"(c), "=r"(fl)
                         : "a"(0x6c6c6568u) : "cc");
        printf("repe scasl: at=%d ecx=%u zf=%u\n", (int)((const char *)w - a), c, fl >> 6 & 1);
    }
    unsigned sum = 0;
    const unsigned char *s = area;
    reset();
    for (unsigned i = 0; i < 64; i++) {
        unsigned v;
        __asm__ volatile("cld\n\tlodsl" : "=a"(v), "+S"(s));
        sum = sum * 7 + v;
    }
    unsigned short w16;
    __asm__ volatile("std\n\tlodsw\n\tlodsw\n\tcld" : "=a"(w16), "+S"(s));
    printf("lods sum %08x last %04x at %d\n", sum, w16, (int)(s - area));
}

int main(void) {
    movs_tests();
    compare_tests();
    return 0;
}
