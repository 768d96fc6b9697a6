// SPDX-License-Identifier: GPL-2.0
/*
 * A small JSON parser: enough for mdevctl's definition files (objects,
 * arrays, strings with escapes, numbers, true/false/null).  Strict: any
 * trailing garbage or malformed input is an error with an offset.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libmgpuctl.h"

struct jp {
	const char *s;
	const char *p;
	char *err;
	int depth;
};

static struct mc_json *jp_value(struct jp *jp);

static void jp_fail(struct jp *jp, const char *what)
{
	if (!jp->err)
		jp->err = mc_xasprintf("%s at offset %td", what, jp->p - jp->s);
}

static void jp_ws(struct jp *jp)
{
	while (*jp->p && isspace((unsigned char)*jp->p))
		jp->p++;
}

static void put_utf8(char **buf, size_t *len, unsigned int cp)
{
	char *b = *buf + *len;

	if (cp < 0x80) {
		b[0] = cp;
		*len += 1;
	} else if (cp < 0x800) {
		b[0] = 0xc0 | (cp >> 6);
		b[1] = 0x80 | (cp & 0x3f);
		*len += 2;
	} else {
		b[0] = 0xe0 | (cp >> 12);
		b[1] = 0x80 | ((cp >> 6) & 0x3f);
		b[2] = 0x80 | (cp & 0x3f);
		*len += 3;
	}
}

static char *jp_string(struct jp *jp)
{
	const char *start;
	size_t len = 0;
	char *out;
	unsigned int cp;
	int i;

	if (*jp->p != '"') {
		jp_fail(jp, "expected a string");
		return NULL;
	}
	start = ++jp->p;
	/* The decoded string is never longer than the encoded one. */
	while (*jp->p && *jp->p != '"') {
		if (*jp->p == '\\' && jp->p[1])
			jp->p++;
		jp->p++;
	}
	if (*jp->p != '"') {
		jp_fail(jp, "unterminated string");
		return NULL;
	}
	out = mc_xmalloc(jp->p - start + 4);
	jp->p = start;
	while (*jp->p != '"') {
		unsigned char c = *jp->p++;

		if (c < 0x20) {
			jp_fail(jp, "control character in a string");
			free(out);
			return NULL;
		}
		if (c != '\\') {
			out[len++] = c;
			continue;
		}
		c = *jp->p++;
		switch (c) {
		case '"': case '\\': case '/':
			out[len++] = c;
			break;
		case 'b':
			out[len++] = '\b';
			break;
		case 'f':
			out[len++] = '\f';
			break;
		case 'n':
			out[len++] = '\n';
			break;
		case 'r':
			out[len++] = '\r';
			break;
		case 't':
			out[len++] = '\t';
			break;
		case 'u':
			cp = 0;
			for (i = 0; i < 4; i++) {
				char h = *jp->p;

				if (!isxdigit((unsigned char)h)) {
					jp_fail(jp, "bad \\u escape");
					free(out);
					return NULL;
				}
				cp = cp * 16 + (isdigit((unsigned char)h) ? h - '0' :
						(tolower((unsigned char)h) - 'a' + 10));
				jp->p++;
			}
			if (!cp) {
				jp_fail(jp, "\\u0000 in a string");
				free(out);
				return NULL;
			}
			put_utf8(&out, &len, cp);
			break;
		default:
			jp_fail(jp, "bad escape");
			free(out);
			return NULL;
		}
	}
	jp->p++;
	out[len] = '\0';
	return out;
}

static struct mc_json *jp_new(enum mc_json_kind kind)
{
	struct mc_json *j = mc_xmalloc(sizeof(*j));

	j->kind = kind;
	return j;
}

static struct mc_json *jp_container(struct jp *jp, bool obj)
{
	struct mc_json *j = jp_new(obj ? MC_JSON_OBJ : MC_JSON_ARR);
	struct mc_json **tail = &j->child;
	char close = obj ? '}' : ']';

	if (++jp->depth > 64) {
		jp_fail(jp, "nested too deep");
		goto err;
	}
	jp->p++;
	jp_ws(jp);
	if (*jp->p == close) {
		jp->p++;
		jp->depth--;
		return j;
	}
	for (;;) {
		char *key = NULL;
		struct mc_json *v;

		jp_ws(jp);
		if (obj) {
			key = jp_string(jp);
			if (!key)
				goto err;
			jp_ws(jp);
			if (*jp->p != ':') {
				free(key);
				jp_fail(jp, "expected ':'");
				goto err;
			}
			jp->p++;
		}
		v = jp_value(jp);
		if (!v) {
			free(key);
			goto err;
		}
		v->key = key;
		*tail = v;
		tail = &v->next;
		jp_ws(jp);
		if (*jp->p == ',') {
			jp->p++;
			continue;
		}
		if (*jp->p == close) {
			jp->p++;
			break;
		}
		jp_fail(jp, obj ? "expected ',' or '}'" : "expected ',' or ']'");
		goto err;
	}
	jp->depth--;
	return j;
err:
	mc_json_free(j);
	return NULL;
}

static struct mc_json *jp_value(struct jp *jp)
{
	struct mc_json *j;
	const char *start;

	jp_ws(jp);
	switch (*jp->p) {
	case '{':
		return jp_container(jp, true);
	case '[':
		return jp_container(jp, false);
	case '"':
		j = jp_new(MC_JSON_STR);
		j->str = jp_string(jp);
		if (!j->str) {
			free(j);
			return NULL;
		}
		return j;
	}
	if (!strncmp(jp->p, "true", 4) || !strncmp(jp->p, "false", 5)) {
		j = jp_new(MC_JSON_BOOL);
		j->b = *jp->p == 't';
		jp->p += j->b ? 4 : 5;
		return j;
	}
	if (!strncmp(jp->p, "null", 4)) {
		jp->p += 4;
		return jp_new(MC_JSON_NULL);
	}
	start = jp->p;
	if (*jp->p == '-')
		jp->p++;
	if (!isdigit((unsigned char)*jp->p)) {
		jp_fail(jp, "unexpected character");
		return NULL;
	}
	while (isdigit((unsigned char)*jp->p) || *jp->p == '.' ||
	       *jp->p == 'e' || *jp->p == 'E' || *jp->p == '+' || *jp->p == '-')
		jp->p++;
	j = jp_new(MC_JSON_NUM);
	j->str = strndup(start, jp->p - start);
	if (!j->str)
		j->str = mc_xstrdup("0");
	return j;
}

struct mc_json *mc_json_parse(const char *text, char **err)
{
	struct jp jp = { .s = text, .p = text };
	struct mc_json *j;

	j = jp_value(&jp);
	if (j) {
		jp_ws(&jp);
		if (*jp.p) {
			jp_fail(&jp, "trailing characters");
			mc_json_free(j);
			j = NULL;
		}
	}
	if (!j) {
		if (!jp.err)
			jp_fail(&jp, "empty input");
		if (err)
			*err = jp.err;
		else
			free(jp.err);
	}
	return j;
}

const struct mc_json *mc_json_get(const struct mc_json *obj, const char *key)
{
	const struct mc_json *c;

	if (!obj || obj->kind != MC_JSON_OBJ)
		return NULL;
	for (c = obj->child; c; c = c->next)
		if (c->key && !strcmp(c->key, key))
			return c;
	return NULL;
}

void mc_json_free(struct mc_json *j)
{
	while (j) {
		struct mc_json *next = j->next;

		mc_json_free(j->child);
		free(j->key);
		free(j->str);
		free(j);
		j = next;
	}
}
