/* Precise faults: what a faulting instruction leaves behind. Most leave every register and memory as
 * they were before them; a rep string instruction stops at the faulting iteration; pusha keeps the
 * stores before the faulting one, and (on the AMD EPYC these tests were written on) popa keeps the
 * registers popped before the faulting slot. Each case loads every register with a known value, runs one
 * instruction whose memory operand or stack lies in an unmapped, PROT_NONE or read-only page, and a
 * SIGSEGV handler (on an alternate stack: esp may point at nothing) records what the ucontext holds.
 * Addresses are printed relative to the case's mapping ("B+off"), since native runs and aotc place
 * mappings differently. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#define PAGE 4096u
#define NPAGES 4
#define A(off) (0x40000000u | (off))  /* in the table: an offset into the mapping; no constant looks so */

struct regs {
    unsigned r[8];   /* eax ecx edx ebx esp ebp esi edi, the order of the assembly's offsets */
    unsigned efl;
};

struct regs pf_init, pf_after;   /* read and written by the assembly below */
void *pf_target;
unsigned pf_saved_esp;

/* pf_run: load pf_init into every register and eflags, jump to pf_target (one instruction followed by
 * `jmp pf_done`); pf_done stores every register into pf_after and returns to the C caller. */
#define CASE(name, insn) ".globl pf_" #name "\npf_" #name ":\n\t" insn "\n\tjmp pf_done\n"
__asm__(
    ".text\n"
    ".globl pf_run\n"
    "pf_run:\n"
    "\tpushl %ebp\n\tpushl %ebx\n\tpushl %esi\n\tpushl %edi\n"
    "\tmovl %esp, pf_saved_esp\n"
    "\tpushl pf_init+32\n\tpopfl\n"
    "\tmovl pf_init+0, %eax\n\tmovl pf_init+4, %ecx\n\tmovl pf_init+8, %edx\n\tmovl pf_init+12, %ebx\n"
    "\tmovl pf_init+16, %esp\n\tmovl pf_init+20, %ebp\n\tmovl pf_init+24, %esi\n\tmovl pf_init+28, %edi\n"
    "\tjmp *pf_target\n"
    "pf_done:\n"
    "\tmovl %eax, pf_after+0\n\tmovl %ecx, pf_after+4\n\tmovl %edx, pf_after+8\n\tmovl %ebx, pf_after+12\n"
    "\tmovl %esp, pf_after+16\n\tmovl %ebp, pf_after+20\n\tmovl %esi, pf_after+24\n\tmovl %edi, pf_after+28\n"
    "\tmovl pf_saved_esp, %esp\n"
    "\tpushfl\n\tpopl pf_after+32\n\tcld\n"
    "\tpopl %edi\n\tpopl %esi\n\tpopl %ebx\n\tpopl %ebp\n\tret\n"
    CASE(leave, "leave")
    CASE(leavew, ".byte 0x66, 0xc9")
    CASE(popa, "popal")
    CASE(pusha, "pushal")
    CASE(push_reg, "pushl %ebx")
    CASE(push_imm, "pushl $0x12345678")
    CASE(push_mem, "pushl (%eax)")
    CASE(push_esp, "pushl %esp")
    CASE(pushw_reg, "pushw %bx")
    CASE(pushf, "pushfl")
    CASE(pop_reg, "popl %ebx")
    CASE(pop_esp, "popl %esp")
    CASE(pop_mem, "popl (%eax)")
    CASE(pop_mem_esp, "popl 0x1000(%esp)")
    CASE(pop_mem_esp0, "popl (%esp)")
    CASE(popw_mem_esp, "popw 0x1000(%esp)")
    CASE(popf, "popfl")
    CASE(enter, "enter $16, $0")
    CASE(enter_big, "enter $0x1800, $0")
    CASE(call_rel, "call pf_done")
    CASE(call_reg, "call *%eax")
    CASE(call_mem, "call *(%eax)")
    CASE(ret, "ret")
    CASE(ret_imm, "ret $8")
    CASE(xchg, "xchgl %ebx, (%eax)")
    CASE(xchgb, "xchgb %bh, (%eax)")
    CASE(xadd, "xaddl %ebx, (%eax)")
    CASE(xaddb, "xaddb %bl, (%eax)")
    CASE(cmpxchg, "cmpxchgl %ebx, (%esi)")
    CASE(cmpxchg8b, "cmpxchg8b (%esi)")
    CASE(add_mem, "addl %ebx, (%eax)")
    CASE(inc_mem, "incl (%eax)")
    CASE(bts_mem, "btsl %ebx, (%eax)")
    CASE(shl_mem, "shll %cl, (%eax)")
    CASE(cmov_mem, "cmovnel (%eax), %ebx")
    CASE(setc_mem, "setc (%eax)")
    CASE(mov_split, "movl %ebx, (%eax)")
    CASE(movsb, "movsb")
    CASE(movsl, "movsl")
    CASE(rep_movsb, "rep movsb")
    CASE(rep_movsl, "rep movsl")
    CASE(rep_stosb, "rep stosb")
    CASE(rep_stosl, "rep stosl")
    CASE(lodsl, "lodsl")
    CASE(rep_lodsb, "rep lodsb")
    CASE(stosw, "stosw")
    CASE(cmpsl, "cmpsl")
    CASE(repe_cmpsb, "repe cmpsb")
    CASE(repe_cmpsl, "repe cmpsl")
    CASE(scasl, "scasl")
    CASE(repne_scasb, "repne scasb")
);

