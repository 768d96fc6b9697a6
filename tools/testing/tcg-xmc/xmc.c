// SPDX-License-Identifier: GPL-2.0
/*
 * Cross-modifying code between two threads, to measure whether the TCG
 * that runs this VM keeps stale translations: a writer thread rewrites
 * the 32-bit immediate of "mov eax, imm32; ret" in an RWX page and then
 * publishes the value; an executor thread reads the published value,
 * serializes (cpuid) and calls the function, which must return at least
 * that value.  A smaller result is a translation made from bytes that
 * were already overwritten, kept after the write: a stale TB.
 *
 * usage: xmc [SECONDS [keep|nokeep [apart|together]]]
 *   (default: 30 s of each of the four modes)
 *   keep: a second function on the same page stays translated, so the
 *   page stays write-protected and every write invalidates (the case
 *   QEMU 8.1's "accel/tcg: Always lock pages before translation" fixed);
 *   nokeep: f is the page's only code.
 *   apart: the writer on vCPU 0, the executor on vCPU 1 (cross-modifying
 *   code); together: both on vCPU 0, taking turns (self-modifying code
 *   of one process, as a nested QEMU pinned to one vCPU writes and runs
 *   its generated code).
 * One "# xmc" line per mode; exit status 1 if any call was stale.
 * scripts/tcg-xmc.sh runs it in the test VM.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <cpuid.h>

typedef uint32_t (*fn_t)(void);
static uint8_t *page;
static uint32_t seq;
static int stop;
static int exec_cpu = 1;

static void pin(int cpu)
{
	cpu_set_t s;

	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	if (sched_setaffinity(0, sizeof(s), &s)) {
		perror("sched_setaffinity");
		exit(2);
	}
}

static void *writer(void *arg)
{
	uint32_t v = 1;

	(void)arg;
	pin(0);
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		v++;
		__atomic_store_n((uint32_t *)(page + 4), v, __ATOMIC_SEQ_CST);
		__atomic_store_n(&seq, v, __ATOMIC_RELEASE);
		for (int i = 0; i < 50; i++)
			__asm__ __volatile__("" ::: "memory");
	}
	return NULL;
}

static int run(int secs, int keep, int apart)
{
	unsigned long iters = 0, stale = 0, maxlag = 0;
	unsigned int a, b, c, d;
	pthread_t w;
	time_t end;

	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	__atomic_store_n(&stop, 0, __ATOMIC_RELAXED);
	/* f at 0: nop; nop; nop; mov eax, imm32 (imm at 4, aligned); ret */
	memcpy(page, "\x90\x90\x90\xb8\x01\x00\x00\x00\xc3", 9);
	/* g at 2048: mov eax, 0x12345678; ret */
	memcpy(page + 2048, "\xb8\x78\x56\x34\x12\xc3", 6);
	seq = 1;
	exec_cpu = apart ? 1 : 0;
	pin(exec_cpu);
	if (pthread_create(&w, NULL, writer, NULL)) {
		perror("pthread_create");
		exit(2);
	}
	end = time(NULL) + secs;
	while (time(NULL) < end) {
		for (int k = 0; k < 1000; k++) {
			uint32_t s = __atomic_load_n(&seq, __ATOMIC_ACQUIRE);
			uint32_t r;

			__cpuid(0, a, b, c, d);
			if (keep && ((fn_t)(page + 2048))() != 0x12345678)
				stale += 1000000;
			r = ((fn_t)page)();
			iters++;
			if (r < s) {
				stale++;
				if (s - r > maxlag)
					maxlag = s - r;
			}
		}
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	pthread_join(w, NULL);
	printf("# xmc (%s, %s): %lu calls, %lu stale (largest lag %lu writes), %u writes\n",
	       keep ? "keep" : "nokeep", apart ? "apart" : "together",
	       iters, stale, maxlag, seq);
	fflush(stdout);
	munmap(page, 4096);
	return stale != 0;
}

int main(int argc, char **argv)
{
	int secs = argc > 1 ? atoi(argv[1]) : 30;

	if (argc > 2)
		return run(secs, strcmp(argv[2], "nokeep") != 0,
			   argc < 4 || strcmp(argv[3], "together") != 0);
	return run(secs, 1, 1) | run(secs, 0, 1) |
	       run(secs, 1, 0) | run(secs, 0, 0);
}
