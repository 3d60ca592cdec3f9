/* Partial registers (al/ah/ax and friends), sign/zero extension, cbw/cwde/cwd/cdq, xchg/xadd/cmpxchg. */
#include <stdio.h>

#define N(a) (sizeof a / sizeof a[0])

static const unsigned vals[] = {0, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0x12345678, 0x80000000, 0xffffffff,
                                0x00ff00ff, 0xa5c3e187};

static void high_bytes(unsigned a, unsigned b) {
    unsigned ra = a, rb = b, rc = a ^ b, rd = ~a;
    __asm__("addb %%ah, %%bh\n\t"
            "subb %%bl, %%ch\n\t"
            "xchgb %%dh, %%al\n\t"
            "movb %%ch, %%dl\n\t"
            "incb %%ah\n\t"
            "xorb %%ah, %%bl\n\t"
            "rolb $3, %%dh\n\t"
            "movzbl %%bh, %%ecx\n\t"
            "movsbw %%ah, %%cx\n\t"
            : "+a"(ra), "+b"(rb), "+c"(rc), "+d"(rd) : : "cc");
    printf("hi %08x %08x: %08x %08x %08x %08x\n", a, b, ra, rb, rc, rd);
}

static void words(unsigned a, unsigned b) {
    unsigned ra = a, rb = b, rc = 0x11112222, rd = 0x33334444;
    __asm__("addw %%bx, %%ax\n\t"
            "adcw $0x7fff, %%cx\n\t"
            "movw %%ax, %%dx\n\t"
            "negw %%bx\n\t"
            "xchgw %%ax, %%cx\n\t"
            "movswl %%bx, %%edx\n\t"
            "movzwl %%cx, %%ecx\n\t"
            "notw %%ax\n\t"
            : "+a"(ra), "+b"(rb), "+c"(rc), "+d"(rd) : : "cc");
    printf("w  %08x %08x: %08x %08x %08x %08x\n", a, b, ra, rb, rc, rd);
}

static void conversions(unsigned a) {
    unsigned c1 = a, c2 = a, c3 = a, d3 = 0xdddddddd, c4 = a, d4 = 0xdddddddd;
    __asm__("cbtw" : "+a"(c1));
    __asm__("cwtl" : "+a"(c2));
    __asm__("cwtd" : "+a"(c3), "+d"(d3));
    __asm__("cltd" : "+a"(c4), "=d"(d4));
    printf("conv %08x: cbw %08x cwde %08x cwd %08x:%08x cdq %08x:%08x\n", a, c1, c2, d3, c3, d4, c4);
    signed char sc = (signed char)a;
    short ss = (short)a;
    unsigned char uc = (unsigned char)a;
    unsigned short us = (unsigned short)a;
    printf("  ext %d %d %u %u %x %x\n", sc, ss, uc, us, (unsigned)(int)sc, (unsigned)(int)ss);
}

static void exchanges(unsigned a, unsigned b) {
    unsigned x = a, y = b, mem = a ^ 0xff00ff00, acc = a, fl;
    __asm__("xaddl %0, %1" : "+r"(x), "+r"(y) : : "cc");
    printf("xadd %08x %08x ->%08x %08x", a, b, x, y);
    __asm__("cmpxchgl %3, %1\n\tpushfl\n\tpopl %2" : "+a"(acc), "+m"(mem), "=r"(fl) : "r"(b) : "cc");
    printf(" cmpxchg(ne) %08x %08x zf%u", acc, mem, (fl >> 6) & 1);
    acc = mem;
    __asm__("cmpxchgl %3, %1\n\tpushfl\n\tpopl %2" : "+a"(acc), "+m"(mem), "=r"(fl) : "r"(b) : "cc");
    printf(" cmpxchg(eq) %08x %08x zf%u", acc, mem, (fl >> 6) & 1);
    unsigned short w = (unsigned short)a, wacc = (unsigned short)b;
    __asm__("cmpxchgw %w2, %1" : "+a"(wacc), "+m"(w) : "r"(a >> 3) : "cc");
    unsigned char bm = (unsigned char)b, bacc = (unsigned char)b;
    __asm__("cmpxchgb %b2, %1" : "+a"(bacc), "+m"(bm) : "q"(a) : "cc");
    unsigned xm = a;
    __asm__("xchgl %0, %1" : "+r"(y), "+m"(xm));
    printf(" w %04x %04x b %02x %02x x %08x %08x\n", wacc, w, bacc, bm, y, xm);
}

int main(void) {
    for (unsigned i = 0; i < N(vals); i++) {
        conversions(vals[i]);
        for (unsigned j = 0; j < N(vals); j++) {
            high_bytes(vals[i], vals[j]);
            words(vals[i], vals[j]);
            exchanges(vals[i], vals[j]);
        }
    }
    return 0;
}
