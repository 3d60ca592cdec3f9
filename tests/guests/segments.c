/* Segment registers against native: LDT data segments (modify_ldt) loaded with mov, pop, lds/les/lfs/
   lgs/lss, their bases applied to memory operands (fs:/gs: overrides, ds/es/ss implicitly, string
   instructions through es), push/pop and mov of segment registers, and the faults of bad selectors
   (#GP, #NP, #SS: the signal, si_code, trapno, err and whether anything changed). */
#define _GNU_SOURCE
#include <asm/ldt.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#define SEL(entry) ((entry) << 3 | 7)       /* LDT, RPL 3 */

static unsigned char data1[4096] __attribute__((aligned(4096)));
static unsigned char data2[4096] __attribute__((aligned(4096)));

static int set_entry(int entry, void *base, unsigned limit, int pages, int present, int contents,
                     int read_exec_only, int seg_32bit) {
    struct user_desc d;
    memset(&d, 0, sizeof d);
    d.entry_number = entry;
    d.base_addr = (unsigned)base;
    d.limit = limit;
    d.seg_32bit = seg_32bit;
    d.contents = contents;
    d.read_exec_only = read_exec_only;
    d.limit_in_pages = pages;
    d.seg_not_present = !present;
    d.useable = 1;
    return syscall(SYS_modify_ldt, 1, &d, sizeof d);
}

static sigjmp_buf back;

/* 16-bit code, run through a 16-bit code segment whose base is code16_start (offsets from it) */
__asm__(".text\n.code16\n.globl code16_start, code16_end\ncode16_start:\n"
        "c16_f1:\n  movl $0x12345678, %eax\n  lretl\n"                       /* back to 32-bit code */
        "c16_f2:\n  movw $0x100, %ax\n  addw %ax, %ax\n  movl %esp, %ecx\n  pushw $7\n"
        "  subl %esp, %ecx\n  popw %bx\n  xorw %bx, %ax\n  lretl\n"
        "c16_f3:\n  call c16_near\n  lretl\n"
        "c16_near:\n  movl $0x16161616, %eax\n  movw $0x300, %bx\n  leaw 4(%bx,%si), %dx\n  ret\n"
        "c16_f4:\n  movl $5, %ecx\n  xorl %eax, %eax\n1:\n  addl %ecx, %eax\n  loopl 1b\n  lretl\n"
        "code16_end:\n.code32\n"
        /* 32-bit code reached through a 32-bit LDT code segment with base 0 */
        ".globl c32_far\nc32_far:\n  movl $0x32323232, %eax\n  lret\n"
        ".globl c32_far_imm\nc32_far_imm:\n  movl %esp, %eax\n  lret $8\n");
extern char code16_start[], code16_end[], c16_f1[], c16_f2[], c16_f3[], c16_f4[], c32_far[], c32_far_imm[];

static void queries(void) {
    static const unsigned sels[] = {SEL(1), SEL(2), SEL(3), SEL(4), SEL(5), SEL(6), SEL(7), SEL(1) & ~3,
                                    SEL(100), 0, 3, 0x10, 0x18, 0x23, 0x2b, 0x33, 0x63, 0x6b, 0x7b, 0x83};
    for (unsigned i = 0; i < sizeof sels / sizeof *sels; i++) {
        unsigned lar = 0x12345678, lsl = 0x9abcdef0, lzf, szf, rzf, wzf, lar16 = 0x55555555;
        __asm__ volatile("lar %4, %0\n setz %b2\n lsl %4, %1\n setz %b3\n" : "+r"(lar), "+r"(lsl), "=q"(lzf), "=q"(szf)
                         : "r"(sels[i]));
        __asm__ volatile("verr %w2\n setz %b0\n verw %w2\n setz %b1" : "=q"(rzf), "=q"(wzf) : "r"(sels[i]));
        __asm__ volatile("larw %w1, %w0" : "+r"(lar16) : "r"(sels[i]));
        printf("sel %#x: lar %d %#x lsl %d %#x verr %d verw %d larw %#x\n", sels[i], lzf & 1, lar,
               szf & 1, sels[i] == 0x7b ? 0 : lsl, rzf & 1, wzf & 1, lar16);
    }
}

