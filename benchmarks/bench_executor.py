"""Forward-pass speed and memory of the NumPy executor against real Keras on JAX.

    python benchmarks/bench_executor.py [--runs N] [--models ResNet50,VGG16]

Prints, in one run on this machine, for ResNet50 and VGG16 at 224x224x3, batch 1:
- the executor's forward time (median of N runs after two warm-up runs), with the
  share spent outside the layers' forwards (the executor's own overhead), the same
  with the inference rewrites of ``convcalc.fusion`` (BatchNorm folded into the
  convolution before it, ReLU in place), and with BLAS on every core as Keras uses
  them (the executor's default is one BLAS thread: see ``executor._blas_threads``);
- Keras 3 (JAX backend, CPU): ``model.predict(x)`` and the jitted ``model(x)`` call,
  same medians, and the executor's time as a ratio of each;
- peak memory: the process's max RSS for each side (each in its own process), and the
  executor's peak of live activations.
Target: ResNet50 <= 1.25x Keras. A BLAS yardstick (float32 1024^3 matmul), a CPython
loop and the load average are printed so absolute figures can be compared across
machines; ``--threads 1`` pins both sides to one thread (on a busy machine, BLAS
threads competing for cores distort the default run).
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
TRUTH = ROOT / "tests" / "fixtures" / "keras3" / "truth"
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV.update(KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="3")
WARMUP = 2


def _median_time(fn: Any, runs: int) -> tuple[float, list[float]]:
    for _ in range(WARMUP):
        fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), times


def _max_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker_convcalc(name: str, runs: int) -> dict[str, float]:
    """The executor on the model's JSON export, weights from its initialisers."""
    import numpy as np

    from convcalc.executor import execute, init_weights
    from convcalc.frontend.config import load_config_text
    from convcalc.fusion import plan
    from convcalc.propagate import propagate

    text = (TRUTH / f"{name}.model.json").read_text()
    (graph,) = load_config_text(text, name).models
    weights = init_weights(propagate(graph), {"batch": 1})
    x = np.random.default_rng(0).standard_normal((1, 224, 224, 3), dtype=np.float32)
    steps = plan(graph, weights)
    last: list[Any] = []

    def forward() -> None:
        last[:] = [execute(graph, [x], weights)]

    def fused() -> None:
        execute(graph, [x], weights, plan=steps)

    def all_cores() -> None:
        execute(graph, [x], weights, blas_threads=None)

    median, _ = _median_time(forward, runs)
    ex = last[0]
    assert all(o is not None for o in ex.outputs), [
        (r.call.layer.name, r.status, r.error) for r in ex.calls if r.status != "ok"][:3]
    in_layers = sum(r.seconds for r in ex.calls)
    fused_median, _ = _median_time(fused, runs)
    cores_median, _ = _median_time(all_cores, runs)
    return {"median": median, "fused": fused_median, "cores": cores_median,
            "overhead": max(0.0, ex.seconds - in_layers),
            "activations_mb": ex.peak_bytes / 2**20, "rss_mb": _max_rss_mb()}


def worker_keras(name: str, runs: int) -> dict[str, float]:
    """Keras 3 on JAX: ``predict`` and the jitted call of the same model."""
    for key, value in ENV.items():
        if key in ("KERAS_BACKEND", "JAX_PLATFORMS", "TF_CPP_MIN_LOG_LEVEL"):
            os.environ.setdefault(key, value)
    import jax
    import keras
    import numpy as np

    model = getattr(keras.applications, name)(weights=None)
    x = np.random.default_rng(0).standard_normal((1, 224, 224, 3), dtype=np.float32)
    predict, _ = _median_time(lambda: model.predict(x, verbose=0), runs)
    state = [v.value for v in model.trainable_variables], [
        v.value for v in model.non_trainable_variables]

    @jax.jit
    def call(trainable: Any, non_trainable: Any, inputs: Any) -> Any:
        out, _ = model.stateless_call(trainable, non_trainable, inputs, training=False)
        return out

    jitted, _ = _median_time(lambda: call(*state, x).block_until_ready(), runs)
    return {"predict": predict, "jit": jitted, "rss_mb": _max_rss_mb()}


