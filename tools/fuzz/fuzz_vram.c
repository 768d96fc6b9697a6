// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzz target: mgpu_vram_range_ok() (kernel/vram.c, compiled unchanged)
 * against 128-bit arithmetic.
 *
 * Input: u64 VRAM size, u64 address, u64 length; zero-padded.
 */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	u64 in[3] = { 0 };
	bool ok, want;

	memcpy(in, data, min_t(size_t, size, sizeof(in)));
	ok = mgpu_vram_range_ok(in[0], in[1], in[2]);
	/* [addr, addr + len) inside [0, vram_size) */
	want = (u128)in[1] + in[2] <= in[0];
	FUZZ_CHECK(ok == want, "vram %#llx addr %#llx len %#llx: %d",
		   (unsigned long long)in[0], (unsigned long long)in[1],
		   (unsigned long long)in[2], ok);
	return 0;
}
