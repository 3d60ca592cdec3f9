/* A library dlswap.c loads in two builds: -DFACTOR=3 and -DFACTOR=5 (and -DNAME for the message). */
#include <stdio.h>
#include <string.h>

static char buf[64];

int plugin(int x) { return x * FACTOR + 1; }

const char *plugin_name(void) {
    snprintf(buf, sizeof buf, "%s:%d", NAME, (int)strlen(NAME));
    return buf;
}
