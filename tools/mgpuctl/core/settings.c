// SPDX-License-Identifier: GPL-2.0
/*
 * The settable attributes: one table for "parent set", "dev set", and
 * the attributes of "dev define" and "dev modify".  Each entry names the
 * attribute as the user gives it, the sysfs file it is written to
 * (relative to the parent's or the instance's sysfs directory, as
 * mdevctl's "attrs" keys are), the parser that checks a value before
 * anything is written, and the object it belongs to.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mgpuctl-core.h"

static int parse_number(const struct mc_setting *s, const char *val)
{
	uint64_t v;

	if (mc_parse_u64(val, &v)) {
		mc_set_error("%s=%s: not a number", s->name, val);
		return -EINVAL;
	}
	return 0;
}

static int parse_policy(const struct mc_setting *s, const char *val)
{
	if (strcmp(val, "best_effort") && strcmp(val, "equal_share") &&
	    strcmp(val, "fixed_share")) {
		mc_set_error("%s=%s: expected best_effort, equal_share or fixed_share",
			     s->name, val);
		return -EINVAL;
	}
	return 0;
}

static const struct mc_setting mc_settings[] = {
	{ "policy", "sched_policy", "sched_policy", parse_policy, MC_SCOPE_PARENT },
	{ "time_slice_us", NULL, "time_slice_us", parse_number, MC_SCOPE_PARENT },
	{ "weight", "mgpu/weight", "mgpu/weight", parse_number, MC_SCOPE_DEV },
	{ "cap", "mgpu/cap", "mgpu/cap", parse_number, MC_SCOPE_DEV },
	{ NULL },
};

static const char *const scope_names[] = {
	[MC_SCOPE_PARENT] = "parent",
	[MC_SCOPE_DEV] = "instance",
};

static bool name_is(const char *name, const char *key, size_t len)
{
	return name && strlen(name) == len && !strncmp(name, key, len);
}

/* The entry of a KEY (its first len bytes), by name, alias or sysfs path. */
const struct mc_setting *mc_setting_find(enum mc_scope scope, const char *key,
					 size_t len)
{
	const struct mc_setting *s;

	for (s = mc_settings; s->name; s++)
		if (s->scope == scope && (name_is(s->name, key, len) ||
					  name_is(s->alias, key, len) ||
					  name_is(s->sysfs, key, len)))
			return s;
	return NULL;
}

/*
 * Check one KEY=VALUE of scope: *key (malloc'd) is the sysfs path to
 * write, *val points into arg.  An instance key under mgpu/ that the
 * table does not know is passed on unchecked (a newer module's
 * attribute); the sysfs write checks it.
 */
int mc_setting_parse(enum mc_scope scope, const char *arg, char **key,
		     const char **val)
{
	const struct mc_setting *s;
	const char *eq = strchr(arg, '=');
	size_t len = eq ? (size_t)(eq - arg) : 0;
	char *names = NULL, *t;
	int ret;

	if (!eq || !len) {
		mc_set_error("\"%s\": expected KEY=VALUE", arg);
		return -EINVAL;
	}
	s = mc_setting_find(scope, arg, len);
	if (!s && scope == MC_SCOPE_DEV && len > 5 && !strncmp(arg, "mgpu/", 5) &&
	    !memmem(arg, len, "..", 2)) {
		*key = strndup(arg, len);
		*val = eq + 1;
		return *key ? 0 : -ENOMEM;
	}
	if (!s) {
		for (s = mc_settings; s->name; s++) {
			if (s->scope != scope)
				continue;
			t = mc_xasprintf("%s%s%s", names ? names : "",
					 names ? ", " : "", s->name);
			free(names);
			names = t;
		}
		mc_set_error("unknown %s attribute \"%.*s\" (expected: %s)",
			     scope_names[scope], (int)len, arg, names);
		free(names);
		return -EINVAL;
	}
	ret = s->parse(s, eq + 1);
	if (ret)
		return ret;
	*key = mc_xstrdup(s->sysfs);
	*val = eq + 1;
	return 0;
}
