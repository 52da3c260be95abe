"""PyYAML's own corpus of invalid documents, each placed as a section file.

Every one must end in located errors and exit 1, never a traceback; the exact
messages are pinned in tests/data/pyyaml-corpus.expected (regenerate with
DECKBUILDER_REGEN=1 and read the diff).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from conftest import DATA, DECK_YAML, SHARED, needs_shared, problem_lines, run, write_deck

CORPUS = SHARED / "testdata" / "pyyaml-loader-errors"
DOCUMENTS = sorted(p.name for p in CORPUS.glob("*.yaml"))
EXPECTED = DATA / "pyyaml-corpus.expected"
LOCATED = re.compile(r"^cards/01-corpus\.yaml:\d+:\d+: \S")


def _expected() -> dict[str, str]:
    blocks = EXPECTED.read_text(encoding="utf-8").split("\n## ")[1:]
    return {b.split("\n", 1)[0]: b.split("\n", 1)[1] for b in blocks}


def test_corpus_is_there() -> None:
    needs_shared()
    assert len(DOCUMENTS) >= 70


@pytest.mark.parametrize("document", DOCUMENTS)
def test_invalid_document_gets_located_errors(document: str, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    deck = write_deck(tmp_path / "cards", {"deck.yaml": DECK_YAML})
    shutil.copyfile(CORPUS / document, deck / "01-corpus.yaml")
    monkeypatch.chdir(tmp_path)
    result = run("validate", "cards")
    assert result.exit_code == 1
    lines = problem_lines(result.output)
    assert lines[-1].endswith("in 1 file")
    assert all(LOCATED.match(line) for line in lines[:-1]), result.output
    if os.environ.get("DECKBUILDER_REGEN") == "1":
        pytest.skip("regenerating")
    assert result.output == _expected()[document]


def test_regenerate_expected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if os.environ.get("DECKBUILDER_REGEN") != "1":
        pytest.skip("set DECKBUILDER_REGEN=1 to rewrite the expectations")
    out = []
    for document in DOCUMENTS:
        folder = tmp_path / document
        deck = write_deck(folder / "cards", {"deck.yaml": DECK_YAML})
        shutil.copyfile(CORPUS / document, deck / "01-corpus.yaml")
        monkeypatch.chdir(folder)
        out.append(f"## {document}\n{run('validate', 'cards').output}")
    EXPECTED.write_text("# deckbuilder validate on each PyYAML invalid document\n"
                        + "".join(f"\n{block}" for block in out), encoding="utf-8")
