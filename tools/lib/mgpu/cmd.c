// SPDX-License-Identifier: LGPL-2.1 OR GPL-2.0
/*
 * libmgpu command builders and synchronous helpers.
 */
#include <string.h>

#include "internal.h"

_Static_assert(sizeof(struct mgpu_cmd) == MGPU_CMD_SIZE,
	       "struct mgpu_cmd is not MGPU_CMD_SIZE bytes");
_Static_assert(sizeof(struct mgpu_cmd_gemm) == MGPU_CMD_SIZE,
	       "struct mgpu_cmd_gemm is not MGPU_CMD_SIZE bytes");
_Static_assert(sizeof(struct mgpu_cmd_vec) == MGPU_CMD_SIZE,
	       "struct mgpu_cmd_vec is not MGPU_CMD_SIZE bytes");
_Static_assert(sizeof(struct mgpu_cmd_xent) == MGPU_CMD_SIZE,
	       "struct mgpu_cmd_xent is not MGPU_CMD_SIZE bytes");

static uint32_t mgpu_f2u(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	return u;
}

MGPU_EXPORT void mgpu_cmd_nop(struct mgpu_cmd *cmd)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->opcode = MGPU_OP_NOP;
}

MGPU_EXPORT void mgpu_cmd_fence(struct mgpu_cmd *cmd, uint64_t addr,
				uint64_t value, uint32_t flags)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->opcode = MGPU_OP_FENCE;
	cmd->flags = flags;
	cmd->arg[0] = addr;
	cmd->arg[1] = value;
}

MGPU_EXPORT void mgpu_cmd_copy(struct mgpu_cmd *cmd, uint64_t dst,
			       uint64_t src, uint64_t bytes, uint32_t flags)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->opcode = MGPU_OP_COPY;
	cmd->flags = flags;
	cmd->arg[0] = src;
	cmd->arg[1] = dst;
	cmd->arg[2] = bytes;
}

MGPU_EXPORT void mgpu_cmd_fill(struct mgpu_cmd *cmd, uint64_t dst,
			       uint64_t bytes, uint32_t pattern,
			       uint32_t flags)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->opcode = MGPU_OP_FILL;
	cmd->flags = flags;
	cmd->arg[0] = dst;
	cmd->arg[1] = bytes;
	cmd->arg[2] = pattern;
}

MGPU_EXPORT void mgpu_cmd_timestamp(struct mgpu_cmd *cmd, uint64_t addr,
				    uint32_t flags)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->opcode = MGPU_OP_TIMESTAMP;
	cmd->flags = flags;
	cmd->arg[0] = addr;
}

static void mgpu_cmd_gemm(struct mgpu_cmd *cmd, uint32_t flags, uint64_t a,
			  uint64_t b, uint64_t c, uint32_t m, uint32_t n,
			  uint32_t k, uint32_t alpha, uint32_t beta)
{
	struct mgpu_cmd_gemm g = {
		.opcode = MGPU_OP_GEMM,
		.flags = flags,
		.a = a,
		.b = b,
		.c = c,
		.m = m,
		.n = n,
		.k = k,
		.alpha = alpha,
		.beta = beta,
	};

	memcpy(cmd, &g, sizeof(g));
}

MGPU_EXPORT void mgpu_cmd_gemm_f32(struct mgpu_cmd *cmd, uint64_t a,
				   uint64_t b, uint64_t c, uint32_t m,
				   uint32_t n, uint32_t k, float alpha,
				   float beta)
{
	mgpu_cmd_gemm(cmd, 0, a, b, c, m, n, k, mgpu_f2u(alpha),
		      mgpu_f2u(beta));
}

MGPU_EXPORT void mgpu_cmd_gemm_i8(struct mgpu_cmd *cmd, uint64_t a,
				  uint64_t b, uint64_t c, uint32_t m,
				  uint32_t n, uint32_t k, int32_t alpha,
				  int32_t beta)
{
	mgpu_cmd_gemm(cmd, MGPU_F_GEMM_INT8, a, b, c, m, n, k,
		      (uint32_t)alpha, (uint32_t)beta);
}

MGPU_EXPORT void mgpu_cmd_gemm_f32_trans(struct mgpu_cmd *cmd, uint32_t flags,
					 uint64_t a, uint64_t b, uint64_t c,
					 uint32_t m, uint32_t n, uint32_t k,
					 float alpha, float beta)
{
	mgpu_cmd_gemm(cmd, flags & (MGPU_F_GEMM_TRANS_A | MGPU_F_GEMM_TRANS_B),
		      a, b, c, m, n, k, mgpu_f2u(alpha), mgpu_f2u(beta));
}

MGPU_EXPORT void mgpu_cmd_vec(struct mgpu_cmd *cmd, uint32_t op, uint64_t x,
			      uint64_t y, uint64_t z, uint32_t n, float alpha)
{
	bool unary = op == MGPU_VEC_SIGMOID || op == MGPU_VEC_TANH;
	struct mgpu_cmd_vec v = {
		.opcode = MGPU_OP_VEC,
		.x = x,
		.y = unary ? 0 : y,
		.z = z,
		.n = n,
		.op = op,
		.alpha = op == MGPU_VEC_AXPY ? mgpu_f2u(alpha) : 0,
	};

	memcpy(cmd, &v, sizeof(v));
}

MGPU_EXPORT void mgpu_cmd_xent(struct mgpu_cmd *cmd, uint64_t x, uint64_t t,
			       uint64_t g, uint64_t loss, uint32_t m,
			       uint32_t n, uint32_t flags)
{
	struct mgpu_cmd_xent c = {
		.opcode = MGPU_OP_XENT,
		.flags = flags,
		.x = x,
		.t = t,
		.g = g,
		.loss = loss,
		.m = m,
		.n = n,
	};

	memcpy(cmd, &c, sizeof(c));
}

static int mgpu_run1(struct mgpu_queue *q, const struct mgpu_cmd *cmd)
{
	int ret = mgpu_submit(q, cmd, 1);

	return ret ? ret : mgpu_queue_sync(q, q->timeout_ms);
}

MGPU_EXPORT int mgpu_copy(struct mgpu_queue *q, uint64_t dst, uint64_t src,
			  uint64_t bytes, uint32_t flags)
{
	struct mgpu_cmd cmd;

	mgpu_cmd_copy(&cmd, dst, src, bytes, flags);
	return mgpu_run1(q, &cmd);
}

MGPU_EXPORT int mgpu_fill(struct mgpu_queue *q, uint64_t dst, uint64_t bytes,
			  uint32_t pattern, uint32_t flags)
{
	struct mgpu_cmd cmd;

	mgpu_cmd_fill(&cmd, dst, bytes, pattern, flags);
	return mgpu_run1(q, &cmd);
}

MGPU_EXPORT int mgpu_gemm_f32(struct mgpu_queue *q, uint64_t a, uint64_t b,
			      uint64_t c, uint32_t m, uint32_t n, uint32_t k,
			      float alpha, float beta)
{
	struct mgpu_cmd cmd;

	mgpu_cmd_gemm_f32(&cmd, a, b, c, m, n, k, alpha, beta);
	return mgpu_run1(q, &cmd);
}

MGPU_EXPORT int mgpu_gemm_i8(struct mgpu_queue *q, uint64_t a, uint64_t b,
			     uint64_t c, uint32_t m, uint32_t n, uint32_t k,
			     int32_t alpha, int32_t beta)
{
	struct mgpu_cmd cmd;

	mgpu_cmd_gemm_i8(&cmd, a, b, c, m, n, k, alpha, beta);
	return mgpu_run1(q, &cmd);
}
