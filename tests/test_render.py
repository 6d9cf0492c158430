"""Diagrams: the SVG of each sample shows every layer with its shape and params, errors
highlighted, clusters for nested models and helper blocks; options and missing Graphviz."""

from __future__ import annotations

import json
import re
import time
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
def test_big_applications_render_in_seconds_when_collapsed() -> None:
    root = keras_package_dir()
    if root is None:
        pytest.skip("keras is not installed")
    model = _model(root / "src" / "applications" / "resnet.py", "ResNet152(weights=None)")
    started = time.perf_counter()
    text = svg(model, Options(collapse_repeats=True))
    seconds = time.perf_counter() - started
    print(f"ResNet152 collapsed: {seconds:.2f} s")
    assert seconds < 30
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
