/* Self-modifying and run-time generated code: every run must see the code as it is now.
 * argv[1] is a scratch directory for the read()-loaded code test. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef int (*fn1)(int);
typedef int (*fn0)(void);

/* mov eax, [esp+4]; add eax, imm32; ret */
static void emit_add(unsigned char *p, int k) {
    static const unsigned char t[] = {0x8b, 0x44, 0x24, 0x04, 0x05, 0, 0, 0, 0, 0xc3};
    memcpy(p, t, sizeof t);
    memcpy(p + 5, &k, 4);
}

/* mov eax, [esp+4]; imul eax, eax, imm32; ret */
static void emit_mul(unsigned char *p, int k) {
    static const unsigned char t[] = {0x8b, 0x44, 0x24, 0x04, 0x69, 0xc0, 0, 0, 0, 0, 0xc3};
    memcpy(p, t, sizeof t);
    memcpy(p + 6, &k, 4);
}

int main(int argc, char **argv) {
    unsigned char *code = mmap(0, 3 * 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (code == MAP_FAILED)
        return 2;

    /* rewrite a hot function between rounds */
    long long total = 0;
    for (int round = 0; round < 60; round++) {
        if (round % 3 == 2)
            emit_mul(code, round + 1);
        else
            emit_add(code, round * 7 + 1);
        for (int i = 0; i < 2000; i++)
            total += ((fn1)code)(i);
    }
    printf("rewritten hot function: %lld\n", total);

    /* only the immediate changes, on a page that also holds other live code */
    emit_add(code, 3);
    emit_add(code + 64, 5);
    total = 0;
    for (int round = 0; round < 40; round++) {
        for (int i = 0; i < 500; i++)
            total += ((fn1)code)(i) ^ ((fn1)(code + 64))(i);
        int k = round * 13 - 7;
        memcpy(code + 5, &k, 4);
        code[0x40 + 5] = (unsigned char)round;
    }
    printf("patched immediates: %lld\n", total);

    /* code that patches the instruction right after its own store:
     *   mov byte [X+1], 42 ; X: mov eax, 1 ; ret      -> returns 42 natively */
    unsigned char *self = code + 4096;
    for (int round = 0; round < 5; round++) {
        unsigned char t[] = {0xc6, 0x05, 0, 0, 0, 0, 0, 0xb8, 1, 0, 0, 0, 0xc3};
        unsigned addr = (unsigned)(self + 8);
        memcpy(t + 2, &addr, 4);
        t[6] = (unsigned char)(40 + round);
        memcpy(self, t, sizeof t);
        int first = ((fn0)self)();
        int second = ((fn0)self)();
        printf("self-patching round %d: %d %d\n", round, first, second);
    }

    /* a store straddling into the code page from the page before it */
    unsigned char *edge = code + 2 * 4096;
    emit_add(edge, 1);
    int before = ((fn1)edge)(100);
    unsigned straddle = 0x05040302u;   /* writes edge[-2..1]: keeps the opcode bytes 8b 44 changed */
    memcpy(edge - 2, &straddle, 4);
    edge[0] = 0x8b;
    edge[1] = 0x44;
    memcpy(edge + 5, &(int){1000}, 4);
    printf("straddling store: %d %d\n", before, ((fn1)edge)(100));

    /* code loaded with read() into an executable mapping, then reloaded with other contents */
    if (argc > 1) {
        char path[512];
        snprintf(path, sizeof path, "%s/code.bin", argv[1]);
        unsigned char *loaded = mmap(0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        for (int round = 0; round < 4; round++) {
            unsigned char buf[16];
            emit_add(buf, 1000 * (round + 1));
            int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
            write(fd, buf, sizeof buf);
            close(fd);
            fd = open(path, O_RDONLY);
            read(fd, loaded, sizeof buf);
            close(fd);
            int s = 0;
            for (int i = 0; i < 300; i++)
                s += ((fn1)loaded)(i);
            printf("read() code round %d: %d\n", round, s);
        }
        unlink(path);
    }
    return 0;
}
