// SPDX-License-Identifier: GPL-2.0
/*
 * libmgpu_test: the reference model.  What the parent's capacity must
 * be, and what a GEMM must compute.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <math.h>

#include "mgpu_test.h"

/* Mark the units of one instance used; -EUCLEAN if it breaks the model. */
static int model_place(const char *uuid, const struct mgpu_test_type *t,
		       uint64_t vram, bool used[16])
{
	uint64_t unit = vram / 16, off, size;
	int u;

	if (mgpu_test_instance_u64(uuid, "vram_offset", &off) ||
	    mgpu_test_instance_u64(uuid, "vram_size", &size)) {
		fprintf(stderr, "# model: %s: no mgpu/vram_offset or vram_size\n",
			uuid);
		return -EUCLEAN;
	}
	if (size != vram / t->denom || off % size || off + size > vram) {
		fprintf(stderr, "# model: %s (%s): offset %#llx size %#llx in %#llx bytes breaks placement\n",
			uuid, t->dir, (unsigned long long)off,
			(unsigned long long)size, (unsigned long long)vram);
		return -EUCLEAN;
	}
	for (u = off / unit; u < (int)((off + size) / unit); u++) {
		if (used[u]) {
			fprintf(stderr, "# model: %s overlaps another instance at unit %d\n",
				uuid, u);
			return -EUCLEAN;
		}
		used[u] = true;
	}
	return 0;
}

int mgpu_test_model_available(const char *parent,
			      int avail[MGPU_NUM_TYPES])
{
	bool used[16] = { false }, passthrough = false;
	char path[MGPU_PATH_MAX];
	int i, u, k, n = 0, ret;
	struct dirent *de;
	uint64_t vram;
	DIR *d;

	ret = mgpu_test_parent_u64(parent, "vram_size", &vram);
	if (ret)
		return ret;
	if (!(vram / 16) || vram % 16)
		return -EUCLEAN;

	for (i = 0; i < MGPU_NUM_TYPES; i++) {
		const struct mgpu_test_type *t = &mgpu_test_types[i];

		d = opendir(mgpu_test_path(path, sizeof(path),
					   "%s/%s/mdev_supported_types/%s/devices",
					   MGPU_PARENT_DIR, parent, t->dir));
		if (!d)
			return -errno;
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			n++;
			if (t->denom == 1)
				passthrough = true;
			ret = model_place(de->d_name, t, vram, used);
			if (ret) {
				closedir(d);
				return ret;
			}
		}
		closedir(d);
	}

	for (i = 0; i < MGPU_NUM_TYPES; i++) {
		unsigned int units = 16 / mgpu_test_types[i].denom;

		avail[i] = 0;
		if (passthrough)
			continue;
		if (mgpu_test_types[i].denom == 1) {
			avail[i] = n == 0;
			continue;
		}
		for (k = 0; k < 16; k += units) {
			bool free = true;

			for (u = k; u < k + (int)units; u++)
				free &= !used[u];
			avail[i] += free;
		}
	}
	return 0;
}

void mgpu_test_gemm_f32(const float *a, const float *b, float *c,
			uint32_t m, uint32_t n, uint32_t k, float alpha,
			float beta)
{
	uint32_t i, p, j;

	for (i = 0; i < m; i++) {
		float *ci = c + (size_t)i * n;

		for (j = 0; j < n; j++)
			ci[j] = beta != 0.0f ? beta * ci[j] : 0;
		for (p = 0; p < k; p++) {
			float ap = alpha * a[(size_t)i * k + p];
			const float *bp = b + (size_t)p * n;

			for (j = 0; j < n; j++)
				ci[j] += ap * bp[j];
		}
	}
}

void mgpu_test_gemm_i8(const int8_t *a, const int8_t *b, int32_t *c,
		       uint32_t m, uint32_t n, uint32_t k, int32_t alpha,
		       int32_t beta)
{
	uint32_t i, p, j, *ci;

	for (i = 0; i < m; i++) {
		ci = (uint32_t *)c + (size_t)i * n;
		for (j = 0; j < n; j++)
			ci[j] = beta ? (uint32_t)beta * ci[j] : 0;
		for (p = 0; p < k; p++) {
			uint32_t ap = (uint32_t)alpha * (uint32_t)a[(size_t)i * k + p];
			const int8_t *bp = b + (size_t)p * n;

			for (j = 0; j < n; j++)
				ci[j] += ap * (uint32_t)bp[j];
		}
	}
}

int mgpu_test_check_f32(const float *got, const float *a, const float *b,
			const float *c0, uint32_t m, uint32_t n, uint32_t k,
			float alpha, float beta, char *msg, size_t msglen)
{
	uint32_t i, j, p;
	int bad = 0;

	for (i = 0; i < m; i++)
		for (j = 0; j < n; j++) {
			double sum = 0, mag = 0, ref, tol, g;

			for (p = 0; p < k; p++) {
				double t = (double)a[(size_t)i * k + p] *
					   b[(size_t)p * n + j];

				sum += t;
				mag += fabs(t);
			}
			ref = (double)alpha * sum;
			mag *= fabs(alpha);
			if (beta != 0.0f) {
				ref += (double)beta * c0[(size_t)i * n + j];
				mag += fabs((double)beta * c0[(size_t)i * n + j]);
			}
			tol = (k + 2) * 1.2e-7 * mag + 1e-6;
			g = got[(size_t)i * n + j];
			if (!(fabs(g - ref) <= tol) && !bad++)
				snprintf(msg, msglen,
					 "C[%u][%u] = %.9g, expected %.9g (tol %.3g)",
					 i, j, g, ref, tol);
		}
	return bad;
}

int mgpu_test_exact_f32(const float *got, const float *a, const float *b,
			const float *c0, uint32_t m, uint32_t n, uint32_t k,
			float alpha, float beta, char *msg, size_t msglen)
{
	size_t i, len = (size_t)m * n;
	uint32_t x, y;
	float *ref;
	int bad = 0;

	ref = malloc(len * sizeof(*ref));
	if (!ref) {
		snprintf(msg, msglen, "out of memory");
		return -ENOMEM;
	}
	memcpy(ref, c0, len * sizeof(*ref));
	mgpu_test_gemm_f32(a, b, ref, m, n, k, alpha, beta);
	for (i = 0; i < len; i++) {
		memcpy(&x, &got[i], 4);
		memcpy(&y, &ref[i], 4);
		if (x != y && !(isnan(got[i]) && isnan(ref[i])) && !bad++)
			snprintf(msg, msglen,
				 "C[%zu][%zu] = %a (%#x), the model's %a (%#x)",
				 i / n, i % n, got[i], x, ref[i], y);
	}
	free(ref);
	return bad;
}

int mgpu_test_check_i8(const int32_t *got, const int8_t *a, const int8_t *b,
		       const int32_t *c0, uint32_t m, uint32_t n, uint32_t k,
		       int32_t alpha, int32_t beta, char *msg, size_t msglen)
{
	size_t i, len = (size_t)m * n;
	int32_t *ref;
	int bad = 0;

	ref = malloc(len * sizeof(*ref));
	if (!ref) {
		snprintf(msg, msglen, "out of memory");
		return -ENOMEM;
	}
	memcpy(ref, c0, len * sizeof(*ref));
	mgpu_test_gemm_i8(a, b, ref, m, n, k, alpha, beta);
	for (i = 0; i < len; i++)
		if (got[i] != ref[i] && !bad++)
			snprintf(msg, msglen, "C[%zu][%zu] = %d, expected %d",
				 i / n, i % n, got[i], ref[i]);
	free(ref);
	return bad;
}
