/* A CPU-bound loop of direct jumps, indirect calls through a table and returns: once warm it must run
 * entirely inside the code cache (the e2e test checks aotc's dispatcher_exits). */
#include <stdio.h>

typedef unsigned (*step_fn)(unsigned, unsigned);

static unsigned mix(unsigned h, unsigned v) { return (h ^ v) * 16777619u; }
static unsigned rotate(unsigned h, unsigned v) { return (h << (v & 31)) | (h >> ((32 - (v & 31)) & 31)); }
static unsigned blend(unsigned h, unsigned v) { return h + (v * 2654435761u) + (h >> 7); }

int main(void) {
    static step_fn steps[] = {mix, rotate, blend, mix};
    unsigned h = 2166136261u;
    for (unsigned i = 0; i < 1500000; i++)
        h = steps[(i ^ (h >> 13)) & 3](h, i);
    printf("hotloop %08x\n", h);
    return (int)(h & 0x3f);
}
