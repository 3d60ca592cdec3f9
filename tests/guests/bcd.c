/* The legacy one-byte-map instructions in inline asm: daa, das, aaa, aas over every AL (and AH edges)
   with every AF and CF, aam and aad with many bases, salc, arpl in register and memory forms (and on a
   read-only page, where only an adjusting arpl faults), each printing its result and all six
   arithmetic flags, the undefined ones included; then aam 0, whose #DE reaches a SIGFPE handler
   that prints si_code, si_addr and the saved eip relative to the instruction, trapno and err. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#define ARITH 0x8d5u /* CF PF AF ZF SF OF */
#define N(a) (sizeof a / sizeof a[0])

static uint32_t hash = 2166136261u;

static void mix(uint32_t v) {
    hash = (hash ^ v) * 16777619u;
}

/* Run `insn` with eax = ax and the arithmetic flags = fl; the result's eax and flags. */
#define RUN(insn, ax, fl, out, fo)                                                             \
    __asm__ volatile("pushl %2\n\tpopfl\n\t" insn "\n\tpushfl\n\tpopl %1"                      \
                     : "=a"(out), "=r"(fo) : "r"((fl) | 0x202u), "0"(ax) : "cc")

#define SWEEP(name, insn, wide)                                                                \
    static void sweep_##name(void) {                                                           \
        static const uint32_t highs[] = {0x0000, 0x0100, 0x7f00, 0x8000, 0xfe00, 0xff00};        \
        unsigned lines = 0;                                                                    \
        for (unsigned h = 0; h < (wide ? N(highs) : 1); h++)                                   \
            for (uint32_t al = 0; al < 256; al++)                                              \
                for (uint32_t fl = 0; fl < 4; fl++) {                                          \
                    uint32_t in = 0x5a5a0000u | highs[h] | al, flags = (fl & 1) | (fl & 2) << 3; \
                    uint32_t out, fo, fo2, out2;                                               \
                    RUN(insn, in, flags, out, fo);                                             \
                    RUN(insn, in, flags ^ 0x8c4u, out2, fo2); /* the other flags all flipped */ \
                    mix(out);                                                                  \
                    mix(fo & ARITH);                                                           \
                    mix(out2 ^ fo2 & ARITH);                                                   \
                    if ((al & 0x0f) == 0x09 || (al & 0x0f) == 0x0a || al == 0x99 || al == 0x9a ||  \
                        al == 0xff || al == 0 || ((al * 37 + fl + h) % 61 == 0))                 \
                        printf(#name " %08x af=%u cf=%u -> %08x fl=%03x | %08x fl=%03x\n", in,  \
                               fl >> 1, fl & 1, out, fo & ARITH, out2, fo2 & ARITH), lines++;     \
                }                                                                              \
        printf(#name " sweep %u lines hash %08x\n", lines, hash);                              \
    }

SWEEP(daa, "daa", 0)
SWEEP(das, "das", 0)
SWEEP(aaa, "aaa", 1)
SWEEP(aas, "aas", 1)

