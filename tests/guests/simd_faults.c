/* FP/SIMD faults as the CPU raises them: #GP from a misaligned movaps and from reserved MXCSR bits
   (SIGSEGV, SI_KERNEL, address 0, trap 13), an unmasked SSE divide by zero (#XM, trap 19) and x87 one
   (#MF at the next waiting instruction, trap 16) with FPE_FLTDIV and the faulting address, and an
   x87 encoding the CPU rejects (#UD, SIGILL). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <setjmp.h>
#include <ucontext.h>
static sigjmp_buf jb;
static void h(int s, siginfo_t *si, void *uc){ ucontext_t *u=uc; printf("sig %d code %d addr %p trapno %d err %d\n", s, si->si_code, si->si_addr, (int)u->uc_mcontext.gregs[REG_TRAPNO], (int)u->uc_mcontext.gregs[REG_ERR]); siglongjmp(jb,1); }
static char buf[64] __attribute__((aligned(16)));
int main(){ struct sigaction sa; memset(&sa,0,sizeof sa); sa.sa_sigaction=h; sa.sa_flags=SA_SIGINFO; sigaction(SIGSEGV,&sa,0); sigaction(SIGFPE,&sa,0); sigaction(SIGILL,&sa,0);
 if(!sigsetjmp(jb,1)) __asm__ volatile("movaps (%0), %%xmm0"::"r"(buf+4));
 unsigned bad=0xffffffff; if(!sigsetjmp(jb,1)) __asm__ volatile("ldmxcsr %0"::"m"(bad));
 unsigned m=0x1f80 & ~0x200; if(!sigsetjmp(jb,1)) { __asm__ volatile("ldmxcsr %0"::"m"(m)); volatile float a=1, b=0; __asm__ volatile("movss %1,%%xmm0; divss %2,%%xmm0; movss %%xmm0,%0":"=m"(a):"m"(a),"m"(b)); }
 unsigned short cw=0x37f & ~4; if(!sigsetjmp(jb,1)) { __asm__ volatile("fldcw %0; fld1; fldz; fdivrp; fwait"::"m"(cw)); }
 if(!sigsetjmp(jb,1)) __asm__ volatile(".byte 0xd9, 0xd1");
 printf("done\n"); return 0; }