extern char pf_leave[], pf_leavew[], pf_popa[], pf_pusha[], pf_push_reg[], pf_push_imm[], pf_push_mem[],
    pf_push_esp[], pf_pushw_reg[], pf_pushf[], pf_pop_reg[], pf_pop_esp[], pf_pop_mem[], pf_pop_mem_esp[],
    pf_pop_mem_esp0[], pf_popw_mem_esp[], pf_popf[], pf_enter[], pf_enter_big[], pf_call_rel[], pf_call_reg[],
    pf_call_mem[], pf_ret[], pf_ret_imm[], pf_xchg[], pf_xchgb[], pf_xadd[], pf_xaddb[], pf_cmpxchg[],
    pf_cmpxchg8b[], pf_add_mem[], pf_inc_mem[], pf_bts_mem[], pf_shl_mem[], pf_cmov_mem[], pf_setc_mem[],
    pf_mov_split[], pf_movsb[], pf_movsl[], pf_rep_movsb[], pf_rep_movsl[], pf_rep_stosb[], pf_rep_stosl[],
    pf_lodsl[], pf_rep_lodsb[], pf_stosw[], pf_cmpsl[], pf_repe_cmpsb[], pf_repe_cmpsl[], pf_scasl[],
    pf_repne_scasb[];
void pf_run(void);

struct poke {
    unsigned off, value;   /* a dword stored at B+off before the protections are applied; value may be A() */
};

struct pfcase {
    const char *name;
    char *code;
    const char *prot;      /* per page: w read-write, r read-only, n PROT_NONE, u unmapped */
    struct regs r;         /* register values; A(off) stands for B+off */
    struct poke poke[2];
    unsigned dump, ndump;  /* dwords of memory to print afterwards */
};

#define EFL 0xa93u                      /* CF AF SF OF, IF and bit 1 */
#define EFL_DF (EFL | 0x400u)
#define EFL_RF 0x10000u                  /* set by the CPU in a fault's frame; not compared (aotc has none) */
#define R(eax, ecx, edx, ebx, esp, ebp, esi, edi, efl) {{eax, ecx, edx, ebx, esp, ebp, esi, edi}, efl}
#define EAX 0xa0a0a0a0u
#define ECX 0xc0c0c0c1u
#define EDX 0xd0d0d0d2u
#define EBX 0xb0b0b0b3u
#define EBP 0xe0e0e0e5u
#define ESI 0x50505056u
#define EDI 0x70707077u
#define SP A(0x2800)
#define FILL(off) (0xd0000000u | (off))  /* what every dword of the mapping holds to begin with */

