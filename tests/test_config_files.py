"""Model config files: JSON, the .keras zip and HDF5, sniffed by content; hostile files."""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES
from test_config_reader import codes, keras3_mlp, layer, visible

from convcalc.frontend import files as files_module
from convcalc.frontend.files import load_file


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def mlp_bytes() -> bytes:
    return json.dumps(keras3_mlp()).encode()


def test_keras_zip(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "m.keras", {"metadata.json": b"{}", "config.json": mlp_bytes(),
                                           "model.weights.h5": b"\0" * 10})
    loaded = load_file(path)
    assert loaded.usable and codes(loaded) == []
    lay = layer(loaded.models[0], "out")
    assert lay.span is not None and lay.span.file == f"{path}/config.json"


def test_content_is_sniffed_not_the_extension(tmp_path: Path) -> None:
    zipped = write_zip(tmp_path / "model.json", {"config.json": mlp_bytes()})
    assert load_file(zipped).usable
    text = tmp_path / "model.h5"
    text.write_bytes(b"\xef\xbb\xbf" + mlp_bytes())  # with a UTF-8 BOM
    assert load_file(text).usable


@pytest.mark.parametrize("member", ["../evil.json", "/etc/passwd", "a/../../b", "C:\\x",
                                    "..\\up"])
def test_zip_path_traversal_is_refused(tmp_path: Path, member: str) -> None:
    path = write_zip(tmp_path / "m.keras", {"config.json": mlp_bytes(), member: b"x"})
    loaded = load_file(path)
    assert codes(loaded) == ["CC006"] and not loaded.usable
    assert "unsafe" in loaded.diagnostics[0].message


def test_zip_member_over_the_limit_is_refused(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files_module, "MAX_CONFIG_BYTES", 100)
    path = write_zip(tmp_path / "m.keras", {"config.json": mlp_bytes()})
    assert codes(load_file(path)) == ["CC006"]


def test_zip_total_over_the_limit_is_refused(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files_module, "MAX_ZIP_TOTAL", 1000)
    path = write_zip(tmp_path / "m.keras", {"config.json": mlp_bytes(),
                                           "model.weights.h5": b"\0" * 2000})
    assert codes(load_file(path)) == ["CC006"]


def test_zip_lying_about_its_size_is_refused(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A header that declares a small member must not let a large one through."""
    path = write_zip(tmp_path / "m.keras", {"config.json": mlp_bytes()})
    monkeypatch.setattr(files_module, "MAX_CONFIG_BYTES", len(mlp_bytes()) - 10)
    real_infolist = zipfile.ZipFile.infolist

    def lying_infolist(self: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
        infos = real_infolist(self)
        for info in infos:
            info.file_size = 10
        return infos

    monkeypatch.setattr(zipfile.ZipFile, "infolist", lying_infolist)
    loaded = load_file(path)
    assert codes(loaded) == ["CC006"]


def test_truncated_zip_is_cc006(tmp_path: Path) -> None:
    data = (FIXTURES / "files" / "conv_transpose.keras").read_bytes()
    for size in (len(data) // 2, 30, 4):
        path = tmp_path / f"cut{size}.keras"
        path.write_bytes(data[:size])
        loaded = load_file(path)
        assert codes(loaded) in (["CC006"], ["CC002"]), size
        assert not loaded.usable


def test_corrupt_zip_member_is_cc006(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "m.keras", {"config.json": mlp_bytes()})
    data = bytearray(path.read_bytes())
    at = data.index(b'"class_name"')
    data[at + 1] = ord("X")  # the stored member no longer matches its CRC
    path.write_bytes(bytes(data))
    loaded = load_file(path)
    assert codes(loaded) == ["CC006"]
    assert "corrupt" in loaded.diagnostics[0].message


def test_zip_without_config_is_cc006(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "m.keras", {"model.weights.h5": b"\0"})
    assert codes(load_file(path)) == ["CC006"]


def test_missing_file_and_directory_are_cc006(tmp_path: Path) -> None:
    assert codes(load_file(tmp_path / "absent.json")) == ["CC006"]
    assert codes(load_file(tmp_path)) == ["CC006"]


def test_too_large_text_file_is_cc006(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files_module, "MAX_TEXT_BYTES", 50)
    path = tmp_path / "m.json"
    path.write_bytes(mlp_bytes())
    loaded = load_file(path)
    assert codes(loaded) == ["CC006"] and "too large" in loaded.diagnostics[0].message


@pytest.mark.parametrize("content", [b"", b"   \n", b"\xff\xfe\x00binary", b"import keras\n"])
def test_files_that_are_not_configs_are_cc006(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "m.py"
    path.write_bytes(content)
    assert codes(load_file(path)) == ["CC006"]


def test_json_file_with_bad_json_is_cc002(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text('{"class_name": ')
    loaded = load_file(path)
    assert codes(loaded) == ["CC002"]
    assert loaded.diagnostics[0].span is not None
    assert loaded.diagnostics[0].span.file == str(path)


def write_h5(path: Path, value: Any) -> Path:
    import h5py

    with h5py.File(path, "w") as f:
        if value is not None:
            f.attrs["model_config"] = value
        f.attrs["keras_version"] = "2.21.0"
    return path


@pytest.mark.parametrize("kind", ["str", "bytes", "numpy"])
def test_hdf5_model_config_as_str_or_bytes(tmp_path: Path, kind: str) -> None:
    import numpy as np

    text = mlp_bytes().decode()
    value: Any = {"str": text, "bytes": np.bytes_(text.encode()),
                  "numpy": np.array([text.encode()])}[kind]
    loaded = load_file(write_h5(tmp_path / "m.h5", value))
    assert loaded.usable and codes(loaded) == []
    assert visible(loaded.models[0]) == ["x", "hidden", "out"]


def test_hdf5_without_model_config_is_cc006(tmp_path: Path) -> None:
    loaded = load_file(write_h5(tmp_path / "w.h5", None))
    assert codes(loaded) == ["CC006"]
    assert "model_config" in loaded.diagnostics[0].message


def test_truncated_hdf5_is_cc006(tmp_path: Path) -> None:
    data = (FIXTURES / "files" / "conv_transpose.h5").read_bytes()
    path = tmp_path / "cut.h5"
    path.write_bytes(data[:2000])
    loaded = load_file(path)
    assert codes(loaded) == ["CC006"] and not loaded.usable


def test_hdf5_without_h5py_is_cc010(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_h5(tmp_path / "m.h5", mlp_bytes().decode())
    monkeypatch.setitem(sys.modules, "h5py", None)
    loaded = load_file(path)
    assert codes(loaded) == ["CC010"] and not loaded.usable
