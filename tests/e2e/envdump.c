/* Prints, in order, every environment entry that starts with one of the prefixes given as arguments
 * (PYTHON and AOTC_ when there are none; "" matches every entry) and exits with how many it printed.
 * tests/e2e/test_isolation.py compares what it prints natively and under aotc. */
#include <stdio.h>
#include <string.h>

extern char **environ;

int main(int argc, char **argv) {
    static char *fallback[] = {"PYTHON", "AOTC_"};
    char **prefixes = argc > 1 ? argv + 1 : fallback;
    int nprefixes = argc > 1 ? argc - 1 : 2;
    int count = 0;
    for (char **e = environ; *e != NULL; e++) {
        for (int i = 0; i < nprefixes; i++) {
            if (strncmp(*e, prefixes[i], strlen(prefixes[i])) == 0) {
                printf("%s\n", *e);
                count++;
                break;
            }
        }
    }
    return count;
}
