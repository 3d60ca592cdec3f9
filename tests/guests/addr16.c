/* The address-size prefix and 16-bit forms: every 16-bit addressing form ([bx+si] .. [bx], with no,
 * 8-bit and 16-bit displacements) with sums wrapping at 64 KiB and high halves that must not count; gs:
 * with a 16-bit offset; string instructions and rep on si/di/cx with ecx's high half set; jcxz and
 * loopw/loopzw/loopnzw; pushw imm, enterw/leavew and enter with nesting levels; and 16-bit call, jmp,
 * jcc and retw, which truncate eip below 64 KiB: their code is stored into a region mapped at 0x1000. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#define REGION ((unsigned char *)0x1000)
#define REGION_SIZE 0x10000u
#define AT(addr) REGION[(addr) - 0x1000]

/* f16_N(regs): regs = {ebx, esi, edi, ebp, out: the dword at the 16-bit address, out: its lea}, then
 * notb of the byte there (a store through the same form). */
#define FORM(n, pre, op)                                                                              \
    ".globl f16_" #n "\nf16_" #n ":\n"                                                                \
    "  push %ebp\n  push %ebx\n  push %esi\n  push %edi\n  movl 20(%esp), %eax\n"                    \
    "  movl 0(%eax), %ebx\n  movl 4(%eax), %esi\n  movl 8(%eax), %edi\n  movl 12(%eax), %ebp\n"      \
    "  " pre "movl " op ", %ecx\n  " pre "leal " op ", %edx\n  " pre "notb " op "\n"                  \
    "  movl %ecx, 16(%eax)\n  movl %edx, 20(%eax)\n"                                                  \
    "  pop %edi\n  pop %esi\n  pop %ebx\n  pop %ebp\n  ret\n"
