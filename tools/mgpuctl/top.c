// SPDX-License-Identifier: GPL-2.0
/*
 * mgpuctl top: per-instance engine use, from two readings of the
 * instances' counters (busy_ns, commands, bytes, errors) an interval
 * apart.  In a terminal the view refreshes in place; with -j one
 * snapshot over one interval is printed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mgpuctl.h"

static volatile sig_atomic_t top_stop;

static void on_signal(int sig)
{
	top_stop = 1;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
	struct timespec ts = { .tv_sec = (time_t)s,
			       .tv_nsec = (long)((s - (time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) && errno == EINTR && !top_stop)
		;
}

static double rate(uint64_t a, uint64_t b, double secs)
{
	return b >= a && secs > 0 ? (b - a) / secs : 0;
}

static int top_once(const char *parent, double interval, bool clear, int iter)
{
	struct mc_stats *before;
	struct mc_parent *ps;
	struct mc_dev *d;
	size_t n, np, i;
	double t0, t1, secs;
	int ret;

	ret = mc_devs(MC_DEV_ACTIVE, parent, &d, &n);
	if (ret)
		return fail(ret);
	before = mc_xmalloc((n + 1) * sizeof(*before));
	t0 = mono_s();
	for (i = 0; i < n; i++)
		before[i] = d[i].stats;
	sleep_s(interval);
	t1 = mono_s();
	secs = t1 - t0;
	for (i = 0; i < n; i++)
		if (mc_dev_read_stats(d[i].path, &d[i].stats))
			d[i].stats = before[i];	/* removed meanwhile */
	if (mc_parents(parent, &ps, &np)) {
		np = 0;
		ps = NULL;
	}

	if (clear)
		fputs("\033[H\033[2J", stdout);
	pr_begin();
	pr_double("interval_s", NULL, secs);
	if (!pr_json()) {
		time_t now = time(NULL);
		char tbuf[32];

		strftime(tbuf, sizeof(tbuf), "%H:%M:%S", localtime(&now));
		printf("mgpuctl top - %s, %zu instance%s, interval %.1fs%s\n", tbuf, n,
		       n == 1 ? "" : "s", interval, iter ? "" : "");
	}
	pr_arr_open("parents");
	for (i = 0; i < np; i++) {
		pr_obj_open(NULL);
		pr_string("parent", "%s:", ps[i].name);
		pr_string("sched_policy", " policy %s", ps[i].sched_policy);
		pr_u64("utilization", " utilization %" PRIu64 "%%", ps[i].utilization);
		pr_text("\n");
		pr_obj_close();
	}
	pr_arr_close();
	pr_text("\n%-36s  %-8s  %-16s %6s %10s %12s %6s  %s\n", "UUID", "PARENT",
		"TYPE", "UTIL%", "CMDS/S", "BYTES/S", "ERRORS", "USERS");
	pr_arr_open("devices");
	for (i = 0; i < n; i++) {
		const struct mc_stats *a = &before[i], *b = &d[i].stats;
		double util = secs > 0 && b->busy_ns >= a->busy_ns ?
			      (b->busy_ns - a->busy_ns) / (secs * 1e7) : 0;
		size_t k;

		pr_obj_open(NULL);
		pr_string("uuid", "%-36s", d[i].uuid);
		pr_string("parent", "  %-8s", d[i].parent);
		pr_string("type", "  %-16s", d[i].type);
		pr_double("utilization", " %6.1f", util);
		pr_double("commands_per_s", " %10.0f", rate(a->commands, b->commands, secs));
		pr_double("bytes_per_s", " %12.0f", rate(a->bytes, b->bytes, secs));
		pr_u64("errors", " %6" PRIu64, b->errors);
		pr_u64("busy_ns", NULL, b->busy_ns);
		pr_u64("commands", NULL, b->commands);
		pr_u64("bytes", NULL, b->bytes);
		pr_u64("flops", NULL, b->flops);
		pr_text("  ");
		pr_arr_open("users");
		for (k = 0; k < d[i].nusers; k++) {
			pr_obj_open(NULL);
			pr_string("comm", k ? ",%s" : "%s", d[i].users[k].comm);
			pr_int("pid", "(%lld)", d[i].users[k].pid);
			pr_obj_close();
		}
		pr_arr_close();
		pr_text("\n");
		pr_obj_close();
	}
	pr_arr_close();
	pr_end();
	mc_parents_free(ps, np);
	mc_devs_free(d, n);
	free(before);
	return EXIT_OK;
}

static int top_run(int argc, char **argv)
{
	const char *parent = NULL, *v;
	double interval = 1.0;
	long iterations = -1;
	bool tty;
	int a, ret, it;

	for (a = 0; a < argc; a++) {
		char *end;

		ret = opt_value(argc, argv, &a, "-d", &v);
		if (!ret)
			ret = opt_value(argc, argv, &a, "--delay", &v);
		if (ret) {
			if (ret < 0)
				return usage_error("-d needs a value");
			errno = 0;
			interval = strtod(v, &end);
			if (errno || *end || !isfinite(interval) || interval < 0.05 ||
			    interval > 3600)
				return usage_error("-d %s: expected seconds from 0.05 to 3600", v);
			continue;
		}
		ret = opt_value(argc, argv, &a, "-n", &v);
		if (!ret)
			ret = opt_value(argc, argv, &a, "--iterations", &v);
		if (ret) {
			uint64_t x;

			if (ret < 0)
				return usage_error("-n needs a value");
			if (mc_parse_u64(v, &x) || x < 1 || x > 1000000000)
				return usage_error("-n %s: expected a positive count", v);
			iterations = (long)x;
			continue;
		}
		ret = opt_value(argc, argv, &a, "--parent", &parent);
		if (ret < 0)
			return usage_error("--parent needs a value");
		if (!ret)
			return usage_error("unknown argument \"%s\" (see: mgpuctl top help)", argv[a]);
	}
	ret = mc_mgpu_present();
	if (ret)
		return fail(ret);
	if (parent) {
		struct mc_parent *p;

		ret = mc_parent_get(parent, &p);
		if (ret)
			return fail(ret);
		mc_parents_free(p, 1);
	}
	if (pr_json())
		return top_once(parent, interval, false, 0);
	tty = isatty(STDOUT_FILENO);
	if (iterations < 0 && !tty)
		iterations = 1;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	for (it = 0; !top_stop && (iterations < 0 || it < iterations); it++) {
		ret = top_once(parent, interval, tty, it);
		if (ret)
			return ret;
	}
	return EXIT_OK;
}

const struct object top_object = {
	.name = "top",
	.dflt = top_run,
	.usage = "Usage: mgpuctl [-j] top [-d SECONDS] [-n ITERATIONS] [--parent PARENT]\n"
		 "       mgpuctl top help\n",
};
