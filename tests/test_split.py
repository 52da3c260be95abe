"""`deckbuilder build --split`: one package per section, read back through Anki."""

from __future__ import annotations

from pathlib import Path

from conftest import AnkiImport, run

from deckbuilder.anki import note_guid


def test_one_package_per_section(example: Path, tmp_path: Path, anki: AnkiImport) -> None:
    out = tmp_path / "out"
    result = run("build", example, "--out", out, "--split")
    assert result.exit_code == 0, result.output
    assert f"wrote 2 section packages: {out / 'example-deck--*.apkg'}" in result.output
    assert sorted(p.name for p in out.glob("*.apkg")) == [
        "example-deck--01-basics.apkg", "example-deck--02-maths.apkg", "example-deck.apkg"]

    log = anki.load(out / "example-deck--02-maths.apkg")
    assert len(log.new) == 3
    assert anki.deck_names() == ["Example Deck", "Example Deck::02 Maths & history"]
    treaty = anki.note_by_guid(note_guid("example-deck", "treaty"))
    assert [c.ord for c in treaty.cards()] == [0, 1]
    assert anki.col.media.dir() and not any(Path(anki.col.media.dir()).iterdir())

    log = anki.load(out / "example-deck--01-basics.apkg")
    assert len(log.new) == 3
    image = anki.note_by_guid(note_guid("example-deck", "map-image"))
    assert "<img" in image["Front"] and anki.col.media.check().missing == []

    # The whole deck after its parts: the same notes, nothing new, nothing updated.
    log = anki.load(out / "example-deck.apkg")
    assert (len(log.new), len(log.updated), len(log.duplicate)) == (0, 0, 6)
    assert anki.deck_names() == ["Example Deck", "Example Deck::01 Basics",
                                 "Example Deck::02 Maths & history"]
    assert anki.col.card_count() == 8
    assert anki.check_database() == ("Database rebuilt and optimized.", True)


def test_split_packages_are_checked_too(example: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run("build", example, "--out", out, "--split").exit_code == 0
    first = {p.name: p.read_bytes() for p in out.glob("*.apkg")}
    assert run("build", example, "--out", out, "--split", "--check").exit_code == 0
    (out / "example-deck--02-maths.apkg").unlink()
    result = run("build", example, "--out", out, "--split", "--check")
    assert result.exit_code == 1
    assert (f"out of date: {out / 'example-deck--02-maths.apkg'} is missing; run `deckbuilder "
            "build --split`") in result.output
    assert run("build", example, "--out", out, "--split").exit_code == 0
    assert {p.name: p.read_bytes() for p in out.glob("*.apkg")} == first  # reproducible


def test_split_packages_of_removed_sections_are_removed(example: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run("build", example, "--out", out, "--split").exit_code == 0
    (example / "02-maths.yaml").rename(example / "03-maths.yaml")
    result = run("build", example, "--out", out, "--split", "--check")
    assert f"{out / 'example-deck--02-maths.apkg'} is left from a section that no longer " \
           "exists" in result.output
    assert run("build", example, "--out", out, "--split").exit_code == 0
    assert sorted(p.name for p in out.glob("*.apkg")) == [
        "example-deck--01-basics.apkg", "example-deck--03-maths.apkg", "example-deck.apkg"]