static const struct pfcase CASES[] = {
    {"leave ebp in PROT_NONE", pf_leave, "wnww", R(EAX, ECX, EDX, EBX, SP, A(0x1000), ESI, EDI, EFL)},
    {"leave ebp unmapped", pf_leave, "wuww", R(EAX, ECX, EDX, EBX, SP, A(0x1ffc), ESI, EDI, EFL)},
    {"leave ebp split", pf_leave, "wnww", R(EAX, ECX, EDX, EBX, SP, A(0x0ffe), ESI, EDI, EFL)},
    {"leavew ebp in PROT_NONE", pf_leavew, "wnww", R(EAX, ECX, EDX, EBX, SP, A(0x1000), ESI, EDI, EFL)},
    {"leave ok", pf_leave, "wwww", R(EAX, ECX, EDX, EBX, SP, A(0x2400), ESI, EDI, EFL)},
    {"popa last two", pf_popa, "wwwn", R(EAX, ECX, EDX, EBX, A(0x3000 - 24), EBP, ESI, EDI, EFL)},
    {"popa last", pf_popa, "wwwn", R(EAX, ECX, EDX, EBX, A(0x3000 - 28), EBP, ESI, EDI, EFL)},
    {"popa from skipped", pf_popa, "wwwn", R(EAX, ECX, EDX, EBX, A(0x3000 - 12), EBP, ESI, EDI, EFL)},
    {"popa after skipped", pf_popa, "wwwu", R(EAX, ECX, EDX, EBX, A(0x3000 - 16), EBP, ESI, EDI, EFL)},
    {"popa first", pf_popa, "wnww", R(EAX, ECX, EDX, EBX, A(0x2000 - 4), EBP, ESI, EDI, EFL)},
    {"popa first four", pf_popa, "wnww", R(EAX, ECX, EDX, EBX, A(0x2000 - 16), EBP, ESI, EDI, EFL)},
    {"popa ok", pf_popa, "wwww", R(EAX, ECX, EDX, EBX, A(0x2000), EBP, ESI, EDI, EFL)},
    {"pusha midway PROT_NONE", pf_pusha, "wnww", R(EAX, ECX, EDX, EBX, A(0x2000 + 12), EBP, ESI, EDI, EFL),
     {{0}}, 0x2000, 4},
    {"pusha midway read-only", pf_pusha, "wrww", R(EAX, ECX, EDX, EBX, A(0x2000 + 20), EBP, ESI, EDI, EFL),
     {{0}}, 0x2000, 6},
    {"pusha last", pf_pusha, "wrww", R(EAX, ECX, EDX, EBX, A(0x2000 + 28), EBP, ESI, EDI, EFL),
     {{0}}, 0x2000, 8},
    {"pusha first", pf_pusha, "wnww", R(EAX, ECX, EDX, EBX, A(0x2000), EBP, ESI, EDI, EFL)},
    {"push reg", pf_push_reg, "wnww", R(EAX, ECX, EDX, EBX, A(0x2000), EBP, ESI, EDI, EFL)},
    {"push imm", pf_push_imm, "wrww", R(EAX, ECX, EDX, EBX, A(0x2000), EBP, ESI, EDI, EFL)},
    {"push mem source", pf_push_mem, "wnww", R(A(0x1000), ECX, EDX, EBX, SP, EBP, ESI, EDI, EFL)},
    {"push mem stack", pf_push_mem, "wnww", R(A(0x2400), ECX, EDX, EBX, A(0x2000), EBP, ESI, EDI, EFL)},
    {"push esp", pf_push_esp, "wuww", R(EAX, ECX, EDX, EBX, A(0x2000), EBP, ESI, EDI, EFL)},
    {"pushw split", pf_pushw_reg, "wnww", R(EAX, ECX, EDX, EBX, A(0x2001), EBP, ESI, EDI, EFL)},
    {"pushf", pf_pushf, "wrww", R(EAX, ECX, EDX, EBX, A(0x2000), EBP, ESI, EDI, EFL_DF)},
    {"pop reg", pf_pop_reg, "wnww", R(EAX, ECX, EDX, EBX, A(0x1ffc), EBP, ESI, EDI, EFL)},
    {"pop esp", pf_pop_esp, "wnww", R(EAX, ECX, EDX, EBX, A(0x1ffc), EBP, ESI, EDI, EFL)},
    {"pop mem", pf_pop_mem, "wwrw", R(A(0x2000), ECX, EDX, EBX, SP, EBP, ESI, EDI, EFL)},
    {"pop mem esp-relative", pf_pop_mem_esp, "wwrw", R(EAX, ECX, EDX, EBX, A(0x1ff8), EBP, ESI, EDI, EFL)},
    {"pop mem esp-relative edge", pf_pop_mem_esp, "wwrw",
     R(EAX, ECX, EDX, EBX, A(0x0ffc), EBP, ESI, EDI, EFL)},
    {"pop (esp) after the increment", pf_pop_mem_esp0, "wwrw",
     R(EAX, ECX, EDX, EBX, A(0x1ffc), EBP, ESI, EDI, EFL)},
    {"popw mem esp-relative", pf_popw_mem_esp, "wwrw", R(EAX, ECX, EDX, EBX, A(0x1ffa), EBP, ESI, EDI, EFL)},
    {"popf", pf_popf, "wwnw", R(EAX, ECX, EDX, EBX, A(0x2000), EBP, ESI, EDI, EFL)},
    {"enter", pf_enter, "wnww", R(EAX, ECX, EDX, EBX, A(0x2000), EBP, ESI, EDI, EFL)},
    {"enter big frame", pf_enter_big, "wnww", R(EAX, ECX, EDX, EBX, SP, EBP, ESI, EDI, EFL),
     {{0}}, 0x27f8, 3},
    {"call rel", pf_call_rel, "wnww", R(EAX, ECX, EDX, EBX, A(0x2000), EBP, ESI, EDI, EFL)},
    {"call reg stack", pf_call_reg, "wrww", R(A(0x3000), ECX, EDX, EBX, A(0x2000), EBP, ESI, EDI, EFL)},
    {"call reg target", pf_call_reg, "wwwn", R(A(0x3000), ECX, EDX, EBX, SP, EBP, ESI, EDI, EFL)},
    {"call mem", pf_call_mem, "wwwu", R(A(0x3000), ECX, EDX, EBX, A(0x2000), EBP, ESI, EDI, EFL)},
    {"ret stack", pf_ret, "wnww", R(EAX, ECX, EDX, EBX, A(0x1000), EBP, ESI, EDI, EFL)},
    {"ret imm stack", pf_ret_imm, "wuww", R(EAX, ECX, EDX, EBX, A(0x1ffe), EBP, ESI, EDI, EFL)},
    {"ret imm target", pf_ret_imm, "wwwn", R(EAX, ECX, EDX, EBX, SP, EBP, ESI, EDI, EFL),
     {{0x2800, A(0x3004)}}},
    {"xchg read-only", pf_xchg, "wwrw", R(A(0x2000), ECX, EDX, EBX, SP, EBP, ESI, EDI, EFL)},
    {"xchg PROT_NONE", pf_xchg, "wwnw", R(A(0x2000), ECX, EDX, EBX, SP, EBP, ESI, EDI, EFL)},
    {"xchgb read-only", pf_xchgb, "wwrw", R(A(0x2001), ECX, EDX, EBX, SP, EBP, ESI, EDI, EFL)},
    {"xadd read-only", pf_xadd, "wwrw", R(A(0x2000), ECX, EDX, EBX, SP, EBP, ESI, EDI, EFL)},
    {"xaddb read-only", pf_xaddb, "wwrw", R(A(0x2003), ECX, EDX, EBX, SP, EBP, ESI, EDI, EFL)},
    {"cmpxchg equal", pf_cmpxchg, "wwrw", R(FILL(0x2000), ECX, EDX, EBX, SP, EBP, A(0x2000), EDI, EFL)},
    {"cmpxchg unequal", pf_cmpxchg, "wwrw", R(EAX, ECX, EDX, EBX, SP, EBP, A(0x2000), EDI, EFL)},
    {"cmpxchg8b equal", pf_cmpxchg8b, "wwrw",
     R(FILL(0x2000), ECX, FILL(0x2004), EBX, SP, EBP, A(0x2000), EDI, EFL)},
    {"cmpxchg8b unequal", pf_cmpxchg8b, "wwrw", R(EAX, ECX, EDX, EBX, SP, EBP, A(0x2000), EDI, EFL)},
    {"cmpxchg8b equal, high half read-only", pf_cmpxchg8b, "wwrw",
     R(FILL(0x1ffc), ECX, FILL(0x2000), EBX, SP, EBP, A(0x1ffc), EDI, EFL), {{0}}, 0x1ff8, 4},
    {"cmpxchg8b unequal, high half read-only", pf_cmpxchg8b, "wwrw",
     R(EAX, ECX, EDX, EBX, SP, EBP, A(0x1ffc), EDI, EFL), {{0}}, 0x1ff8, 4},
    {"cmpxchg8b equal, low half read-only", pf_cmpxchg8b, "wrww",
     R(FILL(0x1ffc), ECX, FILL(0x2000), EBX, SP, EBP, A(0x1ffc), EDI, EFL), {{0}}, 0x1ff8, 4},
    {"cmpxchg8b equal, high half PROT_NONE", pf_cmpxchg8b, "wwnw",
     R(FILL(0x1ffc), ECX, FILL(0x2000), EBX, SP, EBP, A(0x1ffc), EDI, EFL), {{0}}, 0x1ff8, 2},
    {"cmpxchg8b equal, split in the low half", pf_cmpxchg8b, "wwrw",
     R(0xdef01234, ECX, 0x20049abc, EBX, SP, EBP, A(0x1ffe), EDI, EFL),
     {{0x1ffc, 0x12345678}, {0x2000, 0x9abcdef0}}, 0x1ff8, 4},
    {"add mem", pf_add_mem, "wwrw", R(A(0x2000), ECX, EDX, EBX, SP, EBP, ESI, EDI, EFL)},
    {"inc mem", pf_inc_mem, "wwrw", R(A(0x2000), ECX, EDX, EBX, SP, EBP, ESI, EDI, EFL)},
    {"bts mem", pf_bts_mem, "wwrw", R(A(0x2000), ECX, EDX, 0x1003, SP, EBP, ESI, EDI, EFL)},
    {"shl mem", pf_shl_mem, "wwrw", R(A(0x2000), 3, EDX, EBX, SP, EBP, ESI, EDI, EFL)},
    {"shl mem count 0 in cl", pf_shl_mem, "wwrw", R(A(0x2000), 0x20, EDX, EBX, SP, EBP, ESI, EDI, EFL)},
    {"cmov not taken", pf_cmov_mem, "wwnw", R(A(0x2000), ECX, EDX, EBX, SP, EBP, ESI, EDI, EFL | 0x40)},
    {"setc mem", pf_setc_mem, "wwrw", R(A(0x2000), ECX, EDX, EBX, SP, EBP, ESI, EDI, EFL)},
    {"mov split", pf_mov_split, "wwrw",
     R(A(0x1ffe), ECX, EDX, EBX, SP, EBP, ESI, EDI, EFL), {{0}}, 0x1ffc, 1},
    {"movsb source", pf_movsb, "wnww", R(EAX, ECX, EDX, EBX, SP, EBP, A(0x1000), A(0x2000), EFL)},
    {"movsl destination", pf_movsl, "wwrw", R(EAX, ECX, EDX, EBX, SP, EBP, A(0x1000), A(0x2000), EFL)},
    {"rep movsb destination", pf_rep_movsb, "wwrw",
     R(EAX, 0x40, EDX, EBX, SP, EBP, A(0x0800), A(0x1ff0), EFL), {{0}}, 0x1fe8, 6},
    {"rep movsb source", pf_rep_movsb, "wnww",
     R(EAX, 0x40, EDX, EBX, SP, EBP, A(0x0ff5), A(0x2000), EFL), {{0}}, 0x2000, 4},
    {"rep movsb down", pf_rep_movsb, "wrww",
     R(EAX, 0x40, EDX, EBX, SP, EBP, A(0x3800), A(0x2008), EFL_DF), {{0}}, 0x2000, 3},
    {"rep movsl destination", pf_rep_movsl, "wwrw",
     R(EAX, 0x40, EDX, EBX, SP, EBP, A(0x0800), A(0x1fe2), EFL), {{0}}, 0x1fe0, 8},
    {"rep movsl large", pf_rep_movsl, "wwrw",
     R(EAX, 0x1000, EDX, EBX, SP, EBP, A(0x0000), A(0x1000), EFL), {{0}}, 0x1ff0, 4},
    {"rep movsb count 0", pf_rep_movsb, "wnnw", R(EAX, 0, EDX, EBX, SP, EBP, A(0x1000), A(0x2000), EFL)},
    {"rep stosb", pf_rep_stosb, "wrww",
     R(EAX, 0x100, EDX, EBX, SP, EBP, ESI, A(0x0ff7), EFL), {{0}}, 0xff0, 4},
    {"rep stosl", pf_rep_stosl, "wrww",
     R(EAX, 0x100, EDX, EBX, SP, EBP, ESI, A(0x0fe1), EFL), {{0}}, 0xfe0, 8},
    {"rep stosl down", pf_rep_stosl, "wrww",
     R(EAX, 0x100, EDX, EBX, SP, EBP, ESI, A(0x2010), EFL_DF), {{0}}, 0x2000, 6},
    {"lodsl", pf_lodsl, "wnww", R(EAX, ECX, EDX, EBX, SP, EBP, A(0x0ffd), EDI, EFL)},
    {"rep lodsb", pf_rep_lodsb, "wnww", R(EAX, 0x100, EDX, EBX, SP, EBP, A(0x0fe0), EDI, EFL)},
    {"stosw", pf_stosw, "wwrw", R(EAX, ECX, EDX, EBX, SP, EBP, ESI, A(0x1fff), EFL), {{0}}, 0x1ffc, 1},
    {"cmpsl source", pf_cmpsl, "wnww", R(EAX, ECX, EDX, EBX, SP, EBP, A(0x1000), A(0x2000), EFL)},
    {"cmpsl destination", pf_cmpsl, "wnww", R(EAX, ECX, EDX, EBX, SP, EBP, A(0x2000), A(0x1000), EFL)},
    {"repe cmpsb", pf_repe_cmpsb, "wnww", R(EAX, 0x100, EDX, EBX, SP, EBP, A(0x0ff0), A(0x0ff0), EFL)},
    {"repe cmpsl", pf_repe_cmpsl, "wnww", R(EAX, 0x100, EDX, EBX, SP, EBP, A(0x0fc2), A(0x0fc2), EFL)},
    {"scasl", pf_scasl, "wnww", R(EAX, ECX, EDX, EBX, SP, EBP, ESI, A(0x0ffe), EFL)},
    {"repne scasb", pf_repne_scasb, "wnww", R(0xee, 0x100, EDX, EBX, SP, EBP, ESI, A(0x0fe9), EFL)},
    {"repne scasb down", pf_repne_scasb, "wnww", R(0xee, 0x100, EDX, EBX, SP, EBP, ESI, A(0x2010), EFL_DF)},
};

