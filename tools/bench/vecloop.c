/* Benchmark guest (fp, vectorized build): loops -O3 -mssse3 turns into packed SSE/SSSE3 code: saxpy,
   a dot product, byte histogram-free sums of absolute differences, int32 scaling.
   bench-cflags: -O3 -mssse3 -mfpmath=sse */
#include <stdio.h>
#include <stdlib.h>

#define LEN 4096
static float x[LEN], y[LEN];
static unsigned char p[LEN], q[LEN];
static int v[LEN];

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 100;
    for (int i = 0; i < LEN; i++) { x[i] = i % 97 * 0.5f; y[i] = i % 13; p[i] = i * 7; q[i] = i * 13; v[i] = i - 2000; }
    float dot = 0; unsigned sad = 0; long long sum = 0;
    for (int r = 0; r < rounds * 400; r++) {
        float alpha = (r % 7) * 0.25f - 0.75f;
        for (int i = 0; i < LEN; i++) y[i] = alpha * x[i] + y[i] * 0.5f;
        for (int i = 0; i < LEN; i++) dot += x[i] * y[i];
        for (int i = 0; i < LEN; i++) sad += p[i] > q[i] ? p[i] - q[i] : q[i] - p[i];
        for (int i = 0; i < LEN; i++) v[i] = v[i] * 3 / 2 + (r & 1);
        for (int i = 0; i < LEN; i++) sum += v[i] & 0xFFFF;
    }
    printf("dot %.3e sad %u sum %lld\n", dot, sad, sum);
    return 0;
}
