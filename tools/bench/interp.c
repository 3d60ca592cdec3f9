/* Benchmark guest: a switch-dispatched stack bytecode interpreter, checked against the same code in C. */
#include <stdio.h>
#include <stdlib.h>

enum { PUSH, LOAD, STORE, ADD, MUL, AND, SHR, LT, JZ, JMP, HALT };

/* Sum over n = 1..limit-1 of the Collatz step count of n (registers: 0 = n, 1 = x, 2 = sum, 3 = limit). */
static const int program[] = {
    /*  0 */ PUSH, 1, STORE, 0, PUSH, 0, STORE, 2,
    /*  8 outer */ LOAD, 0, LOAD, 3, LT, JZ, 68,
    /* 15 */ LOAD, 0, STORE, 1,
    /* 19 inner */ PUSH, 1, LOAD, 1, LT, JZ, 59,
    /* 26 */ LOAD, 1, PUSH, 1, AND, JZ, 45,
    /* 33 odd */ LOAD, 1, PUSH, 3, MUL, PUSH, 1, ADD, STORE, 1, JMP, 50,
    /* 45 even */ LOAD, 1, SHR, STORE, 1,
    /* 50 count */ LOAD, 2, PUSH, 1, ADD, STORE, 2, JMP, 19,
    /* 59 next */ LOAD, 0, PUSH, 1, ADD, STORE, 0, JMP, 8,
    /* 68 done */ HALT,
};

static unsigned run(const int *code, unsigned limit) {
    unsigned stack[16], reg[4] = {0, 0, 0, limit};
    int sp = 0, pc = 0;
    for (;;) {
        switch (code[pc++]) {
        case PUSH: stack[sp++] = (unsigned)code[pc++]; break;
        case LOAD: stack[sp++] = reg[code[pc++]]; break;
        case STORE: reg[code[pc++]] = stack[--sp]; break;
        case ADD: sp--; stack[sp - 1] += stack[sp]; break;
        case MUL: sp--; stack[sp - 1] *= stack[sp]; break;
        case AND: sp--; stack[sp - 1] &= stack[sp]; break;
        case SHR: stack[sp - 1] >>= 1; break;
        case LT: sp--; stack[sp - 1] = stack[sp - 1] < stack[sp]; break;
        case JZ: pc = stack[--sp] ? pc + 1 : code[pc]; break;
        case JMP: pc = code[pc]; break;
        case HALT: return reg[2];
        default: return 0xFFFFFFFFu;
        }
    }
}

static unsigned direct(unsigned limit) {
    unsigned sum = 0;
    for (unsigned n = 1; n < limit; n++)
        for (unsigned x = n; x > 1; sum++) x = (x & 1) ? 3 * x + 1 : x >> 1;
    return sum;
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 100;
    unsigned sum = 0;
    for (int r = 0; r < rounds; r++) {
        unsigned limit = 1300 + (unsigned)(r % 16) * 10;
        unsigned got = run(program, limit), want = direct(limit);
        if (got != want) {
            printf("FAIL interpreter says %u for limit %u, C says %u\n", got, limit, want);
            return 1;
        }
        sum = sum * 31 + got;
    }
    printf("interp rounds=%d checksum=%08x ok\n", rounds, sum);
    return 0;
}
