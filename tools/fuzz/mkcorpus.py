#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Write the seed corpus of the fuzz targets: corpus/<target>/<name>.

A handful of valid and invalid inputs per target, named after what they
are.  Rerun after changing an input layout (see the fuzz_*.c headers).
usage: tools/fuzz/mkcorpus.py
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

NOP, FENCE, COPY, FILL, TIMESTAMP, GEMM, VEC, XENT = range(8)
F_IRQ, F_SRC_SYS, F_DST_SYS, F_INT8 = 1, 2, 4, 8
F_TRANS_A, F_TRANS_B, F_MEAN, F_SCALE = 16, 32, 64, 128
KIB, MIB, GIB = 1 << 10, 1 << 20, 1 << 30
U64 = (1 << 64) - 1


def cmd(vram, op, flags=0, args=(), dma_fail=0, unbacked=0, allocs=0):
    args = list(args) + [0] * (7 - len(args))
    return (struct.pack('<QII7Q', vram, op, flags, *args) +
            bytes([dma_fail, unbacked, allocs]))


def gemm(vram, flags, a, b, c, m, n, k, alpha=1, beta=0, reserved=(0, 0, 0),
         unbacked=0, simd=None, resume=None, finite=False):
    """simd: mgpu_gemm_simd; resume: (row, p) of a stream from before
    blocks of rows; finite: fp32 operands in (-1, 1)."""
    tail = b''
    if simd is not None or resume or finite:
        row, p = resume or (0, 0)
        tail = bytes([simd or 0, (1 if resume else 0) | (2 if finite else 0),
                      row, p])
    return (struct.pack('<QIIQQQ8I', vram, GEMM, flags, a, b, c, m, n, k,
                        alpha, beta, *reserved) + bytes([0, unbacked, 0]) +
            tail)


def vec(vram, op, x, y, z, n, alpha=0, flags=0, finite=False):
    """finite: x and y finite floats."""
    return (struct.pack('<QIIQQQ8I', vram, VEC, flags, x, y, z, n, op,
                        alpha, 0, 0, 0, 0, 0) + bytes([0, 0, 0, 0]) +
            bytes([2 if finite else 0, 0, 0]))


def xent(vram, flags, x, t, g, loss, m, n, finite=True):
    """finite: finite logits and targets in range."""
    return (struct.pack('<QIIQQQQ6I', vram, XENT, flags, x, t, g, loss, m,
                        n, 0, 0, 0, 0) + bytes([0, 0, 0, 0]) +
            bytes([2 if finite else 0, 0, 0]))


def claim(order):
    return bytes([order << 2])


def release(i):
    return bytes([2, i])


def avail(order):
    return bytes([(order << 2) | 3])


def ops(geometry, *steps):
    return bytes([geometry]) + b''.join(steps)


def sched_op(op, vgpu=0, arg=0):
    return bytes([op | vgpu << 4]) + struct.pack('<I', arg)


def time(ns, shift):
    return sched_op(0, 0, ns | shift << 16)


def policy(i):
    return sched_op(1, 0, i)


def slice(us):
    return sched_op(2, 0, us)


def weight(v, w):
    return sched_op(3, v, w)


def cap(v, pct):
    return sched_op(4, v, pct)


def work(v):
    return sched_op(5, v)


def pick(overrun):
    return sched_op(6, 0, overrun)


def new_period():
    return sched_op(8)


def util():
    return sched_op(9)


def sched(vgpus, clock, *steps):
    return bytes([vgpus, clock]) + b''.join(steps)


def cfg_op(kind, pos, length, data=b''):
    return struct.pack('<BHH', kind, pos, length) + data


def cfg(vram_shift, order, *steps):
    return bytes([vram_shift, order]) + b''.join(steps)


def reg_op(kind, pos, n, data=b''):
    return struct.pack('<BHB', kind, pos, n) + data


def reg_w32(pos, val):
    return reg_op(2, pos, 4, struct.pack('<I', val))


def regs(geometry, queues, *steps):
    return bytes([geometry, queues]) + b''.join(steps)


Q = 0x1000


def bar2(kind, a, b):
    return struct.pack('<BHH', kind, a, b)


