/* File I/O in the directory given as argv[1]: fopen/fprintf/fwrite/fread/fseek/ftell, open/read/lseek, unlink. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void path_of(char *out, size_t size, const char *dir, const char *name) {
    snprintf(out, size, "%s/%s", dir, name);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: fileio DIR\n");
        return 2;
    }
    char report[512], scratch[512], binary[512];
    path_of(report, sizeof report, argv[1], "report.txt");
    path_of(scratch, sizeof scratch, argv[1], "scratch.txt");
    path_of(binary, sizeof binary, argv[1], "data.bin");

    FILE *f = fopen(report, "w");
    if (!f)
        return 3;
    for (int i = 0; i < 200; i++)
        fprintf(f, "line %03d value %08x %s\n", i, (unsigned)i * 2654435761u, i % 3 ? "tick" : "tock");
    long end = ftell(f);
    fclose(f);
    printf("wrote %ld bytes\n", end);

    f = fopen(report, "r+");
    fseek(f, 0, SEEK_END);
    printf("size by fseek %ld\n", ftell(f));
    fseek(f, 28 * 10, SEEK_SET);
    char line[64];
    fgets(line, sizeof line, f);
    printf("line at 280: %s", line);
    fseek(f, -29, SEEK_END);
    fgets(line, sizeof line, f);
    printf("last line: %s", line);
    fseek(f, 5, SEEK_SET);
    fputs("XYZ", f);
    fseek(f, 0, SEEK_SET);
    fgets(line, sizeof line, f);
    printf("patched: %s", line);
    fclose(f);

    unsigned data[1024];
    for (unsigned i = 0; i < 1024; i++)
        data[i] = i * i ^ 0xa5a5a5a5u;
    f = fopen(binary, "wb");
    size_t wrote = fwrite(data, sizeof data[0], 1024, f);
    fclose(f);
    f = fopen(binary, "rb");
    fseek(f, 400, SEEK_SET);
    unsigned chunk[50];
    size_t nread = fread(chunk, sizeof chunk[0], 50, f);
    long after = ftell(f);
    fseek(f, -8, SEEK_END);
    unsigned char tailbuf[100];
    size_t tail = fread(tailbuf, 1, sizeof tailbuf, f);
    printf("fread %zu at %ld first %08x tail %zu eof %d last %02x%02x\n", nread, after, chunk[0], tail,
           feof(f) != 0, tailbuf[0], tailbuf[tail - 1]);
    fclose(f);
    int fd = open(binary, O_RDONLY);
    off_t size = lseek(fd, 0, SEEK_END);
    lseek(fd, 4 * 1000, SEEK_SET);
    unsigned back[24];
    ssize_t got = read(fd, back, sizeof back);
    close(fd);
    struct stat st;
    stat(binary, &st);
    printf("binary wrote %zu size %ld read %zd st_size %ld first %08x last %08x\n", wrote, (long)size, got,
           (long)st.st_size, back[0], back[got / 4 - 1]);

    f = fopen(scratch, "w");
    fputs("temporary\n", f);
    fclose(f);
    int existed = access(scratch, F_OK) == 0;
    int unlinked = unlink(scratch);
    printf("existed %d unlink %d exists-after %d\n", existed, unlinked, access(scratch, F_OK) == 0);
    printf("missing fopen %d\n", fopen(scratch, "r") == NULL);

    f = fopen(report, "r");
    unsigned sum = 0;
    int lines = 0;
    while (fgets(line, sizeof line, f)) {
        lines++;
        for (char *p = line; *p; p++)
            sum = sum * 131 + (unsigned char)*p;
    }
    fclose(f);
    printf("reread %d lines sum %08x\n", lines, sum);
    f = fopen(report, "r");
    int c, shown = 0;
    while ((c = fgetc(f)) != EOF && shown < 120) {
        putchar(c);
        shown++;
    }
    fclose(f);
    printf("\n");
    return 0;
}
