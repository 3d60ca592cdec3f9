/* A guest whose build differs only in constants of the same width: -DMAGIC changes one instruction's
   immediate (the code layout stays), -DGREETING changes read-only data only (the code stays). */
#include <stdio.h>

#ifndef MAGIC
#define MAGIC 1000
#endif
#ifndef GREETING
#define GREETING "alpha"
#endif

__attribute__((noinline)) int magic(int x) { return x * 3 + MAGIC; }

int main(void) {
    int sum = 0;
    for (int i = 0; i < 10; i++)
        sum += magic(i);
    printf("%s sum=%d\n", GREETING, sum);
    return 0;
}
