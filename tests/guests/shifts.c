/* Shifts, rotates (incl. through carry) and double shifts by counts 0,1,31,32,33 and more, with flags. */
#include <stdio.h>

#define ARITH 0x8d5u

static const unsigned vals[] = {0, 1, 0x80, 0x8000, 0x7fffffff, 0x80000000, 0xffffffff, 0x12345678, 0x80000001};
static const unsigned counts[] = {0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 255};
#define N(a) (sizeof a / sizeof a[0])

#define SH32(name, insn)                                                                           \
    static unsigned name(unsigned a, unsigned c, unsigned fin, unsigned *fo) {                     \
        unsigned fl;                                                                               \
        __asm__ volatile("pushl %3\n\tpopfl\n\t" insn " %%cl, %0\n\tpushfl\n\tpopl %1"             \
                         : "+r"(a), "=&r"(fl) : "c"(c), "r"(fin) : "cc");                          \
        *fo = fl & ARITH;                                                                          \
        return a;                                                                                  \
    }
#define SH16(name, insn)                                                                           \
    static unsigned name(unsigned a, unsigned c, unsigned fin, unsigned *fo) {                     \
        unsigned fl;                                                                               \
        __asm__ volatile("pushl %3\n\tpopfl\n\t" insn " %%cl, %w0\n\tpushfl\n\tpopl %1"            \
                         : "+r"(a), "=&r"(fl) : "c"(c), "r"(fin) : "cc");                          \
        *fo = fl & ARITH;                                                                          \
        return a;                                                                                  \
    }
#define SH8(name, insn)                                                                            \
    static unsigned name(unsigned a, unsigned c, unsigned fin, unsigned *fo) {                     \
        unsigned fl;                                                                               \
        __asm__ volatile("pushl %3\n\tpopfl\n\t" insn " %%cl, %b0\n\tpushfl\n\tpopl %1"            \
                         : "+a"(a), "=&r"(fl) : "c"(c), "r"(fin) : "cc");                          \
        *fo = fl & ARITH;                                                                          \
        return a;                                                                                  \
    }
#define SH8H(name, insn)                                                                           \
    static unsigned name(unsigned a, unsigned c, unsigned fin, unsigned *fo) {                     \
        unsigned fl;                                                                               \
        __asm__ volatile("pushl %3\n\tpopfl\n\t" insn " %%cl, %h0\n\tpushfl\n\tpopl %1"            \
                         : "+a"(a), "=&r"(fl) : "c"(c), "r"(fin) : "cc");                          \
        *fo = fl & ARITH;                                                                          \
        return a;                                                                                  \
    }
#define DSH32(name, insn)                                                                          \
    static unsigned name(unsigned a, unsigned c, unsigned fin, unsigned *fo) {                     \
        unsigned fl, b = ~a ^ 0x5a5a0f0f;                                                          \
        __asm__ volatile("pushl %4\n\tpopfl\n\t" insn " %%cl, %2, %0\n\tpushfl\n\tpopl %1"         \
                         : "+r"(a), "=&r"(fl) : "r"(b), "c"(c), "r"(fin) : "cc");                  \
        *fo = fl & ARITH;                                                                          \
        return a;                                                                                  \
    }
#define DSH16(name, insn)                                                                          \
    static unsigned name(unsigned a, unsigned c, unsigned fin, unsigned *fo) {                     \
        unsigned fl, b = ~a ^ 0x5a5a0f0f;                                                          \
        __asm__ volatile("pushl %4\n\tpopfl\n\t" insn " %%cl, %w2, %w0\n\tpushfl\n\tpopl %1"       \
                         : "+r"(a), "=&r"(fl) : "r"(b), "c"(c), "r"(fin) : "cc");                  \
        *fo = fl & ARITH;                                                                          \
        return a;                                                                                  \
    }

