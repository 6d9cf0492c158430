"""Tables for the pure shape arithmetic in convcalc.shapes, concrete and symbolic."""

from __future__ import annotations

from typing import Any

import pytest
import sympy

from convcalc import dims, shapes
from convcalc.dims import Dim, Sym

H = Sym("H")
W = Sym("W")
h = dims.to_expr(H)
w = dims.to_expr(W)


def _same(a: Dim, b: object) -> bool:
    return dims.identical(a, dims.normalize(b))


def floor_div(e: Any, n: int) -> Any:
    """floor(e / n) built directly in sympy, for comparisons."""
    return sympy.floor(e / n)


@pytest.mark.parametrize(
    ("kernel", "dilation", "expected"),
    [(1, 1, 1), (3, 1, 3), (3, 2, 5), (2, 3, 4), (5, 4, 17), (1, 7, 1)],
)
def test_dilated_kernel(kernel: int, dilation: int, expected: int) -> None:
    assert shapes.dilated_kernel(kernel, dilation) == expected


@pytest.mark.parametrize(
    ("length", "kernel", "stride", "padding", "dilation", "expected"),
    [
        (7, 3, 1, "valid", 1, 5),
        (8, 3, 1, "valid", 1, 6),
        (7, 3, 2, "valid", 1, 3),
        (8, 3, 2, "valid", 1, 3),
        (9, 3, 2, "valid", 1, 4),
        (224, 7, 2, "valid", 1, 109),
        (7, 3, 1, "valid", 2, 3),
        (5, 3, 1, "valid", 2, 1),
        (4, 3, 1, "valid", 2, 0),
        (2, 3, 1, "valid", 1, 0),
        (1, 3, 1, "valid", 1, -1),
        (3, 3, 3, "valid", 1, 1),
        (7, 3, 1, "same", 1, 7),
        (7, 3, 2, "same", 1, 4),
        (8, 3, 2, "same", 1, 4),
        (1, 5, 3, "same", 1, 1),
        (224, 3, 2, "same", 1, 112),
        (7, 4, 3, "same", 2, 3),
        (7, 3, 1, "causal", 2, 7),
        (9, 3, 2, "causal", 1, 5),
        (10, 4, 3, "causal", 1, 4),
    ],
)
def test_conv_output_length(
    length: int, kernel: int, stride: int, padding: str, dilation: int, expected: int
) -> None:
    assert shapes.conv_output_length(length, kernel, stride, padding, dilation) == expected


@pytest.mark.parametrize(
    ("kernel", "stride", "padding", "dilation", "expected"),
    [
        (3, 1, "valid", 1, h - 2),
        (3, 2, "valid", 1, floor_div(h - 3, 2) + 1),
        (3, 1, "valid", 2, h - 4),
        (3, 2, "same", 1, floor_div(h - 1, 2) + 1),
        (3, 1, "same", 1, h),
        (5, 1, "causal", 3, h),
        (2, 2, "valid", 1, floor_div(h, 2)),
    ],
)
def test_conv_output_length_symbolic(
    kernel: int, stride: int, padding: str, dilation: int, expected: object
) -> None:
    got = shapes.conv_output_length(H, kernel, stride, padding, dilation)
    assert _same(got, expected)
    assert dims.free_symbols(got) == {"H"}
    for value in (1, 2, 5, 8, 13, 224):
        concrete = shapes.conv_output_length(value, kernel, stride, padding, dilation)
        assert dims.evaluate(got, {"H": value}) == concrete


@pytest.mark.parametrize(
    ("length", "pool", "stride", "padding", "expected"),
    [
        (8, 2, 2, "valid", 4),
        (9, 2, 2, "valid", 4),
        (9, 3, 2, "valid", 4),
        (10, 3, 2, "valid", 4),
        (9, 3, 3, "valid", 3),
        (2, 3, 3, "valid", 0),
        (7, 7, 7, "valid", 1),
        (9, 2, 2, "same", 5),
        (8, 2, 2, "same", 4),
        (2, 4, 1, "same", 2),
        (7, 3, 2, "same", 4),
        (1, 2, 2, "same", 1),
    ],
)
def test_pool_output_length(
    length: int, pool: int, stride: int, padding: str, expected: int
) -> None:
    assert shapes.pool_output_length(length, pool, stride, padding) == expected


