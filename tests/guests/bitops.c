/* Bit tests, bit scans, bswap, all 16 setcc/cmovcc conditions, lahf/sahf, pushf/popf, cmc/clc/stc. */
#include <stdio.h>

#define ARITH 0x8d5u

static const unsigned vals[] = {0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0x7fffffff, 0x80000000, 0xffffffff,
                                0x00f00000, 0x12345678};
#define N(a) (sizeof a / sizeof a[0])

#define BT(name, insn)                                                                             \
    static unsigned name(unsigned a, unsigned bit, unsigned *fo) {                                 \
        unsigned fl;                                                                               \
        __asm__ volatile("pushl $0x8d7\n\tpopfl\n\t" insn " %2, %0\n\tpushfl\n\tpopl %1"           \
                         : "+r"(a), "=&r"(fl) : "r"(bit) : "cc");                                  \
        *fo = fl & 1;                                                                              \
        return a;                                                                                  \
    }
BT(bt_r, "btl") BT(bts_r, "btsl") BT(btr_r, "btrl") BT(btc_r, "btcl")

static unsigned mem_bits[8];

static void bt_memory(void) {
    /* register bit offsets reach outside the addressed dword, including negative offsets */
    static const int offs[] = {0, 5, 31, 32, 33, 64, 100, 255, -1, -32, -33};
    unsigned *base = &mem_bits[4], sum = 0;
    for (unsigned i = 0; i < 8; i++)
        mem_bits[i] = 0x9e3779b9u * (i + 1);
    for (unsigned i = 0; i < N(offs); i++) {
        unsigned got;
        __asm__ volatile("xorl %0, %0\n\tbtl %1, %2\n\tadcl %0, %0\n\tbtsl %1, %2\n\tadcl %0, %0\n\t"
                         "btcl %1, %2\n\tadcl %0, %0\n\tbtrl %1, %2\n\tadcl %0, %0"
                         : "=&r"(got) : "r"(offs[i]), "m"(*base) : "cc", "memory");
        sum = sum * 3 + got;
        printf("btm %d: %x\n", offs[i], got);
    }
    for (unsigned i = 0; i < 8; i++)
        printf("mem[%u]=%08x\n", i, mem_bits[i]);
    unsigned char ci;
    __asm__ volatile("btsl $37, %1\n\tsetc %0" : "=q"(ci), "+m"(mem_bits[2]) : : "cc");
    printf("btsl imm37: %u %08x sum %u\n", ci, mem_bits[2], sum);
}

static void scans(unsigned v) {
    unsigned f = 0xdead, r = 0xbeef, zf1, zf2, sw = v;
    __asm__ volatile("bsfl %2, %0\n\tpushfl\n\tpopl %1" : "+r"(f), "=&r"(zf1) : "r"(v) : "cc");
    __asm__ volatile("bsrl %2, %0\n\tpushfl\n\tpopl %1" : "+r"(r), "=&r"(zf2) : "r"(v) : "cc");
    __asm__ volatile("bswap %0" : "+r"(sw));
    unsigned short w = 0x1111, hw = (unsigned short)(v >> 8);
    __asm__ volatile("bsrw %1, %0" : "+r"(w) : "r"(hw) : "cc");
    printf("scan %x: bsf=%x zf=%u bsr=%x zf=%u bswap=%x bsrw=%x\n", v, v ? f : 0, (zf1 >> 6) & 1,
           v ? r : 0, (zf2 >> 6) & 1, sw, hw ? w : 0);
}

#define CC(cc)                                                                                     \
    static unsigned cond_##cc(unsigned flags, unsigned a, unsigned b) {                            \
        unsigned char s;                                                                           \
        unsigned m = a;                                                                            \
        __asm__ volatile("pushl %2\n\tpopfl\n\tset" #cc " %0\n\tcmov" #cc "l %3, %1"               \
                         : "=&q"(s), "+r"(m) : "r"(flags), "r"(b) : "cc");                         \
        return s | (m == b) << 1;                                                                  \
    }
CC(o) CC(no) CC(b) CC(ae) CC(e) CC(ne) CC(be) CC(a) CC(s) CC(ns) CC(p) CC(np) CC(l) CC(ge) CC(le) CC(g)

static unsigned (*const conds[16])(unsigned, unsigned, unsigned) = {
    cond_o, cond_no, cond_b, cond_ae, cond_e, cond_ne, cond_be, cond_a,
    cond_s, cond_ns, cond_p, cond_np, cond_l, cond_ge, cond_le, cond_g,
};

