"""`deckbuilder stats`: notes and Anki cards per section, kind and tag."""

from __future__ import annotations

from pathlib import Path

from conftest import DECK_YAML, run, write_deck


def test_stats_of_the_example_deck(example: Path) -> None:
    result = run("stats", example)
    assert result.exit_code == 0
    assert result.output == (
        "section             notes  cards\n"
        "01 Basics               3      4\n"
        "02 Maths & history      3      4\n"
        "total                   6      8\n"
        "\n"
        "kind     notes  cards\n"
        "basic        3      3\n"
        "reverse      1      2\n"
        "cloze        2      3\n"
        "\n"
        "tag       notes  cards\n"
        "example       6      8\n"
        "geo           3      4\n"
        "math          2      2\n"
        "history       1      2\n"
        "lang::de      1      2\n"
    )


def test_a_cloze_counts_one_card_per_number(tmp_path: Path) -> None:
    deck = write_deck(tmp_path / "cards", {"deck.yaml": DECK_YAML, "01-a.yaml": """
        section: A
        cards:
          - id: a
            cloze: "{{c1::One}}, {{c2::two}} and {{c1::three}}."
        """})
    assert "cloze        1      2\n" in run("stats", deck).output


def test_stats_of_a_broken_deck(tmp_path: Path) -> None:
    deck = write_deck(tmp_path / "cards", {"deck.yaml": DECK_YAML, "01-a.yaml": "section: A\n"})
    result = run("stats", deck)
    assert result.exit_code == 1
    assert result.output == (f"{deck / '01-a.yaml'}:1:1: missing required key 'cards'\n"
                             "  1 | section: A\n    | ^\n1 error in 1 file\n")
