"""Diagrams: the SVG of each sample shows every layer with its shape and params, errors
highlighted, clusters for nested models and helper blocks; options and missing Graphviz."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FIXTURES, SAMPLES

from convcalc import api
from convcalc.cli import main
from convcalc.frontend.loader import keras_package_dir
from convcalc.render import diagram
from convcalc.render.diagram import DotMissing, digraph, dot_available, svg, write
from convcalc.render.layout import TIMES, Options, layout
from convcalc.render.text import count
from convcalc.report import ModelReport
from convcalc.types import format_shape

SVG = "{http://www.w3.org/2000/svg}"
RESNET50_JSON = FIXTURES / "keras3" / "truth" / "ResNet50.model.json"

needs_dot = pytest.mark.skipif(not dot_available(), reason="Graphviz dot is not installed")


def _model(source: Path | str, call: str | None = None) -> ModelReport:
    report = api.analyze(source, call=call)
    return report.model()


def _nodes(text: str) -> dict[str, ET.Element]:
    root = ET.fromstring(text)
    return {g.get("id", ""): g for g in root.iter(f"{SVG}g")
            if "node" in (g.get("class") or "").split()}


def _texts(g: ET.Element) -> str:
    return " ".join("".join(t.itertext()) for t in g.iter(f"{SVG}text"))


def _clusters(text: str) -> dict[str, ET.Element]:
    root = ET.fromstring(text)
    out = {}
    for g in root.iter(f"{SVG}g"):
        if "cluster" in (g.get("class") or "").split():
            out[_texts(g.find(f"{SVG}text") or g).strip()] = g
    return out


@needs_dot
@pytest.mark.parametrize("name", ["unet.py", "unet_skip_bug.py", "siamese.py",
                                  "cnn_from_data.py", "ResNet50.model.json"])
def test_svg_shows_every_layer_with_its_shape_and_params(name: str) -> None:
    source = RESNET50_JSON if name.endswith(".json") else SAMPLES / name
    model = _model(source)
    drawn = _by_call(svg(model))
    rows = list(model.rows())
    assert len(rows) > 5
    for row in rows:
        for i, outs in enumerate(row.output_types):
            texts = drawn[(row.layer.name, i)]
            assert ", ".join(format_shape(t.shape) for t in outs if t is not None) in texts
        params = row.result.params
        if params:
            assert f"{count(params)} params" in drawn[(row.layer.name, 0)]


def _by_call(text: str) -> dict[tuple[str, int], str]:
    """Each drawn node's text by (layer name, call index): ``shared_conv #1 ...``."""
    out = {}
    for g in _nodes(text).values():
        words = _texts(g).split()
        index = int(words[1][1:]) if words[1].startswith("#") else 0
        out[(words[0], index)] = " ".join(words)
    return out


@needs_dot
def test_the_bad_concatenates_of_the_unet_are_drawn_as_errors() -> None:
    model = _model(SAMPLES / "unet_skip_bug.py")
    bad = {d.layer for d in model.errors}
    assert bad == {"concatenate", "concatenate_1"}
    nodes = _nodes(svg(model))
    for g in nodes.values():
        name = _texts(g).split()[0]
        classes = (g.get("class") or "").split()
        shape = g.find(f".//{SVG}path")
        assert shape is not None
        if name in bad:
            assert "error" in classes
            assert shape.get("stroke") == diagram.BORDER[api.Severity.ERROR]
            tip = g.find(f".//{SVG}a")
            assert tip is not None and "CC101" in (
                tip.get("{http://www.w3.org/1999/xlink}title") or "")
        else:
            assert "error" not in classes


@needs_dot
def test_nested_models_are_clusters_holding_their_layers() -> None:
    model = _model(SAMPLES / "nested_models.py")
    text = svg(model)
    clusters = _clusters(text)
    assert set(clusters) >= {"encoder (Functional)", "decoder (Sequential)"}
    # Graphviz draws a cluster as a frame beside its nodes: inside means within the frame
    x0, y0, x1, y1 = _frame(clusters["encoder (Functional)"])
    inside = set()
    for g in _nodes(text).values():
        t = g.find(f".//{SVG}text")
        assert t is not None
        if x0 <= float(t.get("x", "nan")) <= x1 and y0 <= float(t.get("y", "nan")) <= y1:
            inside.add(_texts(g).split()[0])
    assert inside == {"image", "conv2d", "conv2d_1", "flatten", "dense"}


