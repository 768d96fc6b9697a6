// SPDX-License-Identifier: GPL-2.0
/*
 * mgpu_vfio_fuzz: live migration as a hostile VMM drives it.  Each call
 * is one short session: a state (valid or not, reachable or not), reads
 * of the saving fd (pre-copy info with any argsz), writes of garbage or
 * of a mutated piece of this thread's last saved stream into a resuming
 * fd, another state while the fd is open, I/O after the session ended;
 * and always back to RUNNING (a reset if the device went to ERROR), so
 * the other threads find a device that runs.
 */
#include "fuzz.h"
#include "vfio-compat.h"

#define FZ_MIG_BUF	(64 * 1024)

static __thread uint8_t fz_mig_buf[FZ_MIG_BUF];
static __thread size_t fz_mig_len;

/* A random state: the eight of the uAPI, mostly, or one that is not. */
static uint32_t rnd_state(struct fz_thread *t)
{
	return chance(t, 5) ? (uint32_t)rnd_val(t) : rn(t, 8);
}

static void mig_read(struct fz_thread *t, int dfd)
{
	size_t want = 1 + rn(t, FZ_MIG_BUF);
	ssize_t n;

	if (chance(t, 30)) {
		struct vfio_precopy_info info = { .argsz = sizeof(info) };

		if (chance(t, 20))
			info.argsz = rn(t, 64);
		ioctl(dfd, VFIO_MIG_GET_PRECOPY_INFO, &info);
	}
	n = read(dfd, fz_mig_buf, want);
	if (n > 0)
		fz_mig_len = n;
}

static void mig_write(struct fz_thread *t, int dfd)
{
	size_t len = fz_mig_len, done = 0;
	uint8_t buf[4096];

	if (!len || chance(t, 30)) {
		/* Garbage, or something shaped like a record header. */
		len = 1 + rn(t, sizeof(buf));
		for (size_t i = 0; i < len; i++)
			buf[i] = rnd(t);
		if (write(dfd, buf, len) < 0)
			return;
		return;
	}
	if (chance(t, 50)) {
		unsigned int flips = 1 + rn(t, 4);

		while (flips--)
			fz_mig_buf[rn(t, len)] ^= 1u << rn(t, 8);
	}
	if (chance(t, 30))
		len = rn(t, len);
	while (done < len) {
		size_t n = 1 + rn(t, len - done);
		ssize_t w = write(dfd, fz_mig_buf + done, n);

		if (w <= 0)
			break;
		done += w;
	}
}

int op_migrate(struct fz_thread *t, struct fz_inst *in, struct fz_rec *r)
{
	uint32_t state = rnd_state(t);
	int dfd, dfd2, ret;

	r->a = state;
	ret = vfio_mig_set(in->fd, state, &dfd);
	if (!ret && dfd >= 0) {
		if (state == VFIO_DEVICE_STATE_RESUMING)
			mig_write(t, dfd);
		else
			mig_read(t, dfd);
		/* Another state with the session open, then its fd again. */
		if (chance(t, 50)) {
			r->b = rnd_state(t);
			if (!vfio_mig_set(in->fd, r->b, &dfd2) && dfd2 >= 0)
				close(dfd2);
			if (r->b == VFIO_DEVICE_STATE_RESUMING)
				mig_write(t, dfd);
			else
				mig_read(t, dfd);
		}
		close(dfd);
	}
	/* Leave it running for the others; ERROR needs a reset. */
	if (vfio_mig_set(in->fd, VFIO_DEVICE_STATE_RUNNING, &dfd2)) {
		r->c = 1;
		ioctl(in->fd, VFIO_DEVICE_RESET);
	} else if (dfd2 >= 0) {
		close(dfd2);
	}
	return ret;
}
