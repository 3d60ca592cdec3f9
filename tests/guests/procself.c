/* What the process sees of itself in /proc/self: its mappings (program, heap, stack, a file it
   mapped, shared and private, after munmap and mprotect), its command line, environment and aux
   vector. Facts are printed, not addresses, so native and aotc compare line by line. */
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

struct vma { unsigned lo, hi; char perms[5]; unsigned off; char name[256]; };
static struct vma v[512];
static int nv;

static void load(void) {
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    nv = 0;
    while (f && fgets(line, sizeof line, f) && nv < 512) {
        struct vma *m = &v[nv];
        unsigned ino, maj, min;
        int used = 0;
        m->name[0] = 0;
        if (sscanf(line, "%x-%x %4s %x %x:%x %u %n", &m->lo, &m->hi, m->perms, &m->off, &maj, &min, &ino,
                   &used) < 7) continue;
        sscanf(line + used, "%255s", m->name);
        nv++;
    }
    if (f) fclose(f);
}

static struct vma *find(const void *p) {
    unsigned a = (unsigned)p;
    for (int i = 0; i < nv; i++) if (v[i].lo <= a && a < v[i].hi) return &v[i];
    return NULL;
}

static void show(const char *what, const void *p) {
    struct vma *m = find(p);
    if (!m) { printf("%s: not mapped\n", what); return; }
    const char *base = strrchr(m->name, '/');
    printf("%s: %s %s\n", what, m->perms, base ? base + 1 : m->name);
}

int main(int argc, char **argv) {
    static int data_var = 1;
    const char *path = "procself.data";
    int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600);
    char page[3 * 4096];
    memset(page, 'x', sizeof page);
    write(fd, page, sizeof page);
    char *shared = mmap(NULL, sizeof page, PROT_READ, MAP_SHARED, fd, 0);
    char *priv = mmap(NULL, sizeof page, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 4096);
    char *anon = mmap(NULL, 8 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mprotect(anon + 4096, 4096, PROT_READ);
    munmap(anon + 6 * 4096, 4096);
    void *heap = malloc(100);
    int local = 0;
    load();
    show("main", (void *)main);
    show("data", &data_var);
    show("heap", heap);
    show("stack", &local);
    show("shared file", shared);
    show("private file", priv);
    struct vma *m = find(priv);
    printf("private file offset: %#x\n", m ? m->off + ((unsigned)priv - m->lo) : 0);
    show("anon", anon);
    show("anon+1 (mprotect)", anon + 4096);
    show("anon+6 (munmap)", anon + 6 * 4096);
    show("anon+7", anon + 7 * 4096);
    show("printf", (void *)printf);
    munmap(shared, sizeof page);
    load();
    show("shared file after munmap", shared);
    int sorted = 1;
    for (int i = 1; i < nv; i++) if (v[i].lo < v[i - 1].hi) sorted = 0;
    printf("sorted and disjoint: %d\n", sorted);

    FILE *f = fopen("/proc/self/cmdline", "r");
    char cmd[4096];
    size_t n = fread(cmd, 1, sizeof cmd, f);
    fclose(f);
    int args = 0;
    for (size_t i = 0; i < n; i++) if (!cmd[i]) args++;
    printf("cmdline: %d strings, argv[1]=%s, matches argv: %d\n", args, argc > 1 ? cmd + strlen(cmd) + 1 : "-",
           strcmp(cmd, argv[0]) == 0);
    f = fopen("/proc/self/environ", "r");
    n = fread(cmd, 1, sizeof cmd, f);
    fclose(f);
    printf("environ has PROCSELF_MARK: %d\n", memmem(cmd, n, "PROCSELF_MARK=42", 16) != NULL);
    f = fopen("/proc/self/auxv", "r");
    unsigned aux[128];
    n = fread(aux, 1, sizeof aux, f);
    fclose(f);
    unsigned pagesz = 0, entry = 0;
    for (size_t i = 0; i + 1 < n / 4; i += 2) {
        if (aux[i] == AT_PAGESZ) pagesz = aux[i + 1];
        if (aux[i] == AT_ENTRY) entry = aux[i + 1];
    }
    printf("auxv: pagesz=%u entry matches getauxval: %d\n", pagesz, entry == getauxval(AT_ENTRY));
    unlink(path);
    return 0;
}
