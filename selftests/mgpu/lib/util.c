// SPDX-License-Identifier: GPL-2.0
/*
 * libmgpu_test: paths, time and a reproducible random stream.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdarg.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mgpu_test.h"

char *mgpu_test_path(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	MGPU_TEST_ASSERT_GE(n, 0);
	MGPU_TEST_ASSERT_LT((size_t)n, size);
	return buf;
}

bool mgpu_test_path_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

uint64_t mgpu_test_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

uint64_t mgpu_test_now_ms(void)
{
	return mgpu_test_now_ns() / 1000000;
}

void mgpu_test_sleep_ms(unsigned int ms)
{
	usleep(ms * 1000);
}

static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;

void mgpu_test_rnd_seed(uint64_t seed)
{
	rnd_state = seed ? seed : 0x9e3779b97f4a7c15ULL;
}

uint32_t mgpu_test_rnd(void)
{
	rnd_state ^= rnd_state >> 12;
	rnd_state ^= rnd_state << 25;
	rnd_state ^= rnd_state >> 27;
	return (uint32_t)((rnd_state * 0x2545f4914f6cdd1dULL) >> 32);
}

void mgpu_test_rnd_fill(void *p, size_t len)
{
	uint8_t *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		b[i] = (uint8_t)mgpu_test_rnd();
}

float mgpu_test_rnd_float(void)
{
	return (float)((int)(mgpu_test_rnd() % 2049) - 1024) / 512.0f;
}
