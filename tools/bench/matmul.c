/* Benchmark guest (fp, SSE2 build): dense double matrix multiply (i-k-j order), checked by a trace.
   bench-cflags: -msse2 -mfpmath=sse */
#include <stdio.h>
#include <stdlib.h>

#define N 96
static double a[N][N], b[N][N], c[N][N];

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 100;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) { a[i][j] = (i * 7 + j * 3) % 17 / 8.0 - 1; b[i][j] = (i + 2 * j) % 11 / 4.0; }
    double trace = 0;
    for (int r = 0; r < rounds * 30; r++) {
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) c[i][j] = 0;
        for (int i = 0; i < N; i++)
            for (int k = 0; k < N; k++) {
                double aik = a[i][k] + r * 1e-9;
                for (int j = 0; j < N; j++) c[i][j] += aik * b[k][j];
            }
        for (int i = 0; i < N; i++) trace += c[i][i];
    }
    printf("trace %.6f\n", trace);
    return 0;
}
