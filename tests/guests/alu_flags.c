/* Flags after every two-operand ALU op and inc/dec/neg/not on edge values, in 8, 16 and 32 bits. */
#include <stdio.h>

#define ARITH 0x8d5u /* CF PF AF ZF SF OF */

static const unsigned edges[] = {0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0x7fffffff, 0x80000000, 0xffffffff};
#define NEDGE (sizeof edges / sizeof edges[0])

#define BIN32(name, insn)                                                                          \
    static unsigned name(unsigned a, unsigned b, unsigned fin, unsigned *fo) {                     \
        unsigned fl;                                                                               \
        __asm__ volatile("pushl %3\n\tpopfl\n\t" insn " %2, %0\n\tpushfl\n\tpopl %1"               \
                         : "+r"(a), "=&r"(fl) : "r"(b), "r"(fin) : "cc");                          \
        *fo = fl & ARITH;                                                                          \
        return a;                                                                                  \
    }
#define BIN16(name, insn)                                                                          \
    static unsigned name(unsigned a, unsigned b, unsigned fin, unsigned *fo) {                     \
        unsigned fl;                                                                               \
        __asm__ volatile("pushl %3\n\tpopfl\n\t" insn " %w2, %w0\n\tpushfl\n\tpopl %1"             \
                         : "+r"(a), "=&r"(fl) : "r"(b), "r"(fin) : "cc");                          \
        *fo = fl & ARITH;                                                                          \
        return a;                                                                                  \
    }
#define BIN8(name, insn)                                                                           \
    static unsigned name(unsigned a, unsigned b, unsigned fin, unsigned *fo) {                     \
        unsigned fl;                                                                               \
        __asm__ volatile("pushl %3\n\tpopfl\n\t" insn " %b2, %b0\n\tpushfl\n\tpopl %1"             \
                         : "+q"(a), "=&r"(fl) : "q"(b), "r"(fin) : "cc");                          \
        *fo = fl & ARITH;                                                                          \
        return a;                                                                                  \
    }
#define UN32(name, insn)                                                                           \
    static unsigned name(unsigned a, unsigned b, unsigned fin, unsigned *fo) {                     \
        unsigned fl;                                                                               \
        (void)b;                                                                                   \
        __asm__ volatile("pushl %2\n\tpopfl\n\t" insn " %0\n\tpushfl\n\tpopl %1"                   \
                         : "+r"(a), "=&r"(fl) : "r"(fin) : "cc");                                  \
        *fo = fl & ARITH;                                                                          \
        return a;                                                                                  \
    }
#define UN8(name, insn)                                                                            \
    static unsigned name(unsigned a, unsigned b, unsigned fin, unsigned *fo) {                     \
        unsigned fl;                                                                               \
        (void)b;                                                                                   \
        __asm__ volatile("pushl %2\n\tpopfl\n\t" insn " %b0\n\tpushfl\n\tpopl %1"                  \
                         : "+q"(a), "=&r"(fl) : "r"(fin) : "cc");                                  \
        *fo = fl & ARITH;                                                                          \
        return a;                                                                                  \
    }
#define UN16(name, insn)                                                                           \
    static unsigned name(unsigned a, unsigned b, unsigned fin, unsigned *fo) {                     \
        unsigned fl;                                                                               \
        (void)b;                                                                                   \
        __asm__ volatile("pushl %2\n\tpopfl\n\t" insn " %w0\n\tpushfl\n\tpopl %1"                  \
                         : "+r"(a), "=&r"(fl) : "r"(fin) : "cc");                                  \
        *fo = fl & ARITH;                                                                          \
        return a;                                                                                  \
    }

BIN32(add32, "addl") BIN32(adc32, "adcl") BIN32(sub32, "subl") BIN32(sbb32, "sbbl")
BIN32(and32, "andl") BIN32(or32, "orl") BIN32(xor32, "xorl") BIN32(cmp32, "cmpl") BIN32(test32, "testl")
BIN16(add16, "addw") BIN16(adc16, "adcw") BIN16(sub16, "subw") BIN16(sbb16, "sbbw") BIN16(cmp16, "cmpw")
BIN16(xor16, "xorw")
BIN8(add8, "addb") BIN8(adc8, "adcb") BIN8(sub8, "subb") BIN8(sbb8, "sbbb") BIN8(cmp8, "cmpb")
BIN8(and8, "andb") BIN8(test8, "testb")
UN32(inc32, "incl") UN32(dec32, "decl") UN32(neg32, "negl") UN32(not32, "notl")
UN16(inc16, "incw") UN16(neg16, "negw")
UN8(inc8, "incb") UN8(dec8, "decb") UN8(neg8, "negb")

typedef unsigned (*binop)(unsigned, unsigned, unsigned, unsigned *);
struct op { const char *name; binop fn; int unary; };

static const struct op ops[] = {
    {"add32", add32, 0}, {"adc32", adc32, 0}, {"sub32", sub32, 0}, {"sbb32", sbb32, 0},
    {"and32", and32, 0}, {"or32", or32, 0}, {"xor32", xor32, 0}, {"cmp32", cmp32, 0},
    {"test32", test32, 0}, {"add16", add16, 0}, {"adc16", adc16, 0}, {"sub16", sub16, 0},
    {"sbb16", sbb16, 0}, {"cmp16", cmp16, 0}, {"xor16", xor16, 0}, {"add8", add8, 0},
    {"adc8", adc8, 0}, {"sub8", sub8, 0}, {"sbb8", sbb8, 0}, {"cmp8", cmp8, 0}, {"and8", and8, 0},
    {"test8", test8, 0}, {"inc32", inc32, 1}, {"dec32", dec32, 1}, {"neg32", neg32, 1},
    {"not32", not32, 1}, {"inc16", inc16, 1}, {"neg16", neg16, 1}, {"inc8", inc8, 1},
    {"dec8", dec8, 1}, {"neg8", neg8, 1},
};

int main(void) {
    unsigned checksum = 0;
    for (unsigned k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        const struct op *op = &ops[k];
        for (unsigned cf = 0; cf < 2; cf++) {
            /* incoming flags: CF as given, and the opposite of everything else so stale flags show */
            unsigned fin = 0x2 | cf | (cf ? 0 : 0x8d4);
            printf("%s cf=%u:", op->name, cf);
            for (unsigned i = 0; i < NEDGE; i++) {
                for (unsigned j = 0; j < (op->unary ? 1 : NEDGE); j++) {
                    unsigned fo, r = op->fn(edges[i], edges[j], fin, &fo);
                    checksum = checksum * 31 + r + fo;
                    printf(" %x/%x", r, fo);
                }
            }
            printf("\n");
        }
    }
    printf("checksum %08x\n", checksum);
    return 0;
}