def blas_gflops() -> float:
    """float32 1024x1024 matmul throughput, best of 5 (GFLOP/s)."""
    import numpy as np

    a = np.ones((1024, 1024), np.float32)
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        a @ a
        best = min(best, time.perf_counter() - t)
    return 2 * 1024**3 / best / 1e9


def loop_seconds() -> float:
    """Seconds for 10 million iterations of an empty CPython loop (best of 3)."""
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(10_000_000):
            pass
        best = min(best, time.perf_counter() - t)
    return best


def _thread_env(threads: int | None) -> dict[str, str]:
    """Both sides limited to ``threads`` CPU threads (BLAS for NumPy, XLA for JAX)."""
    if threads is None:
        return ENV
    n = str(threads)
    return {**ENV, "OPENBLAS_NUM_THREADS": n, "OMP_NUM_THREADS": n, "MKL_NUM_THREADS": n,
            "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false" if threads == 1
            else ENV.get("XLA_FLAGS", "")}


def _spawn(side: str, name: str, runs: int, threads: int | None) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--worker", side, "--models", name,
                          "--runs", str(runs)], capture_output=True, text=True,
                         env=_thread_env(threads), check=False)
    if out.returncode != 0:
        raise SystemExit(f"{side} {name} failed:\n{out.stderr[-2000:]}")
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--models", default="ResNet50,VGG16")
    parser.add_argument("--threads", type=int, default=None,
                        help="Limit both sides to this many CPU threads (default: theirs).")
    parser.add_argument("--worker", choices=("convcalc", "keras"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    names = args.models.split(",")
    if args.worker:
        work = worker_convcalc if args.worker == "convcalc" else worker_keras
        print(json.dumps(work(names[0], args.runs)))
        return
    rows = [("machine: empty loop of 10M iterations", f"{loop_seconds():.3f} s"),
            ("machine: float32 1024^3 matmul (NumPy BLAS)", f"{blas_gflops():.1f} GFLOP/s"),
            ("machine: CPUs, load average (1 min)",
             f"{os.cpu_count()}, {os.getloadavg()[0]:.1f}"),
            ("threads per side", str(args.threads or "default"))]
    for name in names:
        ours = _spawn("convcalc", name, args.runs, args.threads)
        theirs = _spawn("keras", name, args.runs, args.threads)
        rows += [
            (f"{name} b1: convcalc executor",
             f"{ours['median'] * 1000:.0f} ms (executor overhead "
             f"{ours['overhead'] * 1000:.1f} ms), peak RSS {ours['rss_mb']:.0f} MB, "
             f"peak activations {ours['activations_mb']:.1f} MB"),
            (f"{name} b1: convcalc executor, BatchNorm folded, ReLU in place",
             f"{ours['fused'] * 1000:.0f} ms"),
            (f"{name} b1: convcalc executor, BLAS on every core", f"{ours['cores'] * 1000:.0f} ms"),
            (f"{name} b1: Keras-JAX model.predict",
             f"{theirs['predict'] * 1000:.0f} ms, peak RSS {theirs['rss_mb']:.0f} MB"),
            (f"{name} b1: Keras-JAX jitted call", f"{theirs['jit'] * 1000:.0f} ms"),
            (f"{name} b1: ratio convcalc / predict", f"{ours['median'] / theirs['predict']:.2f}x"),
            (f"{name} b1: ratio convcalc / jitted call", f"{ours['median'] / theirs['jit']:.2f}x"),
            (f"{name} b1: ratio fused convcalc / predict",
             f"{ours['fused'] / theirs['predict']:.2f}x"),
            (f"{name} b1: ratio fused convcalc / jitted call",
             f"{ours['fused'] / theirs['jit']:.2f}x"),
            (f"{name} b1: ratio every-core convcalc / predict",
             f"{ours['cores'] / theirs['predict']:.2f}x"),
        ]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")


if __name__ == "__main__":
    main()