static void far_calls(void) {
    printf("set 8 code16: %d\n", set_entry(8, code16_start, code16_end - code16_start, 0, 1, 2, 0, 0));
    printf("set 9 code32: %d\n", set_entry(9, 0, 0xfffff, 1, 1, 2, 0, 1));
    unsigned a, c, d, b, sp0, sp1;
    struct { unsigned off; unsigned short sel; } __attribute__((packed)) fp;
    fp.off = c16_f1 - code16_start; fp.sel = SEL(8);
    __asm__ volatile("lcall *%1" : "=a"(a) : "m"(fp) : "ebx", "ecx", "edx", "memory");
    printf("code16 f1: %#x\n", a);
    fp.off = c16_f2 - code16_start;
    __asm__ volatile("lcall *%2" : "=a"(a), "=c"(c) : "m"(fp) : "ebx", "edx", "memory");
    printf("code16 f2: %#x spdec=%d\n", a, c);
    fp.off = c16_f3 - code16_start;
    __asm__ volatile("xorl %%esi, %%esi\n lcall *%3" : "=a"(a), "=d"(d), "=b"(b) : "m"(fp) : "ecx", "esi", "memory");
    printf("code16 f3: %#x dx=%#x bx=%#x\n", a, d & 0xffff, b & 0xffff);
    fp.off = c16_f4 - code16_start;
    __asm__ volatile("lcall *%1" : "=a"(a) : "m"(fp) : "ebx", "ecx", "edx", "memory");
    printf("code16 f4: %d\n", a);
    __asm__ volatile("lcall %1, $c32_far" : "=a"(a) : "i"(SEL(9)) : "ebx", "ecx", "edx", "memory");
    printf("code32 far: %#x\n", a);
    __asm__ volatile("movl %%esp, %1\n pushl $1\n pushl $2\n lcall %3, $c32_far_imm\n movl %%esp, %2"
                     : "=a"(a), "=&r"(sp0), "=&r"(sp1) : "i"(SEL(9)) : "ebx", "ecx", "edx", "memory");
    printf("lret 8: esp back %d, callee esp %+d\n", (int)(sp0 - sp1), (int)(a - sp0));
    /* what a 32-bit far call pushes in the cs slot */
    unsigned slot = 0;
    __asm__ volatile("pushl $0xdeadbeef\n pushl $0xdeadbeef\n addl $8, %%esp\n"
                     "lcall %2, $c32_far\n movl -4(%%esp), %0" : "=r"(slot), "=a"(a) : "i"(SEL(9)) : "ebx", "ecx", "edx", "memory");
    printf("cs slot: %#x\n", slot);
    /* ljmp and iret */
    __asm__ volatile("ljmp %1, $1f\n nop\n1: movl %%cs, %0" : "=r"(a) : "i"(SEL(9)));
    printf("cs after ljmp: %#x\n", a & 0xffff);
    __asm__ volatile("pushfl\n pushl $0x23\n pushl $1f\n iret\n1: movl %%cs, %0" : "=r"(a));
    printf("cs after iret: %#x\n", a & 0xffff);
    printf("far call bad selector\n");
    if (sigsetjmp(back, 1) == 0) {
        __asm__ volatile("lcall %0, $c32_far" :: "i"(SEL(100)) : "eax", "memory");
        printf("  no fault\n");
    }
    printf("far call to data segment\n");
    if (sigsetjmp(back, 1) == 0) {
        __asm__ volatile("lcall %0, $c32_far" :: "i"(SEL(1)) : "eax", "memory");
        printf("  no fault\n");
    }
}

static void on_fault(int sig, siginfo_t *si, void *ucv) {
    ucontext_t *uc = ucv;
    greg_t *g = uc->uc_mcontext.gregs;
    printf("  sig=%d code=%d addr0=%d trapno=%d err=%#x fs=%#x\n", sig, si->si_code, si->si_addr == 0,
           (int)g[REG_TRAPNO], (unsigned)g[REG_ERR], (unsigned)g[REG_FS] & 0xffff);
    siglongjmp(back, 1);
}

static unsigned short get_fs(void) { unsigned short v; __asm__ volatile("movw %%fs, %0" : "=r"(v)); return v; }