CORPUS = {
    'cmd': {
        'nop': cmd(16 * KIB, NOP),
        'nop-bad-flag': cmd(16 * KIB, NOP, F_IRQ),
        'nop-bad-arg': cmd(16 * KIB, NOP, 0, [0, 0, 0, 0, 0, 0, 1]),
        'bad-opcode': cmd(16 * KIB, 0x99),
        'fence-vram-irq': cmd(16 * KIB, FENCE, F_IRQ, [8, 0x1234]),
        'fence-sys': cmd(16 * KIB, FENCE, F_DST_SYS, [0x1000, 7]),
        'fence-sys-dma-fail': cmd(16 * KIB, FENCE, F_DST_SYS, [0x1000, 7],
                                  dma_fail=1),
        'fence-last-word': cmd(16 * KIB, FENCE, 0, [16 * KIB - 8, 1]),
        'fence-past-end': cmd(16 * KIB, FENCE, 0, [16 * KIB, 1]),
        'fence-misaligned': cmd(16 * KIB, FENCE, 0, [4, 1]),
        'timestamp': cmd(4 * KIB, TIMESTAMP, 0, [64]),
        'timestamp-bad-arg': cmd(4 * KIB, TIMESTAMP, 0, [64, 1]),
        'copy-vram': cmd(16 * KIB, COPY, 0, [0, 8 * KIB, 8 * KIB]),
        'copy-untouched-src': cmd(16 * KIB, COPY, 0, [100, 9000, 6000],
                                  unbacked=0b0111),
        'copy-nomem': cmd(16 * KIB, COPY, F_SRC_SYS, [0, 5000, 9000],
                          unbacked=0b1110, allocs=2),
        'fill-nomem': cmd(16 * KIB, FILL, 0, [4096, 8192, 1],
                          unbacked=0b0110, allocs=1),
        'fence-untouched-nomem': cmd(4 * KIB, FENCE, F_IRQ, [64, 9],
                                     unbacked=1, allocs=1),
        'copy-overlap': cmd(16 * KIB, COPY, 0, [0, 4 * KIB, 8 * KIB]),
        'copy-to-sys': cmd(16 * KIB, COPY, F_DST_SYS, [100, 1 << 40, 999]),
        'copy-from-sys': cmd(16 * KIB, COPY, F_SRC_SYS, [1 << 40, 3, 5000]),
        'copy-sys-sys': cmd(16 * KIB, COPY, F_SRC_SYS | F_DST_SYS,
                            [1 << 32, 1 << 33, 9000], dma_fail=2),
        'copy-wrap': cmd(16 * KIB, COPY, 0, [U64 - 7, 0, 16]),
        'copy-big-vram': cmd(64 * GIB, COPY, 0, [0, 32 * GIB, 32 * GIB]),
        'fill': cmd(16 * KIB, FILL, 0, [4, 4096, 0xdeadbeef]),
        'fill-sys': cmd(16 * KIB, FILL, F_DST_SYS, [1 << 20, 12 * KIB,
                                                    0x01020304]),
        'fill-bad-pattern': cmd(16 * KIB, FILL, 0, [0, 4, 1 << 32]),
        'fill-misaligned': cmd(16 * KIB, FILL, 0, [2, 4, 0]),
        'gemm-f32': gemm(16 * KIB, 0, 0, 1024, 2048, 8, 8, 16,
                         0x3f800000, 0x3f000000),
        'gemm-i8': gemm(16 * KIB, F_INT8, 0, 1024, 4096, 17, 31, 40, 3, 2),
        'gemm-i8-one': gemm(16 * KIB, F_INT8, 12, 16, 20, 1, 1, 1, 5, 7),
        'gemm-i8-untouched': gemm(16 * KIB, F_INT8, 4000, 8100, 12000, 9,
                                  13, 70, 3, 2, unbacked=0b1010),
        'gemm-overlap': gemm(16 * KIB, 0, 0, 1024, 0, 8, 8, 8),
        'gemm-max-dim': gemm(64 * GIB, F_INT8, 0, 64 * MIB, 1 * GIB,
                             8192, 8192, 8192),
        'gemm-too-big': gemm(64 * GIB, 0, 0, 0, 0, 8193, 1, 1),
        'gemm-reserved': gemm(16 * KIB, 0, 0, 1024, 2048, 1, 1, 1,
                              reserved=(0, 0, 1)),
        'gemm-wrap': gemm(U64, 0, U64 - 3, 0, 1 << 40, 8192, 8192, 8192),
        # fp32 kernels (SSE2, AVX2, AVX-512) against the model's bits,
        # edges of the tiles, and resumption from an old stream's progress
        'gemm-f32-sse2': gemm(16 * KIB, 0, 0, 4096, 12288, 17, 37, 29,
                              0x3f400000, 0x3f400000, simd=1, finite=True),
        'gemm-f32-avx2': gemm(16 * KIB, 0, 0, 4096, 12288, 19, 33, 60,
                              0xbfc00000, 0x3f400000, simd=2, finite=True),
        'gemm-f32-avx512': gemm(16 * KIB, 0, 0, 4096, 12288, 33, 30, 20,
                                0x3f800000, 0, simd=3, finite=True),
        'gemm-f32-resume': gemm(16 * KIB, 0, 0, 4096, 12288, 17, 37, 29,
                                0x3f800000, 0x3f400000, resume=(5, 13),
                                finite=True),
        'gemm-i8-resume': gemm(16 * KIB, F_INT8, 0, 4096, 12288, 17, 37, 29,
                               3, 5, resume=(16, 28)),
        'gemm-f32-trans-a': gemm(16 * KIB, F_TRANS_A, 0, 4096, 12288, 17,
                                 37, 29, 0x3f800000, 0x3f400000,
                                 finite=True),
        'gemm-i8-trans-ab': gemm(16 * KIB, F_INT8 | F_TRANS_A | F_TRANS_B,
                                 0, 4096, 12288, 13, 9, 70, 3, 5),
        # VEC: every op; z on x; NaN-rich VRAM (not finite)
        'vec-add': vec(16 * KIB, 0, 0, 4096, 8192, 1000, finite=True),
        'vec-mul-nan': vec(16 * KIB, 1, 4, 4100, 8200, 999),
        'vec-sigmoid': vec(16 * KIB, 2, 0, 0, 8192, 1024, finite=True),
        'vec-tanh-inplace': vec(16 * KIB, 3, 64, 0, 64, 777, finite=True),
        'vec-dsigmoid': vec(16 * KIB, 4, 0, 4096, 8192, 33, finite=True),
        'vec-dtanh': vec(16 * KIB, 5, 0, 4096, 8192, 1, finite=True),
        'vec-axpy-on-y': vec(16 * KIB, 6, 0, 4096, 4096, 1000, 0xbf000000,
                             finite=True),
        'vec-overlap': vec(16 * KIB, 0, 0, 4096, 4, 1000),
        'vec-max': vec(1 << 40, 0, 0, 0, 0, 1 << 24),
        # XENT: per-row loss, the mean, g on x, bad targets
        'xent-rows': xent(16 * KIB, 0, 0, 8192, 4096, 12288, 7, 100),
        'xent-mean-scale': xent(16 * KIB, F_MEAN | F_SCALE, 0, 8192, 0,
                                12288, 30, 33),
        'xent-bad-target': xent(16 * KIB, 0, 0, 8192, 4096, 12288, 7, 100,
                                finite=False),
        'xent-max': xent(1 << 40, 0, 0, 1 << 36, 1 << 37, 1 << 38, 65536,
                         16384),
    },
    'cfg': {
        'read-all': cfg(4, 2, cfg_op(0, 0, 4096)),
        'size-bars': cfg(16, 0, cfg_op(3, 0, 0),
                         cfg_op(1, 0x10, 16, b'\xff' * 16),
                         cfg_op(0, 0x10, 24)),
        'command-status': cfg(0, 4, cfg_op(1, 4, 4, b'\xff\xff\xff\xff'),
                              cfg_op(0, 4, 4)),
        'flr': cfg(8, 1, cfg_op(1, 0x04, 2, b'\x06\x00'),
                   cfg_op(1, 0x48, 2, b'\x00\x80'), cfg_op(0, 0, 256)),
        'msi': cfg(3, 3, cfg_op(1, 0x82, 2, b'\x01\x00'),
                   cfg_op(1, 0x84, 12, bytes(range(1, 13))),
                   cfg_op(0, 0x80, 16)),
        'unaligned-across': cfg(5, 2, cfg_op(1, 0x3b, 0x20, bytes(range(32))),
                                cfg_op(2, 0xf0, 0x40, b'\xaa' * 64),
                                cfg_op(0, 0x3f, 0xc3)),
    },
    'regs': {
        'read-ids': regs(0, 4, reg_op(0, 0, 32), reg_op(0, 0x100, 20)),
        'scratch-narrow': regs(3, 2, reg_w32(0x18, 0x11223344),
                               reg_op(3, 0x19, 2, b'\xaa\xbb'),
                               reg_op(0, 0x17, 6)),
        'int-status-w1c': regs(1, 1, reg_w32(0x104, 0xffffffff),
                               reg_op(2, 0x101, 1, b'\xff'),
                               reg_op(0, 0x100, 8)),
        'queue-enable-doorbell': regs(10, 3, reg_w32(Q + 0x00, 0x1000),
                                      reg_w32(Q + 0x08, 16),
                                      reg_w32(Q + 0x0c, 1),
                                      reg_w32(Q + 0x14, 5),
                                      reg_op(6, 0, 0),
                                      reg_w32(Q + 0x14, 16),
                                      reg_op(0, Q, 48)),
        'queue-bad-ring': regs(0, 0, reg_w32(Q + 0x00, 0xfffc0),
                               reg_w32(Q + 0x08, 4), reg_w32(Q + 0x0c, 1),
                               reg_op(0, Q + 0x18, 12)),
        'queue-poll': regs(5, 8, reg_w32(Q + 0x40, 0),
                           reg_w32(Q + 0x48, 64),
                           reg_w32(Q + 0x64, 0x8000),
                           reg_w32(Q + 0x4c, 5),
                           reg_op(5, 3, 1), reg_op(6, 0, 0),
                           reg_op(2, Q + 0x4c, 2, b'\x00\x00'),
                           reg_op(7, 0, 0), reg_op(0, Q + 0x40, 48)),
    },
    'parent': {
        'empty': ops(0),
        'fill-1_16': ops(0x12, *[claim(4)] * 17, avail(4)),
        'passthrough-then-any': ops(0x3c, claim(0), claim(1), avail(4),
                                    release(0), claim(1), avail(0)),
        'fragmented': ops(0x05, *[claim(4)] * 16, *[release(2 * i)
                                                    for i in range(8)],
                          claim(1), avail(3), avail(4)),
        'mixed': ops(0x47, claim(1), claim(2), claim(3), claim(4), avail(1),
                     avail(2), release(1), claim(2), avail(3)),
    },
    'sched': {
        'best-effort': sched(0x1b, 0, pick(0), pick(0), pick(0), util()),
        'equal-share-throttle': sched(0x03, 0, policy(1), pick(0),
                                      pick(255), pick(0), pick(0),
                                      pick(0), time(1000, 20), util()),
        'fixed-share-weights': sched(0x22, 5, policy(2), weight(0, 1),
                                     weight(1, 10000), pick(10), pick(10),
                                     new_period(), pick(0), slice(100)),
        'caps': sched(0x04, 1, cap(0, 30), cap(1, 100), cap(2, 101),
                      policy(1), pick(0), work(0), pick(0), pick(0),
                      slice(1000000), slice(99), new_period()),
    },
    'vram': {
        'inside': struct.pack('<3Q', 16 * KIB, 0, 16 * KIB),
        'one-past': struct.pack('<3Q', 16 * KIB, 1, 16 * KIB),
        'empty-at-end': struct.pack('<3Q', 16 * KIB, 16 * KIB, 0),
        'wrap': struct.pack('<3Q', U64, U64, 1),
        'wrap-len': struct.pack('<3Q', 4096, 8, U64 - 7),
        'bar2-rw': struct.pack('<3Q', 0, 0, 0) + bytes([0x23]) +
        bar2(1, 100, 5000) + bar2(0, 0, 9000) + bar2(5, 0, 0) +
        bar2(0, 4000, 200),
        'bar2-mmap-fault': struct.pack('<3Q', 0, 0, 0) + bytes([0x07]) +
        bar2(1, 8192, 100) + bar2(2 | 0x10, 0x0105, 3) + bar2(3, 1, 0) +
        bar2(3, 2, 0) + bar2(4, 1, 0) + bar2(3, 0, 0),
        'bar2-mmap-rejected': struct.pack('<3Q', 0, 0, 0) + bytes([0x03]) +
        bar2(2, 0, 1) + bar2(2 | 0x30, 0, 1) + bar2(2 | 0x10, 0x0200, 2) +
        bar2(2 | 0x10, 0x0400, 0),
    },
}


def main():
    for target, inputs in CORPUS.items():
        d = os.path.join(HERE, 'corpus', target)
        os.makedirs(d, exist_ok=True)
        for name, data in inputs.items():
            with open(os.path.join(d, name), 'wb') as f:
                f.write(data)


if __name__ == '__main__':
    main()
