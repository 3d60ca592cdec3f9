/* Dies by the signal named in argv[1] after printing (and flushing) some output first. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile int zero = 0, minus_one = -1, int_min = INT_MIN;

static void before(const char *mode) {
    unsigned h = 5381;
    for (const char *p = mode; *p; p++)
        h = h * 33 + (unsigned char)*p;
    printf("mode %s hash %08x\n", mode, h);
    fflush(stdout);
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "none";
    before(mode);
    if (!strcmp(mode, "div0")) {
        printf("%d\n", 100 / zero);
    } else if (!strcmp(mode, "intmin")) {
        printf("%d\n", int_min / minus_one);
    } else if (!strcmp(mode, "ud2")) {
        __asm__ volatile("ud2");
    } else if (!strcmp(mode, "null")) {
        *(volatile int *)(uintptr_t)zero = 1;
    } else if (!strcmp(mode, "rodata")) {
        char *literal = (char *)"read-only literal";
        ((volatile char *)literal)[zero + 3] = 'X';
    } else if (!strcmp(mode, "jump")) {
        void (*target)(void) = (void (*)(void))(uintptr_t)(0xdead0000u + zero);
        target();
    } else if (!strcmp(mode, "hlt")) {
        __asm__ volatile("hlt");
    } else if (!strcmp(mode, "abort")) {
        abort();
    } else if (!strcmp(mode, "int3")) {
        __asm__ volatile("int3");
    } else if (!strcmp(mode, "sse41")) {
        unsigned int lo = 0;
        /* pminsd is SSE4.1: this CPU runs it, aotc neither offers it in cpuid nor translates it */
        __asm__ volatile("pxor %%xmm0, %%xmm0\n\tpminsd %%xmm0, %%xmm0\n\tmovd %%xmm0, %0" : "=r"(lo));
        printf("pminsd gave %u\n", lo);
        return 0;
    }
    printf("no fault for %s\n", mode);
    return 1;
}