/* jcc after a real compare, so the translator can fuse compare and branch */
static unsigned branches(int a, int b) {
    unsigned ua = (unsigned)a, ub = (unsigned)b, m = 0;
    m |= (a < b) << 0;
    m |= (a <= b) << 1;
    m |= (a > b) << 2;
    m |= (a >= b) << 3;
    m |= (ua < ub) << 4;
    m |= (ua <= ub) << 5;
    m |= (ua > ub) << 6;
    m |= (ua >= ub) << 7;
    m |= (a == b) << 8;
    m |= ((a & b) != 0) << 9;
    m |= ((a - b) < 0) << 10;
    m |= ((signed char)a < (signed char)b) << 11;
    m |= ((unsigned short)a > (unsigned short)b) << 12;
    return m;
}

static void flag_insns(void) {
    for (unsigned f = 0; f < 256; f += 17) {
        unsigned ah_in = f & 0xd5, out, fl;
        __asm__ volatile("movb %b2, %%ah\n\tsahf\n\tcmc\n\tlahf\n\tmovzbl %%ah, %0\n\tpushfl\n\tpopl %1"
                         : "=r"(out), "=r"(fl) : "q"(ah_in) : "eax", "cc");
        printf("sahf %02x -> lahf %02x fl %x\n", ah_in, out, fl & ARITH);
    }
    unsigned a, b, c;
    __asm__ volatile("stc\n\tpushfl\n\tpopl %0\n\tclc\n\tpushfl\n\tpopl %1\n\tstc\n\tcmc\n\tcmc\n\tpushfl\n\tpopl %2"
                     : "=r"(a), "=r"(b), "=r"(c) : : "cc");
    printf("stc %x clc %x stc;cmc;cmc %x\n", a & 1, b & 1, c & 1);
    unsigned pf;
    __asm__ volatile("pushfl\n\torl $0x8d5, (%%esp)\n\tpopfl\n\tpushfl\n\tpopl %0\n\t"
                     "pushfl\n\tandl $0xfffff72a, (%%esp)\n\tpopfl" : "=r"(pf) : : "cc", "memory");
    printf("popf all %x\n", pf & ARITH);
    unsigned d1, d2;
    __asm__ volatile("std\n\tpushfl\n\tpopl %0\n\tcld\n\tpushfl\n\tpopl %1" : "=r"(d1), "=r"(d2) : : "cc");
    printf("df %x %x\n", (d1 >> 10) & 1, (d2 >> 10) & 1);
}

int main(void) {
    unsigned sum = 0;
    static const unsigned bits[] = {0, 1, 7, 8, 15, 16, 31, 32, 33, 63, 200};
    for (unsigned i = 0; i < N(vals); i++) {
        printf("bt %x:", vals[i]);
        for (unsigned j = 0; j < N(bits); j++) {
            unsigned c0, c1, c2, c3;
            unsigned r0 = bt_r(vals[i], bits[j], &c0), r1 = bts_r(vals[i], bits[j], &c1);
            unsigned r2 = btr_r(vals[i], bits[j], &c2), r3 = btc_r(vals[i], bits[j], &c3);
            printf(" %x%x%x%x/%x/%x/%x", c0, c1, c2, c3, r1, r2, r3);
            sum += r0 + r1 + r2 + r3;
        }
        printf("\n");
        scans(vals[i]);
    }
    bt_memory();
    static const unsigned flag_bit[6] = {0x1, 0x4, 0x10, 0x40, 0x80, 0x800};
    for (unsigned f = 0; f < 64; f++) {
        unsigned flags = 0x2;
        for (unsigned b = 0; b < 6; b++)
            flags |= (f >> b & 1) ? flag_bit[b] : 0;
        unsigned mask = 0;
        for (unsigned c = 0; c < 16; c++)
            mask |= conds[c](flags, 5, 9) << (2 * c);
        printf("cond flags=%03x -> %08x\n", flags & ARITH, mask);
        sum ^= mask;
    }
    for (unsigned i = 0; i < N(vals); i++)
        for (unsigned j = 0; j < N(vals); j += 3) {
            unsigned m = branches((int)vals[i], (int)vals[j]);
            printf("%04x%c", m, j + 3 < N(vals) ? ' ' : '\n');
            sum += m;
        }
    flag_insns();
    printf("sum %x\n", sum);
    return 0;
}
