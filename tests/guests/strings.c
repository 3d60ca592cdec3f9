/* libc string and memory functions on many lengths and alignments, incl. overlapping memmove. */
#include <stdio.h>
#include <string.h>

static unsigned char buf[512], dst[512];

static unsigned hash(const unsigned char *p, unsigned n) {
    unsigned h = 2166136261u;
    for (unsigned i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static void fill(void) {
    for (unsigned i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(i * 7 + (i >> 3) + 1);
}

int main(void) {
    unsigned total = 0;
    for (unsigned len = 0; len < 70; len += 3) {
        for (unsigned src_off = 0; src_off < 8; src_off += 3)
            for (unsigned dst_off = 0; dst_off < 8; dst_off += 5) {
                fill();
                memset(dst, 0xcc, sizeof dst);
                memcpy(dst + dst_off, buf + src_off, len);
                total = total * 3 + hash(dst, 100);
                memmove(buf + src_off + 3, buf + src_off, len); /* overlap, forwards */
                memmove(buf + dst_off, buf + dst_off + 5, len); /* overlap, backwards */
                total ^= hash(buf, 120);
                memset(dst + src_off, (int)len, len);
                int order = memcmp(dst, buf, len + 1);
                total += hash(dst, 100) + (unsigned)((order > 0) - (order < 0));
            }
        printf("len %u total %08x\n", len, total);
    }
    printf("mem total %08x\n", total);

    char s[128];
    strcpy(s, "The quick brown fox jumps over the lazy dog");
    printf("strlen %zu strchr %s strrchr %s\n", strlen(s), strchr(s, 'q'), strrchr(s, 'o'));
    printf("strstr [%s] [%s] %d\n", strstr(s, "fox"), strstr(s, "dog"), strstr(s, "cat") == NULL);
    printf("strcmp %d %d %d\n", strcmp(s, "The") > 0, strcmp("abc", "abd") < 0, strcmp("same", "same"));
    printf("strncmp %d %d\n", strncmp(s, "The quack", 6) > 0, strncmp(s, "The quack", 5));
    char n[16];
    memset(n, 'x', sizeof n);
    strncpy(n, "short", 10);
    printf("strncpy");
    for (unsigned i = 0; i < sizeof n; i++)
        printf(" %02x", (unsigned char)n[i]);
    printf("\n");
    strncpy(n, "exactly-sixteen!", 16);
    printf("strncpy16 %.16s\n", n);
    char cat[64] = "abc";
    strcat(cat, "def");
    strncat(cat, "ghijklmnop", 4);
    printf("strcat %s %zu\n", cat, strlen(cat));
    printf("strspn %zu strcspn %zu\n", strspn(s, "ehT "), strcspn(s, "xyz"));
    printf("memchr %s\n", (char *)memchr(s, 'j', sizeof s));

    char text[] = "alpha, beta;gamma  delta,,epsilon; zeta";
    int count = 0;
    for (char *tok = strtok(text, " ,;"); tok; tok = strtok(NULL, " ,;"))
        printf("tok%d=%s\n", count++, tok);

    char big[300];
    for (int i = 0; i < 299; i++)
        big[i] = (char)('a' + i % 26);
    big[299] = 0;
    printf("big strlen %zu strrchr %zu\n", strlen(big), (size_t)(strrchr(big, 'z') - big));
    for (int i = 0; i < 40; i++)
        printf("%zu%c", strlen(big + i * 7), i % 10 == 9 ? '\n' : ' ');
    return (int)(total & 0x7f);
}
