// SPDX-License-Identifier: GPL-2.0
/*
 * mgpuctl: manage mgpu parents, vGPU types and instances.
 *
 *   mgpuctl [OPTIONS] OBJECT COMMAND [ARGS]
 *
 * Objects and commands are matched exactly (no prefixes), from static
 * tables, as in iproute2: one file per object (parent.c, type.c, dev.c,
 * top.c, guest.c), all run through dispatch().  Everything printed goes
 * through the print layer (print.c), which renders text or, with -j,
 * JSON.  The core (core/) reports warnings through log_line(), never on
 * its own.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "mgpuctl.h"

#ifndef MGPUCTL_VERSION
#define MGPUCTL_VERSION "unknown"
#endif

/* ---- errors ---- */

int fail(int err)
{
	fprintf(stderr, "mgpuctl: %s\n", mc_last_error());
	switch (err) {
	case -ENOENT:
	case -ENODEV:
		return EXIT_NOTFOUND;
	case -ENXIO:
		return EXIT_NOMODULE;
	default:
		return EXIT_FAIL;
	}
}

int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("mgpuctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_USAGE;
}

/* The core's warnings and log lines: stderr, and syslog for autostart. */
static bool use_syslog;

void log_to_syslog(bool on)
{
	if (on)
		openlog("mgpuctl", LOG_PID, LOG_DAEMON);
	else
		closelog();
	use_syslog = on;
}

static void log_line(enum mc_log_level level, const char *msg)
{
	if (use_syslog)
		syslog(level == MC_LOG_INFO ? LOG_INFO :
		       level == MC_LOG_WARNING ? LOG_WARNING : LOG_ERR, "%s", msg);
	if (level == MC_LOG_WARNING)
		fprintf(stderr, "mgpuctl: warning: %s\n", msg);
	else if (level == MC_LOG_ERR)
		fprintf(stderr, "mgpuctl: %s\n", msg);
}

static void __attribute__((noreturn)) out_of_memory(void)
{
	fputs("mgpuctl: out of memory\n", stderr);
	exit(EXIT_FAIL);
}

/* ---- arguments ---- */

/*
 * "--name VALUE" or "--name=VALUE" at argv[*i]: 1 and *val set (and *i
 * advanced past VALUE), 0 if argv[*i] is another word, -1 if VALUE is
 * missing.
 */
int opt_value(int argc, char **argv, int *i, const char *name, const char **val)
{
	size_t len = strlen(name);
	const char *a = argv[*i];

	if (strncmp(a, name, len))
		return 0;
	if (a[len] == '=') {
		*val = a + len + 1;
		return 1;
	}
	if (a[len])
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*val = argv[++*i];
	return 1;
}

/*
 * opt_value() for "--name" or its mdevctl short form "-x" (NULL: none):
 * 1 (found), 0 (another word), or EXIT_USAGE after the message when
 * the value is missing.
 */
int opt_value2(int argc, char **argv, int *i, const char *name,
	       const char *shortname, const char *what, const char **val)
{
	int ret = opt_value(argc, argv, i, name, val);

	if (!ret && shortname)
		ret = opt_value(argc, argv, i, shortname, val);
	if (ret < 0) {
		usage_error("%s needs %s", argv[*i], what);
		return -EXIT_USAGE;
	}
	return ret;
}

/* Arguments that are only [--parent PARENT]. */
int opt_parent_only(int argc, char **argv, const char *object, const char **parent)
{
	int a, ret;

	for (a = 0; a < argc; a++) {
		ret = opt_value2(argc, argv, &a, "--parent", "-p", "a value", parent);
		if (ret < 0)
			return EXIT_USAGE;
		if (!ret)
			return usage_error("unknown argument \"%s\" (see: mgpuctl %s help)",
					   argv[a], object);
	}
	return 0;
}

/* The one UUID check of the command line: a usage error, or lower case. */
int arg_uuid(const char *arg, char uuid[MC_UUID_LEN + 1])
{
	if (mc_uuid_check(arg))
		return usage_error("%s", mc_last_error());
	snprintf(uuid, MC_UUID_LEN + 1, "%s", arg);
	mc_uuid_lower(uuid);
	return 0;
}

/* "COMMAND UUID" (or mdevctl's "COMMAND -u|--uuid UUID") */
int one_uuid(int argc, char **argv, const char *cmd, char uuid[MC_UUID_LEN + 1])
{
	const char *u = argc == 1 ? argv[0] : NULL;
	int a = 0;

	if (argc == 2 && opt_value2(argc, argv, &a, "--uuid", "-u", "a UUID", &u) != 1)
		u = NULL;
	if (!u)
		return usage_error("usage: mgpuctl dev %s UUID", cmd);
	return arg_uuid(u, uuid);
}

