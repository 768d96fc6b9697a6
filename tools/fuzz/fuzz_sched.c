// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz target: the scheduling policy (kernel/sched.c, compiled
 * unchanged): periods, budgets, caps, weights, picks and charges, with
 * the clock and the queues' work under the input's control.
 *
 * Input: one byte of open vGPUs (1 to 8) and their types, then
 * operations (see LLVMFuzzerTestOneInput()).  The engine is simulated
 * as engine.c drives it: a picked vGPU runs for at most its run time
 * plus one step's overrun, then is charged.
 *
 * Oracle: the rules of the comment at the top of sched.c and of
 * Documentation/admin-guide.rst, in 128-bit arithmetic: a period is one
 * slice per open vGPU; a vGPU's part is the whole period (best_effort),
 * an equal or weighted share of it, never more than its cap; a budget
 * never exceeds the part; a pick runs a vGPU with work for at most a
 * slice, the first in round-robin order that may run.
 */
#include "fuzz.h"

#define MAX_VGPUS	8
/* Longest a step may overrun its run time: the watchdog's order. */
#define MAX_OVERRUN_NS	(100 * NSEC_PER_MSEC)

static struct mgpu_parent parent;
static struct mgpu_vgpu vgpus[MAX_VGPUS];
static bool has_work[MAX_VGPUS];
static unsigned int nr_vgpus, kicks;
static u64 now;

u64 ktime_get_ns(void)
{
	return now;
}

bool mgpu_queue_any_work(struct mgpu_vgpu *vgpu, unsigned int *hint)
{
	return has_work[vgpu - vgpus];
}

void mgpu_engine_kick(struct mgpu_parent *p)
{
	FUZZ_CHECK(p == &parent, "kick of another parent");
	kicks++;
}

/* The part of a period @v gets under the engine's policy. */
static u128 model_part(struct mgpu_engine *e, struct mgpu_vgpu *v)
{
	u128 part, total = 0, period;
	unsigned int i;

	period = (u128)e->slice_ns * nr_vgpus;
	for (i = 0; i < nr_vgpus; i++)
		total += e->policy == MGPU_SCHED_FIXED_SHARE ?
			 vgpus[i].weight : 1;
	if (e->policy == MGPU_SCHED_BEST_EFFORT)
		part = period;
	else
		part = period * (e->policy == MGPU_SCHED_FIXED_SHARE ?
				 v->weight : 1) / total;
	if (v->cap_pct && part > period * v->cap_pct / 100)
		part = period * v->cap_pct / 100;
	return part;
}

/* mgpu_sched_new_period() under the lock, checked against the model. */
static void new_period(struct mgpu_engine *e)
{
	s64 before[MAX_VGPUS];
	u128 part, sum = 0;
	unsigned int i;

	for (i = 0; i < nr_vgpus; i++)
		before[i] = vgpus[i].budget_ns;
	mutex_lock(&e->lock);
	mgpu_sched_new_period(e, now);
	mutex_unlock(&e->lock);

	FUZZ_CHECK(e->period_start == now, "period start");
	FUZZ_CHECK(e->period_ns == (u128)e->slice_ns * nr_vgpus,
		   "period %llu", (unsigned long long)e->period_ns);
	for (i = 0; i < nr_vgpus; i++) {
		part = model_part(e, &vgpus[i]);
		/* Debt is kept, unused time is not. */
		FUZZ_CHECK(vgpus[i].budget_ns ==
			   (before[i] < 0 ? (s64)(before[i] + (s64)part) :
			    (s64)part),
			   "vGPU %u budget %lld, part %llu, before %lld", i,
			   (long long)vgpus[i].budget_ns,
			   (unsigned long long)part, (long long)before[i]);
		sum += part;
	}
	/* Shares never add up to more than the period. */
	if (e->policy != MGPU_SCHED_BEST_EFFORT)
		FUZZ_CHECK(sum <= e->period_ns, "parts exceed the period");
}

