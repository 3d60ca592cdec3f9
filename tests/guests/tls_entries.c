/* set_thread_area as the x86-64 kernel runs it for an i386 task: fs holding a TLS selector sees the
   entry's new base at once, clearing the entry reloads fs with 0, and a cleared entry is free again
   for entry_number -1. */
#define _GNU_SOURCE
#include <asm/ldt.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int data[4] = {0x11111111, 0x22222222, 0x33333333, 0x44444444};

static void flat(struct user_desc *d, unsigned base) {
    d->base_addr = base;
    d->limit = 0xfffff;
    d->seg_32bit = 1;
    d->limit_in_pages = 1;
    d->read_exec_only = 0;
    d->seg_not_present = 0;
}

static void empty(struct user_desc *d) {
    memset(&d->base_addr, 0, sizeof *d - sizeof d->entry_number);
    d->read_exec_only = 1;
    d->seg_not_present = 1;
}

int main(void) {
    struct user_desc d;
    memset(&d, 0, sizeof d);
    d.entry_number = 13;
    flat(&d, (unsigned)data);
    printf("set 13: %ld\n", syscall(SYS_set_thread_area, &d));
    unsigned v = 0, fs;
    __asm__ volatile("movw %w1,%%fs; movl %%fs:0,%0" : "=r"(v) : "r"(0x6b));
    printf("fs:0 = %08x\n", v);
    flat(&d, (unsigned)(data + 1));
    syscall(SYS_set_thread_area, &d);
    __asm__ volatile("movl %%fs:0,%0; mov %%fs,%1" : "=r"(v), "=r"(fs));
    printf("after a new base: fs:0 = %08x fs = %#x\n", v, fs);
    empty(&d);
    syscall(SYS_set_thread_area, &d);
    __asm__ volatile("mov %%fs,%0" : "=r"(fs));
    printf("after clearing: fs = %#x\n", fs);
    int taken[3];
    for (int i = 0; i < 3; i++) {
        struct user_desc n;
        memset(&n, 0, sizeof n);
        n.entry_number = -1;
        flat(&n, (unsigned)data);
        long r = syscall(SYS_set_thread_area, &n);
        taken[i] = r == 0 ? (int)n.entry_number : -1;
        printf("entry -1: %ld -> %d\n", r, taken[i]);
    }
    for (int i = 0; i < 3; i++) {
        if (taken[i] < 0) continue;
        d.entry_number = taken[i];
        empty(&d);
        syscall(SYS_set_thread_area, &d);
    }
    struct user_desc n;
    memset(&n, 0, sizeof n);
    n.entry_number = -1;
    flat(&n, (unsigned)data);
    long r = syscall(SYS_set_thread_area, &n);
    printf("entry -1 after clearing them: %ld -> %d\n", r, (int)n.entry_number);
    return 0;
}
