// SPDX-License-Identifier: GPL-2.0
/*
 * Create and remove costs: mgpu against the kernel's own mtty sample
 * (samples/vfio-mdev/mtty.c, built from Debian's linux-source by
 * scripts/build-mtty.sh), and mgpu's largest type against its smallest,
 * in the same VM, in interleaved rounds.
 *
 * Every round creates BENCH_CREATE_N instances of one kind one after the
 * other, then removes them (a type that fills the parent: one at a time,
 * BENCH_CREATE_N times); the kinds take turns round after round (A B
 * C A B C ...), after a warm-up round each, so that a slow phase of the
 * host hits every kind alike.  Each figure is the median over the rounds
 * of the per-round median time of one create (or remove), with the
 * spread (lowest and highest round).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "create.h"

#define MTTY_TYPES	"/sys/devices/virtual/mtty/mtty/mdev_supported_types"
#define MDEV_DEVICES	"/sys/bus/mdev/devices"

struct kind {
	const char *name;
	char create[256];
	int n;			/* instances alive at once (divides BENCH_CREATE_N) */
	double create_us[BENCH_CREATE_ROUNDS];
	double remove_us[BENCH_CREATE_ROUNDS];
};

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Write @str to @path; the time the write took in *@us.  0 or -errno. */
static int timed_write(const char *path, const char *str, double *us)
{
	int fd = open(path, O_WRONLY), ret = 0;
	double t0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	t0 = now_us();
	n = write(fd, str, strlen(str));
	*us = now_us() - t0;
	if (n < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static int random_uuid(char uuid[37])
{
	int fd = open("/proc/sys/kernel/random/uuid", O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, uuid, 36);
	close(fd);
	if (n != 36)
		return -EIO;
	uuid[36] = '\0';
	return 0;
}

/* Create @n instances of @k, then remove them; times into @c and @d. */
static int cycle(struct kind *k, int n, double *c, double *d)
{
	char uuid[BENCH_CREATE_N][37], path[128];
	int i, made, ret = 0;

	for (made = 0; made < n; made++) {
		ret = random_uuid(uuid[made]);
		if (!ret)
			ret = timed_write(k->create, uuid[made], &c[made]);
		if (ret) {
			fprintf(stderr, "create %s: %s\n", k->name,
				strerror(-ret));
			break;		/* remove what exists, then fail */
		}
	}
	for (i = 0; i < made; i++) {
		snprintf(path, sizeof(path), MDEV_DEVICES "/%.36s/remove",
			 uuid[i]);
		if (timed_write(path, "1", &d[i])) {
			fprintf(stderr, "remove %s: %s\n", k->name,
				strerror(errno));
			return -EIO;
		}
	}
	return ret;
}

/*
 * One round of @k: BENCH_CREATE_N creates and removes, as @k->n
 * instances at a time (one at a time for a type that fills the parent).
 */
static int round_of(struct kind *k, int r)
{
	double c[BENCH_CREATE_N], d[BENCH_CREATE_N];
	int i, ret;

	for (i = 0; i < BENCH_CREATE_N; i += k->n) {
		ret = cycle(k, k->n, c + i, d + i);
		if (ret)
			return ret;
	}
	if (r >= 0) {
		k->create_us[r] = median(c, BENCH_CREATE_N);
		k->remove_us[r] = median(d, BENCH_CREATE_N);
	}
	return 0;
}

static struct bench_create_fig fig(double *v, int n)
{
	struct bench_create_fig f;

	f.median_us = median(v, n);	/* sorts v */
	f.min_us = v[0];
	f.max_us = v[n - 1];
	return f;
}

/* Load the mtty sample from @ko unless it is there already. */
static int load_mtty(const char *ko)
{
	struct stat st;
	int fd, ret;

	if (!stat(MTTY_TYPES, &st))
		return 0;
	fd = open(ko, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, "", 0) ? -errno : 0;
	close(fd);
	return ret;
}

/**
 * bench_create_remove() - measure create and remove
 * @parent: the mgpu parent (it must be empty)
 * @mtty_ko: path of mtty.ko, loaded if needed
 * @res: the figures
 *
 * Return: 0, or a negative errno (a message on stderr says why).
 */
int bench_create_remove(const char *parent, const char *mtty_ko,
			struct bench_create_result *res)
{
	struct kind kinds[3] = {
		{ .name = "mgpu-1_16", .n = BENCH_CREATE_N },
		{ .name = "mtty-1", .n = BENCH_CREATE_N },
		{ .name = "mgpu-passthrough", .n = 1 },
	};
	int r, i, ret;

	ret = load_mtty(mtty_ko);
	if (ret) {
		fprintf(stderr, "mtty sample: cannot load %s: %s\n", mtty_ko,
			strerror(-ret));
		return ret;
	}
	snprintf(kinds[0].create, sizeof(kinds[0].create),
		 "/sys/class/mdev_bus/%s/mdev_supported_types/mgpu-1_16/create",
		 parent);
	snprintf(kinds[1].create, sizeof(kinds[1].create),
		 MTTY_TYPES "/mtty-1/create");
	snprintf(kinds[2].create, sizeof(kinds[2].create),
		 "/sys/class/mdev_bus/%s/mdev_supported_types/mgpu-passthrough/create",
		 parent);

	for (r = -1; r < BENCH_CREATE_ROUNDS; r++) {
		for (i = 0; i < 3; i++) {
			ret = round_of(&kinds[i], r);
			if (ret)
				return ret;
		}
	}
	res->mgpu_create = fig(kinds[0].create_us, BENCH_CREATE_ROUNDS);
	res->mgpu_remove = fig(kinds[0].remove_us, BENCH_CREATE_ROUNDS);
	res->mtty_create = fig(kinds[1].create_us, BENCH_CREATE_ROUNDS);
	res->mtty_remove = fig(kinds[1].remove_us, BENCH_CREATE_ROUNDS);
	res->big_create = fig(kinds[2].create_us, BENCH_CREATE_ROUNDS);
	res->big_remove = fig(kinds[2].remove_us, BENCH_CREATE_ROUNDS);
	return 0;
}