SH32(shl32, "shll") SH32(shr32, "shrl") SH32(sar32, "sarl") SH32(rol32, "roll") SH32(ror32, "rorl")
SH32(rcl32, "rcll") SH32(rcr32, "rcrl")
SH16(shl16, "shlw") SH16(sar16, "sarw") SH16(rol16, "rolw") SH16(rcl16, "rclw") SH16(rcr16, "rcrw")
SH8(shr8, "shrb") SH8(sar8, "sarb") SH8(ror8, "rorb") SH8(rcl8, "rclb") SH8(rcr8, "rcrb")
SH8H(shl8h, "shlb") SH8H(rol8h, "rolb") SH8H(rcr8h, "rcrb")
DSH32(shld32, "shldl") DSH32(shrd32, "shrdl") DSH16(shld16, "shldw") DSH16(shrd16, "shrdw")

typedef unsigned (*shop)(unsigned, unsigned, unsigned, unsigned *);
static const struct { const char *name; shop fn; } ops[] = {
    {"shl32", shl32}, {"shr32", shr32}, {"sar32", sar32}, {"rol32", rol32}, {"ror32", ror32},
    {"rcl32", rcl32}, {"rcr32", rcr32}, {"shl16", shl16}, {"sar16", sar16}, {"rol16", rol16},
    {"rcl16", rcl16}, {"rcr16", rcr16}, {"shr8", shr8}, {"sar8", sar8}, {"ror8", ror8},
    {"rcl8", rcl8}, {"rcr8", rcr8}, {"shl8h", shl8h}, {"rol8h", rol8h}, {"rcr8h", rcr8h},
    {"shld32", shld32}, {"shrd32", shrd32}, {"shld16", shld16}, {"shrd16", shrd16},
};

/* Immediate-count forms: the translator sees constant counts here. */
static unsigned imm_forms(unsigned a, unsigned fin) {
    unsigned r1 = a, r2 = a, r3 = a, r4 = a, r5 = a, fl1, fl2, fl3;
    __asm__ volatile("pushl %3\n\tpopfl\n\tshll $1, %0\n\trcrl $1, %1\n\tpushfl\n\tpopl %2"
                     : "+r"(r1), "+r"(r2), "=&r"(fl1) : "r"(fin) : "cc");
    __asm__ volatile("pushl %3\n\tpopfl\n\trcll $31, %0\n\tsarl $31, %1\n\tpushfl\n\tpopl %2"
                     : "+r"(r3), "+r"(r4), "=&r"(fl2) : "r"(fin) : "cc");
    __asm__ volatile("pushl %2\n\tpopfl\n\trorl $0, %0\n\tpushfl\n\tpopl %1"
                     : "+r"(r5), "=&r"(fl3) : "r"(fin) : "cc");
    printf(" imm[%x %x %x %x %x %x %x %x]", r1, r2, fl1 & ARITH, r3, r4, fl2 & ARITH, r5, fl3 & ARITH);
    return r1 ^ r2 ^ r3 ^ r4 ^ r5;
}

int main(void) {
    unsigned sum = 0;
    for (unsigned k = 0; k < N(ops); k++) {
        for (unsigned cf = 0; cf < 2; cf++) {
            unsigned fin = 0x2 | cf | (cf ? 0x800 : 0xd4);
            printf("%s cf=%u:", ops[k].name, cf);
            for (unsigned i = 0; i < N(vals); i++)
                for (unsigned j = 0; j < N(counts); j++) {
                    unsigned fo, r = ops[k].fn(vals[i], counts[j], fin, &fo);
                    sum = (sum << 3 | sum >> 29) ^ r ^ fo;
                    printf(" %x/%x", r, fo);
                }
            printf("\n");
        }
    }
    for (unsigned i = 0; i < N(vals); i++) {
        printf("v=%x", vals[i]);
        sum ^= imm_forms(vals[i], 0x2 | (i & 1));
        printf("\n");
    }
    printf("sum %08x\n", sum);
    return (int)(sum & 0x3f);
}