/* aam and aad take their base as an immediate: one function per base, through a table. */
#define BASES(X) X(1) X(2) X(3) X(7) X(9) X(10) X(11) X(16) X(17) X(100) X(127) X(128) X(200) X(255)
#define AAM_AAD(b)                                                                             \
    static void aam_aad_##b(void) {                                                            \
        uint32_t sum_m = 0, sum_d = 0;                                                         \
        for (uint32_t ax = 0; ax < 0x10000; ax += (ax < 0x300 ? 1 : 0x0101)) {                 \
            uint32_t in = 0xa5a50000u | ax, out, fo, outd, fod;                                \
            uint32_t flags = (ax * 0x9e3779b9u >> 20) & ARITH;                                 \
            RUN(".byte 0xd4, " #b, in, flags, out, fo);                                        \
            RUN(".byte 0xd5, " #b, in, flags, outd, fod);                                      \
            mix(out), mix(fo & ARITH), mix(outd), mix(fod & ARITH);                            \
            sum_m += out ^ fo, sum_d += outd ^ fod;                                            \
            if (ax % 53 == 0 || ax == 0xffff)                                                  \
                printf("base %3d ax=%04x: aam %08x fl=%03x aad %08x fl=%03x\n", b, ax, out,     \
                       fo & ARITH, outd, fod & ARITH);                                         \
        }                                                                                      \
        printf("base %3d sums %08x %08x hash %08x\n", b, sum_m, sum_d, hash);                  \
    }
BASES(AAM_AAD)
#define ENTRY(b) aam_aad_##b,
static void (*const bases[])(void) = {BASES(ENTRY)};

static void salc(void) {
    for (uint32_t cf = 0; cf < 2; cf++) {
        uint32_t out, fo;
        RUN(".byte 0xd6", 0x12345678u, cf | 0x880u, out, fo);
        printf("salc cf=%u -> %08x fl=%03x\n", cf, out, fo & ARITH);
    }
}

static const uint16_t selectors[] = {0x0000, 0x0001, 0x0002, 0x0003, 0x0023, 0x002b, 0xfffc, 0xffff, 0x1232};

static void arpl(void) {
    static uint16_t word;
    for (unsigned i = 0; i < N(selectors); i++)
        for (unsigned j = 0; j < N(selectors); j++) {
            uint32_t dst = 0xdead0000u | selectors[i], src = 0xbeef0000u | selectors[j], fo, fo2;
            __asm__ volatile("pushl $0x2c3\n\tpopfl\n\tarpl %w2, %w0\n\tpushfl\n\tpopl %1"
                             : "+r"(dst), "=r"(fo) : "r"(src) : "cc");
            word = selectors[i];
            __asm__ volatile("pushl $0x202\n\tpopfl\n\tarpl %w2, %0\n\tpushfl\n\tpopl %1"
                             : "+m"(word), "=r"(fo2) : "r"(src) : "cc");
            printf("arpl %04x, %04x -> %08x fl=%03x mem %04x fl=%03x\n", selectors[j], selectors[i], dst,
                   fo & ARITH, word, fo2 & ARITH);
        }
}

static sigjmp_buf back;
static volatile unsigned start; /* the address of the instruction under test */
static volatile unsigned data;  /* what si_addr is printed relative to: the instruction or the word */

static void on_signal(int sig, siginfo_t *si, void *ucv) {
    ucontext_t *uc = ucv;
    greg_t *g = uc->uc_mcontext.gregs;
    printf("  sig=%d code=%d addr=%+d eip=%+d trapno=%d err=%#x fl=%03x", sig, si->si_code,
           (int)((unsigned)si->si_addr - data), (int)((unsigned)g[REG_EIP] - start), (int)g[REG_TRAPNO],
           (unsigned)g[REG_ERR], (unsigned)g[REG_EFL] & ARITH);
    if (sig == SIGFPE)
        printf(" eax=%08x", (unsigned)g[REG_EAX]);
    printf("\n");
    siglongjmp(back, 1);
}

extern char aam0_at[], arpl_ro_at[], arpl_ro_keep_at[];

static void faults(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGFPE, &sa, 0);
    sigaction(SIGSEGV, &sa, 0);

    printf("aam 0\n");
    start = data = (unsigned)aam0_at;
    if (sigsetjmp(back, 1) == 0) {
        __asm__ volatile("pushl $0xad7\n\tpopfl\n\tmovl $0x1234abcd, %%eax\n\t.globl aam0_at\naam0_at:\n\t.byte 0xd4, 0x00"
                         ::: "eax", "cc", "memory");
        printf("  no signal\n");
    }

    uint16_t *ro = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ro[0] = 0x1233; /* RPL 3: an arpl with a source RPL of 3 or less does not adjust it */
    ro[1] = 0x1230;
    mprotect(ro, 4096, PROT_READ);
    printf("arpl on a read-only page, no adjustment\n");
    start = (unsigned)arpl_ro_keep_at;
    if (sigsetjmp(back, 1) == 0) {
        uint32_t fo;
        __asm__ volatile("pushl $0x2c3\n\tpopfl\n\t.globl arpl_ro_keep_at\narpl_ro_keep_at:\n\t"
                         "arpl %w2, %1\n\tpushfl\n\tpopl %0"
                         : "=r"(fo), "+m"(ro[0]) : "r"(3) : "cc", "memory");
        printf("  no signal, fl=%03x word %04x\n", fo & ARITH, ro[0]);
    }
    printf("arpl on a read-only page, adjusting\n");
    start = (unsigned)arpl_ro_at;
    data = (unsigned)&ro[1];
    if (sigsetjmp(back, 1) == 0) {
        __asm__ volatile("pushl $0x202\n\tpopfl\n\t.globl arpl_ro_at\narpl_ro_at:\n\tarpl %w1, %0"
                         : "+m"(ro[1]) : "r"(2) : "cc", "memory");
        printf("  no signal\n");
    }
    printf("  word %04x\n", ro[1]);
}

int main(void) {
    sweep_daa();
    sweep_das();
    sweep_aaa();
    sweep_aas();
    for (unsigned i = 0; i < N(bases); i++)
        bases[i]();
    salc();
    arpl();
    faults();
    printf("hash %08x\n", hash);
    return 0;
}