static void pick(struct mgpu_engine *e, u8 overrun)
{
	struct mgpu_vgpu *order[MAX_VGPUS], *v, *found;
	u64 run_ns = 0, wait_ns = 0, left, ns, w;
	unsigned int n = 0, i, hint = 0;
	bool period_over, may, more;

	/* The round-robin order before the pick. */
	list_for_each_entry(v, &e->vgpus, engine_node)
		order[n++] = v;
	FUZZ_CHECK(n == nr_vgpus, "%u vGPUs on the list", n);
	period_over = !e->period_ns ||
		      (u128)now >= (u128)e->period_start + e->period_ns;

	found = mgpu_sched_pick(e, &hint, &run_ns, &wait_ns, &more);
	FUZZ_CHECK(!e->lock.locked, "engine lock left held");
	if (period_over)
		FUZZ_CHECK(e->period_start == now, "no new period");

	mutex_lock(&e->lock);
	for (i = 0; i < n; i++) {
		v = order[i];
		if (!has_work[v - vgpus])
			continue;
		/* May run: best_effort without a cap, or budget left. */
		may = (e->policy == MGPU_SCHED_BEST_EFFORT && !v->cap_pct) ||
		      v->budget_ns > 0;
		FUZZ_CHECK(!!mgpu_sched_run_ns(e, v) == may, "run_ns");
		if (may)
			break;
	}
	left = mgpu_sched_period_left(e, now);
	mutex_unlock(&e->lock);

	if (i == n) {
		FUZZ_CHECK(!found, "picked a vGPU that may not run");
		w = 0;
		for (i = 0; i < n; i++)
			w |= has_work[i];
		/* Throttled work waits for the next period, which comes. */
		FUZZ_CHECK(wait_ns == (w ? left : 0), "wait %llu, left %llu",
			   (unsigned long long)wait_ns,
			   (unsigned long long)left);
		FUZZ_CHECK(!w || wait_ns, "throttled work waits forever");
		now += wait_ns;
		return;
	}
	FUZZ_CHECK(found == order[i], "picked %td, not %td", found - vgpus,
		   order[i] - vgpus);
	FUZZ_CHECK(found->on_engine, "picked but not on the engine");
	/* One engine thread: nothing else to run it on. */
	FUZZ_CHECK(!more, "another thread asked for with one thread");
	FUZZ_CHECK(run_ns && run_ns <= e->slice_ns, "run_ns %llu",
		   (unsigned long long)run_ns);
	if (e->policy != MGPU_SCHED_BEST_EFFORT || found->cap_pct)
		FUZZ_CHECK(run_ns <= (u64)found->budget_ns, "beyond budget");
	FUZZ_CHECK(list_entry(e->vgpus.prev, struct mgpu_vgpu,
			      engine_node) == found, "not moved to the back");

	/* The engine runs it, overruns by up to a step, and charges it. */
	ns = run_ns + (u64)overrun * MAX_OVERRUN_NS / 255;
	now += ns;
	mgpu_sched_done(e, found);
	FUZZ_CHECK(!found->on_engine, "still on the engine after done");
	FUZZ_CHECK(!e->lock.locked, "engine lock left held");
}