static void try_fs(const char *name, unsigned sel) {
    printf("load fs %s (%#x)\n", name, sel);
    fflush(stdout);
    if (sigsetjmp(back, 1) == 0) {
        __asm__ volatile("movl %0, %%fs" :: "r"(sel));
        printf("  ok fs=%#x\n", get_fs());
        __asm__ volatile("movl %0, %%fs" :: "r"(0));
    }
}

static void try_ss(const char *name, unsigned sel) {
    printf("load ss %s (%#x)\n", name, sel);
    fflush(stdout);
    if (sigsetjmp(back, 1) == 0) {
        unsigned old;
        __asm__ volatile("movl %%ss, %0\n movl %1, %%ss\n movl %0, %%ss" : "=&r"(old) : "r"(sel));
        printf("  ok\n");
    }
}

int main(void) {
    setvbuf(stdout, 0, _IONBF, 0);
    struct sigaction sa; memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault; sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &sa, 0);
    sigaction(SIGBUS, &sa, 0);
    for (int i = 0; i < 4096; i++) { data1[i] = i * 7 + 1; data2[i] = i * 13 + 5; }

    printf("set 1: %d\n", set_entry(1, data1, 0, 1, 1, 0, 0, 1));
    printf("set 2: %d\n", set_entry(2, data2, 0xfff, 0, 1, 0, 0, 1));
    printf("set 3 not present: %d\n", set_entry(3, data1, 0, 1, 0, 0, 0, 1));
    printf("set 4 read-only: %d\n", set_entry(4, data1, 0, 1, 1, 0, 1, 1));
    printf("set 5 code: %d\n", set_entry(5, data1, 0, 1, 1, 2, 0, 1));
    printf("set 6 exec-only code: %d\n", set_entry(6, data1, 0, 1, 1, 2, 1, 1));
    printf("set 7 16-bit data: %d\n", set_entry(7, data2, 0xfff, 0, 1, 0, 0, 0));

    /* overrides */
    unsigned r1, r2, r3;
    __asm__ volatile("movl %3, %%fs\n movzbl %%fs:0x10, %0\n movl %%fs:0x20, %1\n"
                     "pushl %%gs\n movl %4, %%gs\n movzbl %%gs:0x1, %2\n popl %%gs\n"
                     "xorl %%ebx, %%ebx\n movl %%ebx, %%fs"
                     : "=&r"(r1), "=&r"(r2), "=&r"(r3) : "r"(SEL(1)), "r"(SEL(2)) : "ebx", "memory");
    printf("fs:0x10=%#x fs:0x20=%#x gs:1=%#x\n", r1, r2, r3);

    /* ds and ss implicit, es for a string destination */
    unsigned tmp = 0xa5, old_ds;
    __asm__ volatile("pushl %%ebp\n movl %%ds, %3\n movl %4, %%ds\n movl %5, %%ebp\n"
                     "movzbl 0x1, %0\n movzbl (%%ebp), %1\n movl %3, %%ds\n popl %%ebp"
                     : "=&r"(r1), "=&r"(r2), "=&r"(r3), "=&r"(old_ds) : "r"(SEL(1)), "r"(&tmp) : "memory");
    printf("ds:1=%#x ss:[&tmp]=%#x\n", r1, r2);
    __asm__ volatile("pushl %%es\n movl %1, %%es\n movl $0x40, %%edi\n movl $0x11223344, %%eax\n"
                     "cld\n stosl\n movl $0x80, %%edi\n movl $8, %%ecx\n rep stosb\n popl %%es\n movl %%edi, %0"
                     : "=r"(r1) : "r"(SEL(2)) : "eax", "ecx", "edi", "memory");
    printf("es stos: edi=%#x data2[0x40]=%#x data2[0x80..]=%02x%02x data2[0x88]=%#x\n", r1,
           *(unsigned *)&data2[0x40], data2[0x80], data2[0x87], data2[0x88]);

    /* lfs, lgs, les, lds, lss from a far pointer */
    struct { unsigned off; unsigned short sel; } __attribute__((packed)) far1 = {0xabcdef12, SEL(2)};
    unsigned fsv, off;
    __asm__ volatile("lfs %2, %0\n movl %%fs, %1\n" : "=r"(off), "=r"(fsv) : "m"(far1));
    printf("lfs: fs=%#x off=%#x\n", fsv & 0xffff, off);
    __asm__ volatile("movl $0, %%eax\n movl %%eax, %%fs" ::: "eax");
    struct { unsigned short off; unsigned short sel; } __attribute__((packed)) far16 = {0x1234, SEL(1)};
    unsigned ebx = 0x55550000;
    __asm__ volatile("pushl %%gs\n lgsw %2, %%bx\n movl %%gs, %1\n popl %%gs" : "+b"(ebx), "=r"(fsv) : "m"(far16));
    printf("lgsw: gs=%#x ebx=%#x\n", fsv & 0xffff, ebx);

    /* push/pop/mov of segment registers: what a 32-bit push writes, what mov to r32 gives */
    unsigned slot[2] = {0xdeadbeef, 0xdeadbeef}, movv = 0xffffffff, esp_before, esp_after;
    __asm__ volatile("movl %%esp, %1\n movl $0xdeadbeef, -4(%%esp)\n pushl %%ds\n movl (%%esp), %%eax\n"
                     "movl %%eax, %0\n popl %%fs\n movl %%esp, %2\n movl %%ds, %3\n"
                     : "=m"(slot[0]), "=&r"(esp_before), "=&r"(esp_after), "+r"(movv) :: "eax", "memory");
    printf("push ds slot=%#x esp moved %d, mov ds->r32=%#x fs=%#x\n", slot[0], (int)(esp_before - esp_after),
           movv, get_fs());
    __asm__ volatile("pushw %%fs\n popw %%fs\n movl $0, %%eax\n movl %%eax, %%fs" ::: "eax", "memory");

    /* bad selectors */
    try_fs("null rpl 0", 0);
    try_fs("null rpl 3", 3);
    try_fs("ldt 1", SEL(1));
    try_fs("ldt 1 rpl 0", SEL(1) & ~3);
    try_fs("ldt 3 not present", SEL(3));
    try_fs("ldt 4 read-only", SEL(4));
    try_fs("ldt 5 code", SEL(5));
    try_fs("ldt 6 exec-only", SEL(6));
    try_fs("ldt 7 16-bit", SEL(7));
    try_fs("ldt 100 beyond", SEL(100));
    try_fs("ldt 0x1234", 0x1234 << 3 | 7);
    try_fs("gdt user32 cs", 0x23);
    try_fs("gdt user ds", 0x2b);
    try_fs("gdt user cs", 0x33);
    try_fs("gdt kernel cs", 0x10);
    try_fs("gdt kernel ds", 0x18);
    try_fs("gdt tls 12", 12 << 3 | 3);
    try_fs("gdt tls 13", 13 << 3 | 3);
    try_fs("gdt 15", 15 << 3 | 3);
    try_fs("gdt 16", 16 << 3 | 3);
    try_fs("gdt 31", 31 << 3 | 3);
    try_fs("gdt 0x1000", 0x1000 << 3 | 3);
    try_ss("null", 0);
    try_ss("null rpl 3", 3);
    try_ss("user ds", 0x2b);
    try_ss("ldt 1", SEL(1));
    try_ss("ldt 1 rpl 0", SEL(1) & ~3);
    try_ss("ldt 3 not present", SEL(3));
    try_ss("ldt 4 read-only", SEL(4));
    try_ss("ldt 5 code", SEL(5));
    try_ss("user32 cs", 0x23);
    /* a pop of a bad selector leaves esp as it was */
    unsigned e1, e2;
    printf("pop fs bad\n");
    fflush(stdout);
    if (sigsetjmp(back, 1) == 0) {
        __asm__ volatile("pushl %0\n popl %%fs\n addl $4, %%esp" :: "r"(SEL(3)) : "memory");
        printf("  no fault\n");
    }
    printf("lds bad\n");
    fflush(stdout);
    struct { unsigned off; unsigned short sel; } __attribute__((packed)) farbad = {0x1111, SEL(100)};
    e1 = 0x2222;
    if (sigsetjmp(back, 1) == 0) {
        __asm__ volatile("lfs %1, %0" : "+r"(e1) : "m"(farbad));
        printf("  no fault\n");
    }
    e2 = e1;
    printf("  reg after: %#x\n", e2);
    queries();
    far_calls();
    return 0;
}
