"""Note and card ids that Anki keeps, and change-report searches that find their notes."""

from __future__ import annotations

import re
import shutil
import sqlite3
import zipfile
from pathlib import Path

import pytest
from conftest import AnkiImport, run

from deckbuilder.anki import derived_id, note_guid
from deckbuilder.load import load_deck
from deckbuilder.lock import Lock, read_lock

ROOT = Path(__file__).resolve().parents[1]
DECK_ID = "nato-collective-security"


@pytest.fixture
def nato(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the real deck, built once at a fixed time into tmp_path/out."""
    cards = tmp_path / "cards"
    shutil.copytree(ROOT / "cards", cards)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1800000000")
    result = run("build", cards, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    return cards


def _lock(cards: Path) -> Lock:
    return read_lock(cards / "deck.lock", "deck.lock", DECK_ID)  # raises when damaged


def _package_ids(package: Path) -> tuple[set[int], set[int]]:
    with zipfile.ZipFile(package) as archive:
        data = archive.read("collection.anki2")
    connection = sqlite3.connect(":memory:")
    connection.deserialize(data)
    notes = {row[0] for row in connection.execute("SELECT id FROM notes")}
    cards = {row[0] for row in connection.execute("SELECT id FROM cards")}
    connection.close()
    return notes, cards


def test_a_fresh_import_keeps_every_note_and_card_id(nato: Path, tmp_path: Path,
                                                     anki: AnkiImport) -> None:
    package = tmp_path / "out" / f"{DECK_ID}.apkg"
    anki.load(package)
    lock_ids = {entry.note_id for entry in _lock(nato).cards.values()}
    note_ids, card_ids = _package_ids(package)
    assert lock_ids == note_ids
    assert set(anki.col.find_notes("")) == note_ids
    assert set(anki.col.find_cards("")) == card_ids
    assert anki.check_database() == ("Database rebuilt and optimized.", True)


def _searches(output: str) -> list[str]:
    """The Anki searches a change report prints, each on its own indented line."""
    return [line.strip() for line in output.splitlines()
            if re.match(r"\s+(nid:|\"deck:)", line)]


def test_every_search_in_the_report_finds_exactly_its_notes(
        nato: Path, tmp_path: Path, anki: AnkiImport, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    anki.load(out / f"{DECK_ID}.apkg")
    checked = load_deck(nato)
    first, second, third = checked.deck.sections[:3]
    # Remove every card of the first section but one, move that one to the second,
    # rename the third.
    keep, *removed = [card.id for card in first.cards]
    first_file, second_file = nato / f"{first.stem}.yaml", nato / f"{second.stem}.yaml"
    import yaml

    data = yaml.safe_load(first_file.read_text(encoding="utf-8"))
    moving = next(card for card in data["cards"] if card["id"] == keep)
    first_file.unlink()
    target = yaml.safe_load(second_file.read_text(encoding="utf-8"))
    target["cards"].append(moving)
    second_file.write_text(yaml.safe_dump(target, sort_keys=False, allow_unicode=True),
                           encoding="utf-8")
    third_file = nato / f"{third.stem}.yaml"
    renamed = yaml.safe_load(third_file.read_text(encoding="utf-8"))
    renamed["section"] = "A new title"
    third_file.write_text(yaml.safe_dump(renamed, sort_keys=False, allow_unicode=True),
                          encoding="utf-8")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1800000100")
    result = run("build", nato, "--out", out)
    assert result.exit_code == 0, result.output
    searches = _searches(result.output)
    assert len(searches) == 3, result.output  # removed, moved, renamed

    def guids(search: str) -> set[str]:
        return {anki.col.get_note(nid).guid for nid in anki.col.find_notes(search)}

    assert guids(searches[0]) == {note_guid(DECK_ID, cid) for cid in removed}
    assert guids(searches[1]) == {note_guid(DECK_ID, keep)}
    assert guids(searches[2]) == {note_guid(DECK_ID, card.id) for card in third.cards}


def test_a_lock_of_0_1_migrates_without_a_new_guid_or_mod(nato: Path, tmp_path: Path) -> None:
    lock_path = nato / "deck.lock"
    current = _lock(nato)
    # What deckbuilder 0.1 wrote: ids up to 2042, and no deck line.
    old_text = "".join(
        line if not line.startswith(("card\t", "deck\t")) else "" if line.startswith("deck\t")
        else "\t".join(
            [*parts[:3], str(derived_id(DECK_ID, "note", parts[2])), *parts[4:]])
        for line in lock_path.read_text().splitlines(keepends=True)
        for parts in [line.split("\t")])
    lock_path.write_text(old_text)
    future = sum(derived_id(DECK_ID, "note", e.guid) >= 1_795_564_800_000  # 0.1 released
                 for e in current.cards.values())
    assert future > 0
    result = run("build", nato, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "0 changed" in result.output
    assert f"{future} notes renumbered into the past" in result.output
    migrated = _lock(nato)
    assert migrated == current
    assert all(e.note_id < 1_795_564_800_000 for e in migrated.cards.values())


def test_lock_of_another_deck_or_a_card_twice_is_a_located_error(nato: Path) -> None:
    lock_path = nato / "deck.lock"
    text = lock_path.read_text()
    card_line = next(line for line in text.splitlines(keepends=True) if line.startswith("card"))
    number = text.splitlines().index(card_line.rstrip("\n")) + 1
    lock_path.write_text(text + card_line)
    result = run("validate", nato)
    total = len(text.splitlines()) + 1
    assert result.exit_code == 1
    card_id = card_line.split("\t")[1]
    assert f"deck.lock:{total}:1: card '{card_id}' is listed twice (also on line {number})" \
        in result.output
    lock_path.write_text(text.replace(f"deck\t{DECK_ID}\n", "deck\tother-deck\n"))
    result = run("build", nato, "--out", nato.parent / "out")
    assert result.exit_code == 1
    assert "this lock was written for the deck 'other-deck'" in result.output
    # A lock of 0.1 (no deck line) of another deck: its GUIDs give it away.
    lock_path.write_text(text.replace(f"deck\t{DECK_ID}\n", "").replace(
        card_line, card_line.replace(card_line.split("\t")[2], note_guid("other", card_id))))
    result = run("validate", nato)
    assert result.exit_code == 1
    assert f"card '{card_id}' has a GUID of another deck" in result.output


def test_a_lost_lock_is_recovered_from_the_last_package(nato: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    before = _lock(nato)
    checked = load_deck(nato)
    # The first card of the deck's first section with no source of its own gets one.
    first = checked.deck.sections[0]
    edited = next(c for c in first.cards if c.source == first.source)
    path = nato / f"{checked.deck.sections[0].stem}.yaml"
    text = path.read_text()
    position = text.index(f"id: {edited.id}\n") + len(f"id: {edited.id}\n")
    path.write_text(text[:position] + "    source: A source given later\n" + text[position:])
    (nato / "deck.lock").unlink()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1800000500")
    result = run("build", nato, "--out", out)
    assert result.exit_code == 0, result.output
    assert f"recovered every card's GUID and mod time from {out / (DECK_ID + '.apkg')}" \
        in result.output
    assert "1 changed" in result.output
    after = _lock(nato)
    assert after.cards[edited.id].mod == 1800000500
    assert {cid: e for cid, e in after.cards.items() if cid != edited.id} == {
        cid: e for cid, e in before.cards.items() if cid != edited.id}
    assert after.notetypes == before.notetypes


def test_a_foreign_or_broken_package_in_the_way_starts_afresh(nato: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    (nato / "deck.lock").unlink()
    (out / f"{DECK_ID}.apkg").write_bytes(b"PK\x03\x04 not really a zip")
    result = run("build", nato, "--out", out)
    assert result.exit_code == 0, result.output
    assert "recovered" not in result.output
    assert "first build" in result.output



def test_a_changed_deck_id_is_told_to_go_back(nato: Path) -> None:
    """The author edited deck.yaml's id: the lock names the old one, and the advice to
    restore the lock from version control (which holds the same lock) was a dead end."""
    deck_yaml = nato / "deck.yaml"
    deck_yaml.write_text(deck_yaml.read_text().replace(f"id: {DECK_ID}", "id: renamed-deck"))
    result = run("build", nato, "--out", nato.parent / "out")
    assert result.exit_code == 1
    assert (f"this lock was written for the deck '{DECK_ID}', not 'renamed-deck': if you "
            f"changed the id in deck.yaml, put '{DECK_ID}' back") in result.output
