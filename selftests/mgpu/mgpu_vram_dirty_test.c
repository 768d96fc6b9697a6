// SPDX-License-Identifier: GPL-2.0
/*
 * VRAM dirty tracking, the record live migration reads: every write to
 * an instance's VRAM is recorded page by page, whoever makes it (the
 * guest's CPU through its BAR2 mapping, the VMM through region writes,
 * the engine's FILL/COPY/GEMM/fences, the DMA thread copying guest
 * memory in), nothing else is, and a write after the record was taken is
 * recorded again.  Driven through debugfs (mgpu/<uuid>/vram_dirty, see
 * kernel/debugfs.c).
 *
 * libmgpu keeps its own rings and fences in VRAM too: each test looks at
 * a window of pages that only it writes, and checks the record there
 * exactly.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/magic.h>
#include <linux/vfio.h>

#include "kselftest_harness.h"
#include "mgpu_engine.h"

#define PAGE		4096ULL
#define WIN_PAGES	64
#define DEBUGFS		"/sys/kernel/debug/mgpu"

FIXTURE(dirty) {
	struct eng_base b;
	struct mgpu_queue *q;
	uint64_t win;		/* VRAM offset of the window */
	char path[MGPU_PATH_MAX];
};

FIXTURE_SETUP(dirty)
{
	struct statfs fs;

	if (!eng_can_create(_metadata, "mgpu-1_8", 1))
		return;
	/* No debugfs is a reason to skip; no mgpu in it is a failure. */
	if (statfs("/sys/kernel/debug", &fs) || fs.f_type != DEBUGFS_MAGIC)
		SKIP(return, "debugfs is not mounted on /sys/kernel/debug");
	ASSERT_TRUE(mgpu_test_path_exists(DEBUGFS));
	eng_instance(_metadata, &self->b, 0, "mgpu-1_8", true);
	mgpu_test_path(self->path, sizeof(self->path), DEBUGFS "/%s/vram_dirty",
		       self->b.uuid[0]);
	self->q = qopen(_metadata, self->b.dev[0], 0, 0, 0);
	self->win = vram_get(_metadata, self->b.dev[0], WIN_PAGES * PAGE, PAGE);
}

FIXTURE_TEARDOWN_PARENT(dirty)
{
	eng_remove_all(&self->b.inst);
}

