/* Reads text from stdin: line/word/byte counts, word frequencies sorted, reversed and upper-cased lines. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct word { char text[32]; unsigned count; };

static int by_count(const void *a, const void *b) {
    const struct word *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return strcmp(x->text, y->text);
}

int main(void) {
    static struct word words[512];
    unsigned nwords = 0, lines = 0, bytes = 0, total_words = 0;
    char line[1024];
    while (fgets(line, sizeof line, stdin)) {
        size_t len = strlen(line);
        bytes += (unsigned)len;
        lines++;
        if (len && line[len - 1] == '\n')
            line[--len] = 0;
        char reversed[1024];
        for (size_t i = 0; i < len; i++)
            reversed[i] = (char)toupper((unsigned char)line[len - 1 - i]);
        reversed[len] = 0;
        if (lines % 3 == 1)
            printf("%4u| %s\n", lines, reversed);
        for (char *tok = strtok(line, " \t.,;:!?\"()-"); tok; tok = strtok(NULL, " \t.,;:!?\"()-")) {
            char key[32];
            size_t k = 0;
            for (; tok[k] && k < sizeof key - 1; k++)
                key[k] = (char)tolower((unsigned char)tok[k]);
            key[k] = 0;
            total_words++;
            unsigned i = 0;
            while (i < nwords && strcmp(words[i].text, key))
                i++;
            if (i == nwords && nwords < 512)
                strcpy(words[nwords++].text, key);
            if (i < nwords)
                words[i].count++;
        }
    }
    qsort(words, nwords, sizeof words[0], by_count);
    printf("lines %u words %u bytes %u distinct %u\n", lines, total_words, bytes, nwords);
    for (unsigned i = 0; i < nwords && i < 25; i++)
        printf("%-12s %u\n", words[i].text, words[i].count);
    return (int)(lines % 256);
}
