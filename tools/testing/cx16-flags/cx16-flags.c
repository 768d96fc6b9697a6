// SPDX-License-Identifier: GPL-2.0
/*
 * Does the x86 emulator that runs this program compute RFLAGS after
 * CMPXCHG16B (and CMPXCHG8B) right?  The instruction sets ZF and leaves
 * every other flag as it was; QEMU's TCG up to 7.2 computes the other
 * flags in a helper from a CC_OP that the translator has not stored yet
 * (no gen_update_cc_op() before gen_helper_cmpxchg16b_unlocked() in
 * target/i386/tcg/translate.c), so when the instruction before it set
 * the flags in the same translation block, the flags come out of
 * whatever the stale CC_OP makes of CC_SRC.  With a stale CC_OP of
 * EFLAGS (left by POPF, IRET or a previous CMPXCHG16B) they are CC_SRC
 * itself: here the subtrahend of the CMP before, 0x400, which is DF.
 * A guest kernel meets it when an interrupt arrives right after SLUB's
 * this_cpu_cmpxchg16b: the interrupt frame gets the garbage, IRET loads
 * it, and the kernel runs on with DF (and IOPL, NT...) set
 * (Documentation/nested.rst, "Early-boot panics of nested guests").
 *
 * usage: cx16-flags      the test of make check's VMs (KTAP): CMPXCHG16B
 *                        is either not offered (CPUID CX16 clear, as
 *                        scripts/run-qemu.sh and testvm-nested.sh set up
 *                        their guests) or gets its flags right.  Not
 *                        CMPXCHG8B: 64-bit kernels do not use it.
 *        cx16-flags --all
 *                        runs both instructions whatever CPUID says, one
 *                        line each; exit status 1 if either is wrong
 * On the host's CPU it passes; under bookworm's qemu-x86_64 (7.2) or in
 * a TCG guest of bookworm's qemu-system-x86_64 it fails; QEMU 8.0
 * inlined the instruction ("target/i386: Inline cmpxchg16b") and passes.
 */
#include <cpuid.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define X86_DF	0x400UL
#define X86_ZF	0x40UL

static _Alignas(16) uint64_t mem[2];

/*
 * POPF ends the translation block and leaves CC_OP = EFLAGS stored; CMP
 * then sets CC_SRC = 0x400 and a CC_OP the translator keeps to itself;
 * the CMPXCHG reads the stored one.  Returns RFLAGS as PUSHF sees them.
 */
static uint64_t flags_after_cmpxchg16b(void)
{
	uint64_t f;

	mem[0] = 0;
	mem[1] = 0;
	asm volatile("movq $0x400, %%rdx\n\t"
		     "xorl %%eax, %%eax\n\t"
		     "xorl %%ecx, %%ecx\n\t"
		     "xorl %%ebx, %%ebx\n\t"
		     "pushq $0x202\n\t"
		     "popfq\n\t"
		     "cmpq %%rdx, %%rcx\n\t"
		     "cmpxchg16b (%[m])\n\t"
		     "pushfq\n\t"
		     "popq %[f]\n\t"
		     "cld"
		     : [f] "=r" (f)
		     : [m] "r" (mem)
		     : "rax", "rbx", "rcx", "rdx", "memory", "cc");
	return f;
}

static uint64_t flags_after_cmpxchg8b(void)
{
	uint64_t f;

	mem[0] = 0;
	asm volatile("movl $0x400, %%edx\n\t"
		     "xorl %%eax, %%eax\n\t"
		     "xorl %%ecx, %%ecx\n\t"
		     "xorl %%ebx, %%ebx\n\t"
		     "pushq $0x202\n\t"
		     "popfq\n\t"
		     "cmpl %%edx, %%ecx\n\t"
		     "cmpxchg8b (%[m])\n\t"
		     "pushfq\n\t"
		     "popq %[f]\n\t"
		     "cld"
		     : [f] "=r" (f)
		     : [m] "r" (mem)
		     : "rax", "rbx", "rcx", "rdx", "memory", "cc");
	return f;
}

static int check(const char *insn, uint64_t f)
{
	/* RDX:RAX (0x400:0) differs from the zeroed memory: ZF clear. */
	int bad = (f & X86_DF) || (f & X86_ZF);

	printf("# cx16-flags: %s after cmp: RFLAGS %#llx: %s\n", insn,
	       (unsigned long long)f,
	       bad ? "WRONG (DF or ZF set: flags from a stale CC_OP)" : "right");
	return bad;
}

static int has_cx16(void)
{
	unsigned int a, b, c, d;

	return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_CMPXCHG16B);
}

int main(int argc, char **argv)
{
	int bad = 0;

	if (argc < 2 || strcmp(argv[1], "--all")) {
		printf("KTAP version 1\n1..1\n");
		if (!has_cx16()) {
			printf("ok 1 cmpxchg16b: not offered by this CPU (CPUID CX16 clear): the kernel uses its fallback\n");
			return 0;
		}
		bad = check("cmpxchg16b", flags_after_cmpxchg16b());
		printf("%sok 1 cmpxchg16b: RFLAGS after it are right\n",
		       bad ? "not " : "");
		return bad;
	}
	bad |= check("cmpxchg16b", flags_after_cmpxchg16b());
	bad |= check("cmpxchg8b", flags_after_cmpxchg8b());
	return bad;
}
