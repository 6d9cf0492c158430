"""Model config files: JSON text, the ``.keras`` zip and legacy HDF5 (``.h5``).

The kind of file is sniffed from its first bytes, not taken from its extension. Only
the model config is read: ``config.json`` from a ``.keras`` zip, the ``model_config``
attribute of an HDF5 file; weights are never loaded. Python source is another
frontend's business: callers dispatch ``.py`` files before calling :func:`load_file`,
which treats anything that is not a config as unreadable (CC006).
"""

from __future__ import annotations

import re
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import Any

from convcalc import rules
from convcalc.frontend import Loaded
from convcalc.frontend.config import load_config_text
from convcalc.types import Span

MAX_TEXT_BYTES = 256 * 2**20
"""A JSON file larger than this cannot be a model config."""
MAX_CONFIG_BYTES = 64 * 2**20
"""The largest ``config.json`` in a zip or ``model_config`` attribute read."""
MAX_ZIP_MEMBERS = 100_000
MAX_ZIP_TOTAL = 64 * 2**30
"""The largest total uncompressed size a ``.keras`` zip may declare (weights included)."""

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_DRIVE = re.compile(r"^[A-Za-z]:")


def load_file(path: str | Path) -> Loaded:
    """Read the model config in a JSON, ``.keras`` or ``.h5`` file (never a traceback)."""
    file = str(path)
    p = Path(path)
    try:
        if p.is_dir():
            return _unreadable(file, "is a directory, not a model file")
        size = p.stat().st_size
        with p.open("rb") as f:
            head = f.read(8)
            kind = _sniff(f, head, size)
    except FileNotFoundError:
        return _unreadable(file, "no such file")
    except OSError as e:
        return _unreadable(file, f"cannot be read ({e.strerror or e})")
    if kind == "zip":
        return _load_keras_zip(p, file)
    if kind == "hdf5":
        return _load_hdf5(p, file)
    return _load_text(p, file, size)


def _unreadable(file: str, why: str, hint: str | None = None) -> Loaded:
    diag = rules.UNREADABLE_FILE.diagnostic(f"{file}: {why}", span=Span(file, 1), hint=hint)
    return Loaded([], [diag], usable=False)


def _sniff(f: Any, head: bytes, size: int) -> str:
    """'zip', 'hdf5' (its superblock may sit at 512, 1024, ... after a user block) or
    'text'."""
    if head.startswith(_ZIP_MAGIC):
        return "zip"
    offset = 0
    while offset + 8 <= size:
        if offset:
            f.seek(offset)
            head = f.read(8)
        if head == _HDF5_MAGIC:
            return "hdf5"
        offset = 512 if offset == 0 else offset * 2
    return "text"


def _load_text(p: Path, file: str, size: int) -> Loaded:
    if size > MAX_TEXT_BYTES:
        return _unreadable(file, f"is {size:,} bytes, too large to be a model config "
                                 f"(limit {MAX_TEXT_BYTES:,})")
    try:
        data = p.read_bytes()
    except OSError as e:
        return _unreadable(file, f"cannot be read ({e.strerror or e})")
    text = _decode(data)
    if text is None:
        return _unreadable(file, "is not a model file: neither JSON, a .keras zip nor HDF5")
    stripped = text.lstrip()
    if not stripped:
        return _unreadable(file, "is empty")
    if not stripped.startswith(("{", "[")):
        return _unreadable(file, "is not a model config: expected JSON (model.to_json()), "
                                 "a .keras zip or a .h5 file")
    return load_config_text(text, file)


def _decode(data: bytes) -> str | None:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def _unsafe_member(name: str) -> bool:
    """A member name that would escape the directory it is extracted into."""
    if name.startswith(("/", "\\")) or _DRIVE.match(name) or "\x00" in name:
        return True
    return ".." in PurePosixPath(name.replace("\\", "/")).parts


def _load_keras_zip(p: Path, file: str) -> Loaded:
    """``config.json`` of a ``.keras`` archive, after checking the archive is safe."""
    try:
        with zipfile.ZipFile(p) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_ZIP_MEMBERS:
                return _unreadable(file, f"is a zip of {len(infos):,} members, more than a "
                                         f".keras archive holds (limit {MAX_ZIP_MEMBERS:,})")
            bad = [i.filename for i in infos if _unsafe_member(i.filename)]
            if bad:
                return _unreadable(file, f"is an unsafe zip: member name {bad[0]!r} points "
                                         f"outside the archive")
            total = sum(i.file_size for i in infos)
            if total > MAX_ZIP_TOTAL:
                return _unreadable(file, f"is a zip declaring {total:,} bytes uncompressed, "
                                         f"more than the limit of {MAX_ZIP_TOTAL:,}")
            config = next((i for i in infos if i.filename == "config.json"), None)
            if config is None:
                return _unreadable(file, "is a zip without config.json, not a .keras model",
                                   "Save the model with model.save('model.keras').")
            if config.file_size > MAX_CONFIG_BYTES:
                return _unreadable(file, f"has a config.json of {config.file_size:,} bytes, "
                                         f"more than the limit of {MAX_CONFIG_BYTES:,}")
            with zf.open(config) as member:
                data = member.read(MAX_CONFIG_BYTES + 1)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, zlib.error) as e:
        return _unreadable(file, f"is a truncated or corrupt zip ({e})")
    except (NotImplementedError, RuntimeError) as e:  # unknown compression, encryption
        return _unreadable(file, f"is a zip convcalc cannot read ({e})")
    except OSError as e:
        return _unreadable(file, f"cannot be read ({e.strerror or e})")
    if len(data) > MAX_CONFIG_BYTES:
        return _unreadable(file, f"has a config.json larger than {MAX_CONFIG_BYTES:,} bytes")
    text = _decode(data)
    if text is None:
        return _unreadable(file, "has a config.json that is not UTF-8 text")
    return load_config_text(text, f"{file}/config.json")


def _load_hdf5(p: Path, file: str) -> Loaded:
    """The ``model_config`` root attribute of a legacy Keras HDF5 file."""
    try:
        import h5py
    except ImportError:
        diag = rules.MISSING_DEPENDENCY.diagnostic(
            f"{file}: reading HDF5 (.h5) model files needs the h5py package",
            span=Span(file, 1))
        return Loaded([], [diag], usable=False)
    try:
        with h5py.File(p, "r") as h5:
            raw = h5.attrs.get("model_config")
    except Exception as e:  # h5py raises OSError, KeyError, RuntimeError... on bad files
        return _unreadable(file, f"is a truncated or corrupt HDF5 file ({e})")
    if raw is None:
        return _unreadable(file, "is an HDF5 file without a model_config attribute "
                                 "(a weights-only file?)",
                           "Save the whole model: model.save('model.h5') or 'model.keras'.")
    value = _attribute_text(raw)
    if value is None:
        return _unreadable(file, "has a model_config attribute that is not text")
    if len(value) > MAX_CONFIG_BYTES:
        return _unreadable(file, f"has a model_config larger than {MAX_CONFIG_BYTES:,} bytes")
    return load_config_text(value, f"{file}/model_config")


def _attribute_text(raw: Any) -> str | None:
    """An HDF5 string attribute as str: h5py 3 gives str, files from h5py 2 bytes."""
    if hasattr(raw, "shape") and hasattr(raw, "item"):  # a numpy scalar or 1-element array
        if getattr(raw, "size", 1) != 1:
            return None
        raw = raw.item()
    if isinstance(raw, bytes):
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return raw if isinstance(raw, str) else None
