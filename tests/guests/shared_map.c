/* MAP_SHARED file mappings are the file: stores through them reach it and writes to the file show in
   them; a private mapping is a copy; a writable shared mapping of a read-only descriptor is refused;
   a page past the end of the file raises SIGBUS (BUS_ADRERR at the address touched). */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static sigjmp_buf back;
static volatile int code;
static char *volatile addr;

static void on_bus(int sig, siginfo_t *si, void *uc) {
    (void)sig; (void)uc;
    code = si->si_code;
    addr = si->si_addr;
    siglongjmp(back, 1);
}

int main(void) {
    int fd = open("shared_map.dat", O_CREAT | O_TRUNC | O_RDWR, 0600);
    ftruncate(fd, 8192);
    char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    strcpy(p, "written through the mapping");
    strcpy(p + 4096, "page two");
    char b[64] = {0};
    pread(fd, b, 40, 0);
    printf("file: %s\n", b);
    pwrite(fd, "CHANGED", 7, 4096);
    printf("map: %s\n", p + 4096);
    printf("msync: %d\n", msync(p, 8192, MS_SYNC));
    munmap(p, 8192);
    char *q = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    q[0] = 'X';
    pread(fd, b, 10, 0);
    printf("private: %.10s / file %.10s\n", q, b);
    int ro = open("shared_map.dat", O_RDONLY);
    void *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0);
    printf("writable shared of a read-only fd: %s\n", w == MAP_FAILED ? "refused" : "mapped");

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_bus;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGBUS, &sa, NULL);
    ftruncate(fd, 4096);
    char *r = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    for (int page = 0; page < 3; page++) {
        if (sigsetjmp(back, 1) == 0) {
            r[page * 4096 + 8] = 'z';
            printf("page %d: stored\n", page);
        } else {
            printf("page %d: SIGBUS code %d at +%d\n", page, code, (int)(addr - r));
        }
    }
    close(fd);
    close(ro);
    unlink("shared_map.dat");
    return 0;
}
