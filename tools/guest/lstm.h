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

/*
 * A whole training step of the PTB LSTM language model on the engine
 * (train.c): embedding lookup, L stacked LSTM layers, the softmax
 * cross-entropy loss over the vocabulary, backpropagation through the T
 * unrolled time steps, and the SGD update of every parameter, with every
 * tensor resident in VRAM and every operation an engine command
 * (GEMM, VEC, XENT, COPY, FILL).  One step is one submission (one
 * doorbell; none with the polled tail) ending in a FENCE to VRAM that
 * the program polls: no register access while the step runs.
 *
 * The corpus is a fixed synthetic one (a seeded Markov chain over the
 * vocabulary, 3 successors per word with probabilities 0.6/0.3/0.1, so
 * its entropy is 0.90 nats a word); the batch is B parallel streams of
 * it and the hidden state carries over from step to step (truncated
 * backpropagation, as Zaremba et al. train PTB).  With @reference set,
 * lstm_train_step() also runs the same step on the CPU in double
 * precision, starting from the parameters and state the device had
 * before the step, and compares the loss and the updated parameters.
 */
struct lstm_train;

struct lstm_train_cfg {
	unsigned int batch;	/* B, 20 */
	unsigned int hidden;	/* H, also the embedding size, 200 */
	unsigned int vocab;	/* V, 10000 */
	unsigned int steps;	/* T, time steps unrolled, 20 */
	unsigned int layers;	/* L, 2 */
	float lr;		/* SGD learning rate */
	unsigned int seed;	/* corpus and initial parameters */
	unsigned int queue;	/* the queue to use */
	int reference;		/* keep a CPU reference model */
	int irq;		/* completion by MSI (VFIO): one interrupt and
				 * one trap (its acknowledgement) a step,
				 * instead of polling the fence
				 */
};

struct lstm_step_result {
	uint64_t ns;		/* submission to the fence, wall time */
	uint64_t flops;		/* GEMM operations of the step (2 m n k) */
	uint64_t commands;	/* engine commands of the step */
	float loss;		/* mean cross-entropy a word, nats */
	double ref_loss;	/* the CPU reference's (with @reference) */
	double param_diff;	/* lstm_train_param_diff() after the step */
	double grad_diff;	/* lstm_train_grad_diff() after the step */
	unsigned int status_reads; /* registers read while waiting (traps) */
};

/* PTB small: B 20, H 200, V 10000, T 20, L 2, lr 1.0 (Zaremba et al.). */
void lstm_train_default_cfg(struct lstm_train_cfg *cfg);

/* Bytes of VRAM a model of @cfg needs. */
uint64_t lstm_train_vram_bytes(const struct lstm_train_cfg *cfg);

/*
 * Allocate the model in VRAM, initialise it (uniform in [-0.1, 0.1],
 * biases 0), open queue @cfg->queue (polled tail if the device has it)
 * with a ring that holds a whole step.  Return: 0, or a negative errno
 * with @msg saying why.
 */
int lstm_train_init(struct mgpu_dev *dev, const struct lstm_train_cfg *cfg,
		    struct lstm_train **tp, char *msg, size_t len);

/*
 * Run one training step on the next T words of each stream.  Return: 0,
 * or a negative errno (-EIO: the queue stopped; -ETIMEDOUT) with the
 * reason in lstm_train_error().
 */
int lstm_train_step(struct lstm_train *t, struct lstm_step_result *r);

/* Why the last call failed. */
const char *lstm_train_error(const struct lstm_train *t);

/*
 * With @reference: the largest difference between the parameters on the
 * device and the reference's, relative to 1 + |reference|: after a
 * step, the two updates of the same parameters compared.
 */
double lstm_train_param_diff(struct lstm_train *t);

/*
 * With @reference, after a step: the largest error of a gradient the
 * device computed (W_o, b_o, each layer's W_x, W_h, b; for E, the update
 * of its rows) against the reference's, relative to the largest
 * gradient of the same tensor.  Parameters are small updates of small
 * values, so lstm_train_param_diff() alone would not see a gradient
 * that is wrong; this does.
 */
double lstm_train_grad_diff(struct lstm_train *t);

void lstm_train_free(struct lstm_train *t);

#endif
