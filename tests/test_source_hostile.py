"""Hostile source: reading it must have no effect on the machine and end in bounded time.

Every effect the files below ask for would create a marker file or directory; the tests
prove none exists afterwards, and that runaway code ends with a CC009 diagnostic.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from convcalc import api
from convcalc.frontend.scopes import Limits
from convcalc.frontend.source import load_source_file, load_source_text

TIME_LIMIT = 8.0
"""Generous bound for a loaded CI machine; each case takes well under a second."""


def hostile_effects(marks: Path) -> str:
    m = str(marks)
    return f'''
import os
import subprocess
import shutil as sh
import importlib
import pathlib

MARK = {m!r}
os.system("touch " + MARK + "/system")
open(MARK + "/open", "w").write("pwned")
__import__("os").system("touch " + MARK + "/dunder_import")
subprocess.run(["touch", MARK + "/subprocess"])
exec("open(MARK + '/exec', 'w').close()")
eval("__import__('os').mkdir(MARK + '/eval')")
compile("import os", "x", "exec")
getattr(os, "system")("touch " + MARK + "/getattr")
importlib.import_module("os").makedirs(MARK + "/importlib")
pathlib.Path(MARK, "pathlib").write_text("x")
sh.copy(__file__, MARK + "/copied")
with open(MARK + "/with", "w") as fh:
    fh.write("x")
globals()["__builtins__"]
sys_mod = __import__("sys")
sys_mod.modules["os"].remove(MARK + "/nothing")
os.environ["PWNED"] = "1"


def in_function():
    os.system("touch " + MARK + "/fn_system")
    open(MARK + "/fn_open", "w").write("pwned")
    subprocess.check_call("touch " + MARK + "/fn_subprocess", shell=True)
    __import__("subprocess").Popen(["touch", MARK + "/fn_popen"])
    return sh.rmtree(MARK)


in_function()


def build_model():
    os.system("touch " + MARK + "/builder")
    import keras
    return keras.Model()
'''


def _assert_no_effect(marks: Path) -> None:
    assert marks.is_dir(), "the marker directory itself must survive"
    assert sorted(p.name for p in marks.iterdir()) == []


def test_side_effects_never_happen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    source = tmp_path / "hostile.py"
    source.write_text(hostile_effects(marks))
    monkeypatch.delenv("PWNED", raising=False)
    start = time.perf_counter()
    report = api.analyze(source)
    assert time.perf_counter() - start < TIME_LIMIT
    _assert_no_effect(marks)
    import os

    assert "PWNED" not in os.environ
    assert report.usable
    assert [d.code for d in report.diagnostics if d.code in ("CC199",)] == []
    assert any(d.code == "CC012" for d in report.diagnostics)  # Model() without a graph


def test_everything_at_once(tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    source = tmp_path / "hostile_all.py"
    source.write_text(hostile_effects(marks) + """
def spin():
    while True:
        pass


def recurse(n):
    return recurse(n + 1) + 1


def build_big():
    payload = "x" * 50_000_000
    import keras
    return keras.Sequential([keras.layers.Dense(len(payload))])


