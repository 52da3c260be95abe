"""`deckbuilder new`: the next section file, ready to edit, never overwriting."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import DECK_YAML, run, write_deck

from deckbuilder.scaffold import slug


def test_new_section_is_next_and_ready_to_edit(example: Path) -> None:
    result = run("new", "Baltic air policing", example)
    assert result.exit_code == 0, result.output
    path = example / "03-baltic-air-policing.yaml"
    assert result.stdout == f"created {path}\n"  # the result; the advice goes with the notes
    assert result.stderr == (
        "next: replace `cards: []` with its cards (the file shows an example). Until then "
        "`deckbuilder validate` reports \"the section has no cards yet\": an empty section is an "
        "error on purpose.\n")
    # As written it is the one intended error...
    check = run("validate", example)
    assert check.exit_code == 1
    assert check.output == (f"{path}:4:8: the section has no cards yet\n  4 | cards: []\n"
                            "    |        ^\n1 error in 1 file\n")
    # ...uncommenting the example but leaving `[]` is one error, at the `[]` to delete
    # (not advice to indent the cards like `cards`)...
    text = re.sub(r"^# ?(?=\s+(- id|front|back|extra|cloze))", "", path.read_text("utf-8"),
                  flags=re.M)
    path.write_text(text)
    check = run("validate", example)
    assert check.exit_code == 1
    assert check.output.startswith(
        f"{path}:4:8: invalid YAML: 'cards' has its value '[]' on this line, so the lines "
        "indented under it (from line 6) belong to nothing; to make them its value, write "
        "nothing after 'cards:'\n  4 | cards: []\n    |        ^\n"), check.output
    # ...and uncommenting the example gives a valid section with two cards.
    path.write_text(text.replace("cards: []", "cards:"))
    check = run("validate", example)
    assert check.exit_code == 0, check.output
    assert check.output == f"{example}: 3 sections, 8 notes, 10 cards, no errors\n"


def test_never_overwrites_and_respects_numbers(example: Path) -> None:
    taken = run("new", "Something else", example, "--number", "2")
    assert taken.exit_code == 1
    assert taken.output == f"error: section number 2 is taken by {example / '02-maths.yaml'}\n"
    before = (example / "02-maths.yaml").read_bytes()
    assert run("new", "Maths", example, "--number", "2").exit_code == 1
    assert (example / "02-maths.yaml").read_bytes() == before
    chosen = run("new", "Later", example, "--number", "10", "-q")
    assert chosen.output == f"{example / '10-later.yaml'}\n"
    assert run("new", "After that", example, "-q").output == f"{example / '11-after-that.yaml'}\n"


def test_titles_that_yaml_would_misread_are_quoted(tmp_path: Path) -> None:
    deck = write_deck(tmp_path / "cards", {"deck.yaml": DECK_YAML})
    for title in ("Article 5: the core", "yes", "1949", "# not a comment", 'Say "hi"'):
        path = Path(run("new", title, deck, "-q").output.strip())
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("cards: []", "cards:\n  - id: x\n    cloze: '{{c1::x}}'"))
        result = run("stats", deck)
        assert f" {title} " in result.output, (title, text)
        path.unlink()


def test_modeline_follows_deck_yaml(tmp_path: Path) -> None:
    plain = write_deck(tmp_path / "plain", {"deck.yaml": DECK_YAML})
    assert not run("new", "A", plain, "-q").output.strip().startswith("#")
    assert (plain / "01-a.yaml").read_text().startswith("section: A\n")
    with_line = write_deck(tmp_path / "editor", {
        "deck.yaml": "# yaml-language-server: $schema=../../schema/deck.schema.json\n" + DECK_YAML})
    run("new", "A", with_line)
    assert (with_line / "01-a.yaml").read_text().startswith(
        "# yaml-language-server: $schema=../../schema/section.schema.json\nsection: A\n")


@pytest.mark.parametrize("args, message", [
    (["", "{deck}"], "error: the section title is empty\n"),
    (["Two\nlines", "{deck}"], "error: the section title must be one line: it contains the "
     "line break or tab U+000A\n"),
    (["a::b", "{deck}"], "error: the section title cannot contain '::' (Anki would nest it as "
     "another subdeck level)\n"),
    (["Title", "{deck}/missing"], "error: {deck}/missing is not a deck folder: it has no "
     "deck.yaml\n"),
])
def test_bad_input(tmp_path: Path, args: list[str], message: str) -> None:
    deck = write_deck(tmp_path / "cards", {"deck.yaml": DECK_YAML})
    result = run("new", *[a.format(deck=deck) for a in args])
    assert (result.exit_code, result.output) == (1, message.format(deck=deck))


@pytest.mark.parametrize("title, expected", [
    ("Baltic air policing", "baltic-air-policing"),
    ("Größe & Ökonomie (2004\u20132024)!", "grosse-okonomie-2004-2024"),  # an en dash
    ("???", "section"),
    ("日本", "section"),
    ("Step ⑴", "step-1"),
    ("a" * 60, "a" * 40),
    ("one two three four five six seven eight nine ten", "one-two-three-four-five-six-seven-eight"),
])
def test_slug(title: str, expected: str) -> None:
    assert slug(title) == expected
