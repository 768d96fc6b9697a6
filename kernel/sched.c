// SPDX-License-Identifier: GPL-2.0
/*
 * Scheduling policy of a parent's engine: which vGPU runs next, and for
 * how long.  The engine (engine.c) executes; this file only decides, as
 * GVT-g splits sched_policy.c from scheduler.c.
 *
 * best_effort  work conserving round robin among the vGPUs with work;
 *              each runs up to one time slice at a time.
 * equal_share  time is cut in periods of (time slice x open vGPUs); each
 *              open vGPU may run for an equal part of every period,
 *              whether or not the others use theirs.  Unused time is
 *              lost (the engine idles), which isolates tenants.
 * fixed_share  as equal_share, with parts proportional to the vGPUs'
 *              weights (by default the type's size in 1/16 units).
 *
 * A vGPU that overruns its part (a step cannot be cut) pays the excess
 * from its next period; unused time is never saved up.  A per-vGPU cap
 * (percent of the engine) limits it under every policy.
 */
#include <linux/kernel.h>
#include <linux/math64.h>
#include <linux/string.h>
#include <linux/timekeeping.h>

#include "mgpu_drv.h"

static const char * const mgpu_sched_names[] = {
	[MGPU_SCHED_BEST_EFFORT]	= "best_effort",
	[MGPU_SCHED_EQUAL_SHARE]	= "equal_share",
	[MGPU_SCHED_FIXED_SHARE]	= "fixed_share",
};

/**
 * mgpu_sched_init() - default policy of a new engine
 * @e: the engine
 */
void mgpu_sched_init(struct mgpu_engine *e)
{
	e->policy = MGPU_SCHED_BEST_EFFORT;
	e->slice_ns = MGPU_SCHED_DEFAULT_SLICE_NS;
	e->period_start = 0;
	e->period_ns = 0;
}

/**
 * mgpu_sched_vgpu_init() - scheduling state of a new instance
 * @vgpu: the instance; its type is set
 */
void mgpu_sched_vgpu_init(struct mgpu_vgpu *vgpu)
{
	vgpu->weight = MGPU_UNITS >> vgpu->type->order;
	vgpu->cap_pct = 0;
	vgpu->budget_ns = 0;
}

/**
 * mgpu_sched_new_period() - start a scheduling period
 * @e: the engine; its lock held
 * @now: the time, ns
 *
 * Gives every open vGPU its part of the period (its budget), keeping the
 * debt of an overrun but not unused time.
 */
void mgpu_sched_new_period(struct mgpu_engine *e, u64 now)
{
	struct mgpu_vgpu *vgpu;
	u64 total = 0, n = 0;

	lockdep_assert_held(&e->lock);

	list_for_each_entry(vgpu, &e->vgpus, engine_node) {
		total += e->policy == MGPU_SCHED_FIXED_SHARE ? vgpu->weight : 1;
		n++;
	}
	e->period_start = now;
	e->period_ns = e->slice_ns * max_t(u64, n, 1);

	list_for_each_entry(vgpu, &e->vgpus, engine_node) {
		u64 w = e->policy == MGPU_SCHED_FIXED_SHARE ? vgpu->weight : 1;
		s64 part;

		if (e->policy == MGPU_SCHED_BEST_EFFORT)
			part = e->period_ns;
		else
			part = div64_u64(e->period_ns * w, total);
		if (vgpu->cap_pct)
			part = min_t(s64, part,
				     div_u64(e->period_ns * vgpu->cap_pct, 100));
		vgpu->budget_ns = min(vgpu->budget_ns + part, part);
	}
}

/**
 * mgpu_sched_period_left() - time until the next period
 * @e: the engine; its lock held
 * @now: the time, ns
 *
 * Return: ns until the current period ends; 0 if it has ended.
 */
u64 mgpu_sched_period_left(struct mgpu_engine *e, u64 now)
{
	lockdep_assert_held(&e->lock);

	if (!e->period_ns || now >= e->period_start + e->period_ns)
		return 0;
	return e->period_start + e->period_ns - now;
}

/**
 * mgpu_sched_run_ns() - how long @vgpu may run now
 * @e: the engine; its lock held
 * @vgpu: an open instance with work
 *
 * Return: ns it may run, 0 if it must wait for the next period.
 */
u64 mgpu_sched_run_ns(struct mgpu_engine *e, struct mgpu_vgpu *vgpu)
{
	lockdep_assert_held(&e->lock);

	if (e->policy == MGPU_SCHED_BEST_EFFORT && !vgpu->cap_pct)
		return e->slice_ns;
	if (vgpu->budget_ns <= 0)
		return 0;
	return min_t(u64, e->slice_ns, vgpu->budget_ns);
}

/**
 * mgpu_sched_pick() - choose the vGPU the engine runs next
 * @e: the engine; its lock must not be held
 * @hint: MGPU_HINT_* bits of what an idle engine must keep watching
 * @run_ns: how long the chosen vGPU may run
 * @wait_ns: if nothing may run now but a vGPU with work waits for its
 *	share, how long until the next period; 0 otherwise
 *
 * Round robin over the open vGPUs with work that the policy lets run;
 * the chosen one goes to the back of the line and becomes e->running.
 *
 * Return: the vGPU, or NULL when none may run now.
 */
