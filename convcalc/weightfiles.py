"""Trained weights from a ``.keras`` zip (``model.weights.h5``) or a legacy ``.h5`` file.

Only arrays are read: the zip is checked like the config reader checks it (member
names, sizes) and HDF5 datasets are read as numbers; nothing in the file is run.
Weights are matched to the graph's layers by name (a ``.keras`` file records each
layer's name next to its variables; files without it are matched by Keras's object
path, ``layers/conv2d_3``, which follows ``model.layers`` order).
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from convcalc.frontend.files import MAX_ZIP_MEMBERS, MAX_ZIP_TOTAL, _unsafe_member
from convcalc.graph import Layer, LayerGraph
from convcalc.layers.model import ModelSpec

Array = np.ndarray[Any, np.dtype[Any]]
Weights = dict[Layer, list[Array]]

WEIGHTS_MEMBER = "model.weights.h5"
_CHILD_ORDER = {"forward_layer": 0, "backward_layer": 1, "cell": 2, "layer": 3}
"""Sub-objects holding a layer's weights, in Keras's ``layer.weights`` order (a
Bidirectional wrapper lists its forward layer's weights first)."""


class WeightsError(Exception):
    """The file has no usable weights for this graph."""


def has_weights(path: str | Path) -> bool:
    """Whether the file is a ``.keras`` zip or an HDF5 model file holding weights."""
    p = Path(path)
    try:
        if zipfile.is_zipfile(p):
            with zipfile.ZipFile(p) as zf:
                return WEIGHTS_MEMBER in zf.namelist()
        with p.open("rb") as f:
            if f.read(8) != b"\x89HDF\r\n\x1a\n":
                return False
    except (OSError, zipfile.BadZipFile):
        return False
    try:
        import h5py
    except ImportError:
        return False
    try:
        with h5py.File(p, "r") as h5:
            return "model_weights" in h5 or "layer_names" in h5.attrs
    except Exception:  # h5py raises several kinds on a corrupt file
        return False


def load_weights(path: str | Path, graph: LayerGraph) -> Weights:
    """The weights in ``path`` for the layers of ``graph`` (nested models' layers too)."""
    try:
        import h5py
    except ImportError:
        raise WeightsError("reading weights needs the h5py package "
                           "(pip install 'convcalc[h5]')") from None
    p = Path(path)
    try:
        if zipfile.is_zipfile(p):
            with zipfile.ZipFile(p) as zf:
                member = _weights_member(zf)
                # stored (uncompressed) members are seekable, so h5py reads in place
                with zf.open(member) as raw, h5py.File(raw, "r") as h5:
                    return _from_object_tree(h5, graph)
        with h5py.File(p, "r") as h5:
            group = h5.get("model_weights", h5)
            return _from_named_groups(group, graph)
    except WeightsError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError) as e:
        raise WeightsError(f"{path}: corrupt archive ({e})") from None
    except Exception as e:  # h5py: OSError, KeyError, ValueError... on malformed files
        raise WeightsError(f"{path}: cannot read weights ({type(e).__name__}: {e})") from None


def _weights_member(zf: zipfile.ZipFile) -> zipfile.ZipInfo:
    infos = zf.infolist()
    if len(infos) > MAX_ZIP_MEMBERS or sum(i.file_size for i in infos) > MAX_ZIP_TOTAL:
        raise WeightsError("the archive is larger than a .keras model can be")
    if any(_unsafe_member(i.filename) for i in infos):
        raise WeightsError("unsafe zip member names")
    found = next((i for i in infos if i.filename == WEIGHTS_MEMBER), None)
    if found is None:
        raise WeightsError(f"the archive has no {WEIGHTS_MEMBER}")
    return found


def _array(dataset: Any) -> Array:
    value = dataset[()]
    if not isinstance(value, np.ndarray):
        value = np.asarray(value)
    if value.dtype.kind not in "fiub":
        raise WeightsError(f"dataset {dataset.name} is not numeric ({value.dtype})")
    if value.dtype == np.float64 or value.dtype == np.float16:
        value = value.astype(np.float32)
    return np.ascontiguousarray(value)


# --------------------------------------------------------------------- .keras (Keras 3)
def _snake(name: str) -> str:
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _visible(graph: LayerGraph) -> list[Layer]:
    return [layer for layer in graph.layers if not layer.hidden]


def _from_object_tree(root: Any, graph: LayerGraph) -> Weights:
    """``layers/<path>/vars/<i>`` groups, matched by the ``name`` attribute of ``vars``
    (Keras 3) or else by path (``conv2d``, ``conv2d_1``... in ``model.layers`` order)."""
    out: Weights = {}
    layers_group = root.get("layers")
    if layers_group is None:
        return out
    by_name: dict[str, Any] = {}
    for key in layers_group:
        vars_group = layers_group[key].get("vars")
        name = vars_group.attrs.get("name") if vars_group is not None else None
        if isinstance(name, bytes):
            name = name.decode("utf-8", "replace")
        if isinstance(name, str):
            by_name[name] = layers_group[key]
    used: dict[str, int] = {}
    for layer in _visible(graph):
        key = _snake(layer.class_name)
        if key in used:
            used[key] += 1
            key = f"{key}_{used[key]}"
        else:
            used[key] = 0
        group = by_name.get(layer.name) if by_name else layers_group.get(key)
        if group is None:
            continue
        if isinstance(layer.spec, ModelSpec):
            out.update(_from_object_tree(group, layer.spec.graph))
        else:
            out[layer] = [_array(d) for d in _datasets(group)]
    return out


def _datasets(group: Any) -> Iterator[Any]:
    """A layer object's variables: its own ``vars/0..n``, then its sub-objects'."""
    own = group.get("vars")
    if own is not None:
        for key in sorted(own, key=lambda k: int(k) if k.isdigit() else 1 << 30):
            if hasattr(own[key], "shape"):
                yield own[key]
    children = [k for k in group if k != "vars" and not hasattr(group[k], "shape")]
    children.sort(key=lambda k: (_CHILD_ORDER.get(k, 9), k))
    for key in children:
        yield from _datasets(group[key])


# --------------------------------------------------------------------- legacy .h5
def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _from_named_groups(root: Any, graph: LayerGraph, listed: list[str] | None = None
                       ) -> Weights:
    """``model_weights/<layer name>`` groups whose ``weight_names`` attribute lists the
    datasets in Keras's weight order. A nested model's group lists all its layers'
    weights (``encoder/conv/kernel``), picked out by the layer's name among the
    components of each path."""
    out: Weights = {}
    for layer in graph.layers:
        if listed is not None:
            names = [n for n in listed if layer.name in n.split("/")[:-1]]
            group = root
        else:
            group = root.get(layer.name)
            if group is None:
                continue
            names = [_text(n) for n in group.attrs.get("weight_names", [])]
        if isinstance(layer.spec, ModelSpec):  # paths stay relative to the outer group
            out.update(_from_named_groups(group, layer.spec.graph, names))
            continue
        arrays = []
        for n in names:
            if n in group:
                arrays.append(_array(group[n]))
            elif n.split("/", 1)[-1] in group:  # names may repeat the group's own name
                arrays.append(_array(group[n.split("/", 1)[-1]]))
            else:
                raise WeightsError(f"layer {layer.name}: weight {n} is listed but missing")
        if arrays or listed is None:
            out[layer] = arrays
    if listed is None and not out and graph.layers and "layer_names" not in root.attrs:
        raise WeightsError("the file holds no model weights (saved without them?)")
    return out
