"""``convcalc check`` through click's CliRunner: output, JSON form and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from convcalc.cli import main

DENSE = """
import keras
from keras import layers
x = keras.Input((None, 6), name="seq")
y = layers.Dense(4, activation="tanh", name="proj")(x)
z = layers.Dense(2, name="out")(y)
model = keras.Model(x, z, name="dense_seq")
"""


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def _model_file(tmp_path: Path, text: str = DENSE) -> str:
    path = tmp_path / "model.py"
    path.write_text(text)
    return str(path)


def test_summary_names_the_runs_and_what_was_checked(tmp_path: Path) -> None:
    code, out = run("check", _model_file(tmp_path), "--batch", "3", "--seed", "5")
    assert code == 0, out
    assert 'Model "dense_seq": weights initialisers in the config (seed 5)' in out
    assert "batch 3, T=7: ran 3 of 3 layer calls, 3 output shapes checked" in out
    assert "batch 3, T=32: ran 3 of 3 layer calls" in out
    assert "every executed shape matches the static shape" in out


def test_json_lists_every_call_of_every_run(tmp_path: Path) -> None:
    code, out = run("check", _model_file(tmp_path), "--format", "json", "--samples", "1",
                    "--input-shape", "5,6")
    assert code == 0, out
    doc = json.loads(out)
    assert doc["version"] == 1
    (model,) = doc["models"]
    (r,) = model["runs"]
    assert r["sizes"] == {} and r["batch"] == 2
    assert [(x["layer"], x["status"], x["shapes"]) for x in r["layers"]] == [
        ("seq", "ok", [[2, 5, 6]]), ("proj", "ok", [[2, 5, 4]]), ("out", "ok", [[2, 5, 2]])]
    assert [x["static_shapes"] for x in r["layers"]] == [["(2, 5, 6)"], ["(2, 5, 4)"],
                                                         ["(2, 5, 2)"]]
    assert model["diagnostics"] == []


def test_layer_without_forward_exits_1(tmp_path: Path) -> None:
    # a Lambda from source runs as the calls its code makes, unless they draw random
    # values: those are not known without running the program
    text = DENSE.replace('layers.Dense(2, name="out")(y)',
                         'layers.Lambda(lambda t: t + keras.random.normal((4,)), name="out")(y)')
    code, out = run("check", _model_file(tmp_path, text))
    assert code == 1
    assert "CC302 out: Lambda has no NumPy forward (the values of normal(" in out
    code, out = run("check", _model_file(tmp_path, text.replace("keras.random.normal((4,))",
                                                                 "keras.ops.ones((4,))")))
    assert code == 0, out


def test_unusable_input_exits_2(tmp_path: Path) -> None:
    code, out = run("check", str(tmp_path / "missing.keras"))
    assert code == 2 and "CC006" in out
    code, _ = run("check", _model_file(tmp_path), "--batch", "0")
    assert code == 2  # a usage error
    code, out = run("check", _model_file(tmp_path), "--input-shape", "5")
    assert code == 2 and "has 2 dims besides the batch" in out


def test_rules_are_documented() -> None:
    for code in ("CC301", "CC302"):
        status, out = run("rule", code)
        assert status == 0 and "## Why" in out and "## How to fix" in out
