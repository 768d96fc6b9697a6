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
 *
 * Several engine threads (mgpu_engine.nr_threads = N) share one set of
 * periods and budgets: a period of P ns holds N x P ns of engine time,
 * and the parts are cut from that.  A vGPU runs on one thread at a time,
 * so no part may exceed P: when the largest weight would need more (a
 * weight of 4 of 7 is 57 % of two threads, more than one), every part
 * shrinks in proportion until the largest is P, and the remaining engine
 * time idles.  The shares of the engine time used stay those of the
 * weights.  Caps, utilization and engine_busy_ns count all N threads.
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
 * debt of an overrun but not unused time.  A vGPU that another engine
 * thread is running is charged its time so far first, so that the old
 * period pays for it and the new one only for what comes after.
 */
void mgpu_sched_new_period(struct mgpu_engine *e, u64 now)
{
	struct mgpu_vgpu *vgpu;
	u64 total = 0, n = 0, max_w = 1, scale;

	lockdep_assert_held(&e->lock);

	list_for_each_entry(vgpu, &e->vgpus, engine_node) {
		u64 w = e->policy == MGPU_SCHED_FIXED_SHARE ? vgpu->weight : 1;

		if (vgpu->on_engine && now > vgpu->run_start) {
			mgpu_sched_charge(e, vgpu, now - vgpu->run_start);
			vgpu->run_start = now;
		}
		total += w;
		max_w = max(max_w, w);
		n++;
	}
	e->period_start = now;
	e->period_ns = e->slice_ns * max_t(u64, n, 1);
	/*
	 * The engine time the parts are cut from is scale / max_w periods:
	 * N of them, unless the largest part would then exceed one period.
	 */
	scale = min_t(u64, (u64)e->nr_threads * max_w, max(total, 1ULL));

	list_for_each_entry(vgpu, &e->vgpus, engine_node) {
		u64 w = e->policy == MGPU_SCHED_FIXED_SHARE ? vgpu->weight : 1;
		s64 part;

		if (e->policy == MGPU_SCHED_BEST_EFFORT)
			part = e->period_ns;
		else
			part = div64_u64(div64_u64(e->period_ns * w, total) *
					 scale, max_w);
		if (vgpu->cap_pct)
			part = min_t(s64, part,
				     div_u64(e->period_ns * e->nr_threads *
					     vgpu->cap_pct, 100));
		part = min_t(s64, part, e->period_ns);
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
 * mgpu_sched_pick() - choose the vGPU an engine thread runs next
 * @e: the engine; its lock must not be held
 * @hint: MGPU_HINT_* bits of what an idle engine must keep watching
 * @run_ns: how long the chosen vGPU may run
 * @wait_ns: if nothing may run now but a vGPU with work waits for its
 *	share, how long until the next period; 0 otherwise
 * @more: set if another vGPU could run now too, on another thread
 *
 * Round robin over the open vGPUs with work that the policy lets run and
 * that no other thread runs (on several threads under equal_share and
 * fixed_share: the one with the most budget left, round robin among
 * equals); the chosen one goes to the back of the line and is the
 * calling thread's (on_engine) until mgpu_sched_done().
 * vGPUs another thread runs are skipped unlooked at: their queues belong
 * to that thread.  A vGPU whose lock is taken counts as having work
 * (mgpu_queue_any_work() only tries the lock), so one stuck vGPU never
 * holds up the pick, and ties up at most the thread that picks it.
 *
 * Return: the vGPU, or NULL when none may run now.
 */
struct mgpu_vgpu *mgpu_sched_pick(struct mgpu_engine *e, unsigned int *hint,
				  u64 *run_ns, u64 *wait_ns, bool *more)
{
	struct mgpu_vgpu *vgpu, *found = NULL;
	u64 now = ktime_get_ns();
	bool throttled = false, by_budget;

	*more = false;
	mutex_lock(&e->lock);
	if (!mgpu_sched_period_left(e, now))
		mgpu_sched_new_period(e, now);
	/*
	 * Shares on several threads: the vGPU with the most of its part
	 * left goes first (the least slack before the period ends), so
	 * that a part as long as the period runs all along on one thread
	 * and the others fill the remaining threads.
	 */
	by_budget = e->nr_threads > 1 && e->policy != MGPU_SCHED_BEST_EFFORT;
	list_for_each_entry(vgpu, &e->vgpus, engine_node) {
		u64 ns;

		if (vgpu->on_engine)
			continue;
		if (!mgpu_queue_any_work(vgpu, hint))
			continue;
		ns = mgpu_sched_run_ns(e, vgpu);
		if (!ns) {
			throttled = true;
			continue;
		}
		if (!found) {
			found = vgpu;
			*run_ns = ns;
			if (e->nr_threads == 1)
				break;
			continue;
		}
		/* Another thread may run one of them. */
		*more = true;
		if (!by_budget)
			break;
		if (vgpu->budget_ns > found->budget_ns) {
			found = vgpu;
			*run_ns = ns;
		}
	}
	*wait_ns = throttled && !found ? mgpu_sched_period_left(e, now) : 0;
	if (found) {
		/* The next pick starts after this one. */
		list_move_tail(&found->engine_node, &e->vgpus);
		WRITE_ONCE(found->on_engine, true);
		found->run_start = ktime_get_ns();
	}
	mutex_unlock(&e->lock);
	return found;
}

/**
 * mgpu_sched_done() - an engine thread gives a vGPU back
 * @e: the engine; its lock must not be held
 * @vgpu: the vGPU the thread picked
 *
 * Charges the rest of the run (since the pick, or since a new period
 * began during it) and lets any thread pick @vgpu again; the caller then
 * wakes those who wait for it to leave (mgpu_engine.idle_wq).
 */
void mgpu_sched_done(struct mgpu_engine *e, struct mgpu_vgpu *vgpu)
{
	u64 now = ktime_get_ns();

	mutex_lock(&e->lock);
	if (now > vgpu->run_start)
		mgpu_sched_charge(e, vgpu, now - vgpu->run_start);
	WRITE_ONCE(vgpu->on_engine, false);
	mutex_unlock(&e->lock);
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
 * Return: percent of the engine time of the last window (at least a
 * second, times the number of threads) that was busy.
 */
u32 mgpu_sched_utilization(struct mgpu_engine *e, u64 now)
{
	u32 util;

	mutex_lock(&e->lock);
	if (now - e->util_start >= NSEC_PER_SEC) {
		e->util_pct = min_t(u64, 100,
				    div64_u64((e->busy_ns - e->util_busy) * 100,
					      (now - e->util_start) *
					      e->nr_threads));
		e->util_start = now;
		e->util_busy = e->busy_ns;
	}
	util = e->util_pct;
	mutex_unlock(&e->lock);
	return util;
}
