"""Which ``keras.applications`` builders convcalc reads exactly from the installed source.

    python benchmarks/applications_exact.py [--only ResNet50,ConvNeXtTiny]

For every model builder the installed keras package exports (ResNet50 ... NASNetLarge,
EfficientNetB0-B7, ConvNeXtTiny-XLarge...), convcalc reads the builder's module from
keras/src/applications without running it (``convcalc analyze --call "Name(weights=None)"``)
and real Keras 3 builds the same model; the two must agree on every layer's name,
output shapes and params and on the totals (the comparison of
``tests/test_source_fixtures.py``). Prints one line per builder and the fraction of
builders, and of families (modules), that agree exactly. Needs the test extra (Keras,
JAX); building the large models with Keras takes a few minutes.
"""

from __future__ import annotations

import argparse
import inspect
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_PLATFORMS", "cpu")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))


def builders() -> dict[str, Path]:
    """Every model builder keras.applications exports, with its source module."""
    import keras

    out = {}
    for name, fn in sorted(vars(keras.applications).items()):
        if not name[:1].isupper() or not callable(fn):
            continue
        out[name] = Path(inspect.getfile(inspect.unwrap(fn)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated builder names")
    args = parser.parse_args()
    import keras
    from test_source_fixtures import compare
    from test_source_modern import keras_truth

    from convcalc import api

    found = builders()
    if args.only:
        found = {k: v for k, v in found.items() if k in args.only.split(",")}
    exact: dict[str, bool] = {}
    families: dict[str, list[bool]] = {}
    for name, module in found.items():
        start = time.perf_counter()
        try:
            report = api.analyze(module, call=f"{name}(weights=None)")
            ours = report.model()
            problems = [str(d) for d in report.all_diagnostics()
                        if d.severity.name == "ERROR"]
        except Exception as e:  # a convcalc failure is a result here
            ours, problems = None, [f"{type(e).__name__}: {e}"]
        keras.backend.clear_session()
        real = getattr(keras.applications, name)(weights=None)
        if ours is not None:
            problems += compare(ours, keras_truth(real))
        ok = not problems
        exact[name] = ok
        families.setdefault(module.stem, []).append(ok)
        seconds = time.perf_counter() - start
        verdict = "exact" if ok else f"DIFFERS: {problems[0][:120]}"
        print(f"{name:<22} {module.stem:<20} {verdict}  ({seconds:.1f} s)", flush=True)
    n_ok = sum(exact.values())
    f_ok = sum(all(v) for v in families.values())
    print(f"builders exact: {n_ok}/{len(exact)}; families (modules) exact: "
          f"{f_ok}/{len(families)}")


if __name__ == "__main__":
    main()
