/* dlopen, dlsym, dlclose of two libraries in turn, and code replaced under one address by munmap and
   a new mmap (anonymous and file-backed): a translator must never run the code that was there before.
   Usage: dlswap LIB_A LIB_B SCRATCH_DIR */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef int (*fn)(int);

static void use(const char *path, int round) {
    void *h = dlopen(path, RTLD_NOW);
    if (!h) { printf("dlopen failed: %s\n", dlerror()); return; }
    fn f = (fn)dlsym(h, "plugin");
    const char *(*name)(void) = (const char *(*)(void))dlsym(h, "plugin_name");
    Dl_info info;
    int found = dladdr((void *)f, &info);
    printf("round %d: %s plugin(4)=%d dladdr=%d same-file=%d\n", round, name(), f(4), found,
           found && strstr(info.dli_fname, strrchr(path, '/')) != NULL);
    dlclose(h);
}

/* mov eax,[esp+4]; imul eax,eax,K; ret */
static void code(unsigned char *p, int k) {
    unsigned char c[] = {0x8b, 0x44, 0x24, 0x04, 0x6b, 0xc0, (unsigned char)k, 0xc3};
    memcpy(p, c, sizeof c);
}

int main(int argc, char **argv) {
    if (argc < 4) return 2;
    for (int round = 0; round < 3; round++) {
        use(argv[1], round);
        use(argv[2], round);
    }
    void *at = (void *)0x30000000;
    for (int k = 2; k < 6; k++) {           /* anonymous: map, fill, run, unmap, again */
        unsigned char *p = mmap(at, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                                MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        code(p, k);
        printf("anon k=%d: %d\n", k, ((fn)p)(10));
        munmap(p, 4096);
    }
    for (int k = 6; k < 9; k++) {           /* file-backed, read-only and executable */
        char path[512];
        snprintf(path, sizeof path, "%s/code%d.bin", argv[3], k);
        unsigned char page[4096] = {0};
        code(page, k);
        int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600);
        write(fd, page, sizeof page);
        unsigned char *p = mmap(at, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_FIXED, fd, 0);
        close(fd);
        printf("file k=%d: %d\n", k, ((fn)p)(10));
        munmap(p, 4096);
    }
    return 0;
}
