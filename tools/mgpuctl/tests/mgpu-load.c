// SPDX-License-Identifier: GPL-2.0
/*
 * mgpu-load: a workload for the mgpuctl tests.  Opens an mgpu instance
 * through VFIO with libmgpu and keeps queue 0 busy with FILL commands
 * for SECONDS, with libmgpu_test's busy loop.
 *
 * usage: mgpu-load UUID SECONDS
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "libmgpu.h"
#include "mgpu_test.h"

#define FILL_BYTES	(256 * 1024)
#define FILL_BATCH	8

static int fail(const char *what, int err)
{
	fprintf(stderr, "mgpu-load: %s: %s %s\n", what, mgpu_strerror(err),
		mgpu_last_error());
	return 1;
}

int main(int argc, char **argv)
{
	struct mgpu_test_load load = { .batch = FILL_BATCH };
	struct mgpu_queue *q;
	struct mgpu_dev *dev;
	uint32_t code = 0;
	pthread_t thread;
	uint64_t dst;
	unsigned int i;
	int secs, ret;

	if (argc != 3) {
		fprintf(stderr, "usage: mgpu-load UUID SECONDS\n");
		return 2;
	}
	secs = atoi(argv[2]);
	ret = mgpu_open_vfio(argv[1], &dev);
	if (ret)
		return fail(argv[1], ret);
	ret = mgpu_queue_open(dev, 0, 0, 0, &q);
	if (ret)
		return fail("queue 0", ret);
	ret = mgpu_vram_alloc(dev, FILL_BYTES, 0, &dst);
	if (ret)
		return fail("VRAM", ret);
	load.q = q;
	for (i = 0; i < FILL_BATCH; i++)
		mgpu_cmd_fill(&load.cmds[i], dst, FILL_BYTES, 0x5a5a5a5a, 0);

	fprintf(stderr, "mgpu-load: %s: running FILLs for %ds\n", argv[1], secs);
	if (pthread_create(&thread, NULL, mgpu_test_load_run, &load))
		return fail("pthread_create", -EAGAIN);
	sleep(secs);
	load.stop = true;
	pthread_join(thread, NULL);
	if (load.err) {
		mgpu_queue_error(q, &code, NULL);
		fprintf(stderr, "mgpu-load: queue error %s\n",
			mgpu_queue_error_str(code));
		return fail("FILL stream", load.err);
	}
	mgpu_close(dev);
	fprintf(stderr, "mgpu-load: done (%llu commands)\n",
		(unsigned long long)load.done);
	return 0;
}
