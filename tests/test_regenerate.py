"""Rebuilding after edits keeps every learner's progress: tested by importing into Anki."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import AnkiImport, run

from deckbuilder.anki import note_guid

V1, V2 = "1700000000", "1700000100"


def build(deck: Path, out: Path, epoch: str, monkeypatch: pytest.MonkeyPatch, *extra: str):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
    result = run("build", deck, "--out", out, *extra)
    assert result.exit_code == 0, result.output
    return result


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_edits_update_notes_and_keep_history(example: Path, tmp_path: Path, anki: AnkiImport,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    package = out / "example-deck.apkg"
    build(example, out, V1, monkeypatch)
    anki.load(package)
    col = anki.col

    capital = anki.note_by_guid(note_guid("example-deck", "capital-france"))
    card = capital.cards()[0]
    card.start_timer()
    col.sched.answerCard(card, 3)
    reviewed = col.get_card(card.id)
    assert reviewed.reps == 1

    haus = anki.note_by_guid(note_guid("example-deck", "haus"))
    haus["Extra"] = "fixed on the phone"
    col.update_note(haus)
    treaty_mod = anki.note_by_guid(note_guid("example-deck", "treaty")).mod

    basics, maths = example / "01-basics.yaml", example / "02-maths.yaml"
    edit(basics, "back: Paris\n", "back: Paris, on the Seine\n")
    edit(basics, "  - id: map-image\n    front: \"Which country has this outline? "
                 "![outline](media/outline.png)\"\n    back: Chile\n\n", "")
    edit(maths, "cards:\n", "cards:\n  - id: map-image\n    front: \"Which country has this "
                "outline? ![outline](media/outline.png)\"\n    back: Chile\n\n")
    edit(maths, "  - id: list-card", "  - id: new-card\n    front: What is 2 + 2?\n    back: 4\n"
                "\n  - id: list-card-gone")
    text = maths.read_text()
    maths.write_text(text[: text.index("  - id: list-card-gone")])

    result = build(example, out, V2, monkeypatch)
    guid = note_guid("example-deck", "list-card")
    assert "changes since the last build: 1 added, 2 changed, 3 unchanged, 1 removed, 1 moved" in (
        result.output)
    assert "  added: new-card\n" in result.output
    assert "  removed: list-card\n" in result.output
    assert "  moved from 'Example Deck::01 Basics' to 'Example Deck::02 Maths & history': " \
           "map-image\n" in result.output
    removed_nid = next(n for n in col.find_notes("") if col.get_note(n).guid == guid)
    assert f"nid:{removed_nid}" in result.output

    log = anki.load(package)
    assert len(log.new) == 1 and len(log.updated) == 2
    capital = anki.note_by_guid(note_guid("example-deck", "capital-france"))
    assert capital["Back"] == "Paris, on the Seine"
    assert col.get_card(card.id).reps == 1  # the review history survived the update
    assert len(col.card_stats_data(card.id).revlog) == 1
    assert anki.note_by_guid(note_guid("example-deck", "haus"))["Extra"] == "fixed on the phone"
    assert anki.note_by_guid(note_guid("example-deck", "treaty")).mod == treaty_mod
    assert anki.note_by_guid(note_guid("example-deck", "new-card"))["Back"] == "4"
    # Anki itself keeps removed notes and the moved note's card in its old subdeck,
    # which is why the report names them with a search.
    assert col.find_notes(f"nid:{removed_nid}") == [removed_nid]
    moved = anki.note_by_guid(note_guid("example-deck", "map-image"))
    assert col.decks.name(moved.cards()[0].did) == "Example Deck::01 Basics"
    assert col.find_notes(f"nid:{moved.id}") == [moved.id]
    assert anki.check_database() == ("Database rebuilt and optimized.", True)


def test_two_builds_in_one_second_still_update(example: Path, tmp_path: Path, anki: AnkiImport,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    build(example, out, V1, monkeypatch)
    anki.load(out / "example-deck.apkg")
    edit(example / "01-basics.yaml", "back: Paris\n", "back: Paris (capital since 987)\n")
    build(example, out, V1, monkeypatch)
    log = anki.load(out / "example-deck.apkg")
    assert len(log.updated) == 1
    note = anki.note_by_guid(note_guid("example-deck", "capital-france"))
    assert note["Back"] == "Paris (capital since 987)"
    assert note.mod == int(V1) + 1


def test_style_change_reaches_learners(example: Path, tmp_path: Path, anki: AnkiImport,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    build(example, out, V1, monkeypatch)
    anki.load(out / "example-deck.apkg")
    from deckbuilder import notetypes

    monkeypatch.setattr(notetypes, "CSS", notetypes.CSS + "\n.card { letter-spacing: 0.01em; }")
    result = build(example, out, V2, monkeypatch)
    assert "notetypes updated (templates or style): basic, cloze, reverse" in result.output
    anki.load(out / "example-deck.apkg")
    model = anki.col.models.by_name("deckbuilder Basic (example-deck)")
    assert model is not None and "letter-spacing: 0.01em" in model["css"]
    assert model["mod"] == int(V2)


def test_field_change_is_refused_without_the_flag(example: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    build(example, out, V1, monkeypatch)
    lock = example / "deck.lock"
    edit(lock, "Front,Back,Extra,Source\nnotetype\tcloze",
         "Front,Back,Extra\nnotetype\tcloze")
    result = run("build", example, "--out", out)
    assert result.exit_code == 1
    assert "error: notetype 'basic' would change its fields from Front, Back, Extra to Front, " \
           "Back, Extra, Source. Anki would then make a copy" in result.output
    assert "--allow-field-change" in result.output
    assert run("build", example, "--out", out, "--allow-field-change").exit_code == 0


def test_damaged_lock_is_a_located_error(example: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    build(example, out, V1, monkeypatch)
    lock = example / "deck.lock"
    lines = lock.read_text().splitlines(keepends=True)
    lines[7] = "card\tcapital-france\tgarbage\n"
    lock.write_text("".join(lines))
    result = run("build", example, "--out", out)
    assert result.exit_code == 1
    assert result.output == (
        f"{example}/deck.lock:8:1: damaged lock line; restore deck.lock from version control"
        "\n  8 | card    capital-france    garbage\n    | ^\n1 error in 1 file\n")


def test_check_says_when_package_or_lock_is_stale(example: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    assert run("build", example, "--out", out, "--check").exit_code == 1
    build(example, out, V1, monkeypatch)
    fresh = run("build", example, "--out", out, "--check")
    assert fresh.exit_code == 0 and "up to date" in fresh.output
    edit(example / "01-basics.yaml", "back: Paris\n", "back: Lyon\n")
    stale = run("build", example, "--out", out, "--check")
    assert stale.exit_code == 1
    assert f"out of date: {out}/example-deck.apkg is not what a build writes now" in stale.output
    assert f"out of date: {example}/deck.lock is not what a build writes now" in stale.output
    assert "Lyon" not in (example / "deck.lock").read_text()


def _build_in_process(deck: Path, out: Path, env: dict[str, str], umask: int) -> None:
    code = (f"import os; os.umask({umask}); from deckbuilder.cli import main; main()")
    subprocess.run([sys.executable, "-c", code, "build", str(deck), "--out", str(out)],
                   env={**os.environ, **env}, check=True, capture_output=True)


def test_builds_are_byte_identical_across_time_zones_umasks_and_folders(
        example: Path, tmp_path: Path) -> None:
    first_out, second_out = tmp_path / "a", tmp_path / "b"
    temp = tmp_path / "tmp"
    temp.mkdir()
    _build_in_process(example, first_out, {"TZ": "UTC", "TMPDIR": str(temp)}, 0o022)
    lock = (example / "deck.lock").read_bytes()
    copy = tmp_path / "elsewhere" / "cards"
    copy.parent.mkdir()
    subprocess.run(["cp", "-r", str(example), str(copy)], check=True)
    for path in copy.rglob("*"):
        os.utime(path, (1_000_000_000, 1_000_000_000))
    _build_in_process(copy, second_out, {"TZ": "Asia/Kathmandu", "TMPDIR": str(temp)}, 0o077)
    digest = [hashlib.sha256((d / "example-deck.apkg").read_bytes()).hexdigest()
              for d in (first_out, second_out)]
    assert digest[0] == digest[1]
    assert (copy / "deck.lock").read_bytes() == lock
    assert list(temp.iterdir()) == []  # no temporary file left behind
    assert sorted(p.name for p in first_out.iterdir()) == [".deckbuilder-cache",
                                                           "example-deck.apkg"]


def test_renamed_section_and_changed_kind_are_reported(example: Path, tmp_path: Path,
                                                       anki: AnkiImport,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    build(example, out, V1, monkeypatch)
    anki.load(out / "example-deck.apkg")
    treaty = anki.note_by_guid(note_guid("example-deck", "treaty"))
    treaty["Extra"] = "learner's own note"
    anki.col.update_note(treaty)
    edit(example / "02-maths.yaml", "section: Maths & history", "section: Maths and history")
    edit(example / "01-basics.yaml", "    reverse: true\n", "")
    result = build(example, out, V2, monkeypatch)
    # A renamed section changes no note: mods stay, so the learner's edit survives.
    assert "0 added, 1 changed, 5 unchanged, 0 removed, 0 moved" in result.output
    assert ("  section renamed: 'Example Deck::02 Maths & history' -> 'Example Deck::02 Maths "
            "and history'\n") in result.output
    assert "  kind changed: haus from reverse to basic\n" in result.output
    haus = anki.note_by_guid(note_guid("example-deck", "haus"))
    assert f"use Notes > Change Note Type, or give the card a new id:\n      nid:{haus.id}\n" \
        in result.output
    assert "moved:" not in result.output
    anki.load(out / "example-deck.apkg")
    # What the report warns about is what Anki does: the old subdeck keeps its cards.
    assert "Example Deck::02 Maths & history" in anki.deck_names()
    search = result.output.split("delete the empty subdeck:\n", 1)[1].splitlines()[0].strip()
    old_deck = anki.col.decks.id_for_name("Example Deck::02 Maths & history")
    found = anki.col.find_cards(search)
    assert len(found) == 4 and {anki.col.get_card(c).did for c in found} == {old_deck}
    assert anki.note_by_guid(note_guid("example-deck", "treaty"))["Extra"] == "learner's own note"


def test_large_reports_stay_readable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from conftest import DECK_YAML, write_deck

    cards = "".join(f"  - id: c{i}\n    front: Question {i}?\n    back: A\n" for i in range(30))
    deck = write_deck(tmp_path / "cards", {"deck.yaml": DECK_YAML,
                                           "01-a.yaml": "section: A\ncards:\n" + cards})
    build(deck, tmp_path / "out", V1, monkeypatch)
    (deck / "01-a.yaml").write_text("section: A\ncards:\n" + cards.replace("back: A", "back: B"))
    result = build(deck, tmp_path / "out", V2, monkeypatch)
    assert ("  changed: c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15, "
            "c16, c17, c18, c19 and 10 more\n") in result.output
