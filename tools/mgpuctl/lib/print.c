// SPDX-License-Identifier: GPL-2.0
/*
 * The print layer: every command prints through these calls, which
 * render either text (the printf-style format, NULL: nothing) or JSON
 * (the key and the value; the format is ignored).  -p indents the JSON.
 * Text-only decoration goes through pr_text(), which JSON mode drops.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "libmgpuctl.h"

#define PR_MAX_DEPTH 32

static bool pr_is_json;
static bool pr_pretty;
static int pr_depth;
static bool pr_first[PR_MAX_DEPTH];

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

void pr_json_string_to(void *file, const char *s)
{
	FILE *f = file;

	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = *s;

		switch (c) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		default:
			if (c < 0x20)
				fprintf(f, "\\u%04x", c);
			else
				fputc(c, f);
		}
	}
	fputc('"', f);
}

static void pr_indent(void)
{
	int i;

	if (!pr_pretty)
		return;
	putchar('\n');
	for (i = 0; i < pr_depth; i++)
		fputs("  ", stdout);
}

/* Separator and key of the next JSON member or element. */
static void pr_member(const char *key)
{
	if (pr_depth > 0 && pr_depth <= PR_MAX_DEPTH) {
		if (!pr_first[pr_depth - 1])
			putchar(',');
		pr_first[pr_depth - 1] = false;
	}
	pr_indent();
	if (key) {
		pr_json_string_to(stdout, key);
		fputs(pr_pretty ? ": " : ":", stdout);
	}
}

static void pr_push(char c)
{
	putchar(c);
	if (pr_depth < PR_MAX_DEPTH)
		pr_first[pr_depth] = true;
	pr_depth++;
}

static void pr_pop(char c)
{
	bool empty = pr_depth <= PR_MAX_DEPTH && pr_first[pr_depth - 1];

	pr_depth--;
	if (!empty)
		pr_indent();
	putchar(c);
}

void pr_begin(void)
{
	if (pr_is_json)
		pr_push('{');
}

void pr_end(void)
{
	if (pr_is_json) {
		pr_pop('}');
		putchar('\n');
	}
	fflush(stdout);
}

void pr_obj_open(const char *key)
{
	if (!pr_is_json)
		return;
	pr_member(key);
	pr_push('{');
}

void pr_obj_close(void)
{
	if (pr_is_json)
		pr_pop('}');
}

void pr_arr_open(const char *key)
{
	if (!pr_is_json)
		return;
	pr_member(key);
	pr_push('[');
}

void pr_arr_close(void)
{
	if (pr_is_json)
		pr_pop(']');
}

void pr_string(const char *key, const char *fmt, const char *val)
{
	if (pr_is_json) {
		pr_member(key);
		pr_json_string_to(stdout, val ? val : "");
	} else if (fmt) {
		printf(fmt, val ? val : "");
	}
}

void pr_u64(const char *key, const char *fmt, uint64_t val)
{
	if (pr_is_json) {
		pr_member(key);
		printf("%" PRIu64, val);
	} else if (fmt) {
		printf(fmt, val);
	}
}

void pr_int(const char *key, const char *fmt, long long val)
{
	if (pr_is_json) {
		pr_member(key);
		printf("%lld", val);
	} else if (fmt) {
		printf(fmt, val);
	}
}

void pr_bool(const char *key, const char *fmt, bool val)
{
	if (pr_is_json) {
		pr_member(key);
		fputs(val ? "true" : "false", stdout);
	} else if (fmt) {
		printf(fmt, val ? "yes" : "no");
	}
}

void pr_double(const char *key, const char *fmt, double val)
{
	if (pr_is_json) {
		pr_member(key);
		if (isfinite(val))
			printf("%.2f", val);
		else
			fputs("null", stdout);
	} else if (fmt) {
		printf(fmt, val);
	}
}

void pr_null(const char *key, const char *fmt)
{
	if (pr_is_json) {
		pr_member(key);
		fputs("null", stdout);
	} else if (fmt) {
		fputs(fmt, stdout);
	}
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
