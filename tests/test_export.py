"""`deckbuilder export --format csv`, read back by Anki's own text import into a fresh profile."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import AnkiImport, run

from deckbuilder.anki import note_guid


def import_csv(anki: AnkiImport, path: Path):  # type: ignore[no-untyped-def]
    from anki.collection import ImportCsvRequest

    metadata = anki.col.get_csv_metadata(str(path), None)
    return anki.col.import_csv(ImportCsvRequest(path=str(path), metadata=metadata)).log


def test_csv_through_anki(example: Path, tmp_path: Path, anki: AnkiImport) -> None:
    out = tmp_path / "out"
    result = run("export", example, "--format", "csv", "--out", out)
    assert result.exit_code == 0, result.output
    csv = out / "example-deck.csv"
    assert f"wrote {csv}: 6 notes" in result.output
    assert ("note: 1 reverse card(s) left out their extra and source, because both sides of "
            "'Basic (and reversed card)' are questions: haus") in result.output
    assert csv.read_text(encoding="utf-8").startswith(
        "#separator:tab\n#html:true\n#notetype column:1\n#deck column:2\n#tags column:5\n"
        "#guid column:6\nBasic\tExample Deck::01 Basics\tWhat is the capital of France?\t")

    log = import_csv(anki, csv)
    assert len(log.new) == 6
    col = anki.col
    assert anki.deck_names() == ["Example Deck", "Example Deck::01 Basics",
                                 "Example Deck::02 Maths & history"]
    assert col.card_count() == 8  # haus asks both ways, the treaty has c1 and c2

    capital = anki.note_by_guid(note_guid("example-deck", "capital-france"))
    assert capital.note_type()["name"] == "Basic"
    assert dict(capital.items()) == {
        "Front": "What is the capital of France?",
        "Back": 'Paris<br><div class="extra">On the <strong>Seine</strong>.</div><br>'
                '<div class="source"><small>Source: An <em>atlas</em></small></div>'}
    assert sorted(capital.tags) == ["example", "example-deck::01-basics", "geo"]
    assert col.decks.name(capital.cards()[0].did) == "Example Deck::01 Basics"

    haus = anki.note_by_guid(note_guid("example-deck", "haus"))
    assert haus.note_type()["name"] == "Basic (and reversed card)"
    assert dict(haus.items()) == {"Front": "das Haus", "Back": "the house"}
    assert len(haus.cards()) == 2
    assert sorted(haus.tags) == ["example", "example-deck::01-basics", "geo", "lang::de"]

    treaty = anki.note_by_guid(note_guid("example-deck", "treaty"))
    assert treaty.note_type()["name"] == "Cloze"
    assert dict(treaty.items()) == {
        "Text": "The North Atlantic Treaty was signed in {{c1::Washington}} in "
                "{{c2::1949::year}}.",
        "Back Extra": '<div class="source"><small>Source: The treaty text</small></div>'}
    assert col.decks.name(treaty.cards()[0].did) == "Example Deck::02 Maths & history"

    listing = anki.note_by_guid(note_guid("example-deck", "list-card"))  # newlines, quotes
    assert listing["Back"] == "<ul>\n<li>2</li>\n<li>3</li>\n<li>5</li>\n</ul>"
    assert listing["Front"] == ("Name the first <code>three</code> primes, with "
                                "&lt;b&gt;care&lt;/b&gt;:")

    quadratic = anki.note_by_guid(note_guid("example-deck", "quadratic"))
    assert quadratic["Text"].startswith("The roots of \\(ax^2+bx+c\\) are {{c1::\\(x = ")

    # The image travels beside the file; once copied into the profile nothing is missing.
    image = anki.note_by_guid(note_guid("example-deck", "map-image"))
    media = out / "example-deck-media"
    (name,) = [p.name for p in media.iterdir()]
    assert f'<img src="{name}"' in image["Front"]
    assert col.media.check().missing == [name]
    shutil.copy(media / name, Path(col.media.dir()) / name)
    assert col.media.check().missing == []

    again = import_csv(anki, csv)
    assert (len(again.new), len(again.updated)) == (0, 0)
    assert col.note_count() == 6


def test_an_edited_card_updates_the_same_note(example: Path, tmp_path: Path,
                                              anki: AnkiImport) -> None:
    out = tmp_path / "out"
    assert run("export", example, "--out", out).exit_code == 0
    import_csv(anki, out / "example-deck.csv")
    section = example / "01-basics.yaml"
    section.write_text(section.read_text().replace("back: Paris", "back: Paris (since 987)"))
    assert run("export", example, "--out", out, "-q").output == (
        "note: 1 reverse card(s) left out their extra and source, because both sides of "
        "'Basic (and reversed card)' are questions: haus\n")
    log = import_csv(anki, out / "example-deck.csv")
    assert (len(log.new), len(log.updated)) == (0, 1)
    capital = anki.note_by_guid(note_guid("example-deck", "capital-france"))
    assert capital["Back"].startswith("Paris (since 987)<br>")
    assert anki.col.note_count() == 6


def test_export_of_a_broken_deck_writes_nothing(tmp_path: Path) -> None:
    from conftest import DECK_YAML, write_deck

    deck = write_deck(tmp_path / "cards", {
        "deck.yaml": DECK_YAML, "01-a.yaml": "section: A\ncards:\n  - id: a\n    front: Q\n"})
    result = run("export", deck, "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert result.output == (f"{deck / '01-a.yaml'}:3:5: a card with 'front' also needs "
                             "'back'\n  3 |   - id: a\n    |     ^\n1 error in 1 file\n")
    assert not (tmp_path / "out").exists()


def test_only_csv_is_offered(example: Path) -> None:
    result = run("export", example, "--format", "tsv")
    assert result.exit_code == 2
    assert "'tsv' is not 'csv'" in result.output
