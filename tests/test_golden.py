"""Golden outputs of the printed reports.

The goldens are convcalc's own output, reviewed like code; regenerate them only with
``pytest tests/test_golden.py --update-goldens``. Each check also re-adds the printed
Param # column against the printed totals. (The Keras oracle tests are elsewhere: a
golden never stands in for them.)
"""

from __future__ import annotations

import io
import re

import pytest
from conftest import FIXTURES, ROOT

from convcalc import api
from convcalc.render.text import markdown_report, print_report

GOLDEN = ROOT / "tests" / "golden"
CASES = {
    "unet": FIXTURES / "keras3" / "truth" / "unet.model.json",
    "siamese": FIXTURES / "keras3" / "truth" / "siamese.model.json",
    "rnn": FIXTURES / "keras3" / "truth" / "rnn.model.json",
    "seq_batch_input_shape": FIXTURES / "keras2" / "seq_batch_input_shape.model.json",
}


def table(name: str) -> str:
    report = api.analyze(CASES[name])
    out = io.StringIO()
    print_report(report, out, color=False)
    return out.getvalue()


def _column_sum(text: str) -> int:
    total = 0
    for line in text.splitlines():
        cells = [c.strip() for c in line.split("│")]
        if len(cells) > 4 and re.fullmatch(r"[\d,]+", cells[3]):
            total += int(cells[3].replace(",", ""))
    return total


@pytest.mark.parametrize("name", sorted(CASES))
def test_table_matches_golden(name: str, request: pytest.FixtureRequest) -> None:
    text = table(name)
    path = GOLDEN / f"{name}.txt"
    if request.config.getoption("--update-goldens"):
        path.write_text(text)
    assert text == path.read_text()
    printed_total = re.search(r"Total params: ([\d,]+)", text)
    assert printed_total is not None
    assert _column_sum(text) == int(printed_total.group(1).replace(",", ""))


def test_markdown_matches_golden(request: pytest.FixtureRequest) -> None:
    text = markdown_report(api.analyze(CASES["siamese"]))
    path = GOLDEN / "siamese.md"
    if request.config.getoption("--update-goldens"):
        path.write_text(text)
    assert text == path.read_text()