static unsigned base;
static sigjmp_buf back;
static volatile int fault_sig;
static volatile unsigned fault_addr, fault_code, fault_trapno;
static volatile greg_t fault_gregs[NGREG];
static char altstack[64 * 1024];

static void on_fault(int sig, siginfo_t *info, void *ctx) {
    ucontext_t *uc = ctx;
    for (int i = 0; i < NGREG; i++)
        fault_gregs[i] = uc->uc_mcontext.gregs[i];
    fault_sig = sig;
    fault_addr = (unsigned)(unsigned long)info->si_addr;
    fault_code = (unsigned)info->si_code;
    fault_trapno = (unsigned)uc->uc_mcontext.gregs[REG_TRAPNO];
    siglongjmp(back, 1);
}

static unsigned resolve(unsigned v) { return (v & 0xf0000000u) == 0x40000000u ? base + (v & 0xffffff) : v; }

/* " name=value" (just " value" without a name), an address in the mapping as B+offset. */
static void show(const char *name, unsigned v) {
    printf(" %s%s", name, *name ? "=" : "");
    if (v - base < NPAGES * PAGE)
        printf("B+%#x", v - base);
    else
        printf("%08x", v);
}

static void show_regs(const unsigned r[8], unsigned efl) {
    static const char *const names[8] = {"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"};
    for (int i = 0; i < 8; i++)
        show(names[i], r[i]);
    printf(" efl=%08x\n", efl);
}