static const char * const names[] = {
	"best_effort", "equal_share", "fixed_share", "best_effort\n",
	"fixed_share\n", "equal", "", "fixed_share\n\n", "Best_effort",
};

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct mgpu_engine *e = &parent.engine;
	size_t pos = 0;
	unsigned int i, k, util;
	u32 arg;
	int ret;
	u8 op;

	if (size < 2)
		return 0;
	memset(&parent, 0, sizeof(parent));
	memset(vgpus, 0, sizeof(vgpus));
	memset(has_work, 0, sizeof(has_work));
	kicks = 0;
	now = (u64)data[1] << 40;	/* the clock does not start at 0 */
	nr_vgpus = 1 + data[0] % MAX_VGPUS;
	pos = 2;

	for (i = 0; i < MGPU_NR_TYPES; i++) {
		parent.types[i].parent = &parent;
		parent.types[i].order = i;
	}
	e->parent = &parent;
	INIT_LIST_HEAD(&e->vgpus);
	mgpu_sched_init(e);
	/*
	 * One engine thread: the model below is the one-thread policy
	 * (several threads: mgpu_engines_test, Documentation/admin-guide.rst).
	 */
	e->nr_threads = 1;
	for (i = 0; i < nr_vgpus; i++) {
		vgpus[i].parent = &parent;
		vgpus[i].type = &parent.types[(data[0] / MAX_VGPUS + i) %
					      MGPU_NR_TYPES];
		mgpu_sched_vgpu_init(&vgpus[i]);
		FUZZ_CHECK(vgpus[i].weight ==
			   MGPU_UNITS >> vgpus[i].type->order, "weight");
		list_add_tail(&vgpus[i].engine_node, &e->vgpus);
		has_work[i] = true;
	}

	while (pos < size) {
		op = data[pos++];
		arg = 0;
		for (k = 0; k < 4 && pos < size; k++)
			arg |= (u32)data[pos++] << (8 * k);
		i = (op >> 4) % nr_vgpus;
		switch (op % 10) {
		case 0:	/* time passes: up to ~70 s */
			now += (u64)(arg & 0xffff) << ((arg >> 16) % 21);
			break;
		case 1:
			k = arg % ARRAY_SIZE(names);
			ret = mgpu_sched_set_policy(e, names[k]);
			FUZZ_CHECK(ret == (k < 5 ? 0 : -EINVAL),
				   "policy \"%s\": %d", names[k], ret);
			FUZZ_CHECK(ret || !strncmp(names[k],
						   mgpu_sched_policy_name(e),
						   strlen(names[k]) - (k > 2)),
				   "policy %s", mgpu_sched_policy_name(e));
			break;
		case 2:
			ret = mgpu_sched_set_slice(e, arg);
			if (arg >= 100 && arg <= 1000000)
				FUZZ_CHECK(!ret && e->slice_ns == arg * 1000ULL,
					   "slice %u us", arg);
			else
				FUZZ_CHECK(ret == -EINVAL, "slice %u us", arg);
			break;
		case 3:
			ret = mgpu_sched_set_weight(&vgpus[i], arg % 10002);
			FUZZ_CHECK(ret == (arg % 10002 && arg % 10002 <= 10000 ?
					   0 : -EINVAL), "weight %u",
				   arg % 10002);
			break;
		case 4:
			ret = mgpu_sched_set_cap(&vgpus[i], arg % 102);
			FUZZ_CHECK(ret == (arg % 102 <= 100 ? 0 : -EINVAL) &&
				   (ret || vgpus[i].cap_pct ==
				    (arg % 102 == 100 ? 0 : arg % 102)),
				   "cap %u", arg % 102);
			break;
		case 5:
			has_work[i] = !has_work[i];
			break;
		case 6:
		case 7:
			pick(e, (u8)arg);
			break;
		case 8:
			new_period(e);
			break;
		case 9:
			util = mgpu_sched_utilization(e, now);
			FUZZ_CHECK(util <= 100, "utilization %u%%", util);
			break;
		}
		FUZZ_CHECK(!e->lock.locked, "engine lock left held");
		FUZZ_CHECK(e->slice_ns >= 100 * NSEC_PER_USEC &&
			   e->slice_ns <= NSEC_PER_SEC, "slice");
		/* A budget never exceeds a whole period. */
		for (k = 0; k < nr_vgpus; k++)
			FUZZ_CHECK(vgpus[k].budget_ns <=
				   (s64)(e->slice_ns * nr_vgpus) ||
				   !e->period_ns, "budget %lld",
				   (long long)vgpus[k].budget_ns);
	}
	return 0;
}
