/* Benchmark guest (startup, dynamic): hello.c as a dynamically linked PIE on the host's i386 ld.so and
   libc, to compare its start-up with the static build's.
   bench-cflags: -dynamic */
#include "hello.c"
