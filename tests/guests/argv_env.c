/* argv, the environment, clock plausibility, exit(37). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv, char **envp) {
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("argv[%d]=[%s] len=%zu\n", i, argv[i], strlen(argv[i]));
    printf("argv[argc]=%s\n", argv[argc] == NULL ? "NULL" : "set");
    int seen = 0;
    for (char **e = envp; *e; e++)
        if (strncmp(*e, "AOTC_T", 6) == 0)
            printf("env %s\n", *e);
    for (char **e = environ; *e; e++)
        seen += strncmp(*e, "AOTC_T", 6) == 0;
    printf("environ agrees %d\n", seen);
    const char *v = getenv("AOTC_TEST_VALUE");
    printf("getenv=%s missing=%s\n", v ? v : "(none)", getenv("AOTC_NOT_SET") ? "set" : "(none)");
    setenv("AOTC_TEST_NEW", "fresh", 1);
    printf("setenv -> %s\n", getenv("AOTC_TEST_NEW"));

    time_t now = time(NULL);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    struct timespec ts2;
    clock_gettime(CLOCK_MONOTONIC, &ts2);
    int plausible = now > 1600000000 && tv.tv_sec >= now - 5 && tv.tv_sec <= now + 5 && tv.tv_usec < 1000000;
    int monotonic = ts2.tv_sec > ts.tv_sec || (ts2.tv_sec == ts.tv_sec && ts2.tv_nsec >= ts.tv_nsec);
    printf("time plausible %d monotonic %d\n", plausible, monotonic);
    printf("page size %ld\n", sysconf(_SC_PAGESIZE));
    char cwd[4096];
    printf("getcwd ok %d\n", getcwd(cwd, sizeof cwd) != NULL && cwd[0] == '/');
    fflush(stdout);
    exit(37);
}
