"""Golden cases: each folder under tests/cases holds a broken deck and the exact report.

Regenerate the expectations on purpose with  DECKBUILDER_REGEN=1 pytest tests/test_cases.py
and read the diff before committing it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import run_guarded

CASES = Path(__file__).parent / "cases"
REGEN = os.environ.get("DECKBUILDER_REGEN") == "1"


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir() if p.is_dir()))
def test_case(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = CASES / case
    monkeypatch.chdir(folder)
    before = {p: p.read_bytes() for p in Path("cards").rglob("*") if p.is_file()}
    result = run_guarded("validate", "cards")  # a traceback or a hang fails the case
    report = f"{result.output}exit: {result.exit_code}\n"
    expected = folder / "expected.txt"
    if REGEN:
        expected.write_text(report, encoding="utf-8")
    assert report == expected.read_text(encoding="utf-8")
    assert result.exit_code == 1
    assert {p: p.read_bytes() for p in Path("cards").rglob("*") if p.is_file()} == before
