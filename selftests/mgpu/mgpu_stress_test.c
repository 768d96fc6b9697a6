// SPDX-License-Identifier: GPL-2.0
/*
 * Two threads create and remove instances of random types, sometimes
 * opening them in between, for a minute: capacity accounting must stay
 * exact (every create that succeeds is matched by a removal, nothing
 * fails but for lack of room) and the parent ends exactly empty, with no
 * VRAM left backed.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "mgpu_harness.h"
#include "libmgpu.h"

#define STRESS_SECONDS	60	/* the per-program timeout is 120 s */
/* MGPU_QUICK=1 (make check on all but the debug kernel): 15 s. */
#define STRESS_QUICK_SECONDS	15

struct stress {
	atomic_int stop;
	atomic_long creates;
	atomic_long removes;
	atomic_long failed;	/* unexpected errors */
};

static const char * const stress_types[] = {
	"mgpu-1_16", "mgpu-1_8", "mgpu-1_4", "mgpu-1_2", "mgpu-passthrough",
};

/* Create a random type; remove it (and, sometimes, open it in between). */
static void *stress_thread(void *arg)
{
	struct stress *st = arg;
	unsigned int seed = (unsigned int)(uintptr_t)&seed;
	char uuid[MGPU_UUID_BUF];
	int ret;

	while (!atomic_load(&st->stop)) {
		const char *type = stress_types[rand_r(&seed) % 5];

		if (mgpu_test_uuid_random(uuid)) {
			atomic_fetch_add(&st->failed, 1);
			continue;
		}
		ret = mgpu_test_create(mgpu_test_parent, type, uuid);
		if (ret == -ENOSPC)
			continue;	/* the other thread has the room */
		if (ret) {
			atomic_fetch_add(&st->failed, 1);
			continue;
		}
		atomic_fetch_add(&st->creates, 1);
		if (!(rand_r(&seed) % 8)) {
			struct mgpu_dev *dev;

			if (!mgpu_open_vfio(uuid, &dev))
				mgpu_close(dev);
			else
				atomic_fetch_add(&st->failed, 1);
		}
		if (mgpu_test_remove(uuid))
			atomic_fetch_add(&st->failed, 1);
		else
			atomic_fetch_add(&st->removes, 1);
	}
	return NULL;
}

/*
 * Two threads create and remove instances of random types for a minute:
 * every create that succeeds is matched by a removal, nothing fails but
 * for lack of room, and the parent ends exactly empty.
 */
FIXTURE(stress) {
	int unused;
};

FIXTURE_SETUP(stress)
{
	MGPU_REQUIRE_EMPTY_PARENT(mgpu_test_parent);
}

FIXTURE_TEARDOWN(stress)
{
}

TEST_F_TIMEOUT(stress, create_remove, STRESS_SECONDS + 50)
{
	const char *quick = getenv("MGPU_QUICK");
	int secs = quick && !strcmp(quick, "1") ? STRESS_QUICK_SECONDS :
		   STRESS_SECONDS;
	struct stress st = { 0 };
	pthread_t t[2];
	int i;

	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, stress_thread, &st));
	sleep(secs);
	atomic_store(&st.stop, 1);
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	TH_LOG("%ld creates, %ld removes in %d s", atomic_load(&st.creates),
	       atomic_load(&st.removes), secs);
	EXPECT_LT(0, atomic_load(&st.creates));
	EXPECT_EQ(atomic_load(&st.creates), atomic_load(&st.removes));
	EXPECT_EQ(0, atomic_load(&st.failed));
	EXPECT_PARENT_EMPTY(mgpu_test_parent);
}

MGPU_TEST_HARNESS_MAIN