def test_three_poolings_fold_to_one_floor() -> None:
    x: Dim = H
    for _ in range(3):
        x = shapes.pool_output_length(x, 2, 2, "valid")
    assert str(x) == "floor(H/8)"
    up = shapes.conv_transpose_output_length(x, 3, 2, "same")
    assert _same(up, 2 * floor_div(h, 8))
    assert str(up) == "2*floor(H/8)"
    for value in range(8, 80):
        assert dims.evaluate(up, {"H": value}) == 2 * (value // 8)


def test_same_poolings_fold_to_one_ceiling() -> None:
    x: Dim = H
    for _ in range(3):
        x = shapes.pool_output_length(x, 2, 2, "same")
    for value in range(1, 70):
        assert dims.evaluate(x, {"H": value}) == -(-value // 8)
    assert str(x).count("floor") == 1


@pytest.mark.parametrize(
    ("nested", "divisor", "expected"),
    [
        (floor_div(h, 2), 2, floor_div(h, 4)),
        (floor_div(h, 2) - 1, 3, floor_div(h - 2, 6)),
        (floor_div(h - 1, 2) + 1, 2, floor_div(h + 1, 4)),
        (floor_div(h, 3) + 2, 5, floor_div(h + 6, 15)),
    ],
)
def test_floordiv_folds_nested_floors(nested: object, divisor: int, expected: object) -> None:
    got = dims.floordiv(dims.normalize(nested), divisor)
    assert _same(got, expected)
    assert str(got).count("floor") == 1
    for value in range(1, 60):
        inner = dims.evaluate(dims.normalize(nested), {"H": value})
        assert dims.evaluate(got, {"H": value}) == inner // divisor


@pytest.mark.parametrize(
    ("length", "kernel", "stride", "padding", "output_padding", "dilation", "expected"),
    [
        (7, 3, 2, "same", None, 1, 14),
        (7, 3, 2, "same", 0, 1, 13),
        (7, 3, 2, "same", 1, 1, 14),
        (7, 4, 2, "same", 0, 1, 12),
        (7, 4, 2, "same", 1, 1, 13),
        (5, 3, 1, "same", None, 1, 5),
        (5, 3, 1, "same", 0, 1, 5),
        (1, 2, 1, "same", 0, 1, 0),
        (5, 3, 1, "valid", None, 1, 7),
        (5, 3, 2, "valid", None, 1, 11),
        (5, 2, 3, "valid", None, 1, 15),
        (5, 2, 3, "valid", 0, 1, 14),
        (5, 2, 3, "valid", 2, 1, 16),
        (5, 3, 1, "valid", None, 2, 9),
        (5, 3, 1, "same", None, 2, 5),
        (5, 3, 1, "same", 0, 2, 5),
        (4, 2, 1, "same", 0, 2, 4),
        (1, 1, 1, "valid", None, 1, 1),
    ],
)
def test_conv_transpose_output_length(
    length: int,
    kernel: int,
    stride: int,
    padding: str,
    output_padding: int | None,
    dilation: int,
    expected: int,
) -> None:
    got = shapes.conv_transpose_output_length(
        length, kernel, stride, padding, output_padding, dilation
    )
    assert got == expected


@pytest.mark.parametrize(
    ("kernel", "stride", "padding", "output_padding", "expected"),
    [
        (3, 2, "same", None, 2 * h),
        (3, 2, "same", 0, 2 * h - 1),
        (4, 2, "same", 1, 2 * h - 1),
        (3, 2, "valid", None, 2 * h + 1),
        (2, 3, "valid", None, 3 * h),
        (2, 3, "valid", 1, 3 * h),
    ],
)
def test_conv_transpose_output_length_symbolic(
    kernel: int, stride: int, padding: str, output_padding: int | None, expected: object
) -> None:
    got = shapes.conv_transpose_output_length(H, kernel, stride, padding, output_padding)
    assert _same(got, expected)


def test_conv_then_transpose_round_trip() -> None:
    down = shapes.conv_output_length(H, 3, 2, "same")
    up = shapes.conv_transpose_output_length(down, 3, 2, "same")
    for value in range(1, 40):
        assert dims.evaluate(up, {"H": value}) == 2 * (-(-value // 2))


@pytest.mark.parametrize(
    ("axis", "rank", "expected"),
    [(0, 4, 0), (3, 4, 3), (-1, 4, 3), (-4, 4, 0), (1, 2, 1), (-2, 2, 0)],
)
def test_canonical_axis(axis: int, rank: int, expected: int) -> None:
    assert shapes.canonical_axis(axis, rank) == expected


@pytest.mark.parametrize(("axis", "rank"), [(4, 4), (-5, 4), (2, 2), (0, 0)])
def test_canonical_axis_out_of_bounds(axis: int, rank: int) -> None:
    with pytest.raises(ValueError, match="out of bounds"):
        shapes.canonical_axis(axis, rank)


@pytest.mark.parametrize(
    ("rank", "data_format", "spatial", "channel"),
    [
        (3, "channels_last", [1], 2),
        (3, "channels_first", [2], 1),
        (4, "channels_last", [1, 2], 3),
        (4, "channels_first", [2, 3], 1),
        (5, "channels_last", [1, 2, 3], 4),
        (5, "channels_first", [2, 3, 4], 1),
    ],
)
def test_spatial_and_channel_axes(
    rank: int, data_format: str, spatial: list[int], channel: int
) -> None:
    assert list(shapes.spatial_axes(rank, data_format)) == spatial
    assert shapes.channel_axis(rank, data_format) == channel


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        ((dims.BATCH, 4, 5, 3), 60),
        ((dims.BATCH, 7), 7),
        ((dims.BATCH,), 1),
        ((2, 3, 4), 12),
        ((dims.BATCH, H, 3), 3 * h),
        ((dims.BATCH, H, W, 2), 2 * h * w),
    ],
)
def test_per_sample(shape: tuple[Dim, ...], expected: object) -> None:
    got = shapes.per_sample(shape)
    assert _same(got, expected)
    assert "batch" not in dims.free_symbols(got)
