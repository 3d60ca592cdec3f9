/* The library tiny_main.c links against (built -nostdlib: warming its program stays quick). */
int tiny_sum(int n) { int s = 0; for (int i = 1; i <= n; i++) s += i * i; return s; }
