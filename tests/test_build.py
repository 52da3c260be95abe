"""Build packages and read them back through the official Anki library."""

from __future__ import annotations

import hashlib
from pathlib import Path

from conftest import AnkiImport, run

from deckbuilder.anki import note_guid

CLEAN = "Database rebuilt and optimized."

def test_example_deck_through_anki(example: Path, tmp_path: Path, anki: AnkiImport) -> None:
    result = run("build", example, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert f"wrote {tmp_path / 'out' / 'example-deck.apkg'}: 2 sections, 6 notes, 8 cards" in (
        result.output)

    log = anki.load(tmp_path / "out" / "example-deck.apkg")
    assert len(log.new) == 6
    assert anki.deck_names() == ["Example Deck", "Example Deck::01 Basics",
                                 "Example Deck::02 Maths & history"]
    col = anki.col
    assert col.note_count() == 6 and col.card_count() == 8
    assert len(col.find_cards('"deck:Example Deck::01 Basics"')) == 4  # haus has two cards
    assert len(col.find_cards('"deck:Example Deck::02 Maths & history"')) == 4  # c1, c1+c2, 1

    notes = anki.notes()
    capital = notes["What is the capital of France?"]
    assert dict(capital.items()) == {
        "Front": "What is the capital of France?", "Back": "Paris",
        "Extra": "On the <strong>Seine</strong>.", "Source": "An <em>atlas</em>"}
    assert sorted(capital.tags) == ["example", "example-deck::01-basics", "geo"]
    assert capital.guid == note_guid("example-deck", "capital-france")

    haus = notes["das Haus"]
    assert sorted(haus.tags) == ["example", "example-deck::01-basics", "geo", "lang::de"]
    assert len(haus.cards()) == 2

    treaty = anki.note_by_guid(note_guid("example-deck", "treaty"))
    assert treaty["Text"] == ("The North Atlantic Treaty was signed in {{c1::Washington}} in "
                              "{{c2::1949::year}}.")
    assert treaty["Source"] == "The treaty text"
    assert sorted(treaty.tags) == ["example", "example-deck::02-maths", "history"]
    assert [c.ord for c in treaty.cards()] == [0, 1]

    quadratic = anki.note_by_guid(note_guid("example-deck", "quadratic"))
    assert quadratic["Text"] == ("The roots of \\(ax^2+bx+c\\) are "
                                 "{{c1::\\(x = \\frac{-b \\pm \\sqrt{b^2-4ac} }{2a}\\)}}.")

    listing = anki.note_by_guid(note_guid("example-deck", "list-card"))
    assert listing["Front"] == ("Name the first <code>three</code> primes, with "
                                "&lt;b&gt;care&lt;/b&gt;:")
    assert listing["Back"] == "<ul>\n<li>2</li>\n<li>3</li>\n<li>5</li>\n</ul>"

    image = anki.note_by_guid(note_guid("example-deck", "map-image"))
    digest = hashlib.sha256((example / "media" / "outline.png").read_bytes()).hexdigest()[:10]
    flat = f"outline-{digest}.png"
    assert f'<img src="{flat}" alt="outline" />' in image["Front"]
    stored = Path(col.media.dir()) / flat
    assert stored.read_bytes() == (example / "media/outline.png").read_bytes()
    assert col.media.check().missing == []

    assert anki.check_database() == (CLEAN, True)

def test_sections_follow_file_numbers_not_names(tmp_path: Path, anki: AnkiImport) -> None:
    from conftest import DECK_YAML, write_deck

    card = "cards:\n  - id: {id}\n    front: Question {id}?\n    back: Answer\n"
    deck = write_deck(tmp_path / "cards", {
        "deck.yaml": DECK_YAML,
        "2-zebra.yaml": "section: Zebra\n" + card.format(id="z"),
        "10-apple.yaml": "section: Apple\n" + card.format(id="a"),
        "1-mango.yaml": "section: Mango\n" + card.format(id="m"),
    })
    assert run("build", deck, "--out", tmp_path / "out").exit_code == 0
    anki.load(tmp_path / "out" / "test-deck.apkg")
    assert anki.deck_names() == ["Test Deck", "Test Deck::01 Mango", "Test Deck::02 Zebra",
                                 "Test Deck::10 Apple"]
    apple = anki.col.get_note(anki.col.find_notes("tag:test-deck::10-apple")[0])
    assert apple["Front"] == "Question a?"

def test_failed_build_keeps_the_last_package(example: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run("build", example, "--out", out).exit_code == 0
    before = (out / "example-deck.apkg").read_bytes()
    lock_before = (example / "deck.lock").read_bytes()
    (example / "01-basics.yaml").write_text("section: [broken\n")
    result = run("build", example, "--out", out)
    assert result.exit_code == 1
    assert (out / "example-deck.apkg").read_bytes() == before
    assert (example / "deck.lock").read_bytes() == lock_before
    assert sorted(p.name for p in out.iterdir()) == [".deckbuilder-cache", "example-deck.apkg"]

def test_validate_writes_nothing(example: Path) -> None:
    before = {p: p.read_bytes() for p in example.rglob("*")if p.is_file()}
    result = run("validate", example)
    assert result.exit_code == 0
    assert result.output == f"{example}: 2 sections, 6 notes, 8 cards, no errors\n"
    assert {p: p.read_bytes() for p in example.rglob("*") if p.is_file()} == before
