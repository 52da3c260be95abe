"""Card text cut by a YAML comment (comments.py): an error where text is lost, nothing
where a `#` is text or the comment was meant."""

from __future__ import annotations

from pathlib import Path

from conftest import run_guarded

DECK = "deck: Comment test\nid: comment-test\n"


def _validate(tmp_path: Path, section: str, newline: str = "\n") -> tuple[int, str]:
    cards = tmp_path / "cards"
    cards.mkdir()
    (cards / "deck.yaml").write_text(DECK, encoding="utf-8")
    (cards / "01-a.yaml").write_bytes(section.replace("\n", newline).encode())
    result = run_guarded("validate", str(cards))
    return result.exit_code, result.output


def test_a_hash_that_is_text_or_a_meant_comment_is_no_problem(tmp_path: Path) -> None:
    code, output = _validate(tmp_path, """\
section: Alpha   # the subdeck's title
source: Somewhere # where its facts come from
cards:
  # a comment line
  - id: one   # a comment after the id
    front: "Which key is the # sign?"
    back: 'single # quoted'
    extra: C# and F# are languages; so is `#lang`
  - id: two
    front: |
      Block text # stays
    back: >
      folded # stays
  - cloze: "{{c1::Paris}} is # 1"   # a comment after quoted text
    id: three
""")
    assert code == 0, output
    assert "YAML comment" not in output


def test_each_cut_text_is_an_error_at_its_hash(tmp_path: Path) -> None:
    code, output = _validate(tmp_path, """\
section: Alpha
cards:
  - front: Which key is the # sign?
    back: It is #1 on the list
    id: one
  - id: two
    cloze: The {{c1::Rhine}} flows # north
    extra: see\t#2
    source: Smith, p. 3 # 4
""", newline="\r\n")
    assert code == 1
    found = [line.split(": ", 1)[0] for line in output.splitlines()
             if "is a YAML comment" in line]
    assert found == [f"{tmp_path}/cards/01-a.yaml:3:29",
                     f"{tmp_path}/cards/01-a.yaml:4:17", f"{tmp_path}/cards/01-a.yaml:7:36",
                     f"{tmp_path}/cards/01-a.yaml:8:16", f"{tmp_path}/cards/01-a.yaml:9:25"]
