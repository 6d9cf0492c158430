"""Speed of convcalc's NumPy layer kernels against JAX on ResNet50/MobileNetV2-sized layers.

    python benchmarks/bench_kernels.py [--runs N] [--single-thread]

Each side runs in its own process (so neither's thread pool competes with the other's);
times are the median and the minimum of N runs after warm-up, in ms, with the ratio
NumPy / JAX of the medians. JAX runs the jitted ``lax`` op Keras's JAX backend calls.
``--single-thread`` limits both sides to one thread (OpenBLAS and XLA's Eigen pool),
which shows the kernels' own cost on a machine whose cores are busy with other work.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

# name, input shape, kernel shape (or pool window), stride, padding, kind
CASES: list[tuple[str, tuple[int, ...], tuple[int, ...], int, str, str]] = [
    ("conv 7x7/2 stem 224x224x3->64", (1, 224, 224, 3), (7, 7, 3, 64), 2, "same", "conv"),
    ("conv 3x3 56x56x64->64", (1, 56, 56, 64), (3, 3, 64, 64), 1, "same", "conv"),
    ("conv 1x1 56x56x256->64", (1, 56, 56, 256), (1, 1, 256, 64), 1, "valid", "conv"),
    ("conv 1x1/2 56x56x256->512", (1, 56, 56, 256), (1, 1, 256, 512), 2, "valid", "conv"),
    ("conv 3x3/2 56x56x128->128", (1, 56, 56, 128), (3, 3, 128, 128), 2, "same", "conv"),
    ("conv 3x3 14x14x256->256", (1, 14, 14, 256), (3, 3, 256, 256), 1, "same", "conv"),
    ("conv 3x3 7x7x512->512", (1, 7, 7, 512), (3, 3, 512, 512), 1, "same", "conv"),
    ("depthwise 3x3 112x112x96", (1, 112, 112, 96), (3, 3, 96, 1), 1, "same", "depthwise"),
    ("transpose 3x3/2 28x28x128->64", (1, 28, 28, 128), (3, 3, 64, 128), 2, "same",
     "transpose"),
    ("max pool 3x3/2 112x112x64", (1, 112, 112, 64), (3, 3), 2, "same", "max_pool"),
    ("avg pool 3x3/1 28x28x256", (1, 28, 28, 256), (3, 3), 1, "same", "avg_pool"),
]
SINGLE_THREAD = {
    "OPENBLAS_NUM_THREADS": "1",
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
}


def _time(fn: Any, runs: int) -> tuple[float, float]:
    for _ in range(3):
        fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3, min(times) * 1e3


def _numpy_op(kind: str, window: tuple[int, ...], stride: int, padding: str,
              shape: tuple[int, ...]) -> Any:
    """The kernel call of one case, as a function of (x, w)."""
    from convcalc import kernels as k

    strides, ones = (stride, stride), (1, 1)
    if kind == "transpose":
        tpads = [k.transpose_pads(n, stride, 1, padding, None) for n in window]
        return lambda x, w: k.conv_transpose(x, w, strides, ones, tpads)
    pads = k.window_pads(shape[1:3], window, strides, ones, padding)
    if kind == "conv":
        return lambda x, w: k.conv(x, w, strides, ones, pads)
    if kind == "depthwise":
        return lambda x, w: k.depthwise_conv(x, w, strides, ones, pads)
    if kind == "max_pool":
        return lambda x, w: k.max_pool(x, window, strides, pads)
    return lambda x, w: k.average_pool(x, window, strides, pads)


def worker_numpy(runs: int) -> dict[str, tuple[float, float]]:
    import numpy as np

    rng = np.random.default_rng(0)
    out = {}
    for name, shape, kshape, s, padding, kind in CASES:
        x = rng.standard_normal(shape, dtype=np.float32)
        w = rng.standard_normal(kshape, dtype=np.float32)
        op = _numpy_op(kind, kshape[:2], s, padding, shape)
        out[name] = _time(lambda x=x, w=w, op=op: op(x, w), runs)
    return out


def worker_jax(runs: int) -> dict[str, tuple[float, float]]:
    import jax
    import numpy as np

    lax = jax.lax
    rng = np.random.default_rng(0)
    dn = ("NHWC", "HWIO", "NHWC")
    out = {}
    for name, shape, kshape, s, padding, kind in CASES:
        x = jax.numpy.asarray(rng.standard_normal(shape, dtype=np.float32))
        w = jax.numpy.asarray(rng.standard_normal(kshape, dtype=np.float32))
        pad = padding.upper()
        strides = (s, s)
        if kind == "conv":
            f = jax.jit(lambda x, w, pad=pad, st=strides: lax.conv_general_dilated(
                x, w, st, pad, dimension_numbers=dn))
        elif kind == "depthwise":
            w = w.reshape(*kshape[:2], 1, kshape[2])
            f = jax.jit(lambda x, w, pad=pad, st=strides, g=kshape[2]: lax.conv_general_dilated(
                x, w, st, pad, dimension_numbers=dn, feature_group_count=g))
        elif kind == "transpose":
            f = jax.jit(lambda x, w, pad=pad, st=strides: lax.conv_transpose(
                x, w, st, pad, dimension_numbers=dn, transpose_kernel=True))
        elif kind == "max_pool":
            f = jax.jit(lambda x, w, pad=pad, st=strides: lax.reduce_window(
                x, -jax.numpy.inf, lax.max, (1, 3, 3, 1), (1, *st, 1), pad))
        else:  # as Keras: window sums over window counts
            f = jax.jit(lambda x, w, pad=pad, st=strides: _jax_average_pool(x, pad, st))
        out[name] = _time(lambda x=x, w=w, f=f: f(x, w).block_until_ready(), runs)
    return out


def _jax_average_pool(x: Any, pad: str, strides: tuple[int, int]) -> Any:
    """Keras's JAX average pooling: window sums over window counts."""
    import jax

    lax = jax.lax
    win, full = (1, 3, 3, 1), (1, *strides, 1)
    total = lax.reduce_window(x, 0.0, lax.add, win, full, pad)
    ones = jax.numpy.ones((1, *x.shape[1:3], 1), x.dtype)
    return total / lax.reduce_window(ones, 0.0, lax.add, win, full, pad)


def _spawn(side: str, runs: int, single: bool) -> dict[str, list[float]]:
    env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=str(ROOT))
    if single:
        env.update(SINGLE_THREAD)
    text = subprocess.run(
        [sys.executable, __file__, "--worker", side, "--runs", str(runs)],
        env=env, check=True, capture_output=True, text=True).stdout
    result: dict[str, list[float]] = json.loads(text.splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--single-thread", action="store_true")
    parser.add_argument("--worker", choices=("numpy", "jax"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker = worker_numpy if args.worker == "numpy" else worker_jax
        print(json.dumps(worker(args.runs)))
        return
    ours = _spawn("numpy", args.runs, args.single_thread)
    theirs = _spawn("jax", args.runs, args.single_thread)
    threads = "one thread each" if args.single_thread else "default threads"
    print(f"median / min of {args.runs} runs, ms ({threads}, {os.cpu_count()} CPUs)")
    print(f"{'layer':34s} {'numpy':>15s} {'jax':>15s} {'ratio':>6s}")
    for name, *_ in CASES:
        (a, a_min), (b, b_min) = ours[name], theirs[name]
        print(f"{name:34s} {a:7.2f} /{a_min:6.2f} {b:7.2f} /{b_min:6.2f} {a / b:6.2f}")


if __name__ == "__main__":
    main()
