/* Benchmark guest (fp, SSE2 build): the same n-body with doubles in SSE2 registers.
   bench-cflags: -msse2 -mfpmath=sse -lm */
#include "nbody.c"
