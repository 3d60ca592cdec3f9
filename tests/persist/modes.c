/* Code that is not flat 32-bit code, for the persistent cache: 16-bit code run through an LDT code segment
   (modify_ldt) with a base, one sequence of bytes run as 16-bit and as 32-bit code and in code segments
   at different bases (it means something else in each: a cache that confused them prints other
   values), and 32-bit code with a data segment base (es). `modes 16` or `modes 32` runs only the 16- or
   only the 32-bit variants of the shared bytes; `modes` runs everything. */
#define _GNU_SOURCE
#include <asm/ldt.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SEL(entry) ((entry) << 3 | 7)       /* LDT, RPL 3 */
#define SHIFT 0x40                          /* the second code segments' bases are this much lower */

static int set_entry(int entry, unsigned base, unsigned limit, int contents, int seg_32bit) {
    struct user_desc d;
    memset(&d, 0, sizeof d);
    d.entry_number = entry;
    d.base_addr = base;
    d.limit = limit;
    d.seg_32bit = seg_32bit;
    d.contents = contents;
    d.useable = 1;
    return syscall(SYS_modify_ldt, 1, &d, sizeof d);
}

/* Offsets from code16_start. `dual` as 16-bit code: mov eax, 0x02eb1234; lretl. As 32-bit code: mov ax,
   0x1234; jmp +2 (over the 16-bit lretl); lret. */
__asm__(".text\n.code16\n.globl code16_start, code16_end, dual\ncode16_start:\n"
        "c16_loop:\n  movl $10, %ecx\n  xorl %eax, %eax\n1:\n  addl %ecx, %eax\n  call c16_twice\n"
        "  loopl 1b\n  lretl\n"
        "c16_twice:\n  addl %ecx, %eax\n  ret\n"
        "c16_stack:\n  movw $0x100, %ax\n  pushw $7\n  popw %bx\n  xorw %bx, %ax\n  lretl\n"
        "dual:\n  .byte 0x66, 0xb8, 0x34, 0x12, 0xeb, 0x02, 0x66, 0xcb, 0xcb\n"
        "code16_end:\n.code32\n");
extern char code16_start[], code16_end[], c16_loop[], c16_stack[], dual[];

static unsigned far_call(unsigned sel, unsigned offset, unsigned eax) {
    struct { unsigned off; unsigned short sel; } __attribute__((packed)) fp = {offset, sel};
    __asm__ volatile("lcall *%1" : "+a"(eax) : "m"(fp) : "ebx", "ecx", "edx", "memory");
    return eax;
}

static unsigned data[4] = {0x11111111, 0x22222222, 0x33333333, 0x44444444};

int main(int argc, char **argv) {
    const char *only = argc > 1 ? argv[1] : "";
    int all = !*only, bits16 = all || !strcmp(only, "16"), bits32 = all || !strcmp(only, "32");
    unsigned base = (unsigned)code16_start, size = code16_end - code16_start + SHIFT;
    printf("ldt: %d %d %d %d %d\n", set_entry(1, base, size, 2, 0), set_entry(2, base, size, 2, 1),
           set_entry(3, base - SHIFT, size, 2, 0), set_entry(4, base - SHIFT, size, 2, 1),
           set_entry(5, (unsigned)data, sizeof data - 1, 0, 1));
    unsigned off = dual - code16_start;
    if (bits16) {
        printf("code16 loop: %u\n", far_call(SEL(1), c16_loop - code16_start, 0));
        printf("code16 stack: %#x\n", far_call(SEL(1), c16_stack - code16_start, 0));
        printf("dual as code16: %#x\n", far_call(SEL(1), off, 0xaaaa0000));
        printf("dual as code16 at base-%#x: %#x\n", SHIFT, far_call(SEL(3), off + SHIFT, 0xbbbb0000));
    }
    if (bits32) {
        printf("dual as code32: %#x\n", far_call(SEL(2), off, 0xaaaa0000));
        printf("dual as code32 at base-%#x: %#x\n", SHIFT, far_call(SEL(4), off + SHIFT, 0xbbbb0000));
        printf("dual flat: %#x\n", far_call(0x23, (unsigned)dual, 0xcccc0000));
    }
    if (all) {
        unsigned v, es;
        __asm__ volatile("movl %%es, %1\n movl %2, %%es\n movl %%es:8, %0\n addl %%es:4, %0\n movl %1, %%es"
                         : "=&r"(v), "=&r"(es) : "r"(SEL(5)) : "memory");
        printf("es-based: %#x\n", v);
    }
    return 0;
}
