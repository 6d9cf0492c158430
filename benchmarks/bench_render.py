"""Speed of ``convcalc render`` on big models against Keras's own ``plot_model``.

    python benchmarks/bench_render.py [--runs N]

Prints, in one run on this machine, for ResNet152 and NASNetMobile read from the
installed keras package's source: the whole-process time of ``convcalc render
--collapse-repeats`` and of a full render (``--expand``) to SVG, against a process that
imports Keras, builds the model and writes ``keras.utils.plot_model(...,
show_shapes=True)`` (baseline: Keras 3 on JAX, CPU; it needs ``pip install pydot``),
as ratios, plus the SVG sizes and node counts. Target: each convcalc render in a few
seconds (<= 5 s) and faster than the baseline.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV.update(KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="3")

MODELS = {
    "ResNet152": ("resnet.py", "ResNet152(weights=None)"),
    "NASNetMobile": ("nasnet.py", "NASNetMobile(weights=None)"),
}

KERAS_PLOT = """
import sys, keras
model = getattr(keras.applications, sys.argv[1])(weights=None)
keras.utils.plot_model(model, to_file=sys.argv[2], show_shapes=True)
"""


def seconds(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=ENV, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def median(cmd: list[str], runs: int) -> float:
    seconds(cmd)  # warm the file and bytecode caches
    return statistics.median(seconds(cmd) for _ in range(runs))


def applications_dir() -> Path:
    out = subprocess.run([sys.executable, "-c", "import keras, os; print(os.path.dirname("
                          "keras.__file__))"], env=ENV, capture_output=True, text=True,
                         check=True).stdout.strip()
    return Path(out) / "src" / "applications"


def has_pydot() -> bool:
    return subprocess.run([sys.executable, "-c", "import pydot"], env=ENV,
                          capture_output=True).returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    apps = applications_dir()
    baseline = has_pydot()
    with tempfile.TemporaryDirectory() as tmp:
        for name, (module, call) in MODELS.items():
            source = str(apps / module)
            render = [sys.executable, "-m", "convcalc", "render", source, "--call", call]
            out = Path(tmp) / f"{name}.svg"
            collapsed = median([*render, "--collapse-repeats", "-o", str(out)], args.runs)
            size, nodes = out.stat().st_size, out.read_text().count('class="node')
            full_out = Path(tmp) / f"{name}_full.svg"
            full = median([*render, "--expand", "-o", str(full_out)], args.runs)
            full_nodes = full_out.read_text().count('class="node')
            print(f"{name}: convcalc render --collapse-repeats   {collapsed:7.2f} s  "
                  f"({nodes} nodes, {size / 1024:.0f} KB)")
            print(f"{name}: convcalc render --expand             {full:7.2f} s  "
                  f"({full_nodes} nodes)")
            if not baseline:
                print(f"{name}: keras plot_model                  skipped (pip install pydot)")
                continue
            keras_out = Path(tmp) / f"{name}_keras.png"
            theirs = median([sys.executable, "-c", KERAS_PLOT, name, str(keras_out)],
                            args.runs)
            print(f"{name}: keras plot_model(show_shapes)     {theirs:7.2f} s")
            print(f"{name}: speed-up vs Keras, collapsed / full  "
                  f"{theirs / collapsed:5.1f}x / {theirs / full:5.1f}x")


if __name__ == "__main__":
    main()
