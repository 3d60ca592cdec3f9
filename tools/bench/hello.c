/* Benchmark guest (startup): a hello world, where the time is start-up and exit (the loader, libc's
   initialisation, stdio); argv[1] lines are printed. Built static; hello_dyn.c is the same program
   dynamically linked. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 1;
    for (int i = 0; i < n; i++) printf("hello, world %d\n", i);
    return 0;
}
