/* What a process sees of its descriptors: /proc/self/fd and fdinfo, every number up to the hard limit
   that fcntl finds open, the first free number, dup/F_DUPFD/dup2 at the limits, close_range. With
   "clobber", it first closes and dup2s over every descriptor 3..1023 (where aotc's own would be, were
   they visible), then calls code it has not run yet, so a translator must go on using its cache. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

static void list_dir(const char *path) {
    DIR *d = opendir(path);
    if (!d) { printf("%s: %s\n", path, strerror(errno)); return; }
    int self = dirfd(d), n = 0, seen[4096];
    struct dirent *e;
    while ((e = readdir(d)) && n < 4096)
        if (e->d_name[0] != '.' && atoi(e->d_name) != self) seen[n++] = atoi(e->d_name);
    closedir(d);
    for (int i = 0; i < n; i++)            /* readdir order is the kernel's; print sorted */
        for (int j = i + 1; j < n; j++)
            if (seen[j] < seen[i]) { int t = seen[i]; seen[i] = seen[j]; seen[j] = t; }
    printf("%s:", path);
    for (int i = 0; i < n; i++) printf(" %d", seen[i]);
    printf("\n");
}

static void probe(void) {
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    printf("open by fcntl up to the hard limit:");
    for (long fd = 0; fd < (long)rl.rlim_max + 64; fd++)
        if (fcntl((int)fd, F_GETFD) >= 0) printf(" %ld", fd);
    printf("\n");
}

static int __attribute__((noinline)) fresh_code(int x) {
    int s = 0;
    for (int i = 0; i < x; i++) s += i * i ^ (s >> 3);
    return s;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    printf("RLIMIT_NOFILE %ld %ld\n", (long)rl.rlim_cur, (long)rl.rlim_max);
    list_dir("/proc/self/fd");
    list_dir("/proc/self/fdinfo");
    probe();
    int fd = open("/dev/null", O_RDONLY);
    printf("first open: %d, dup: %d, F_DUPFD 100: %d\n", fd, dup(0), fcntl(0, F_DUPFD, 100));
    int r = dup2(0, (int)rl.rlim_cur - 1);
    printf("dup2 to soft-1: %s\n", r == (int)rl.rlim_cur - 1 ? "ok" : strerror(errno));
    r = dup2(0, (int)rl.rlim_cur);
    printf("dup2 to soft: %d %s\n", r, strerror(errno));
    r = fcntl(0, F_DUPFD, (int)rl.rlim_cur);
    printf("F_DUPFD at soft: %d %s\n", r, strerror(errno));
    struct rlimit low = {5, rl.rlim_max};
    setrlimit(RLIMIT_NOFILE, &low);
    r = open("/dev/null", O_RDONLY);
    printf("open past a lowered limit: %d %s; fd 100 still open: %d\n", r, strerror(errno),
           fcntl(100, F_GETFD) >= 0);
    setrlimit(RLIMIT_NOFILE, &rl);
    struct rlimit high = {rl.rlim_max + 1, rl.rlim_max + 1};
    printf("raise the hard limit: %d\n", setrlimit(RLIMIT_NOFILE, &high) == 0);
    close((int)rl.rlim_cur - 1);
    if (argc > 1 && !strcmp(argv[1], "clobber")) {
        int out = open("clobbered.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        for (int i = 3; i < 1024; i++) if (i != out) close(i);
        for (int i = 3; i < 1024; i++) if (i != out) dup2(out, i);
        for (int i = 3; i < 1024; i++) if (i != out) write(i, "x", 1);
        printf("fresh code after the clobber: %d\n", fresh_code(1000 + argc));
        for (int i = 3; i < 1024; i++) close(i);
    }
    syscall(SYS_close_range, 3, ~0U, 0);
    list_dir("/proc/self/fd");
    probe();
    return 0;
}