recurse(0)
spin()
""")
    start = time.perf_counter()
    report = api.analyze(source)
    assert time.perf_counter() - start < TIME_LIMIT
    _assert_no_effect(marks)
    # the module body stops at the runaway recursion (so spin() is never reached, and
    # build_big, run after the module body, is not either)
    (budget,) = [d for d in report.diagnostics if d.code == "CC009"]
    assert "nested more than" in budget.message
    assert budget.span is not None and budget.span.line == 50


def test_side_effects_through_imports(tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    (tmp_path / "evil_helpers.py").write_text(
        f"import os\nos.system('touch {marks}/imported')\n"
        "def conv_block(x):\n"
        f"    open('{marks}/helper', 'w').write('x')\n"
        "    from keras import layers\n"
        "    return layers.Dense(4)(x)\n")
    main = tmp_path / "main.py"
    main.write_text("import keras\nfrom evil_helpers import conv_block\n"
                    "x = keras.Input((3,))\nmodel = keras.Model(x, conv_block(x))\n")
    report = api.analyze(main)
    _assert_no_effect(marks)
    assert report.model().totals.params == 16


@pytest.mark.parametrize(("body", "what"), [
    ("while True:\n    pass\n", "while loop"),
    ("x = 0\nwhile x >= 0:\n    x += 1\n", "while loop"),
    ("for i in range(10**12):\n    pass\n", "for loop"),
    ("def f(n):\n    return f(n + 1)\nf(0)\n", "nested more than"),
    ("def f():\n    while True:\n        yield 1\nlist(f())\n", "while loop"),
    ("n = 0\nfor i in range(1000):\n    for j in range(1000):\n        for k in range(5):\n"
     "            n += 1\n", "steps"),
    ("x = [0]\nwhile True:\n    x = x + x\n", "too large"),
    ("s = 'x' * 50_000_000\n", "too large"),
    ("n = 2 ** (10 ** 9)\n", "too large"),
    ("s = '{:>1000000000}'.format(1)\n", "format width"),
    ("s = '%1000000000d' % 1\n", "format width"),
    ("s = 'ab' * 400_000\nt = s.replace('a', s)\n", "too large"),
    ("x = list(range(10**9))\n", "range"),
], ids=["while-true", "while-counter", "huge-range", "recursion", "generator", "nested-loops",
        "doubling-list", "big-string", "big-int", "format-width", "percent-width",
        "replace", "materialised-range"])
def test_runaway_code_ends_with_budget_error(body: str, what: str) -> None:
    start = time.perf_counter()
    loaded = load_source_text(body, "runaway.py")
    assert time.perf_counter() - start < TIME_LIMIT
    budget = [d for d in loaded.diagnostics if d.code == "CC009"]
    assert budget and what in budget[0].message, [str(d) for d in loaded.diagnostics]
    assert budget[0].span is not None and budget[0].span.file == "runaway.py"


def test_budget_error_keeps_the_models_built_before(tmp_path: Path) -> None:
    loaded = load_source_text(
        "import keras\nx = keras.Input((4,))\nm = keras.Model(x, keras.layers.Dense(2)(x))\n"
        "while True:\n    pass\n", "prog.py")
    assert len(loaded.models) == 1
    assert [d.code for d in loaded.diagnostics] == ["CC009"]


def test_huge_source_file_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "huge.py"
    source.write_text("s = '" + "x" * 50_000_000 + "'\n")
    loaded = load_source_file(source)
    assert not loaded.usable
    assert [d.code for d in loaded.diagnostics] == ["CC009"]


def test_huge_string_literal_is_unknown() -> None:
    loaded = load_source_text("s = '" + "x" * 200_000 + "'\nt = s.upper()\n", "big.py")
    assert [d.code for d in loaded.diagnostics] == ["CC009"]
    assert loaded.usable


def test_whole_analysis_time_budget() -> None:
    body = "def b{i}():\n    import keras\n    while True:\n        pass\n    keras.Model()\n"
    source = "".join(body.format(i=i) for i in range(20))
    start = time.perf_counter()
    loaded = load_source_text(source, "many.py", limits=Limits(seconds=1.0))
    assert time.perf_counter() - start < TIME_LIMIT
    assert loaded.diagnostics and all(d.code == "CC009" for d in loaded.diagnostics)


def test_deeply_nested_source() -> None:
    loaded = load_source_text("x = " + "(" * 300 + "1" + ")" * 300 + "\n", "nested.py")
    assert not loaded.usable and loaded.diagnostics[0].code in ("CC001", "CC009")
    chain = load_source_text("x = " + "+".join(["1"] * 5000) + "\n", "chain.py")
    assert not chain.usable and chain.diagnostics[0].code == "CC009"


def test_null_bytes_and_bad_encoding(tmp_path: Path) -> None:
    loaded = load_source_text("x = 1\x00\n", "nul.py")
    assert not loaded.usable and loaded.diagnostics[0].code == "CC001"
    binary = tmp_path / "binary.py"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    loaded = load_source_file(binary)
    assert not loaded.usable and loaded.diagnostics[0].code == "CC001"
