/* Blocks whose guest bytes cross a page boundary: every run must see both pages as they are now.
 *
 * Four page-aligned code pages A B C D. span1 starts at the end of A with `mov eax, [esp+4]` and
 * `add eax, imm32` whose opcode is the last byte of A and whose immediate is the first four bytes of
 * B; span2 is the same across C and D. f_a and g_c are small functions at the start of A and C (their
 * first call loads the cached blocks of that page). The program rewrites only the immediate (the
 * second page) by plain stores and by read() from a pipe, before and after the block has run, then
 * the opcode (the first page), and prints what the blocks return.
 * With the argument `prime` it only runs every block once as built (a run that fills a cache). */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096

__asm__(
    ".pushsection .text.pagespan,\"ax\",@progbits\n"
    ".balign 4096\n"
    "ps_pages:\n"
    "ps_f_a:\n"
    "    movl $0xa, %eax\n"
    "    ret\n"
    ".org ps_pages + 0xffb, 0xcc\n"
    "ps_span1:\n"
    "    movl 4(%esp), %eax\n"           /* 4 bytes: A+0xffb..A+0xffe */
    "    .byte 0x05\n"                   /* add eax, imm32: opcode at A+0xfff */
    "    .long 0x11111111\n"             /* immediate at B+0..B+3 */
    "    ret\n"
    ".org ps_pages + 0x2000, 0xcc\n"
    "ps_g_c:\n"
    "    movl $0xc, %eax\n"
    "    ret\n"
    ".org ps_pages + 0x2ffb, 0xcc\n"
    "ps_span2:\n"
    "    movl 4(%esp), %eax\n"
    "    .byte 0x05\n"
    "    .long 0x22222222\n"
    "    ret\n"
    ".org ps_pages + 0x4000, 0xcc\n"
    ".popsection\n");

extern unsigned char ps_pages[];
int ps_f_a(void) __asm__("ps_f_a");
int ps_g_c(void) __asm__("ps_g_c");
int ps_span1(int) __asm__("ps_span1");
int ps_span2(int) __asm__("ps_span2");

/* plain stores from guest code, one byte at a time */
static void store_bytes(unsigned char *at, const void *src, int n) {
    volatile unsigned char *p = at;
    for (int i = 0; i < n; i++)
        p[i] = ((const unsigned char *)src)[i];
}

/* the kernel writes the bytes: read() from a pipe */
static int read_bytes(unsigned char *at, const void *src, int n) {
    int fds[2];
    if (pipe(fds) != 0 || write(fds[1], src, n) != n || read(fds[0], at, n) != n)
        return -1;
    close(fds[0]);
    close(fds[1]);
    return 0;
}

int main(int argc, char **argv) {
    unsigned char *a = ps_pages, *b = a + PAGE, *c = a + 2 * PAGE, *d = a + 3 * PAGE;
    if (mprotect(a, 4 * PAGE, PROT_READ | PROT_WRITE | PROT_EXEC) != 0) {
        perror("mprotect");
        return 2;
    }
    if (argc > 1 && strcmp(argv[1], "prime") == 0) {
        printf("as built: %d %d %d %d\n", ps_f_a(), ps_span1(5), ps_g_c(), ps_span2(5));
        return 0;
    }
    unsigned imm;
    unsigned char sub = 0x2d;     /* sub eax, imm32 */

    printf("f_a: %d\n", ps_f_a());
    imm = 1000;
    store_bytes(b, &imm, 4);
    printf("span1 after a store into its second page: %d\n", ps_span1(5));
    store_bytes(a + 0xfff, &sub, 1);
    printf("span1 after a store into its first page: %d\n", ps_span1(5));
    imm = 77;
    store_bytes(b, &imm, 4);
    printf("span1 after another store into its second page: %d\n", ps_span1(5));

    printf("g_c: %d\n", ps_g_c());
    imm = 2000;
    if (read_bytes(d, &imm, 4) != 0)
        return 3;
    printf("span2 after read() into its second page: %d\n", ps_span2(5));
    imm = 3000;
    if (read_bytes(d, &imm, 4) != 0)
        return 3;
    printf("span2 after another read() into its second page: %d\n", ps_span2(5));
    if (read_bytes(c + 0xfff, &sub, 1) != 0)
        return 3;
    printf("span2 after read() into its first page: %d\n", ps_span2(5));
    return 0;
}