def _frame(g: ET.Element) -> tuple[float, float, float, float]:
    shape = g.find(f".//{SVG}path")
    if shape is None:
        shape = g.find(f".//{SVG}polygon")
    assert shape is not None
    raw = shape.get("d") or shape.get("points") or ""
    numbers = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", raw)]
    xs, ys = numbers[0::2], numbers[1::2]
    return min(xs), min(ys), max(xs), max(ys)


def test_helper_function_calls_are_clusters_per_call() -> None:
    model = _model(SAMPLES / "siamese.py")
    drawn = layout(model)
    encode = [c for c in drawn.clusters.values() if c.label.startswith("encode()")]
    assert len(encode) == 2  # one per call of encode(), though from the same line
    names = [sorted(drawn.nodes[n].call.layer.name for n in c.nodes) for c in encode]
    assert names == [["global_average_pooling2d", "shared_conv", "shared_embed"],
                     ["global_average_pooling2d_1", "shared_conv", "shared_embed"]]


def test_each_call_records_the_helper_calls_it_was_made_in() -> None:
    model = _model(SAMPLES / "unet.py")
    convs = [c for c in model.graph.calls if c.layer.class_name == "Conv2D"]
    blocks = [c.sites[-1] for c in convs[:6:2]]  # first conv of the three encoder blocks
    assert [s.function for s in blocks] == ["double_conv"] * 3
    assert {s.span for s in blocks} == {blocks[0].span}  # one line, in a loop
    assert blocks[0].span is not None and blocks[0].span.line == 21
    assert len({s.call for s in blocks}) == 3
    assert convs[0].sites[:-1] == convs[1].sites[:-1]


def test_collapse_repeats_draws_a_resnet_stage_once() -> None:
    model = _model(RESNET50_JSON)
    full = layout(model)
    collapsed = layout(model, Options(collapse_repeats=True))
    repeats = sorted(c.repeats for c in collapsed.clusters.values() if c.repeats > 1)
    # stages of 3, 4, 6 and 3 blocks: the first of each has a projection shortcut
    assert repeats == [2, 2, 3, 5]
    identity_block = 10  # 3 x (conv, bn, relu) without the last relu, add, out
    assert len(full.nodes) - len(collapsed.nodes) == identity_block * (1 + 1 + 2 + 4)
    assert all(e.src in collapsed.nodes and e.dst in collapsed.nodes for e in collapsed.edges)
    assert layout(model, Options(collapse_repeats=True, expand=True)).nodes.keys() == \
        full.nodes.keys()


def test_collapse_repeats_folds_the_unet_conv_blocks() -> None:
    model = _model(SAMPLES / "unet.py")
    drawn = layout(model, Options(collapse_repeats=True))
    blocks = [n for n in drawn.nodes.values() if n.folded]
    assert len(blocks) == 7
    for b in blocks:
        assert [m.call.layer.class_name for m in b.folded] == [
            "Conv2D", "Conv2D", "BatchNormalization"]
        assert b.params == sum(m.params for m in b.folded)  # type: ignore[misc]
    assert len(drawn.nodes) == len(model.graph.calls) - 7 * 2


@needs_dot
def test_a_big_application_collapses_to_a_legible_diagram() -> None:
    # how fast: benchmarks/bench_render.py
    root = keras_package_dir()
    assert root is not None, "keras (the test extra) is not installed"
    model = _model(root / "src" / "applications" / "resnet.py", "ResNet152(weights=None)")
    text = svg(model, Options(collapse_repeats=True))
    labels = " ".join(_clusters(text))
    assert f"{TIMES}35" in labels  # conv4: 36 blocks, the first with a projection
    assert len(_nodes(text)) < 120


@needs_dot
def test_options_show_less() -> None:
    model = _model(SAMPLES / "siamese.py")
    plain = _texts(ET.fromstring(svg(model, Options(params=False, shapes=False))))
    assert "params" not in plain and "MACs" not in plain and "(None, 64)" not in plain
    assert "shared_embed" in plain
    compact = svg(model, Options(compact=True))
    node_text = " ".join(_texts(g) for g in _nodes(compact).values())
    assert "(None, 64)" not in node_text and "params" not in node_text
    assert "(None, 64)" in _texts(ET.fromstring(compact))  # on the edges
    assert "rankdir=LR" in digraph(model, Options(rankdir="LR")).source


