"""Reading the expected findings that sit beside each example order of invalid/, warning/ and info/."""

from __future__ import annotations

from pathlib import Path

from chemo_protovalidate.model.findings import FileResult

Row = tuple  # (line, severity, rule, agent, day)


def expected_path(order: Path) -> Path:
    return order.with_suffix(".expected")


def read_expected(path: Path) -> list[Row]:
    rows = []
    for number, text in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        fields = text.split()
        if len(fields) != 5:
            raise ValueError(f"{path}:{number}: expected 5 columns (line severity rule agent day), got {fields}")
        line, severity, rule, agent, day = (None if f == "-" else f for f in fields)
        rows.append((int(line) if line else None, severity, rule, agent, int(day) if day else None))
    return sorted(rows, key=repr)


def actual_rows(result: FileResult) -> list[Row]:
    return sorted(((f.line, f.severity.value, f.rule_id, f.agent, f.day) for f in result.all_findings()), key=repr)