/* Write "on"/"off" to the tracking file: 0 or -errno. */
static int track(const char *path, const char *what)
{
	int fd = open(path, O_WRONLY);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, what, strlen(what)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/*
 * Take the record; the window's pages in @bits (bit i: page i of the
 * window).  Returns the number of recorded pages in the window, -1 if
 * tracking is off, -2 on an error or a line that does not parse.
 */
static int take(const char *path, uint64_t win, uint64_t *bits)
{
	uint64_t first_page = win / PAGE, a, b, p;
	char line[64];
	int n = 0;
	FILE *f;

	*bits = 0;
	f = fopen(path, "r");
	if (!f)
		return -2;
	while (fgets(line, sizeof(line), f)) {
		if (!strcmp(line, "off\n")) {
			n = -1;
			break;
		}
		if (sscanf(line, "%llu-%llu", (unsigned long long *)&a,
			   (unsigned long long *)&b) == 2) {
			if (b < a) {
				n = -2;
				break;
			}
		} else {
			char *end;

			a = strtoull(line, &end, 10);
			if (end == line || *end != '\n') {
				n = -2;
				break;
			}
			b = a;
		}
		for (p = a; p <= b; p++) {
			if (p >= first_page && p < first_page + WIN_PAGES) {
				*bits |= 1ULL << (p - first_page);
				n++;
			}
		}
	}
	fclose(f);
	return n;
}

static uint64_t bit(unsigned int page)
{
	return 1ULL << page;
}

/* Byte @off of window page @page, through the mapping: stores are made. */
static void poke(struct mgpu_dev *dev, uint64_t win, unsigned int page,
		 unsigned int off, uint8_t val)
{
	uint8_t *p = vptr(dev, win + page * PAGE + off);

	__atomic_store_n(p, val, __ATOMIC_RELAXED);
}

static uint8_t peek(struct mgpu_dev *dev, uint64_t win, unsigned int page,
		    unsigned int off)
{
	uint8_t *p = vptr(dev, win + page * PAGE + off);

	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

TEST_F_TIMEOUT(dirty, off_until_started, 60)
{
	uint64_t bits;

	EXPECT_EQ(-1, take(self->path, self->win, &bits));
	EXPECT_EQ(-EINVAL, track(self->path, "maybe"));
	EXPECT_EQ(-1, take(self->path, self->win, &bits));
}

/* Every writer is recorded; a read is not. */
TEST_F_TIMEOUT(dirty, every_writer, 60)
{
	struct mgpu_dev *dev = self->b.dev[0];
	uint64_t bits, off, size, v = self->win;
	uint32_t word = 0x5a5a5a5a;
	struct mgpu_dma d;
	unsigned int i;

	/* Map (and so enter) every page of the window before tracking. */
	for (i = 0; i < WIN_PAGES; i++)
		poke(dev, v, i, 0, i);
	ASSERT_EQ(0, track(self->path, "on"));
	ASSERT_EQ(0, take(self->path, v, &bits))
		TH_LOG("recorded %#llx", (unsigned long long)bits);

	/* The CPU through the mapping: pages 1 and 5; page 9 only read. */
	poke(dev, v, 1, 0, 0x11);
	poke(dev, v, 5, 4095, 0x55);
	EXPECT_EQ(9, peek(dev, v, 9, 0));
	/* The VMM through the region: page 12. */
	ASSERT_EQ(0, mgpu_vfio_region(dev, VFIO_PCI_BAR2_REGION_INDEX, &off,
				      &size));
	ASSERT_EQ(4, pwrite(mgpu_vfio_device_fd(dev), &word, 4,
			    off + v + 12 * PAGE + 8));
	/* The engine: FILL of pages 20-21, COPY from VRAM into page 24. */
	ASSERT_EQ(0, mgpu_fill(self->q, v + 20 * PAGE, 2 * PAGE, 0x12345678,
			       0));
	ASSERT_EQ(0, mgpu_copy(self->q, v + 24 * PAGE + 64, v + 1 * PAGE, 64,
			       0));
	/* The DMA thread: guest memory into page 30. */
	ASSERT_EQ(0, mgpu_dma_alloc(dev, PAGE, &d));
	memset(d.cpu, 0x3c, PAGE);
	ASSERT_EQ(0, mgpu_copy(self->q, v + 30 * PAGE, d.iova, PAGE,
			       MGPU_F_SRC_SYSMEM));
	/* A GEMM's result into page 40 (A, B: pages 42, 43). */
	ASSERT_EQ(0, mgpu_gemm_f32(self->q, v + 42 * PAGE, v + 43 * PAGE,
				   v + 40 * PAGE, 4, 4, 4, 1.0f, 0.0f));
	/* A fence into page 33. */
	{
		struct mgpu_cmd c;

		mgpu_cmd_fence(&c, v + 33 * PAGE + 16, 77, 0);
		ASSERT_EQ(0, run(self->q, &c, 1));
	}
	EXPECT_EQ(0, mgpu_dma_free(dev, &d));

	EXPECT_EQ(9, take(self->path, v, &bits));
	EXPECT_EQ(bit(1) | bit(5) | bit(12) | bit(20) | bit(21) | bit(24) |
		  bit(30) | bit(33) | bit(40), bits)
		TH_LOG("recorded %#llx", (unsigned long long)bits);
	/* The data is all there. */
	EXPECT_EQ(0x11, peek(dev, v, 1, 0));
	EXPECT_EQ(0x3c, peek(dev, v, 30, 100));
	EXPECT_EQ(77, load64(vptr(dev, v + 33 * PAGE + 16)));

	/* Taken: nothing is left... */
	EXPECT_EQ(0, take(self->path, v, &bits));
	/*
	 * ...and the pages were write-protected again: writes through the
	 * same mapping, to a page written before and to one only read, are
	 * recorded once more.
	 */
	poke(dev, v, 5, 0, 0x56);
	poke(dev, v, 9, 0, 0x99);
	poke(dev, v, 5, 0, 0x57);
	EXPECT_EQ(2, take(self->path, v, &bits));
	EXPECT_EQ(bit(5) | bit(9), bits);
	EXPECT_EQ(0x57, peek(dev, v, 5, 0));
	EXPECT_EQ(0, track(self->path, "off"));
}

/* Off: nothing recorded; on again: the record starts empty. */
TEST_F_TIMEOUT(dirty, restart, 60)
{
	struct mgpu_dev *dev = self->b.dev[0];
	uint64_t bits, v = self->win;

	ASSERT_EQ(0, track(self->path, "on"));
	poke(dev, v, 3, 0, 3);
	ASSERT_EQ(0, track(self->path, "off"));
	EXPECT_EQ(-1, take(self->path, v, &bits));
	poke(dev, v, 4, 0, 4);
	ASSERT_EQ(0, mgpu_fill(self->q, v + 6 * PAGE, PAGE, 6, 0));
	/* Page 3 stays writable in the mapping: "on" must protect it. */
	ASSERT_EQ(0, track(self->path, "on"));
	EXPECT_EQ(0, take(self->path, v, &bits))
		TH_LOG("recorded %#llx", (unsigned long long)bits);
	poke(dev, v, 3, 0, 33);
	EXPECT_EQ(1, take(self->path, v, &bits));
	EXPECT_EQ(bit(3), bits);
	EXPECT_EQ(0, track(self->path, "off"));
}

/* Tracking ends with the user: the next one starts untracked, zeroed. */
TEST_F_TIMEOUT(dirty, close_ends_tracking, 60)
{
	struct mgpu_dev *dev = self->b.dev[0];
	uint64_t bits, v = self->win;

	ASSERT_EQ(0, track(self->path, "on"));
	poke(dev, v, 2, 0, 2);
	mgpu_queue_close(self->q);
	self->q = NULL;
	eng_close_all(&self->b);
	EXPECT_EQ(-1, take(self->path, v, &bits));
	ASSERT_EQ(0, mgpu_open_vfio(self->b.uuid[0], &self->b.dev[0]));
	dev = self->b.dev[0];
	EXPECT_EQ(-1, take(self->path, v, &bits));
	EXPECT_EQ(0, peek(dev, v, 2, 0));
}

/*
 * A mapping mprotect()ed write-only (x86: still readable) while tracking
 * is on: a read must not fault forever (a PROT_NONE entry did, on
 * kernels without PAT), and the write is recorded.
 */
TEST_F_TIMEOUT(dirty, write_only_mapping, 60)
{
	struct mgpu_dev *dev = self->b.dev[0];
	uint64_t off, size, bits, v = self->win;
	int fd = mgpu_vfio_device_fd(dev);
	uint8_t *p;

	ASSERT_EQ(0, mgpu_vfio_region(dev, VFIO_PCI_BAR2_REGION_INDEX, &off,
				      &size));
	p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 off + v);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, mprotect(p, 4 * PAGE, PROT_WRITE));
	ASSERT_EQ(0, track(self->path, "on"));
	EXPECT_EQ(0, __atomic_load_n(p + PAGE, __ATOMIC_RELAXED));
	__atomic_store_n(p + 2 * PAGE, 0x22, __ATOMIC_RELAXED);
	EXPECT_EQ(1, take(self->path, v, &bits));
	EXPECT_EQ(bit(2), bits);
	EXPECT_EQ(0x22, peek(dev, v, 2, 0));
	EXPECT_EQ(0, track(self->path, "off"));
	munmap(p, 4 * PAGE);
}