#define ROW(b, d)                                                                                     \
    FORM(b##0, "", d "(%bx,%si)") FORM(b##1, "", d "(%bx,%di)") FORM(b##2, "", d "(%bp,%si)")         \
    FORM(b##3, "", d "(%bp,%di)") FORM(b##4, "", d "(%si)") FORM(b##5, "", d "(%di)")                  \
    FORM(b##6, "", d "(%bp)") FORM(b##7, "", d "(%bx)")

__asm__(".text\n"
        FORM(00, "", "(%bx,%si)") FORM(01, "", "(%bx,%di)") FORM(02, "", "(%bp,%si)")
        FORM(03, "", "(%bp,%di)") FORM(04, "", "(%si)") FORM(05, "", "(%di)")
        FORM(06, "addr16 ", "0x1ff0") FORM(07, "", "(%bx)")
        ROW(1, "0x7f") ROW(2, "-0x80") ROW(3, "0x1234") ROW(4, "-0x4321") ROW(5, "0xfff0")
        FORM(60, "", "%ds:-0x10(%bp,%si)") FORM(61, "", "%ss:0x20(%bx,%di)") FORM(62, "", "%es:(%bp)"));

typedef void form_fn(unsigned *regs);
extern form_fn f16_00, f16_01, f16_02, f16_03, f16_04, f16_05, f16_06, f16_07, f16_10, f16_11, f16_12,
    f16_13, f16_14, f16_15, f16_16, f16_17, f16_20, f16_21, f16_22, f16_23, f16_24, f16_25, f16_26, f16_27,
    f16_30, f16_31, f16_32, f16_33, f16_34, f16_35, f16_36, f16_37, f16_40, f16_41, f16_42, f16_43, f16_44,
    f16_45, f16_46, f16_47, f16_50, f16_51, f16_52, f16_53, f16_54, f16_55, f16_56, f16_57, f16_60, f16_61,
    f16_62;

/* rm: which of bx, bp, si, di a form sums (bit 0 bx, 1 bp, 2 si, 3 di), and its displacement */
struct form { form_fn *fn; unsigned regs; int disp; };
#define ROWF(b, d)                                                                                    \
    {f16_##b##0, 5, d}, {f16_##b##1, 9, d}, {f16_##b##2, 6, d}, {f16_##b##3, 10, d}, {f16_##b##4, 4, d}, \
    {f16_##b##5, 8, d}, {f16_##b##6, 2, d}, {f16_##b##7, 1, d}
static const struct form forms[] = {
    {f16_00, 5, 0}, {f16_01, 9, 0}, {f16_02, 6, 0}, {f16_03, 10, 0}, {f16_04, 4, 0}, {f16_05, 8, 0},
    {f16_06, 0, 0x1ff0}, {f16_07, 1, 0},
    ROWF(1, 0x7f), ROWF(2, -0x80), ROWF(3, 0x1234), ROWF(4, -0x4321), ROWF(5, 0xfff0),
    {f16_60, 6, -0x10}, {f16_61, 9, 0x20}, {f16_62, 2, 0},
};

static unsigned seed = 12345;
static unsigned rnd(void) { return seed = seed * 1103515245u + 12345u, seed >> 8 ^ seed << 13; }

static unsigned checksum(void) {
    unsigned h = 0;
    for (unsigned i = 0; i < REGION_SIZE; i++)
        h = h * 31 + REGION[i];
    return h;
}

static void addressing(void) {
    for (unsigned i = 0; i < REGION_SIZE; i++)
        REGION[i] = (unsigned char)((i * 0x9e3779b1u) >> 24 ^ i >> 8);
    for (unsigned k = 0; k < sizeof forms / sizeof forms[0]; k++) {
        for (int t = 0; t < 6; t++) {
            unsigned r[6], ea, sum, tries = 0;
            static const unsigned near[] = {0xffff, 0xfff0, 0x8000, 0x0001, 0x7fff, 0xff00};
            do {        /* bases near the wrap first, random ones if those put the address below 0x1000 */
                int edge = t < 3 && tries++ < 3;
                r[0] = rnd() << 16 | (edge ? near[(t + k + tries) % 6] : rnd() & 0xffff);      /* ebx */
                r[1] = rnd() << 16 | (rnd() & 0xffff);                                         /* esi */
                r[2] = rnd() << 16 | (rnd() & 0xffff);                                         /* edi */
                r[3] = rnd() << 16 | (edge ? near[(t + 2 * k + tries) % 6] : rnd() & 0xffff);  /* ebp */
                sum = (unsigned)forms[k].disp;
                sum += forms[k].regs & 1 ? r[0] : 0;
                sum += forms[k].regs & 2 ? r[3] : 0;
                sum += forms[k].regs & 4 ? r[1] : 0;
                sum += forms[k].regs & 8 ? r[2] : 0;
                ea = sum & 0xffff;
            } while (ea < 0x1000);
            forms[k].fn(r);
            printf("form %2u.%d ea=%04x lea=%08x val=%08x\n", k, t, ea, r[5], r[4]);
        }
    }
    printf("region after stores: %08x\n", checksum());
}

static void gs_offset(void) {
    unsigned via16, via32;
    __asm__ volatile("addr16 movl %%gs:(%%bx), %0\n\tmovl %%gs:0, %1" : "=r"(via16), "=r"(via32)
                     : "b"(0xabcd0000u));
    printf("gs:[bx] with ebx=0xabcd0000 is gs:0: %d\n", via16 == via32);
}

/* x87, MMX and SSE instructions run as host instructions: with 0x67 their ModRM is a 16-bit one */
static void fp_simd(void) {
    static unsigned char out[32];
    double d = 0;
    unsigned m = 0;
    memcpy(&AT(0xfff8), "\x00\x00\x00\x00\x00\x00\xf8\x3f", 8);            /* 1.5 at 0xfff8 */
    for (unsigned i = 0; i < 16; i++)
        AT(0x2230 + i) = (unsigned char)(0x10 * i + 1);
    __asm__ volatile("addr16 fldl (%%bx,%%si)\n\tfaddl (%%bx,%%si)\n\tfstpl %0"
                     : "=m"(d) : "b"(0x1234fff0u), "S"(0xabcd0008u));
    __asm__ volatile("push %%ebp\n\tmovl $0x5555f000, %%ebp\n\t"      /* bp + di + 0x30 wraps to 0x2230 */
                     "addr16 movdqu 0x30(%%bp,%%di), %%xmm0\n\t"
                     "addr16 pshufd $0x1b, 0x30(%%bp,%%di), %%xmm1\n\tpop %%ebp\n\t"
                     "movdqu %%xmm0, %0\n\tmovdqu %%xmm1, 16+%0"
                     : "=m"(out) : "D"(0x00013200u));
    __asm__ volatile("push %%ebp\n\tmovl $0x77772000, %%ebp\n\t"
                     "addr16 movd 0x230(%%bp), %%mm0\n\tmovd %%mm0, %0\n\temms\n\tpop %%ebp" : "=r"(m));
    printf("fld/fadd [bx+si]: %g  movdqu/pshufd [bp+di+0x30]:", d);
    for (unsigned i = 0; i < 32; i++)
        printf(" %02x", out[i]);
    printf("  movd [bp+0x230]: %08x\n", m);
}

/* s16_N(regs): regs = {eax, ecx, esi, edi, df in / eflags out} for one string instruction on si/di/cx */
#define STR(n, insn)                                                                                  \
    ".globl s16_" #n "\ns16_" #n ":\n"                                                                \
    "  push %ebx\n  push %esi\n  push %edi\n  movl 16(%esp), %edx\n"                                   \
    "  movl 0(%edx), %eax\n  movl 4(%edx), %ecx\n  movl 8(%edx), %esi\n  movl 12(%edx), %edi\n"       \
    "  cld\n  testl $1, 16(%edx)\n  jz 1f\n  std\n1:\n  " insn "\n  pushfl\n  cld\n  popl 16(%edx)\n"   \
    "  movl %eax, 0(%edx)\n  movl %ecx, 4(%edx)\n  movl %esi, 8(%edx)\n  movl %edi, 12(%edx)\n"       \
    "  pop %edi\n  pop %esi\n  pop %ebx\n  ret\n"
__asm__(".text\n" STR(0, "addr16 rep movsb") STR(1, "addr16 rep movsw") STR(2, "addr16 rep movsl")
        STR(3, "addr16 rep stosb") STR(4, "addr16 rep stosl") STR(5, "addr16 rep lodsw")
        STR(6, "addr16 repe cmpsb") STR(7, "addr16 repne scasb") STR(8, "addr16 movsl")
        STR(9, "addr16 scasw") STR(10, "addr16 rep movsb %es:(%si), %es:(%di)"));
typedef void str_fn(unsigned *regs);
extern str_fn s16_0, s16_1, s16_2, s16_3, s16_4, s16_5, s16_6, s16_7, s16_8, s16_9, s16_10;
static str_fn *const strs[] = {s16_0, s16_1, s16_2, s16_3, s16_4, s16_5, s16_6, s16_7, s16_8, s16_9, s16_10};
static const char *const str_names[] = {"rep movsb", "rep movsw", "rep movsd", "rep stosb", "rep stosd",
                                        "rep lodsw", "repe cmpsb", "repne scasb", "movsd", "scasw",
                                        "rep es:movsb"};

static void strings(void) {
    static const unsigned counts[] = {0x10000, 0xabcd0003, 5, 0xffff0001, 0x1234000c};
    for (unsigned k = 0; k < sizeof strs / sizeof strs[0]; k++)
        for (unsigned c = 0; c < 5; c++)
            for (unsigned df = 0; df < 2; df++) {
                unsigned r[5];
                for (unsigned i = 0; i < 256; i++)
                    AT(0x3000 + i) = (unsigned char)(i < 128 ? i * 7 : (i - 128) * 7 + (i == 140));
                r[0] = 0x55aa138cu;                     /* al: the byte at 0x3014 */
                r[1] = counts[c];
                r[2] = 0x12340000u | (df ? 0x3040 : 0x3000);
                r[3] = 0xffff0000u | (df ? 0x30c0 : 0x3080);
                r[4] = df;
                strs[k](r);
                unsigned h = 0;
                for (unsigned i = 0; i < 256; i++)
                    h = h * 33 + AT(0x3000 + i);
                printf("%-12s ecx=%08x df=%u: eax=%08x ecx=%08x esi=%08x edi=%08x flags=%03x mem=%08x\n",
                       str_names[k], counts[c], df, r[0], r[1], r[2], r[3], r[4] & 0x8d5, h);
            }
}

static void loops(void) {
    static const unsigned counts[] = {0, 1, 5, 0x10000, 0x10003, 0xffff0002, 0xffffffff};
    for (unsigned k = 0; k < 7; k++) {
        unsigned n = 0, c = counts[k], taken;
        __asm__ volatile("1: incl %0\n\taddr16 loop 1b" : "+r"(n), "+c"(c));
        printf("loopw ecx=%08x: %u iterations, ecx=%08x\n", counts[k], n, c);
        n = 0, c = counts[k];
        __asm__ volatile("1: incl %0\n\tcmpl $3, %0\n\taddr16 loopne 1b" : "+r"(n), "+c"(c) : : "cc");
        printf("loopnzw ecx=%08x: %u iterations, ecx=%08x\n", counts[k], n, c);
        n = 0, c = counts[k];
        __asm__ volatile("1: incl %0\n\ttestl $1, %0\n\taddr16 loope 1b" : "+r"(n), "+c"(c) : : "cc");
        printf("loopzw ecx=%08x: %u iterations, ecx=%08x\n", counts[k], n, c);
        c = counts[k];
        __asm__ volatile("movl $1, %0\n\tjcxz 1f\n\tmovl $0, %0\n1:" : "=&r"(taken) : "c"(c));
        printf("jcxz ecx=%08x: %s\n", counts[k], taken ? "taken" : "not taken");
    }
}

/* a private stack at a fixed address: what enterw/leavew leave is the same in every run */
static unsigned short stack16[512] __attribute__((aligned(2048), used));
static unsigned frame_area[16] = {0x11111111, 0x22222222, 0x33333333, 0x44444444, 0x55555555, 0x66666666,
                                  0x77777777, 0x88888888, 0x99999999, 0xaaaaaaaa, 0xbbbbbbbb, 0xcccccccc,
                                  0xdddddddd, 0xeeeeeeee, 0xf0f0f0f0, 0x0f0f0f0f};
static unsigned saved_esp __attribute__((used)), out_esp __attribute__((used)), out_ebp __attribute__((used)),
    in_ebp __attribute__((used));

#define ON_STACK16(body)                                                                              \
    __asm__ volatile("movl %%esp, saved_esp\n\tmovl $stack16+1024, %%esp\n\tpushl %%ebp\n\t"           \
                     "movl in_ebp, %%ebp\n\t" body "\n\tmovl %%esp, out_esp\n\tmovl %%ebp, out_ebp\n\t" \
                     "movl $stack16+1020, %%esp\n\tpopl %%ebp\n\tmovl saved_esp, %%esp" ::: "memory")

static void show_stack(const char *what) {
    printf("%-14s esp=top-%u ebp=%s%u:", what, (unsigned)((unsigned)stack16 + 1024 - out_esp),
           out_ebp >> 16 == in_ebp >> 16 ? "hi+" : "?", out_ebp & 0xffff);
    for (unsigned i = 492; i < 510; i++)
        printf(" %04x", stack16[i]);
    printf("\n");
    memset(stack16, 0, sizeof stack16);
}

static void stack_forms(void) {
    unsigned v;
    __asm__ volatile("pushw $0x1234\n\tpushw $-2\n\tpopl %0" : "=r"(v));
    printf("pushw 0x1234, pushw -2: %08x\n", v);
    in_ebp = 0x5678abcd;
    ON_STACK16("pushw $0x7777\n\tpopw %%bp");
    printf("popw bp: ebp=%08x\n", out_ebp);
    in_ebp = (unsigned)&frame_area[8];
    ON_STACK16("enterw $8, $0");
    show_stack("enterw 8,0");
    ON_STACK16("enterw $6, $3");
    show_stack("enterw 6,3");
    ON_STACK16("enter $4, $4");
    show_stack("enter 4,4");
    ON_STACK16("enter $0, $33");
    show_stack("enter 0,33");
    in_ebp = (unsigned)stack16 + 1000;
    stack16[500] = 0x4321;
    ON_STACK16("leavew");
    show_stack("leavew");
    ON_STACK16("movl %%esp, %%ebp\n\tenterw $8, $0\n\tmovw $0x2468, -2(%%ebp)\n\tleavew");
    show_stack("enterw;leavew");
}

/* code below 64 KiB, where a 16-bit eip can go: bytes stored at fixed addresses, entered by a call */
static void put(unsigned addr, const char *bytes, unsigned n) { memcpy(REGION + addr - 0x1000, bytes, n); }

typedef unsigned low_fn(void);

static unsigned call_low(unsigned addr) { return ((low_fn *)addr)(); }

static void far_below_64k(void) {
    put(0x3000, "\xb8\x2a\x00\x00\x00\x66\xc3", 7);                  /* mov $42, %eax; retw */
    put(0x3100, "\xb8\x07\x00\x00\x00\x66\xc2\x04\x00", 9);          /* mov $7, %eax; retw $4 */
    put(0x3200, "\x66\x8b\x04\x24\x66\xc3", 6);                      /* mov (%esp), %ax; retw */
    put(0x5000, "\x00\x31", 2);                                      /* the word 0x3100 */
    put(0x5010, "\x20\x20", 2);                                      /* the word 0x2020 */
    /* 0x4000: callw 0x3000; mov %eax, %ecx; pushw $1; pushw $2; callw *0x5000; add %ecx, %eax; ret */
    put(0x4000, "\x66\xe8\xfc\xef" "\x89\xc1" "\x66\x6a\x01\x66\x6a\x02"
                "\x66\xff\x15\x00\x50\x00\x00" "\x01\xc8\xc3", 22);
    printf("callw rel16, callw *mem, retw, retw 4: %u\n", call_low(0x4000));
    /* 0x4100: xor %eax, %eax; mov $0x3200, %ax; callw *%ax (0x3200 returns its return eip); ret */
    put(0x4100, "\x31\xc0\x66\xb8\x00\x32\x66\xff\xd0\xc3", 10);
    printf("callw *%%ax pushes the 16-bit eip: %#x\n", call_low(0x4100));
    /* 0xf000: jmpw rel16 forwards past 64 KiB: it wraps to 0x2000 (mov $99, %eax; ret) */
    put(0x2000, "\xb8\x63\x00\x00\x00\xc3", 6);
    put(0xf000, "\x66\xe9\xfc\x2f", 4);
    printf("jmpw rel16 wraps at 64 KiB: %u\n", call_low(0xf000));
    /* 0xf100: xor %eax, %eax; je rel16 (0x66) wrapping to 0x2010 (mov $100, %eax; ret); else ret 0 */
    put(0x2010, "\xb8\x64\x00\x00\x00\xc3", 6);
    put(0xf100, "\x31\xc0\x66\x0f\x84\x09\x2f\xc3", 8);
    printf("jew rel16 wraps at 64 KiB: %u\n", call_low(0xf100));
    /* 0x4200: push %ebx; mov $0xabcd5010, %ebx; jmpw *(%bx) to 0x2020 (pop %ebx; mov $101, %eax; ret) */
    put(0x2020, "\x5b\xb8\x65\x00\x00\x00\xc3", 7);
    put(0x4200, "\x53\xbb\x10\x50\xcd\xab\x67\x66\xff\x27", 10);
    printf("jmpw *(%%bx): %u\n", call_low(0x4200));
    /* 0x4300: mov $2, %ecx; xor %eax, %eax; jmpw rel8 (66 eb) to 0x430a: inc %eax; loop (66 e2, a
     * 16-bit eip) back to 0x430a; ret */
    put(0x4300, "\xb9\x02\x00\x00\x00\x31\xc0\x66\xeb\x00" "\x40\x66\xe2\xfc" "\xc3", 15);
    printf("loop with a 16-bit eip: %u\n", call_low(0x4300));
}

int main(void) {
    if (mmap(REGION, REGION_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS,
             -1, 0) != REGION) {
        printf("mmap at 0x1000 failed\n");
        return 1;
    }
    addressing();
    gs_offset();
    fp_simd();
    strings();
    loops();
    stack_forms();
    far_below_64k();
    return 0;
}
