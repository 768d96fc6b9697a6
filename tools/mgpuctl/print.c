// SPDX-License-Identifier: GPL-2.0
/*
 * The print layer: every command prints through these calls, which
 * render either text (the printf-style format, NULL: nothing) or JSON
 * (the key and the value; the format is ignored).  JSON is built as a
 * json-c tree and printed by pr_end(); -p indents it.  Text-only
 * decoration goes through pr_text(), which JSON mode drops.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <json-c/json.h>

#include "mgpuctl.h"

#define PR_MAX_DEPTH 32

static bool pr_is_json;
static bool pr_pretty;
static int pr_depth;
static struct json_object *pr_stack[PR_MAX_DEPTH];

void pr_init(bool json, bool pretty)
{
	pr_is_json = json;
	pr_pretty = pretty;
	pr_depth = 0;
}

bool pr_json(void)
{
	return pr_is_json;
}

/* Add a member (in an object) or an element (in an array). */
static void pr_add(const char *key, struct json_object *val)
{
	struct json_object *top;

	if (pr_depth < 1 || pr_depth > PR_MAX_DEPTH) {
		json_object_put(val);
		return;
	}
	top = pr_stack[pr_depth - 1];
	if (json_object_is_type(top, json_type_array))
		json_object_array_add(top, val);
	else
		json_object_object_add(top, key ? key : "", val);
}

static void pr_push(const char *key, struct json_object *c)
{
	if (pr_depth > 0)
		pr_add(key, json_object_get(c));
	if (pr_depth < PR_MAX_DEPTH)
		pr_stack[pr_depth] = c;
	else
		json_object_put(c);
	pr_depth++;
}

static void pr_pop(void)
{
	if (pr_depth > 0 && pr_depth <= PR_MAX_DEPTH && pr_depth > 1)
		json_object_put(pr_stack[pr_depth - 1]);
	pr_depth--;
}

void pr_begin(void)
{
	if (pr_is_json)
		pr_push(NULL, json_object_new_object());
}

void pr_end(void)
{
	if (pr_is_json && pr_depth == 1) {
		char *text = mc_json_text(pr_stack[0], pr_pretty);

		puts(text);
		free(text);
		json_object_put(pr_stack[0]);
		pr_depth = 0;
	}
	fflush(stdout);
}

void pr_obj_open(const char *key)
{
	if (pr_is_json)
		pr_push(key, json_object_new_object());
}

void pr_obj_close(void)
{
	if (pr_is_json)
		pr_pop();
}

void pr_arr_open(const char *key)
{
	if (pr_is_json)
		pr_push(key, json_object_new_array());
}

void pr_arr_close(void)
{
	if (pr_is_json)
		pr_pop();
}

void pr_string(const char *key, const char *fmt, const char *val)
{
	if (pr_is_json)
		pr_add(key, json_object_new_string(val ? val : ""));
	else if (fmt)
		printf(fmt, val ? val : "");
}

void pr_u64(const char *key, const char *fmt, uint64_t val)
{
	if (pr_is_json)
		pr_add(key, json_object_new_uint64(val));
	else if (fmt)
		printf(fmt, val);
}

void pr_int(const char *key, const char *fmt, long long val)
{
	if (pr_is_json)
		pr_add(key, json_object_new_int64(val));
	else if (fmt)
		printf(fmt, val);
}

void pr_bool(const char *key, const char *fmt, bool val)
{
	if (pr_is_json)
		pr_add(key, json_object_new_boolean(val));
	else if (fmt)
		printf(fmt, val ? "yes" : "no");
}

void pr_double(const char *key, const char *fmt, double val)
{
	char buf[64];

	if (pr_is_json) {
		if (isfinite(val)) {
			snprintf(buf, sizeof(buf), "%.2f", val);
			pr_add(key, json_object_new_double_s(val, buf));
		} else {
			pr_add(key, NULL);
		}
	} else if (fmt) {
		printf(fmt, val);
	}
}

void pr_null(const char *key, const char *fmt)
{
	if (pr_is_json)
		pr_add(key, NULL);
	else if (fmt)
		fputs(fmt, stdout);
}

/* A ready JSON value (taken over), e.g. a definition's. */
void pr_json_value(const char *key, struct json_object *val)
{
	if (pr_is_json)
		pr_add(key, val);
	else
		json_object_put(val);
}

void pr_text(const char *fmt, ...)
{
	va_list ap;

	if (pr_is_json)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}