struct mgpu_vgpu *mgpu_sched_pick(struct mgpu_engine *e, unsigned int *hint,
				  u64 *run_ns, u64 *wait_ns)
{
	struct mgpu_vgpu *vgpu, *found = NULL;
	u64 now = ktime_get_ns();
	bool throttled = false;

	mutex_lock(&e->lock);
	if (!mgpu_sched_period_left(e, now))
		mgpu_sched_new_period(e, now);
	list_for_each_entry(vgpu, &e->vgpus, engine_node) {
		if (!mgpu_queue_any_work(vgpu, hint))
			continue;
		*run_ns = mgpu_sched_run_ns(e, vgpu);
		if (*run_ns) {
			found = vgpu;
			break;
		}
		throttled = true;
	}
	*wait_ns = throttled ? mgpu_sched_period_left(e, now) : 0;
	if (found) {
		/* The next pick starts after this one. */
		list_move_tail(&found->engine_node, &e->vgpus);
		WRITE_ONCE(e->running, found);
	}
	mutex_unlock(&e->lock);
	return found;
}

/**
 * mgpu_sched_charge() - account engine time used by @vgpu
 * @e: the engine; its lock held
 * @vgpu: the instance
 * @ns: time it ran
 */
void mgpu_sched_charge(struct mgpu_engine *e, struct mgpu_vgpu *vgpu, u64 ns)
{
	lockdep_assert_held(&e->lock);

	vgpu->budget_ns -= ns;
	/* Read without a lock by sysfs (READ_ONCE). */
	WRITE_ONCE(vgpu->stats.busy_ns, vgpu->stats.busy_ns + ns);
	WRITE_ONCE(e->busy_ns, e->busy_ns + ns);
}

/* Restart the period so that a change takes effect at once. */
static void mgpu_sched_changed(struct mgpu_engine *e)
{
	lockdep_assert_held(&e->lock);
	e->period_ns = 0;
	mgpu_engine_kick(e->parent);
}

/**
 * mgpu_sched_policy_name() - name of the engine's policy
 * @e: the engine
 *
 * Return: "best_effort", "equal_share" or "fixed_share".
 */
const char *mgpu_sched_policy_name(struct mgpu_engine *e)
{
	return mgpu_sched_names[READ_ONCE(e->policy)];
}

/**
 * mgpu_sched_set_policy() - switch policy at runtime
 * @e: the engine
 * @name: a policy name
 *
 * Return: 0, or -EINVAL for an unknown name.
 */
int mgpu_sched_set_policy(struct mgpu_engine *e, const char *name)
{
	int i = sysfs_match_string(mgpu_sched_names, name);

	if (i < 0)
		return -EINVAL;
	mutex_lock(&e->lock);
	WRITE_ONCE(e->policy, i);
	mgpu_sched_changed(e);
	mutex_unlock(&e->lock);
	return 0;
}

/**
 * mgpu_sched_set_slice() - change the time slice at runtime
 * @e: the engine
 * @us: microseconds, MGPU_SCHED_MIN_SLICE_US to MGPU_SCHED_MAX_SLICE_US
 *
 * Return: 0, or -EINVAL when out of range.
 */
int mgpu_sched_set_slice(struct mgpu_engine *e, u32 us)
{
	if (us < MGPU_SCHED_MIN_SLICE_US || us > MGPU_SCHED_MAX_SLICE_US)
		return -EINVAL;
	mutex_lock(&e->lock);
	WRITE_ONCE(e->slice_ns, (u64)us * NSEC_PER_USEC);
	mgpu_sched_changed(e);
	mutex_unlock(&e->lock);
	return 0;
}

/**
 * mgpu_sched_set_weight() - change an instance's weight at runtime
 * @vgpu: the instance
 * @weight: 1 to MGPU_SCHED_MAX_WEIGHT
 *
 * Return: 0, or -EINVAL when out of range.
 */
int mgpu_sched_set_weight(struct mgpu_vgpu *vgpu, u32 weight)
{
	struct mgpu_engine *e = &vgpu->parent->engine;

	if (!weight || weight > MGPU_SCHED_MAX_WEIGHT)
		return -EINVAL;
	mutex_lock(&e->lock);
	WRITE_ONCE(vgpu->weight, weight);
	mgpu_sched_changed(e);
	mutex_unlock(&e->lock);
	return 0;
}

/**
 * mgpu_sched_set_cap() - limit an instance to a share of the engine
 * @vgpu: the instance
 * @pct: percent, 1 to 100; 0 removes the cap
 *
 * Return: 0, or -EINVAL when out of range.
 */
int mgpu_sched_set_cap(struct mgpu_vgpu *vgpu, u32 pct)
{
	struct mgpu_engine *e = &vgpu->parent->engine;

	if (pct > 100)
		return -EINVAL;
	mutex_lock(&e->lock);
	WRITE_ONCE(vgpu->cap_pct, pct == 100 ? 0 : pct);
	mgpu_sched_changed(e);
	mutex_unlock(&e->lock);
	return 0;
}

/**
 * mgpu_sched_utilization() - engine busy percent over the last second
 * @e: the engine
 * @now: the time, ns
 *
 * Return: percent of the last window (at least a second) the engine was
 * busy.
 */
u32 mgpu_sched_utilization(struct mgpu_engine *e, u64 now)
{
	u32 util;

	mutex_lock(&e->lock);
	if (now - e->util_start >= NSEC_PER_SEC) {
		e->util_pct = min_t(u64, 100,
				    div64_u64((e->busy_ns - e->util_busy) * 100,
					      now - e->util_start));
		e->util_start = now;
		e->util_busy = e->busy_ns;
	}
	util = e->util_pct;
	mutex_unlock(&e->lock);
	return util;
}
