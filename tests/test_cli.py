"""The command line, through click's CliRunner (and once as ``python -m convcalc``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FIXTURES, ROOT

from convcalc.cli import main

TRUTH = FIXTURES / "keras3" / "truth"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_analyze_prints_the_table_and_totals() -> None:
    code, out = run("analyze", str(TRUTH / "unet.model.json"))
    assert code == 0
    assert 'Model: "unet"' in out
    assert "skip6 (Concatenate)" in out and "(None, 16, 16, 256)" in out
    assert "Total params: 1,941,105 (7.40 MB)" in out
    assert "MACs: 758,120,448" in out


def test_json_format_has_the_documented_fields() -> None:
    code, out = run("analyze", str(TRUTH / "siamese.model.json"), "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["version"] == 1
    (model,) = doc["models"]
    truth = json.loads((TRUTH / "siamese.json").read_text())
    for key in ("total_params", "trainable_params", "non_trainable_params"):
        assert model[key] == truth[key]
    assert {"name", "macs", "flops", "layers", "diagnostics"} <= model.keys()
    shared = next(layer for layer in model["layers"] if layer["name"] == "shared_conv")
    assert shared.keys() >= {"name", "class_name", "params", "trainable_params",
                             "non_trainable_params", "macs", "output_shapes"}
    truth_shared = next(layer for layer in truth["layers"] if layer["name"] == "shared_conv")
    assert len(shared["output_shapes"]) == 2  # one entry per call
    assert shared["output_shapes"] == truth_shared["output_shapes"]
    assert shared["params"] == truth_shared["params"]


def test_markdown_format() -> None:
    code, out = run("analyze", str(TRUTH / "cifar_cnn.model.json"), "--format", "markdown")
    assert code == 0
    assert out.startswith("## Model `cifar_cnn`")
    assert "| conv2d (Conv2D) | `(None, 32, 32, 32)` | 896 |" in out


def test_input_shape_binds_unknown_sizes(tmp_path: Path) -> None:
    model = json.loads((TRUTH / "cifar_cnn.model.json").read_text())
    model["config"]["layers"][0]["config"]["batch_shape"] = [None, None, None, 3]
    model["config"]["build_input_shape"] = [None, None, None, 3]
    path = tmp_path / "free.json"
    path.write_text(json.dumps(model))
    code, out = run("analyze", str(path), "--format", "json")
    doc = json.loads(out)
    conv = doc["models"][0]["layers"][0]
    assert conv["output_shapes"] == [[[None, "H", "W", 32]]]
    assert conv["macs"] == "864*H*W"
    code, out = run("analyze", str(path), "--format", "json", "--input-shape", "32,32,3")
    assert code == 0
    assert json.loads(out)["models"][0]["total_params"] == 3702186


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--input-shape", "32,32"), "has 3 dims besides the batch"),
        (("--input-shape", "a,b,c"), "sizes must be integers"),
        (("--input-shape", "64,64,3"), "does not fit it"),
        (("--model", "nope"), "no model named 'nope'"),
    ],
)
def test_usage_errors_exit_2(args: tuple[str, ...], message: str) -> None:
    code, out = run("analyze", str(TRUTH / "cifar_cnn.model.json"), *args)
    assert code == 2
    assert message in out


def test_unusable_input_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"class_name": "Functional", "config": {"layers": [')
    code, out = run("analyze", str(bad))
    assert code == 2
    assert "CC002" in out
    code, out = run("analyze", str(tmp_path / "missing.json"))
    assert code == 2
    assert "CC006" in out


def test_errors_found_exit_1(tmp_path: Path) -> None:
    model = json.loads((TRUTH / "cifar_cnn.model.json").read_text())
    model["config"]["layers"][1]["class_name"] = "MyConv"
    path = tmp_path / "custom.json"
    path.write_text(json.dumps(model))
    code, out = run("analyze", str(path))
    assert code == 1
    assert "CC003" in out
    assert "lower bound" in out  # totals say they leave the unknown layer out


def test_layers_lists_the_catalogue() -> None:
    code, out = run("layers", "--format", "json")
    assert code == 0
    rows = json.loads(out)
    names = {r["class_name"] for r in rows}
    assert {"Conv2D", "LSTM", "MultiHeadAttention", "Concatenate"} <= names
    conv = next(r for r in rows if r["class_name"] == "Conv2D")
    assert "Convolution2D" in conv["aliases"] and conv["macs"]


def test_docs_layers_page_is_generated_from_the_catalogue() -> None:
    code, out = run("layers", "--format", "markdown")
    assert code == 0
    assert (ROOT / "docs" / "layers.md").read_text() == out, (
        "docs/layers.md is stale: regenerate it with `convcalc layers --format markdown`")


def test_rule_explains_a_code() -> None:
    code, out = run("rule", "CC101")
    assert code == 0
    assert out.startswith("# merge-shape-mismatch (CC101)")
    code, out = run("rule", "--all")
    assert "CC102  non-positive-dim" in out
    code, out = run("rule", "CC999")
    assert code == 2


def test_python_dash_m_runs_the_cli() -> None:
    proc = subprocess.run([sys.executable, "-m", "convcalc", "analyze",
                           str(TRUTH / "conv1d.model.json"), "--format", "json"],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["models"][0]["name"] == "conv1d"
