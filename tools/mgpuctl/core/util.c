// SPDX-License-Identifier: GPL-2.0
/*
 * Errors, allocation, the root-directory override, value parsing and
 * checked sysfs reads and writes.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mgpuctl-core.h"

static char *mc_errmsg;
static struct mc_callbacks mc_cb;

void mc_set_callbacks(const struct mc_callbacks *cb)
{
	mc_cb = *cb;
}

void mc_log(enum mc_log_level level, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int ret;

	if (!mc_cb.log)
		return;
	va_start(ap, fmt);
	ret = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (ret < 0)
		return;
	mc_cb.log(level, s);
	free(s);
}

void mc_set_error(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	free(mc_errmsg);
	mc_errmsg = s;
}

const char *mc_last_error(void)
{
	return mc_errmsg ? mc_errmsg : "unknown error";
}

void mc_oom_fail(void)
{
	if (mc_cb.oom)
		mc_cb.oom();
	abort();
}

void *mc_xmalloc(size_t size)
{
	void *p = calloc(1, size ? size : 1);

	if (!p)
		mc_oom_fail();
	return p;
}

void *mc_xrealloc(void *p, size_t size)
{
	p = realloc(p, size ? size : 1);
	if (!p)
		mc_oom_fail();
	return p;
}

char *mc_xstrdup(const char *s)
{
	char *d = strdup(s ? s : "");

	if (!d)
		mc_oom_fail();
	return d;
}

char *mc_xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int ret;

	va_start(ap, fmt);
	ret = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (ret < 0)
		mc_oom_fail();
	return s;
}

/* ---- paths ---- */

static char *mc_root_dir;
static bool mc_root_init;

const char *mc_root(void)
{
	if (!mc_root_init) {
		const char *r = getenv("MGPUCTL_ROOT");
		size_t len;

		mc_root_init = true;
		mc_root_dir = mc_xstrdup(r ? r : "");
		len = strlen(mc_root_dir);
		while (len > 0 && mc_root_dir[len - 1] == '/')
			mc_root_dir[--len] = '\0';
	}
	return mc_root_dir;
}

bool mc_root_overridden(void)
{
	return mc_root()[0] != '\0';
}

/* mc_path("/sys/...") -> "$MGPUCTL_ROOT/sys/..." (malloc'd) */
char *mc_path(const char *fmt, ...)
{
	va_list ap;
	char *tail, *s;

	va_start(ap, fmt);
	if (vasprintf(&tail, fmt, ap) < 0)
		mc_oom_fail();
	va_end(ap);
	s = mc_xasprintf("%s%s", mc_root(), tail);
	free(tail);
	return s;
}

/* ---- values ---- */

int mc_parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s)
		return -EINVAL;
	while (isspace((unsigned char)*s))
		s++;
	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno)
		return -errno;
	while (isspace((unsigned char)*end))
		end++;
	if (*end)
		return -EINVAL;
	*out = v;
	return 0;
}

bool mc_uuid_valid(const char *s)
{
	size_t i;

	if (!s || strlen(s) != MC_UUID_LEN)
		return false;
	for (i = 0; i < MC_UUID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!isxdigit((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}

/* 0, or -EINVAL with the message */
int mc_uuid_check(const char *s)
{
	if (mc_uuid_valid(s))
		return 0;
	mc_set_error("\"%s\" is not a UUID (expected: xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)",
		     s ? s : "");
	return -EINVAL;
}

void mc_uuid_lower(char *s)
{
	for (; *s; s++)
		*s = tolower((unsigned char)*s);
}

int mc_uuid_generate(char out[MC_UUID_LEN + 1])
{
	unsigned char b[16];
	ssize_t got;

	got = getrandom(b, sizeof(b), 0);
	if (got != (ssize_t)sizeof(b)) {
		mc_set_error("cannot get random bytes for a UUID: %s",
			     strerror(errno));
		return -EIO;
	}
	b[6] = (b[6] & 0x0f) | 0x40;	/* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80;	/* RFC 4122 variant */
	snprintf(out, MC_UUID_LEN + 1,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
		 b[10], b[11], b[12], b[13], b[14], b[15]);
	return 0;
}

/* 268435456 -> "256M"; sizes that are not whole MiB stay in bytes/KiB */
char *mc_size_str(uint64_t b)
{
	if (b && !(b % (1ULL << 30)))
		return mc_xasprintf("%" PRIu64 "G", b >> 30);
	if (b && !(b % (1ULL << 20)))
		return mc_xasprintf("%" PRIu64 "M", b >> 20);
	if (b && !(b % (1ULL << 10)))
		return mc_xasprintf("%" PRIu64 "K", b >> 10);
	return mc_xasprintf("%" PRIu64, b);
}

/* ---- sysfs ---- */

bool mc_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* Whole file, trailing newlines removed. */
int mc_read_str(const char *path, char **out)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t cap = 0, len = 0, got;
	int err;

	if (!f) {
		err = errno;
		mc_set_error("cannot read %s: %s", path, strerror(err));
		return -err;
	}
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 4096;
			buf = mc_xrealloc(buf, cap + 1);
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	err = ferror(f) ? errno : 0;
	fclose(f);
	if (err) {
		free(buf);
		mc_set_error("cannot read %s: %s", path, strerror(err));
		return -err;
	}
	if (!buf)
		buf = mc_xmalloc(1);
	buf[len] = '\0';
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	*out = buf;
	return 0;
}

int mc_read_u64(const char *path, uint64_t *out)
{
	char *s;
	int ret;

	ret = mc_read_str(path, &s);
	if (ret)
		return ret;
	ret = mc_parse_u64(s, out);
	if (ret)
		mc_set_error("%s: \"%s\" is not a number", path, s);
	free(s);
	return ret;
}

int mc_write_str(const char *path, const char *val)
{
	size_t len = strlen(val);
	ssize_t done;
	int fd, err;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		mc_set_error("cannot open %s: %s%s", path, strerror(err),
			     err == EACCES ? " (fix: run as root)" : "");
		return -err;
	}
	done = write(fd, val, len);
	err = done < 0 ? errno : (size_t)done != len ? EIO : 0;
	if (close(fd) && !err)
		err = errno;
	if (err) {
		mc_set_error("writing \"%s\" to %s: %s", val, path, strerror(err));
		return -err;
	}
	return 0;
}

/* basename of a symlink's target, or NULL */
char *mc_readlink_base(const char *path)
{
	char *buf = NULL, *slash, *ret;
	size_t cap = 128;
	ssize_t n;

	for (;;) {
		buf = mc_xrealloc(buf, cap);
		n = readlink(path, buf, cap);
		if (n < 0) {
			free(buf);
			return NULL;
		}
		if ((size_t)n < cap)
			break;
		cap *= 2;
	}
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	ret = mc_xstrdup(slash ? slash + 1 : buf);
	free(buf);
	return ret;
}