def test_dot_output_needs_no_graphviz(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(diagram.shutil, "which", lambda name: None)
    model = _model(SAMPLES / "siamese.py")
    write(model, tmp_path / "m.dot", "dot")
    assert "shared_conv" in (tmp_path / "m.dot").read_text()
    with pytest.raises(DotMissing, match="apt-get install graphviz"):
        write(model, tmp_path / "m.svg", "svg")
    result = CliRunner().invoke(main, ["render", str(SAMPLES / "siamese.py"), "-o",
                                       str(tmp_path / "m.png")])
    assert result.exit_code == 1
    assert "Graphviz" in result.output and "apt-get install graphviz" in result.output
    assert model._repr_svg_() is None


@needs_dot
@pytest.mark.parametrize("suffix", ["svg", "png", "pdf", "dot", "html"])
def test_render_command_writes_the_format_of_the_extension(tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"siamese.{suffix}"
    result = CliRunner().invoke(main, ["render", str(SAMPLES / "siamese.py"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    head = out.read_bytes()[:64]
    expected = {"svg": b"<?xml", "png": b"\x89PNG", "pdf": b"%PDF", "dot": b"digraph",
                "html": b"<!DOCTYPE html>"}[suffix]
    assert head.startswith(expected)


def test_render_command_rejects_an_unknown_extension(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["render", str(SAMPLES / "siamese.py"), "-o",
                                       str(tmp_path / "m.txt")])
    assert result.exit_code == 2
    assert "--format" in result.output
    result = CliRunner().invoke(main, ["render", str(SAMPLES / "siamese.py"), "-o",
                                       str(tmp_path / "m.txt"), "--format", "dot"])
    assert result.exit_code == 0
    assert (tmp_path / "m.txt").read_text().startswith("digraph")


@needs_dot
def test_reports_display_as_diagrams_in_jupyter() -> None:
    report = api.analyze(SAMPLES / "siamese.py")
    assert "shared_embed" in (report.model()._repr_svg_() or "")
    html = report._repr_html_() or ""
    assert html.count("<svg") == 1 and "siamese" in html


@needs_dot
def test_html_page_is_self_contained(tmp_path: Path) -> None:
    model = _model(SAMPLES / "unet_skip_bug.py")
    out = tmp_path / "unet.html"
    write(model, out, "html", Options(collapse_repeats=True))
    page = out.read_text()
    # nothing to fetch: no external scripts, styles, images or fonts
    assert not re.search(r"""<(script|link|img)[^>]+(src|href)=["']?(https?:)?//""", page)
    assert "@import" not in page and "url(" not in page
    data = json.loads(page.split('id="convcalc-data">', 1)[1].split("</script>", 1)[0]
                      .replace("<\\/", "</"))
    names = {n["name"] for n in data["nodes"].values()}
    names |= {a for n in data["nodes"].values() for a in n["also"]}
    assert names == {c.layer.name for c in model.graph.calls}
    assert 'id="search"' in page and "<svg" in page


SHARED_ENCODER = """
import keras
from keras import layers

image = keras.Input((32, 32, 3), name="image")
x = layers.Conv2D(8, 3, name="enc_conv")(image)
encoder = keras.Model(image, layers.GlobalAveragePooling2D(name="enc_pool")(x), name="encoder")
a = keras.Input((32, 32, 3), name="a")
b = keras.Input((32, 32, 3), name="b")
d = layers.Subtract(name="diff")([encoder(a), encoder(b)])
model = keras.Model([a, b], layers.Dense(1, name="score")(d), name="pair")
"""


def test_a_shared_nested_model_is_drawn_once_unless_expanded() -> None:
    model = _model(SHARED_ENCODER)
    plain = layout(model)
    assert [c.label for c in plain.clusters.values()] == ["encoder (Functional)"]
    second = [n for n in plain.nodes.values() if n.call.layer.name == "encoder"]
    assert len(second) == 1 and second[0].call.call_index == 1
    assert second[0].shared_weights and second[0].params == 0
    full = layout(model, Options(expand=True))
    assert [c.label for c in full.clusters.values()] == [
        "encoder (Functional)", "encoder #1 (Functional)"]
    convs = [n for n in full.nodes.values() if n.call.layer.name == "enc_conv"]
    assert [n.params for n in convs] == [3 * 3 * 3 * 8 + 8, 0]  # one weight set
    diff = next(n.id for n in full.nodes.values() if n.call.layer.name == "diff")
    pools = {n.id for n in full.nodes.values() if n.call.layer.name == "enc_pool"}
    assert {e.src for e in full.edges if e.dst == diff} == pools


VIT = SAMPLES / "modern" / "vit.py"


def _inside(text: str, cluster: ET.Element) -> list[tuple[str, str]]:
    """The nodes drawn within a cluster's frame: (name, the node's text)."""
    x0, y0, x1, y1 = _frame(cluster)
    found = []
    for g in _nodes(text).values():
        t = g.find(f".//{SVG}text")
        assert t is not None
        if x0 <= float(t.get("x", "nan")) <= x1 and y0 <= float(t.get("y", "nan")) <= y1:
            found.append((_texts(g).split()[0], _texts(g)))
    return found


@needs_dot
def test_custom_layers_are_clusters_of_the_layers_their_code_calls() -> None:
    model = _model(VIT)
    text = svg(model)
    frames = {_texts(g).split()[0]: g for g in _clusters(text).values()}
    rows = list(model.rows(expand_nested=True))
    for i, row in enumerate(rows):
        if row.layer.class_name != "TransformerBlock":
            continue
        label = _texts(frames[row.layer.name])
        assert f"({row.layer.class_name})" in label
        assert f"{count(row.result.params)} params" in label
        drawn = _inside(text, frames[row.layer.name])
        inside = dict(drawn)
        subs = rows[i + 1:i + 8]
        assert [r.depth for r in subs] == [1] * 7  # the tree of the text report
        for sub in subs:
            (outs,) = sub.output_types
            shape = ", ".join(format_shape(t.shape) for t in outs if t is not None)
            assert shape in inside[sub.layer.name]
            assert f"{count(sub.result.params)} params" in inside[sub.layer.name] or \
                sub.result.params == 0
        # the two residual additions of the block, drawn as the operations they are
        assert sorted(n for n, t in drawn if n not in [r.layer.name for r in subs]) == [
            "add", "add"]


def test_a_custom_layer_cluster_is_wired_as_its_code_passes_tensors() -> None:
    model = _model(VIT)
    drawn = layout(model)
    block = next(k for k, c in drawn.clusters.items()
                 if c.label == "transformer_block (TransformerBlock)")
    names = {nid: drawn.nodes[nid].call.layer.name for nid in drawn.clusters[block].nodes}
    inner = {(names[e.src], names[e.dst]) for e in drawn.edges
             if e.src in names and e.dst in names}
    adds = [nid for nid, n in names.items() if n == "add"]
    first_add, second_add = sorted(adds, key=lambda n: drawn.nodes[n].order)
    # h = norm1(x); x = x + attention(h, h); h = norm2(x); mlp; return x + h
    assert inner == {
        ("layer_normalization", "multi_head_attention"), ("multi_head_attention", "add"),
        ("add", "layer_normalization_1"), ("layer_normalization_1", "dense_1"),
        ("dense_1", "dropout"), ("dropout", "dense_2"), ("dense_2", "dropout_1"),
        ("dropout_1", "add"), ("add", "add")}
    into_block = [(drawn.nodes[e.src].call.layer.name, names[e.dst]) for e in drawn.edges
                  if e.dst in names and e.src not in names]
    assert sorted(into_block) == [("class_token", "add"), ("class_token", "layer_normalization")]
    assert [e.dst for e in drawn.edges if e.src == first_add] == [
        next(n for n, name in names.items() if name == "layer_normalization_1"), second_add]
    out_of_block = [(names[e.src], drawn.nodes[e.dst].call.layer.name) for e in drawn.edges
                    if e.src in names and e.dst not in names]
    # into the next block: its first norm and its first residual addition
    assert sorted(out_of_block) == [("add", "add"), ("add", "layer_normalization_2")]
    assert {e.src for e in drawn.edges if e.src in names and e.dst not in names} == {second_add}


SHARED_BLOCK = """
import keras
from keras import layers


class Residual(layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.inner = layers.Dense(units, name="inner")
        self.norm = layers.LayerNormalization(name="norm")

    def call(self, x):
        return self.norm(x + self.inner(x))


block = Residual(8, name="block")
inputs = keras.Input((8,))
x = block(inputs)
x = block(x)
model = keras.Model(inputs, layers.Dense(2, name="head")(x), name="twice")
"""


def test_a_shared_custom_layer_is_drawn_once_unless_expanded() -> None:
    model = _model(SHARED_BLOCK)
    plain = layout(model)
    assert [c.label for c in plain.clusters.values()] == ["block (Residual)"]
    (again,) = [n for n in plain.nodes.values() if n.call.layer.name == "block"]
    assert again.call.call_index == 1 and again.shared_weights and again.params == 0
    full = layout(model, Options(expand=True))
    assert [c.label for c in full.clusters.values()] == ["block (Residual)",
                                                         "block #1 (Residual)"]
    assert [c.params for c in full.clusters.values()] == [8 * 8 + 8 + 2 * 8, 0]
    inner = [n for n in full.nodes.values() if n.call.layer.name == "inner"]
    assert [n.params for n in inner] == [8 * 8 + 8, 0]
    assert [n.shared_weights for n in inner] == [False, True]
    # the second call reads the first call's output, the first block's norm
    first, second = full.clusters
    norm = next(n for n in full.nodes.values() if n.call.layer.name == "norm")
    assert norm.cluster == first
    assert sorted(full.nodes[e.dst].call.layer.name for e in full.edges
                  if e.src == norm.id) == ["add", "inner"]
    assert {full.nodes[e.dst].cluster for e in full.edges if e.src == norm.id} == {second}
    compact = digraph(model, Options(compact=True, expand=True)).source
    shown = re.sub(r'tooltip="[^"]*"', "", compact)  # hover texts keep the details
    assert "<B>block #1</B>" in shown and "params" not in shown


@needs_dot
def test_html_page_details_the_layers_inside_custom_layers(tmp_path: Path) -> None:
    model = _model(VIT)
    out = tmp_path / "vit.html"
    write(model, out, "html")
    page = out.read_text()
    data = json.loads(page.split('id="convcalc-data">', 1)[1].split("</script>", 1)[0]
                      .replace("<\\/", "</"))
    attention = [n for n in data["nodes"].values() if n["class_name"] == "MultiHeadAttention"]
    assert [n["path"] for n in attention] == [["transformer_block"], ["transformer_block_1"],
                                              ["transformer_block_2"]]
    for n, nid in zip(attention, [k for k, v in data["nodes"].items() if v in attention],
                      strict=True):
        assert n["outputs"] == ["(None, 65, 64)"] and n["params"] == "16,640"
        assert f'id="{nid}"' in page  # the details panel finds the drawn node
        assert "MultiHeadAttention" in n["explanation"]


def test_repeated_custom_layer_calls_collapse_into_one_frame() -> None:
    model = _model(VIT)
    full = layout(model)
    blocks = [c for c in full.clusters.values() if c.block == "TransformerBlock"]
    assert len(blocks) == 3
    collapsed = layout(model, Options(collapse_repeats=True))
    (block,) = [c for c in collapsed.clusters.values() if c.block == "TransformerBlock"]
    assert block.repeats == 3 and block.label == "transformer_block (TransformerBlock)"
    # the folded blocks' layers are listed on the drawn block's nodes
    attention = [n for n in collapsed.nodes.values()
                 if n.call.layer.class_name == "MultiHeadAttention"]
    assert [(n.call.layer.name, n.also) for n in attention] == [
        ("multi_head_attention", ["multi_head_attention_1", "multi_head_attention_2"])]
    # what the blocks feed is still fed, from the drawn block
    head = next(n for n in collapsed.nodes.values()
                if n.call.layer.name == "layer_normalization_6")
    (into,) = [e.src for e in collapsed.edges if e.dst == head.id]
    assert collapsed.nodes[into].cluster == block.key
    assert f"{TIMES}3" in digraph(model, Options(collapse_repeats=True)).source
