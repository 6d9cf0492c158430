"""Bad input through the whole command: a coded diagnostic and exit 1 or 2, never a
traceback. (Reader-level detail for each case is in test_config_reader.py.)"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import FIXTURES

from convcalc.cli import main

TRUTH = FIXTURES / "keras3" / "truth"


def cifar() -> dict[str, Any]:
    return json.loads((TRUTH / "cifar_cnn.model.json").read_text())


def unet() -> dict[str, Any]:
    return json.loads((TRUTH / "unet.model.json").read_text())


def with_unknown_inbound() -> dict[str, Any]:
    m = unet()
    args = m["config"]["layers"][1]["inbound_nodes"][0]["args"][0]
    args["config"]["keras_history"][0] = "no_such_layer"
    return m


def with_cycle() -> dict[str, Any]:
    m = unet()
    layers = m["config"]["layers"]
    # the first conv now reads the output of the second one
    layers[1]["inbound_nodes"][0]["args"][0]["config"]["keras_history"] = [layers[2]["name"], 0, 0]
    return m


def with_input(shape: list[Any]) -> dict[str, Any]:
    m = cifar()
    m["config"]["layers"][0]["config"]["batch_shape"] = shape
    return m


def with_unknown_class() -> dict[str, Any]:
    m = cifar()
    m["config"]["layers"][2]["class_name"] = "FancyBlock"
    return m


CASES: dict[str, tuple[Any, str, int]] = {
    "malformed json": ('{"class_name": "Sequential", "config": {"layers": [{', "CC002", 2),
    "not a model": ('{"hello": "world"}', "CC002", 2),
    "unknown inbound layer": (with_unknown_inbound(), "CC004", 1),
    "cycle": (with_cycle(), "CC005", 2),
    "zero dim": (with_input([None, 0, 32, 3]), "CC108", 1),
    "negative dim": (with_input([None, 32, -4, 3]), "CC108", 1),
    "unknown class": (with_unknown_class(), "CC003", 1),
    "2 GB dim product": (with_input([None, 60_000, 60_000, 3]), "CC106", 1),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_config(case: str, tmp_path: Path) -> None:
    content, code, exit_code = CASES[case]
    path = tmp_path / "model.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    result = CliRunner().invoke(main, ["analyze", str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert code in result.output
    assert result.exit_code == exit_code


def test_truncated_keras_zip(tmp_path: Path) -> None:
    data = (FIXTURES / "files" / "conv_transpose.keras").read_bytes()
    path = tmp_path / "cut.keras"
    path.write_bytes(data[: len(data) // 2])
    result = CliRunner().invoke(main, ["analyze", str(path)])
    assert result.exit_code == 2
    assert "CC006" in result.output and "Traceback" not in result.output


def test_zip_with_path_traversal(tmp_path: Path) -> None:
    path = tmp_path / "evil.keras"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("../../config.json", json.dumps(cifar()))
    result = CliRunner().invoke(main, ["analyze", str(path)])
    assert result.exit_code == 2
    assert "CC006" in result.output
    assert not (tmp_path.parent / "config.json").exists()
