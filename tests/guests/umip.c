/* sgdt, sidt, smsw, sldt and str in user mode: with UMIP the CPU faults and Linux emulates them with
   fixed dummy values (register and memory forms, 32- and 16-bit operand sizes). */
#include <stdio.h>
#include <string.h>

int main(void) {
    unsigned char t[8];
    unsigned r;
    unsigned short w;
    memset(t, 0xAA, sizeof t);
    __asm__ volatile("sgdt %0" : "=m"(t));
    printf("sgdt: limit %02x%02x base %08x\n", t[1], t[0], *(unsigned *)(t + 2));
    memset(t, 0xAA, sizeof t);
    __asm__ volatile("sidt %0" : "=m"(t));
    printf("sidt: limit %02x%02x base %08x\n", t[1], t[0], *(unsigned *)(t + 2));
    memset(t, 0xAA, sizeof t);
    __asm__ volatile("data16 sgdt %0" : "=m"(t));
    printf("sgdt o16: base %08x\n", *(unsigned *)(t + 2));
    r = 0xdeadbeef;
    __asm__ volatile("smsw %0" : "+r"(r));
    printf("smsw r32: %08x\n", r);
    r = 0xdeadbeef;
    __asm__ volatile("smsw %w0" : "+r"(r));
    printf("smsw r16: %08x\n", r);
    w = 0xbeef;
    __asm__ volatile("smsw %0" : "=m"(w));
    printf("smsw m16: %04x\n", w);
    r = 0xdeadbeef;
    __asm__ volatile("sldt %0" : "+r"(r));
    printf("sldt r32: %08x\n", r);
    r = 0xdeadbeef;
    __asm__ volatile("str %0" : "+r"(r));
    printf("str r32: %08x\n", r);
    r = 0xdeadbeef;
    __asm__ volatile("str %w0" : "+r"(r));
    printf("str r16: %08x\n", r);
    w = 0xbeef;
    __asm__ volatile("str %0" : "=m"(w));
    printf("str m16: %04x\n", w);
    w = 0xbeef;
    __asm__ volatile("sldt %0" : "=m"(w));
    printf("sldt m16: %04x\n", w);
    return 0;
}