/* Many writes from the CPU and the engine at once: none is lost. */
TEST_F_TIMEOUT(dirty, no_write_lost, 120)
{
	struct mgpu_dev *dev = self->b.dev[0];
	uint64_t bits, seen = 0, v = self->win;
	struct mgpu_cmd c;
	unsigned int round;

	ASSERT_EQ(0, track(self->path, "on"));
	for (round = 0; round < 50; round++) {
		unsigned int cpu = round % 32, eng = 32 + round % 32;

		mgpu_cmd_fill(&c, v + eng * PAGE, PAGE, round, 0);
		ASSERT_EQ(0, mgpu_submit(self->q, &c, 1));
		poke(dev, v, cpu, 0, round);
		/* Take the record while the FILL may still run. */
		ASSERT_LE(0, take(self->path, v, &bits));
		seen |= bits;
		ASSERT_EQ(0, mgpu_queue_sync(self->q, ENG_TIMEOUT_MS));
		ASSERT_LE(0, take(self->path, v, &bits));
		seen |= bits;
		EXPECT_NE(0, seen & bit(cpu)) TH_LOG("round %u", round);
		EXPECT_NE(0, seen & bit(eng)) TH_LOG("round %u", round);
		/* Nothing else. */
		EXPECT_EQ(0, seen & ~(bit(cpu) | bit(eng)))
			TH_LOG("round %u: %#llx recorded", round,
			       (unsigned long long)seen);
		seen = 0;
	}
	EXPECT_EQ(0, track(self->path, "off"));
}

MGPU_TEST_HARNESS_MAIN