static int page_prot(char c) {
    return c == 'w' ? PROT_READ | PROT_WRITE : c == 'r' ? PROT_READ : PROT_NONE;
}

static void run(const struct pfcase *c) {
    void *map = mmap(NULL, NPAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED) {
        perror("mmap");
        return;
    }
    base = (unsigned)(unsigned long)map;
    unsigned *words = map;
    for (unsigned i = 0; i < NPAGES * PAGE / 4; i++)
        words[i] = FILL(i * 4);
    for (int i = 0; i < 2; i++)
        if (c->poke[i].off)
            memcpy((char *)map + c->poke[i].off, &(unsigned){resolve(c->poke[i].value)}, 4);
    for (int p = 0; p < NPAGES; p++) {
        char *page = (char *)map + p * PAGE;
        if (c->prot[p] == 'u')
            munmap(page, PAGE);
        else
            mprotect(page, PAGE, page_prot(c->prot[p]));
    }
    for (int i = 0; i < 8; i++)
        pf_init.r[i] = resolve(c->r.r[i]);
    pf_init.efl = c->r.efl;
    pf_target = c->code;
    fault_sig = 0;
    printf("%s:\n", c->name);
    if (sigsetjmp(back, 1) == 0) {
        pf_run();
        printf("  no fault:");
        show_regs(pf_after.r, pf_after.efl);
    } else {
        unsigned eip = (unsigned)fault_gregs[REG_EIP];
        printf("  signal %d code %u trapno %u", fault_sig, fault_code, fault_trapno);
        show("addr", fault_addr);
        if (eip - (unsigned)(unsigned long)c->code < 32)
            printf(" eip=insn+%u\n ", eip - (unsigned)(unsigned long)c->code);
        else {
            show("eip", eip);
            printf("\n ");
        }
        const unsigned r[8] = {
            fault_gregs[REG_EAX], fault_gregs[REG_ECX], fault_gregs[REG_EDX], fault_gregs[REG_EBX],
            fault_gregs[REG_ESP], fault_gregs[REG_EBP], fault_gregs[REG_ESI], fault_gregs[REG_EDI],
        };
        show_regs(r, (unsigned)fault_gregs[REG_EFL] & ~EFL_RF);
    }
    if (c->ndump) {
        printf("  memory at B+%#x:", c->dump);
        for (unsigned i = 0; i < c->ndump; i++) {
            unsigned off = c->dump + 4 * i, p = off / PAGE;
            if (c->prot[p] == 'u' || c->prot[p] == 'n')
                printf(" ........");
            else {
                unsigned v;
                memcpy(&v, (char *)map + off, 4);
                show("", v);
            }
        }
        printf("\n");
    }
    for (int p = 0; p < NPAGES; p++)
        if (c->prot[p] != 'u')
            munmap((char *)map + p * PAGE, PAGE);
}

int main(void) {
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack};
    sigaltstack(&ss, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    for (unsigned i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        run(&CASES[i]);
        fflush(stdout);   /* what ran so far is visible even if a later case kills the process */
    }
    printf("%u cases\n", (unsigned)(sizeof CASES / sizeof CASES[0]));
    return 0;
}
