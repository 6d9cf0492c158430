"""How many of the buggy programs in tests/fixtures/lint_bugs each rule catches.

Run: python benchmarks/lint_bugs.py  (prints a Markdown table)
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from convcalc.linter.runner import lint_file
from convcalc.linter.settings import Settings
from convcalc.rules import RULES

BUGS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "lint_bugs"


def main() -> None:
    """Lint every program; count, per rule, the programs it flags and its findings."""
    programs: dict[str, set[str]] = defaultdict(set)
    findings: dict[str, int] = defaultdict(int)
    missed = []
    files = sorted(BUGS.glob("*.py"))
    for path in files:
        result = lint_file(path, Settings())
        if not result.diagnostics:
            missed.append(path.stem)
        for d in result.diagnostics:
            programs[d.code].add(path.stem)
            findings[d.code] += 1
    print(f"{len(files)} buggy programs; {len(files) - len(missed)} with at least one finding")
    print()
    print("| Rule | Name | Programs caught | Findings |")
    print("|---|---|---:|---:|")
    for code in sorted(programs):
        print(f"| {code} | {RULES[code].name} | {len(programs[code])} | {findings[code]} |")
    if missed:
        print()
        print("No finding: " + ", ".join(missed))


if __name__ == "__main__":
    main()