/* "COMMAND UUID": op(uuid), its error reported. */
int uuid_cmd(int argc, char **argv, const char *cmd, int (*op)(const char *uuid))
{
	char uuid[MC_UUID_LEN + 1];
	int ret = one_uuid(argc, argv, cmd, uuid);

	if (ret)
		return ret;
	ret = op(uuid);
	return ret ? fail(ret) : EXIT_OK;
}

void attrs_free(struct mc_attr *a, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(a[i].key);
	free(a);
}

/*
 * Every KEY=VALUE of argv checked against the settings table before
 * anything is written: out[i].key is the sysfs path (malloc'd),
 * out[i].value points into argv.
 */
int parse_settings(enum mc_scope scope, int argc, char **argv,
		   struct mc_attr **out, size_t *n)
{
	struct mc_attr *a = mc_xmalloc((argc + 1) * sizeof(*a));
	const char *val;
	int i;

	for (i = 0; i < argc; i++) {
		if (mc_setting_parse(scope, argv[i], &a[i].key, &val)) {
			attrs_free(a, i);
			return usage_error("%s", mc_last_error());
		}
		a[i].value = (char *)val;
	}
	*out = a;
	*n = argc;
	return 0;
}

/* ---- objects ---- */

static int object_help(const struct object *o, FILE *f)
{
	fputs(o->usage, f);
	return EXIT_OK;
}

static int dispatch(const struct object *o, int argc, char **argv)
{
	const struct cmd *c;

	if (argc < 1 || (argv[0][0] == '-' && argv[0][1]))
		return o->dflt(argc, argv);
	if (!strcmp(argv[0], "help"))
		return object_help(o, stderr);
	for (c = o->cmds; c && c->name; c++)
		if (!strcmp(c->name, argv[0]))
			return c->fn(argc - 1, argv + 1);
	object_help(o, stderr);
	return usage_error("unknown command \"%s\" for object \"%s\" (see: mgpuctl %s help)",
			   argv[0], o->name, o->name);
}

static const struct object *const objects[] = {
	&parent_object, &type_object, &dev_object, &top_object, &guest_object,
	NULL,
};

static void usage(FILE *f, bool full)
{
	const struct object *const *o;

	fputs("Usage: mgpuctl [OPTIONS] OBJECT COMMAND [ARGS]\n"
	      "where  OBJECT := { parent | type | dev | top | guest | help }\n"
	      "       OPTIONS := { -j[son] | -p[retty] | -V[ersion] | -h[elp] }\n"
	      "Run \"mgpuctl OBJECT help\" for an object's commands; see mgpuctl(8).\n", f);
	for (o = objects; full && *o; o++) {
		fputc('\n', f);
		object_help(*o, f);
	}
}

int main(int argc, char **argv)
{
	static const struct mc_callbacks cb = {
		.log = log_line,
		.oom = out_of_memory,
	};
	bool json = false, pretty = false;
	const struct object *const *o;
	int i;

	mc_set_callbacks(&cb);
	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--"))  {
			i++;
			break;
		}
		if (!strcmp(a, "-j") || !strcmp(a, "-json") || !strcmp(a, "--json")) {
			json = true;
			continue;
		}
		if (!strcmp(a, "-p") || !strcmp(a, "-pretty") || !strcmp(a, "--pretty")) {
			pretty = true;
			continue;
		}
		if (!strcmp(a, "-jp") || !strcmp(a, "-pj")) {
			json = pretty = true;
			continue;
		}
		if (!strcmp(a, "-V") || !strcmp(a, "-Version") || !strcmp(a, "--version")) {
			printf("mgpuctl %s\n", MGPUCTL_VERSION);
			return EXIT_OK;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "-help") || !strcmp(a, "--help")) {
			usage(stdout, true);
			return EXIT_OK;
		}
		usage(stderr, false);
		return usage_error("unknown option \"%s\"", a);
	}
	pr_init(json, pretty);
	if (i >= argc) {
		usage(stderr, false);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[i], "help")) {
		usage(stdout, true);
		return EXIT_OK;
	}
	for (o = objects; *o; o++)
		if (!strcmp((*o)->name, argv[i]))
			return dispatch(*o, argc - i - 1, argv + i + 1);
	usage(stderr, false);
	return usage_error("unknown object \"%s\"", argv[i]);
}
