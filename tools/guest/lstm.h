/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The GEMM chain of one LSTM layer of a PTB-style word language model
 * (Zaremba et al.'s "small" configuration: batch 20, hidden 200), run on
 * an mgpu vGPU through libmgpu.  Shared by mgpu-guest (inside a guest)
 * and mgpu-lstm (host side through VFIO, or inside a guest).
 *
 * Per time step t:
 *   gates[B x 4H]  = x_t[B x I] . W_x[I x 4H]          (GEMM, beta = 0)
 *   gates         += h[B x H]   . W_h[H x 4H]          (GEMM, beta = 1)
 *   i,f,o = sigmoid, g = tanh of the gate blocks; c = f*c + i*g;
 *   h = o * tanh(c)                                     (on the CPU)
 *   logits[B x V]  = h[B x H]  . W_out[H x V]          (GEMM, in column
 *                    blocks of at most LSTM_VBLOCK, so that one command
 *                    stays well inside the engine's watchdog under TCG)
 * The logits GEMMs of step t run while the CPU waits for the gates of
 * step t+1 (same queue, in order).  Everything lives in VRAM.
 */
#ifndef MGPU_LSTM_H
#define MGPU_LSTM_H

#include <stdint.h>

#include "libmgpu.h"

#define LSTM_VBLOCK	2000

struct lstm_cfg {
	unsigned int batch;	/* B, 20 for PTB */
	unsigned int hidden;	/* H, 200 (small) */
	unsigned int input;	/* I, the embedding size, 200 */
	unsigned int vocab;	/* V, 10000 for PTB */
	unsigned int steps;	/* T, time steps (PTB: 20 per BPTT window) */
	int verify;		/* compare with a CPU reference */
	unsigned int verify_rows; /* ... for the first rows of the batch
				   * only (0: all); rows are independent
				   */
};

struct lstm_result {
	uint64_t ns;		/* wall time of the T steps */
	uint64_t flops;		/* GEMM operations issued (2 m n k each) */
	uint64_t commands;	/* GEMM commands issued */
	double max_err_h;	/* verify: max relative error of h after T */
	double max_err_logits;	/* verify: ... of the last step's logits */
	char msg[160];		/* why it failed */
};

/* Defaults: the PTB small configuration. */
void lstm_default_cfg(struct lstm_cfg *cfg);

/* Bytes of VRAM lstm_run() needs for @cfg. */
uint64_t lstm_vram_bytes(const struct lstm_cfg *cfg);

/*
 * Run the T steps on @q.  Return: 0; a negative errno (libmgpu's) with
 * res->msg set; or 1 when verification failed (res->msg says where).
 */
int lstm_run(struct mgpu_dev *dev, struct mgpu_queue *q,
	     const struct lstm_cfg *cfg, struct lstm_result *res);

#endif
