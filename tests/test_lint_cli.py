"""``convcalc lint`` and ``convcalc.lint``: output formats, configuration, exit codes."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

import convcalc
from convcalc.cli import main
from convcalc.diagnostics import Diagnostic, Severity

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "lint"
SCHEMA = ROOT / "tests" / "fixtures" / "sarif" / "sarif-schema-2.1.0.json"
DROPOUT = SAMPLES / "CC212_dropout_rate_too_high.py"
CLEAN = SAMPLES / "CC212_dropout_rate_too_high_ok.py"


def lint(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["lint", *args])
    return result.exit_code, result.output


def test_exit_codes_clean_findings_unusable(tmp_path: Path) -> None:
    assert lint(str(CLEAN))[0] == 0
    assert lint(str(DROPOUT))[0] == 1
    broken = tmp_path / "broken.py"
    broken.write_text("import keras\nmodel = keras.Sequential([\n")
    code, out = lint(str(broken))
    assert code == 2
    assert "CC001" in out
    helpers = tmp_path / "helpers.py"
    helpers.write_text("from keras import layers\n\n\ndef block(x):\n"
                       "    return layers.Dense(4, activation='relu')(x)\n")
    assert lint(str(helpers)) == (0, "All checks passed (1 file).\n")
    config = tmp_path / "model.json"
    config.write_text('{"class_name": "Functional", "config": {"layers": [')
    code, out = lint(str(config))
    assert code == 2
    assert "CC002" in out


def test_human_output_has_location_source_line_and_hint() -> None:
    code, out = lint(str(DROPOUT), "--no-color")
    assert code == 1
    lines = out.splitlines()
    first = lines[0]
    assert first.startswith(f"{DROPOUT}:7:5: CC212 ")
    assert "[dropout-rate-too-high]" in first
    assert lines[1].strip() == "7 |     layers.Dropout(0.9),  # warning: CC212"
    assert lines[2].index("^") == lines[1].index("layers")
    assert any(line.startswith("  hint: ") for line in lines)
    assert "Found 1 finding (0 errors, 1 warning) in 1 file." in out


def test_json_output_lists_code_name_and_location() -> None:
    code, out = lint(str(DROPOUT), "--format", "json")
    assert code == 1
    (finding,) = json.loads(out)
    assert (finding["code"], finding["name"], finding["line"], finding["col"]) == (
        "CC212", "dropout-rate-too-high", 7, 5)
    assert finding["severity"] == "warning"


def test_github_annotations() -> None:
    code, out = lint(str(SAMPLES / "CC202_rnn_missing_return_sequences.py"), "--format",
                     "github")
    assert code == 1
    line = out.strip()
    assert line.startswith("::error file=")
    assert ",line=7,col=5,title=CC202 rnn-missing-return-sequences::" in line
    assert "\n" not in line


def test_sarif_output_is_valid_sarif_2_1_0() -> None:
    code, out = lint(str(SAMPLES), "--format", "sarif")
    assert code == 1
    log = json.loads(out)
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft4Validator.check_schema(schema)
    jsonschema.Draft4Validator(schema).validate(log)
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    results = run["results"]
    annotations = sum(len(re.findall(r"# (?:error|warning): CC", p.read_text()))
                      for p in SAMPLES.glob("CC*.py"))
    assert len(results) == annotations
    for r in results:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
        uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert Path(uri).name.startswith(r["ruleId"])
    merge = [r for r in results if r["ruleId"] == "CC202"]
    assert merge and merge[0]["relatedLocations"]


def test_sarif_schema_rejects_a_broken_log() -> None:
    # the vendored schema really constrains: a result without a message is invalid
    schema = json.loads(SCHEMA.read_text())
    log = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "convcalc"}},
                                         "results": [{"ruleId": "CC201"}]}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(schema).validate(log)


def test_select_and_ignore() -> None:
    sample = str(SAMPLES / "CC201_missing_flatten.py")
    assert lint(sample, "--select", "CC1")[0] == 0
    assert lint(sample, "--select", "CC2")[0] == 1
    assert lint(sample, "--ignore", "CC201")[0] == 0
    assert lint(sample, "--select", "CC20", "--ignore", "CC201")[0] == 0
    code, out = lint(sample, "--select", "bogus")
    assert code == 2
    assert "not a rule code" in out


def test_info_notes_only_when_their_code_is_selected() -> None:
    unet = str(ROOT / "samples" / "unet.py")
    assert lint(unet) == (0, "All checks passed (1 file).\n")
    code, out = lint(unet, "--extend-select", "CC107", "--format", "json")
    assert code == 0  # shown, but an info note fails nothing
    notes = json.loads(out)
    assert [(d["code"], d["severity"]) for d in notes] == [("CC107", "info")] * 2
    assert [d["message"] for d in notes] == ["model unet builds only for H a multiple of 8",
                                             "model unet builds only for W a multiple of 8"]


def test_ignore_comment_on_the_line(tmp_path: Path) -> None:
    text = DROPOUT.read_text()
    for comment, clean in (("# convcalc: ignore[CC212]", True), ("# convcalc: ignore", True),
                           ("# convcalc: ignore[CC101]", False)):
        path = tmp_path / "model.py"
        path.write_text(text.replace("# warning: CC212", comment))
        assert lint(str(path))[0] == (0 if clean else 1), comment


def test_pyproject_settings(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "legacy").mkdir(parents=True)
    shutil.copy(DROPOUT, project / "dropout.py")
    shutil.copy(SAMPLES / "CC201_missing_flatten.py", project / "legacy" / "old.py")
    (project / "pyproject.toml").write_text(
        '[tool.convcalc]\nignore = ["CC212"]\n\n'
        '[tool.convcalc.per-file-ignores]\n"legacy/*.py" = ["CC2"]\n')
    assert lint(str(project))[0] == 0
    (project / "pyproject.toml").write_text('[tool.convcalc]\nselect = ["CC201"]\n')
    code, out = lint(str(project), "--format", "json")
    assert code == 1
    assert [d["code"] for d in json.loads(out)] == ["CC201"]
    (project / "pyproject.toml").write_text('[tool.convcalc]\nselcet = ["CC201"]\n')
    code, out = lint(str(project))
    assert code == 2
    assert "unknown [tool.convcalc] key 'selcet'" in out


def test_default_input_shape_binds_unknown_sizes(tmp_path: Path) -> None:
    path = tmp_path / "builder.py"
    path.write_text(
        "import keras\nfrom keras import layers\n\n\n"
        "def build(shape):\n"
        "    inputs = keras.Input(shape=shape)\n"
        "    x = layers.Conv2D(8, 5, padding='same', activation='relu')(inputs)\n"
        "    x = layers.GlobalAveragePooling2D()(x)\n"
        "    return keras.Model(inputs, layers.Dense(2, activation='softmax')(x))\n")
    assert lint(str(path))[0] == 0
    code, out = lint(str(path), "--input-shape", "3,3,1", "--format", "json")
    assert code == 1
    assert [d["code"] for d in json.loads(out)] == ["CC215"]
    (tmp_path / "pyproject.toml").write_text('[tool.convcalc]\ninput-shape = [3, 3, 1]\n')
    assert lint(str(path))[0] == 1


def test_directory_walk_skips_modules_without_a_model(tmp_path: Path) -> None:
    shutil.copy(CLEAN, tmp_path / "model.py")
    (tmp_path / "utils.py").write_text("def scale(x):\n    return x / 255\n")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "junk.py").write_text("this is not python\n")
    code, out = lint(str(tmp_path))
    assert code == 0
    assert "All checks passed (2 files)." in out


def test_jobs_give_the_same_findings() -> None:
    serial = lint(str(SAMPLES), "--format", "json")
    parallel = lint(str(SAMPLES), "--format", "json", "--jobs", "2")
    assert serial[0] == parallel[0] == 1
    assert json.loads(serial[1]) == json.loads(parallel[1])


def test_output_file(tmp_path: Path) -> None:
    out = tmp_path / "report.sarif"
    code, printed = lint(str(DROPOUT), "--format", "sarif", "-o", str(out))
    assert code == 1
    assert printed == ""
    assert json.loads(out.read_text())["runs"][0]["results"][0]["ruleId"] == "CC212"


def test_library_lint_returns_diagnostics(tmp_path: Path) -> None:
    found = convcalc.lint(SAMPLES / "CC202_rnn_missing_return_sequences.py", DROPOUT)
    assert all(isinstance(d, Diagnostic) for d in found)
    assert [(d.code, d.severity, d.span.line if d.span else None) for d in found] == [
        ("CC202", Severity.ERROR, 7), ("CC212", Severity.WARNING, 7)]
    assert convcalc.lint(DROPOUT, ignore=["CC212"]) == []
    assert convcalc.lint(DROPOUT, select=["CC1"]) == []


def test_stacked_rnn_replaces_the_generic_rank_error() -> None:
    found = convcalc.lint(SAMPLES / "CC202_rnn_missing_return_sequences.py")
    assert [d.code for d in found] == ["CC202"]
    assert found[0].related and found[0].related[0].line == 6


def test_rule_command_documents_lint_rules() -> None:
    runner = CliRunner()
    listing = runner.invoke(main, ["rule", "--all"]).output
    for code in ("CC101", "CC201", "CC227"):
        assert code in listing
    codes = [line.split()[0] for line in listing.splitlines()]
    assert codes == sorted(codes)
    doc = runner.invoke(main, ["rule", "CC213"])
    assert doc.exit_code == 0
    assert "# even-kernel-same-padding (CC213)" in doc.output
    assert "Use instead:" in doc.output
    by_name = runner.invoke(main, ["rule", "unused-input"]).output
    assert "(CC205)" in by_name


def test_docs_rules_page_is_current() -> None:
    generated = CliRunner().invoke(main, ["rule", "--format", "markdown"]).output
    assert (ROOT / "docs" / "rules.md").read_text() == generated, (
        "regenerate: convcalc rule --format markdown > docs/rules.md")


def test_unreadable_model_files_are_named_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "model.keras").write_bytes(b"not a zip")
    (tmp_path / "weights.h5").write_bytes(b"\x89HDF\r\n\x1a\n broken")
    code, out = lint(str(tmp_path), "--no-color")
    assert code == 2
    assert out.count("CC006") == 2
    assert "   1 | " not in out  # binary content is not echoed as a source line
    code, out = lint(str(tmp_path), "--format", "github")
    assert [line.split(",")[0] for line in out.splitlines()] == [
        f"::error file={tmp_path / 'model.keras'}", f"::error file={tmp_path / 'weights.h5'}"]


def test_colour_on_request() -> None:
    assert "\x1b[" in lint(str(DROPOUT), "--color")[1]
    assert "\x1b[" not in lint(str(DROPOUT), "--no-color")[1]


def test_progress_is_reported_per_file() -> None:
    from convcalc.linter.runner import lint_paths

    seen: list[tuple[int, int]] = []
    result = lint_paths([SAMPLES], progress=lambda done, total: seen.append((done, total)))
    total = len(list(SAMPLES.glob("*.py")))
    assert seen == [(i, total) for i in range(1, total + 1)]
    assert len(result.files) == total


def test_channels_first_seen_through_rescaling(tmp_path: Path) -> None:
    path = tmp_path / "model.py"
    path.write_text(
        "import keras\nfrom keras import layers\n\n"
        "inputs = keras.Input(shape=(3, 64, 64))\n"
        "x = layers.Rescaling(1 / 255)(inputs)\n"
        "x = layers.Conv2D(8, 3, activation='relu')(x)\n"
        "model = keras.Model(inputs, layers.GlobalAveragePooling2D()(x))\n")
    assert [(d.code, d.span.line if d.span else 0) for d in convcalc.lint(path)] == [
        ("CC204", 6)]


def test_a_failing_check_is_reported_and_the_others_still_run(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from convcalc.linter import load_rules, registry
    from convcalc.rules import RULES

    load_rules()

    def broken(view: registry.ModelView) -> list[Diagnostic]:
        raise RuntimeError("boom")

    checks = [registry.Registered((RULES["CC201"],), broken), *registry.CHECKS]
    monkeypatch.setattr(registry, "CHECKS", checks)
    monkeypatch.setattr("convcalc.linter.runner.CHECKS", checks)
    found = convcalc.lint(DROPOUT)
    assert sorted(d.code for d in found) == ["CC199", "CC212"]
    assert "the CC201 check failed" in next(d.message for d in found if d.code == "CC199")


def test_analysis_limits_are_quiet_unless_selected(tmp_path: Path) -> None:
    path = tmp_path / "model.py"
    path.write_text(
        "import keras\nfrom keras import layers\n\n\n"
        "inputs = keras.Input(shape=(4,))\n"
        "model = keras.Model(inputs, layers.Dense(2, activation='softmax')(inputs))\n"
        "match model:\n"
        "    case _:\n"
        "        pass\n")
    assert lint(str(path)) == (0, "All checks passed (1 file).\n")
    code, out = lint(str(path), "--extend-select", "CC012", "--format", "json")
    assert code == 1
    assert [(d["code"], d["line"]) for d in json.loads(out)] == [("CC012", 7)]


def test_human_report_matches_golden(request: pytest.FixtureRequest,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # reviewed like code; regenerate with: pytest tests/test_lint_cli.py --update-goldens
    monkeypatch.chdir(ROOT)
    code, text = lint("samples/lint", "--no-color")
    assert code == 1
    path = ROOT / "tests" / "golden" / "lint_samples.txt"
    if request.config.getoption("--update-goldens"):
        path.write_text(text)
    assert text == path.read_text()
    heads = [line for line in text.splitlines() if re.match(r"samples/lint/\S+:\d+:\d+: CC", line)]
    summary = re.search(r"Found (\d+) findings \((\d+) errors, (\d+) warnings\)", text)
    assert summary is not None
    assert len(heads) == int(summary.group(1)) == int(summary.group(2)) + int(summary.group(3))
    from convcalc.rules import RULES

    codes = [h.split(": ", 1)[1].split()[0] for h in heads]
    assert int(summary.group(2)) == sum(RULES[c].severity is Severity.ERROR for c in codes)


def test_oversized_source_is_refused_without_reading_it_whole(tmp_path: Path) -> None:
    from convcalc.frontend.scopes import Limits

    big = tmp_path / "generated.py"
    big.write_text("import keras\n" + "#" * Limits().source_bytes + "\n")
    code, out = lint(str(tmp_path), "--format", "json")
    assert code == 2
    assert [(d["code"], d["line"]) for d in json.loads(out)] == [("CC009", None)]
