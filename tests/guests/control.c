/* Control flow: setjmp/longjmp, dense and sparse switches, function pointer tables, computed goto. */
#include <setjmp.h>
#include <stdio.h>

static jmp_buf env;
static int depth_reached;

static void dive(int depth, int limit) {
    depth_reached = depth;
    if (depth == limit)
        longjmp(env, depth * 10 + 1);
    dive(depth + 1, limit);
}

static int dense(int x) {
    switch (x) {
    case 0: return 11;
    case 1: return 23;
    case 2: return 37;
    case 3: return x * 5;
    case 4: return -4;
    case 5: return 1000;
    case 6: return x << 4;
    case 7: return 7777;
    case 8: return ~x;
    case 9: return 99;
    case 10: return x ^ 0x55;
    case 11: return 121;
    default: return -1;
    }
}

static int sparse(unsigned x) {
    switch (x) {
    case 3: return 1;
    case 100: return 2;
    case 1000: return 3;
    case 65536: return 4;
    case 0x7fffffff: return 5;
    case 0x80000000u: return 6;
    case 0xffffffffu: return 7;
    default: return 0;
    }
}

static int add(int a, int b) { return a + b; }
static int sub(int a, int b) { return a - b; }
static int mul(int a, int b) { return a * b; }
static int shl(int a, int b) { return (int)((unsigned)a << (b & 31)); }
static int pick(int a, int b) { return a > b ? a : b; }

static int (*const table[])(int, int) = {add, sub, mul, shl, pick};

static int interpret(const unsigned char *code, int x) {
    static void *const ops[] = {&&op_inc, &&op_dbl, &&op_neg, &&op_jnz, &&op_end};
    int counter = 5;
    const unsigned char *pc = code;
    goto *ops[*pc++];
op_inc:
    x++;
    goto *ops[*pc++];
op_dbl:
    x *= 2;
    goto *ops[*pc++];
op_neg:
    x = -x;
    goto *ops[*pc++];
op_jnz:
    if (--counter)
        pc = code;
    goto *ops[*pc++];
op_end:
    return x;
}

int main(void) {
    for (int limit = 0; limit < 40; limit += 7) {
        volatile int local = limit * 3;
        int r = setjmp(env);
        if (r == 0) {
            dive(0, limit);
            printf("not reached\n");
        } else {
            printf("longjmp %d depth %d local %d\n", r, depth_reached, local);
        }
    }
    int sum = 0;
    for (int i = -2; i < 14; i++) {
        int d = dense(i);
        sum += d;
        printf("dense(%d)=%d\n", i, d);
    }
    static const unsigned probes[] = {0, 3, 99, 100, 1000, 65535, 65536, 0x7fffffff, 0x80000000u, 0xfffffffe,
                                      0xffffffffu};
    for (unsigned i = 0; i < sizeof probes / sizeof probes[0]; i++)
        printf("sparse(%u)=%d\n", probes[i], sparse(probes[i]));
    for (int i = 0; i < 40; i++) {
        int r = table[i % 5](i * 3 - 50, i);
        sum = sum * 3 + r;
        printf("%d%c", r, i % 10 == 9 ? '\n' : ' ');
    }
    static const unsigned char prog[] = {0, 1, 0, 3, 2, 4};
    for (int x = -3; x < 4; x++)
        printf("interp(%d)=%d\n", x, interpret(prog, x));
    printf("sum %d\n", sum);
    return sum & 0x7f;
}
