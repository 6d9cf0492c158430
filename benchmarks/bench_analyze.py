"""Whole-process speed and memory of ``convcalc analyze`` against real Keras.

    python benchmarks/bench_analyze.py [--runs N]

Prints, in one run on this machine:
- ResNet50 from its JSON export: ``convcalc analyze`` vs ``import keras;
  model_from_json(...); model.summary()`` (baseline: Keras 3 on JAX, CPU), as a ratio;
- ResNet50 from the keras.applications source: ``convcalc analyze resnet.py --call
  "ResNet50(weights=None)"`` vs Keras building ResNet50 and printing ``summary()``;
- a synthetic 10,000-layer chain: layers per second in-process, and whole-process time;
- peak memory (max RSS) of each convcalc process.
Targets: ResNet50 <= 0.4 s and >= 20x faster than Keras; >= 50k layers/s; <= 100 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESNET_JSON = ROOT / "tests" / "fixtures" / "keras3" / "truth" / "ResNet50.model.json"
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV.update(KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="3")

MEASURE = """
import resource, subprocess, sys, time
t = time.perf_counter()
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
dt = time.perf_counter() - t
print(dt, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def run(cmd: list[str]) -> tuple[float, float]:
    """Wall time (s) and peak RSS (MB) of one process running ``cmd``."""
    out = subprocess.run([sys.executable, "-c", MEASURE, *cmd], capture_output=True,
                         text=True, env=ENV, check=True).stdout.split()
    return float(out[0]), int(out[1]) / 1024


def median_run(cmd: list[str], runs: int) -> tuple[float, float]:
    run(cmd)  # warm the file cache and the bytecode cache
    results = [run(cmd) for _ in range(runs)]
    return statistics.median(r[0] for r in results), max(r[1] for r in results)


def convcalc_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "convcalc", "analyze", *args]


def keras_source_file() -> Path | None:
    for entry in sys.path:
        candidate = Path(entry) / "keras" / "src" / "applications" / "resnet.py"
        if candidate.exists():
            return candidate
    return None


def chain_json(n: int) -> str:
    """A Keras 3 Sequential JSON of n layers: Dense / BatchNormalization / ReLU blocks."""
    layers = [{"class_name": "InputLayer",
               "config": {"name": "input_layer", "batch_shape": [None, 64]}}]
    kinds = [("Dense", {"units": 64}), ("BatchNormalization", {}), ("ReLU", {})]
    for i in range(n):
        cls, cfg = kinds[i % 3]
        layers.append({"class_name": cls, "config": {"name": f"l{i}", **cfg}})
    return json.dumps({"class_name": "Sequential",
                       "config": {"name": "chain", "layers": layers}})


def in_process_rate(text: str, n: int) -> float:
    """Layers per second for read + propagate + count, in-process (best of 5)."""
    from convcalc import api

    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        report = api.analyze(text)
        best = min(best, time.perf_counter() - t)
    assert report.models and report.models[0].totals.complete
    return n / best


def machine_speed() -> float:
    """Seconds for 10 million iterations of an empty CPython loop (best of 3): a yardstick
    for comparing these absolute figures across machines."""
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(10_000_000):
            pass
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    rows: list[tuple[str, str]] = [
        ("machine: empty loop of 10M iterations", f"{machine_speed():.3f} s"),
    ]

    ours, mem = median_run(convcalc_cmd(str(RESNET_JSON)), args.runs)
    keras_code = ("import sys, keras; m = keras.models.model_from_json(open(sys.argv[1]).read());"
                  " m.summary()")
    theirs, _ = median_run([sys.executable, "-c", keras_code, str(RESNET_JSON)], 3)
    rows.append(("ResNet50 JSON: convcalc analyze", f"{ours:.3f} s, peak {mem:.0f} MB"))
    rows.append(("ResNet50 JSON: keras model_from_json + summary", f"{theirs:.3f} s"))
    rows.append(("ResNet50 JSON: speed-up vs Keras", f"{theirs / ours:.1f}x"))

    src = keras_source_file()
    if src is not None:
        ours, mem = median_run(convcalc_cmd(str(src), "--call", "ResNet50(weights=None)"),
                               args.runs)
        keras_code = ("import keras; m = keras.applications.ResNet50(weights=None);"
                      " m.summary()")
        theirs, _ = median_run([sys.executable, "-c", keras_code], 3)
        rows.append(("ResNet50 source: convcalc analyze --call",
                     f"{ours:.3f} s, peak {mem:.0f} MB"))
        rows.append(("ResNet50 source: keras.applications.ResNet50 + summary", f"{theirs:.3f} s"))
        rows.append(("ResNet50 source: speed-up vs Keras", f"{theirs / ours:.1f}x"))

    n = 10_000
    text = chain_json(n)
    rate = in_process_rate(text, n)
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        f.write(text)
    try:
        whole, mem = median_run(convcalc_cmd(f.name, "--format", "json"), args.runs)
    finally:
        os.unlink(f.name)
    rows.append((f"{n:,}-layer chain: in-process", f"{rate:,.0f} layers/s"))
    rows.append((f"{n:,}-layer chain: whole process", f"{whole:.3f} s, peak {mem:.0f} MB"))

    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")


if __name__ == "__main__":
    main()
