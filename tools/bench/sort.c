/* Benchmark guest: libc qsort with a comparison callback over generated ints, checked for order and sum. */
#include <stdio.h>
#include <stdlib.h>

#define COUNT 24000

static int values[COUNT];

static int compare_ints(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 100;
    unsigned seed = 42, sum = 0;
    for (int r = 0; r < rounds; r++) {
        unsigned long long total = 0;
        for (int i = 0; i < COUNT; i++) {
            seed = seed * 1103515245u + 12345u;
            values[i] = (int)(seed >> 1) - 0x40000000;
            total += (unsigned)values[i];
        }
        qsort(values, COUNT, sizeof values[0], compare_ints);
        unsigned long long after = 0;
        for (int i = 0; i < COUNT; i++) {
            if (i > 0 && values[i - 1] > values[i]) {
                printf("FAIL not sorted at %d: %d > %d\n", i, values[i - 1], values[i]);
                return 1;
            }
            after += (unsigned)values[i];
        }
        if (after != total) {
            printf("FAIL sort lost elements\n");
            return 1;
        }
        sum = sum * 31 + (unsigned)values[r % COUNT] + (unsigned)values[COUNT / 2];
    }
    printf("sort rounds=%d checksum=%08x ok\n", rounds, sum);
    return 0;
}
