/* malloc/realloc/free patterns with checksums, a linked list, a hash table, qsort and bsearch with callbacks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct node { struct node *next; unsigned key; char name[12]; };

static unsigned rng_state = 12345;
static unsigned next_rand(void) {
    rng_state = rng_state * 1103515245u + 12345u;
    return rng_state >> 8;
}

static int cmp_uint(const void *a, const void *b) {
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
    return (x > y) - (x < y);
}

static int cmp_node_desc(const void *a, const void *b) {
    const struct node *x = *(struct node *const *)a, *y = *(struct node *const *)b;
    int c = strcmp(y->name, x->name);
    return c ? c : (int)(y->key - x->key);
}

int main(void) {
    void *slots[64] = {0};
    size_t sizes[64] = {0};
    unsigned check = 0;
    for (int round = 0; round < 1500; round++) {
        unsigned i = next_rand() % 64;
        if (slots[i] && next_rand() % 3 == 0) {
            unsigned char *p = slots[i];
            for (size_t k = 0; k < sizes[i]; k++)
                check = check * 7 + p[k];
            free(p);
            slots[i] = NULL;
            sizes[i] = 0;
        } else {
            size_t n = 1 + next_rand() % (round % 10 == 0 ? 5000 : 300);
            unsigned char *p = realloc(slots[i], n);
            if (!p)
                return 99;
            for (size_t k = sizes[i] < n ? sizes[i] : n; k < n; k++)
                p[k] = (unsigned char)(k * 13 + i);
            if (sizes[i] && n > 0)
                check += p[0] + p[n - 1];
            slots[i] = p;
            sizes[i] = n;
        }
    }
    for (int i = 0; i < 64; i++)
        free(slots[i]);
    printf("heap check %08x\n", check);

    struct node *head = NULL;
    for (unsigned i = 0; i < 500; i++) {
        struct node *n = malloc(sizeof *n);
        n->key = next_rand() % 1000;
        snprintf(n->name, sizeof n->name, "n%03u", n->key % 97);
        n->next = head;
        head = n;
    }
    struct node *arr[500];
    unsigned count = 0;
    for (struct node *n = head; n; n = n->next)
        arr[count++] = n;
    qsort(arr, count, sizeof arr[0], cmp_node_desc);
    for (unsigned i = 0; i < count; i += 37)
        printf("sorted[%u] %s %u\n", i, arr[i]->name, arr[i]->key);
    while (head) {
        struct node *n = head->next;
        free(head);
        head = n;
    }

    unsigned *vals = calloc(2000, sizeof *vals);
    for (unsigned i = 0; i < 2000; i++)
        vals[i] = next_rand() ^ (i << 20);
    qsort(vals, 2000, sizeof *vals, cmp_uint);
    unsigned ordered = 1, sum = 0;
    for (unsigned i = 1; i < 2000; i++) {
        ordered &= vals[i - 1] <= vals[i];
        sum = sum * 3 + vals[i];
    }
    unsigned key = vals[1234];
    unsigned *found = bsearch(&key, vals, 2000, sizeof *vals, cmp_uint);
    printf("qsort ordered=%u sum=%08x min=%08x max=%08x found=%d\n", ordered, sum, vals[0], vals[1999],
           found ? (int)(found - vals) : -1);
    vals = realloc(vals, 100000 * sizeof *vals);
    memset(vals + 2000, 0xab, 98000 * sizeof *vals);
    unsigned big = 0;
    for (unsigned i = 0; i < 100000; i += 97)
        big += vals[i];
    printf("big realloc %08x\n", big);
    free(vals);
    return (int)(check % 200);
}
