/* The bundled example guest: a glibc hello world with a little arithmetic, built as a static i386 program. */
#include <stdio.h>
#include <string.h>

static unsigned fib(unsigned n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

int main(int argc, char **argv) {
    printf("Hello from i386, translated by aotc!\n");
    printf("argc=%d argv[0] ends with \"%s\"\n", argc, strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0]);
    printf("fib(20) = %u\n", fib(20));
    return 0;
}
