"""`deckbuilder sync` against a real collection, opened with the official Anki library."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import AnkiImport, run, write_deck

from deckbuilder.anki import note_guid, notetype_ids
from deckbuilder.build import build_deck
from deckbuilder.collection import IMPORT_DEFAULTS

DECK = "deck: Sync Deck\nid: sync-deck\n"


def alpha(title: str = "Alpha", back: str = "one", cloze: str = "{{c1::x}} and {{c2::y}}",
          extra: str = "", reverse: str = "true") -> str:
    return f"""
section: {title}
cards:
  - id: a1
    front: first
    back: {back}
  - id: a2
    front: second
    back: two
  - id: a3
    front: third
    back: three
    reverse: {reverse}
  - id: c1
    cloze: "{cloze}"
{extra}"""


BETA = """
section: Beta
cards:
  - id: b1
    front: bee one
    back: b
  - id: b2
    front: bee two
    back: b
  - id: b3
    front: bee three
    back: b
""" + "".join(f"  - id: b{n}\n    front: bee {n}\n    back: b\n" for n in range(4, 11))


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def open_col(path: Path) -> Any:
    from anki.collection import Collection

    return Collection(str(path))


def ours(col: Any, deck_id: str = "sync-deck") -> dict[str, Any]:
    """This deck's notes in the collection, by GUID."""
    mids = notetype_ids(deck_id)
    return {guid: col.get_note(nid) for nid, guid, mid in
            col.db.all("select id, guid, mid from notes") if mid in mids}


def reviews(col: Any) -> dict[int, tuple[Any, ...]]:
    """Scheduling and history of every card, by card id."""
    return {cid: (ivl, due, queue, typ, reps, col.db.scalar(
        "select count() from revlog where cid = ?", cid))
        for cid, ivl, due, queue, typ, reps in col.db.all(
            "select id, ivl, due, queue, type, reps from cards")}


def home(col: Any, card: Any) -> str:
    return str(col.decks.name(card.odid or card.did))


def assert_follows_deck(col: Any, notes: list[Any], kept: set[str] = frozenset(),
                        deck_id: str = "sync-deck") -> dict[str, Any]:
    """The collection holds exactly the deck's notes, each card in its section's subdeck
    (its home deck, for a card in a filtered deck) with the deck's ordinals, and the
    deck's fields and tags, but for the notes in ``kept`` (Anki-side edits kept).
    Returns the collection's notes by GUID."""
    stored_notes = ours(col, deck_id)
    assert set(stored_notes) == {note.guid for note in notes}
    for note in notes:
        stored = stored_notes[note.guid]
        assert sorted(c.ord for c in stored.cards()) == list(note.ords)
        for card in stored.cards():  # Anki's deck names ignore case
            assert home(col, card).casefold() == note.subdeck.casefold()
        if note.card_id not in kept:
            assert tuple(stored.fields) == note.fields
            assert sorted(stored.tags) == list(note.tags)
    return stored_notes


def new_collection(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    open_col(path).close()


@pytest.fixture
def imported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    deck = write_deck(tmp_path / "cards", {"deck.yaml": DECK, "01-alpha.yaml": alpha(),
                                           "02-beta.yaml": BETA})
    collection = tmp_path / "profile" / "collection.anki2"
    new_collection(collection)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(time.time()) - 1000))
    first = run("sync", deck, "--collection", collection, "--out", tmp_path / "out")
    assert first.exit_code == 0, first.output
    assert "synced: 14 added" in first.output
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    return {"deck": deck, "collection": collection, "out": tmp_path / "out"}


@pytest.fixture
def imported_by_hand(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """v1 built in the past and imported the way authors did before `sync`: File > Import."""
    deck = write_deck(tmp_path / "cards", {"deck.yaml": DECK, "01-alpha.yaml": alpha(),
                                           "02-beta.yaml": BETA})
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(time.time()) - 1000))
    assert run("build", deck, "--out", tmp_path / "out").exit_code == 0
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    (tmp_path / "profile").mkdir()
    anki = AnkiImport(tmp_path / "profile")
    try:
        assert len(anki.load(tmp_path / "out" / "sync-deck.apkg").new) == 14
    finally:
        anki.col.close()
    return {"deck": deck, "collection": tmp_path / "profile" / "collection.anki2",
            "out": tmp_path / "out"}


def test_the_collection_follows_the_deck_and_keeps_every_review(
        imported_by_hand: dict[str, Path]) -> None:
    deck, path = imported_by_hand["deck"], imported_by_hand["collection"]
    out = imported_by_hand["out"]
    col = open_col(path)
    col.decks.select(col.decks.id_for_name("Sync Deck"))
    for _ in range(8):  # the learner answers every card: revlog rows, intervals, due dates
        card = col.sched.getCard()
        if card is None:
            break
        col.sched.answerCard(card, 4)
    notes = ours(col)
    edited = notes[note_guid("sync-deck", "a2")]
    edited["Back"] = "two, as I like it"
    col.update_note(edited)
    b2 = notes[note_guid("sync-deck", "b2")]
    filtered = col.decks.new_filtered("Cram")
    cram = col.decks.get(filtered)
    cram["terms"] = [[f"nid:{b2.id}", 10, 0]]
    col.decks.save(cram)
    col.sched.rebuild_filtered_deck(filtered)
    stock = col.new_note(col.models.by_name("Basic"))
    stock["Front"], stock["Back"] = "mine", "not the deck's"
    stock.tags = ["sync-deck::02-beta"]
    col.add_note(stock, col.decks.id_for_name("Sync Deck::02 Beta"))
    col.set_config("withScheduling", True)
    col.remove_config("mergeNotetypes")
    defaults = {key: col.get_config(key, None) for key in IMPORT_DEFAULTS}
    before = reviews(col)
    schema = col.db.scalar("select scm from col")
    stock_row = col.db.first("select * from notes where id = ?", stock.id)
    col.close()

    # The deck moves on: an edit, an addition, a removal, a move, a renamed section, a
    # dropped cloze number.
    move = "  - id: b2\n    front: bee two\n    back: b\n  - id: a4\n    front: new\n    back: 4\n"
    (deck / "01-alpha.yaml").write_text(alpha("First", back="uno", cloze="{{c1::x}} and y",
                                              extra=move))
    (deck / "02-beta.yaml").write_text(BETA.replace(BETA[BETA.index("  - id: b2"):
                                                     BETA.index("  - id: b4")], ""))
    result = run("sync", deck, "--collection", path, "--out", out)
    assert result.exit_code == 0, result.output
    assert "synced: 1 added, 3 updated, 1 moved, 1 renamed, 1 removed, " \
           "1 Anki-side edits kept, 0 conflicts" in result.output
    assert "subdeck renamed: 'Sync Deck::01 Alpha' -> 'Sync Deck::01 First'" in result.output
    assert "edited in Anki and kept (the deck did not change them): a2" in result.output
    assert "empty cards removed: 1" in result.output

    built = build_deck(deck, out, check=True, now=0)
    col = open_col(path)
    try:
        notes = assert_follows_deck(col, built.notes, kept={"a2"})
        assert notes[note_guid("sync-deck", "a2")]["Back"] == "two, as I like it"
        (moved,) = notes[note_guid("sync-deck", "b2")].cards()
        assert moved.did == filtered  # still in the filtered deck, with its new home
        after = reviews(col)
        survivors = set(before) & set(after)
        assert len(survivors) == len(after) - 1  # only a4's card is new
        assert {cid: after[cid] for cid in survivors} == {cid: before[cid] for cid in survivors}
        assert sum(r[4] for r in after.values()) > 0  # the reviews were there to keep
        assert col.db.first("select * from notes where id = ?", stock.id) == stock_row
        assert col.db.scalar("select scm from col") == schema
        assert {key: col.get_config(key, None) for key in IMPORT_DEFAULTS} == defaults
        assert defaults["withScheduling"] is True and defaults["mergeNotetypes"] is None
        assert "Sync Deck::01 Alpha" not in {d.name for d in col.decks.all_names_and_ids()}
        modified = col.mod
    finally:
        col.close()
    assert list((path.parent / "backups").glob("*.colpkg"))

    digest = sha(path)
    again = run("sync", deck, "--collection", path, "--out", out)
    assert again.exit_code == 0, again.output
    assert again.output == ("nothing to do: the collection already matches the deck "
                            "(edited in Anki and kept: a2)\n")
    assert sha(path) == digest
    col = open_col(path)
    assert col.mod == modified
    col.close()


def test_dry_run_changes_nothing(imported: dict[str, Path]) -> None:
    deck, path = imported["deck"], imported["collection"]
    (deck / "02-beta.yaml").write_text(BETA.replace("  - id: b3\n", "  - id: b11\n"))
    lock = (deck / "deck.lock").read_bytes()
    digest = sha(path)
    result = run("sync", deck, "--collection", path, "--out", imported["out"], "--dry-run")
    assert result.exit_code == 0, result.output
    assert "would be removed: 1 note" in result.output
    assert sha(path) == digest
    assert (deck / "deck.lock").read_bytes() == lock


def edit_in_anki(path: Path, card_id: str, back: str) -> None:
    """The author edits a note's Back in Anki (desktop or phone)."""
    col = open_col(path)
    note = ours(col)[note_guid("sync-deck", card_id)]
    note["Back"] = back
    col.update_note(note)
    col.close()


def test_an_edit_in_both_is_a_conflict(imported: dict[str, Path]) -> None:
    deck, path = imported["deck"], imported["collection"]
    edit_in_anki(path, "a1", "mine")
    (deck / "01-alpha.yaml").write_text(alpha(back="theirs"))
    digest = sha(path)
    refused = run("sync", deck, "--collection", path, "--out", imported["out"])
    assert refused.exit_code == 1
    assert "edited both in Anki and in the deck: a1" in refused.output
    assert sha(path) == digest
    again = run("sync", deck, "--collection", path, "--out", imported["out"])
    assert again.exit_code == 1, again.output  # the refusal did not move the lock past it
    forced = run("sync", deck, "--collection", path, "--out", imported["out"],
                 "--overwrite-anki-edits")
    assert forced.exit_code == 0, forced.output
    col = open_col(path)
    assert ours(col)[note_guid("sync-deck", "a1")]["Back"] == "theirs"
    col.close()


def test_a_build_between_an_anki_edit_and_the_sync_is_still_a_conflict(
        imported: dict[str, Path]) -> None:
    """The natural order is edit, build, commit, sync: the build moves the lock's mod past
    the Anki edit, which must not make the edit look older than the deck."""
    deck, path, out = imported["deck"], imported["collection"], imported["out"]
    edit_in_anki(path, "a1", "mine")
    (deck / "01-alpha.yaml").write_text(alpha(back="theirs"))
    time.sleep(1.1)  # the build's mod is later than the edit's
    assert run("build", deck, "--out", out).exit_code == 0
    refused = run("sync", deck, "--collection", path, "--out", out)
    assert refused.exit_code == 1, refused.output
    assert "edited both in Anki and in the deck: a1" in refused.output
    # The author takes the Anki edit into the deck: nothing left to do, and the package and
    # lock are current; the next change of that card in the deck is an update again.
    (deck / "01-alpha.yaml").write_text(alpha(back="mine"))
    settled = run("sync", deck, "--collection", path, "--out", out)
    assert settled.exit_code == 0, settled.output
    assert "nothing to do" in settled.output
    assert run("build", deck, "--out", out, "--check").exit_code == 0
    (deck / "01-alpha.yaml").write_text(alpha(back="later"))
    updated = run("sync", deck, "--collection", path, "--out", out)
    assert updated.exit_code == 0, updated.output
    assert "updated: a1" in updated.output
    col = open_col(path)
    assert ours(col)[note_guid("sync-deck", "a1")]["Back"] == "later"
    col.close()


def test_a_kind_change_needs_allow_full_sync(imported: dict[str, Path]) -> None:
    deck, path = imported["deck"], imported["collection"]
    col = open_col(path)
    col.decks.select(col.decks.id_for_name("Sync Deck"))
    guid = note_guid("sync-deck", "a3")
    front = next(c for c in ours(col)[guid].cards() if c.ord == 0)
    card = col.get_card(front.id)
    card.start_timer()
    col.sched.answerCard(card, 4)
    history = reviews(col)[front.id]
    col.close()
    (deck / "01-alpha.yaml").write_text(alpha(reverse="false"))
    digest = sha(path)
    refused = run("sync", deck, "--collection", path, "--out", imported["out"])
    assert refused.exit_code == 1
    assert "error: card 'a3' would change from reverse to basic\n  this changes the " \
        "collection's schema" in refused.output  # one reason a line, no escaped newline
    assert "--allow-full-sync" in refused.output
    assert sha(path) == digest
    allowed = run("sync", deck, "--collection", path, "--out", imported["out"],
                  "--allow-full-sync")
    assert allowed.exit_code == 0, allowed.output
    col = open_col(path)
    note = ours(col)[guid]
    assert note.mid == next(m for m, k in notetype_ids("sync-deck").items() if k == "basic")
    (card,) = note.cards()
    assert card.id == front.id and reviews(col)[card.id] == history
    col.close()


def test_a_locked_collection_is_refused(imported: dict[str, Path]) -> None:
    deck, path = imported["deck"], imported["collection"]
    (deck / "02-beta.yaml").write_text(BETA.replace("  - id: b3\n", "  - id: b11\n"))
    digest = sha(path)  # before opening: closing any descriptor drops a process's locks
    col = open_col(path)  # Anki has the profile open
    try:
        done = subprocess.run([sys.executable, "-m", "deckbuilder", "sync", str(deck),
                               "--collection", str(path), "--out", str(imported["out"])],
                              capture_output=True, text=True, timeout=120)
    finally:
        col.close()
    assert done.returncode == 1, done.stdout
    assert done.stderr == (f"error: {path} is open in Anki: close Anki or switch profile, "
                           "then run again\n")
    assert sha(path) == digest


def test_big_removals_need_yes(imported: dict[str, Path]) -> None:
    deck, path = imported["deck"], imported["collection"]
    (deck / "02-beta.yaml").unlink()
    digest = sha(path)
    planned = run("sync", deck, "--collection", path, "--out", imported["out"], "--dry-run")
    assert planned.exit_code == 0
    assert "the real run removes 10 of the deck's 14 notes: it will ask, or need --yes" \
        in planned.output
    refused = run("sync", deck, "--collection", path, "--out", imported["out"])
    assert refused.exit_code == 1
    assert "remove 10 of the deck's 14 notes" in refused.output and "--yes" in refused.output
    assert sha(path) == digest
    done = run("sync", deck, "--collection", path, "--out", imported["out"], "--yes")
    assert done.exit_code == 0, done.output
    col = open_col(path)
    assert len(ours(col)) == 4
    assert "Sync Deck::02 Beta" not in {d.name for d in col.decks.all_names_and_ids()}
    col.close()


def test_profiles(tmp_path: Path) -> None:
    deck = write_deck(tmp_path / "cards", {"deck.yaml": DECK, "02-beta.yaml": BETA})
    base = tmp_path / "Anki2"
    absent = run("sync", deck, "--base", base)
    assert absent.exit_code == 2 and f"{base} does not exist" in absent.output
    base.mkdir()
    none = run("sync", deck, "--base", base)
    assert none.exit_code == 2 and "no Anki profile in" in none.output
    for name in ("User 1", "work"):
        new_collection(base / name / "collection.anki2")
    several = run("sync", deck, "--base", base)
    assert several.exit_code == 2
    assert "several profiles: User 1, work; choose one with --profile" in several.output
    chosen = run("sync", deck, "--base", base, "--profile", "work", "--out", tmp_path / "o",
                 "--no-backup")
    assert chosen.exit_code == 0, chosen.output
    assert "synced: 10 added" in chosen.output
    assert not (base / "work" / "backups").exists()
    missing = run("sync", deck, "--collection", tmp_path / "nope.anki2")
    assert missing.exit_code == 2 and "no Anki collection at" in missing.output
    assert not (tmp_path / "nope.anki2").exists()


def test_a_deck_with_errors_syncs_nothing(imported: dict[str, Path]) -> None:
    deck, path = imported["deck"], imported["collection"]
    (deck / "02-beta.yaml").write_text("section: Beta\ncards:\n  - id: b1\n")
    digest = sha(path)
    result = run("sync", deck, "--collection", path, "--out", imported["out"])
    assert result.exit_code == 1
    assert "02-beta.yaml:" in result.output
    assert sha(path) == digest


def test_a_field_change_needs_allow_full_sync(imported: dict[str, Path],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from deckbuilder.notetypes import NOTETYPES

    deck, path, out = imported["deck"], imported["collection"], imported["out"]
    basic = NOTETYPES["basic"]
    monkeypatch.setitem(NOTETYPES, "basic", dataclasses.replace(
        basic, fields=(*basic.fields, "Hint")))
    digest = sha(path)
    refused = run("sync", deck, "--collection", path, "--out", out)  # the build refuses
    assert refused.exit_code == 1 and "would change its fields" in refused.output
    assert run("build", deck, "--out", out, "--allow-field-change").exit_code == 0
    refused = run("sync", deck, "--collection", path, "--out", out)  # so does sync
    assert refused.exit_code == 1
    assert "notetype 'deckbuilder Basic (sync-deck)' would change its fields" in refused.output
    assert "one-way upload or download" in refused.output
    assert sha(path) == digest


def test_without_the_anki_library_sync_says_how_to_install_it(
        imported: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "anki", None)  # `import anki` now fails
    result = run("sync", imported["deck"], "--collection", imported["collection"])
    assert result.exit_code == 2
    # the pip of deckbuilder's own interpreter, since a deck's author may have no clone
    # (pip into a venv of its own, or pipx): the README's ways of installing it
    assert f"{sys.executable} -m pip install 'anki>=25.2,<27'" in result.output
    assert "pipx inject anki-deckbuilder 'anki>=25.2,<27'" in result.output


def test_usage_errors(imported: dict[str, Path]) -> None:
    deck, path = imported["deck"], imported["collection"]
    both = run("sync", deck, "--collection", path, "--profile", "x")
    assert both.exit_code == 2 and "not both" in both.output
    backups = run("sync", deck, "--collection", path, "--no-backup", "--backup-dir", "b")
    assert backups.exit_code == 2


def test_backup_dir(imported: dict[str, Path], tmp_path: Path) -> None:
    deck, path = imported["deck"], imported["collection"]
    (deck / "02-beta.yaml").write_text(BETA.replace("back: b\n", "back: bb\n", 1))
    result = run("sync", deck, "--collection", path, "--out", imported["out"],
                 "--backup-dir", tmp_path / "safe")
    assert result.exit_code == 0, result.output
    (made,) = (tmp_path / "safe").glob("backup-*.colpkg")
    assert f"backup: {made}" in result.output


def test_an_interrupted_sync_converges_when_run_again(
        imported: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    import deckbuilder.sync

    deck, path, out = imported["deck"], imported["collection"], imported["out"]
    move = "  - id: b2\n    front: bee two\n    back: b\n"
    (deck / "01-alpha.yaml").write_text(alpha("First", back="uno", extra=move))
    (deck / "02-beta.yaml").write_text(BETA.replace(BETA[BETA.index("  - id: b2"):
                                                         BETA.index("  - id: b4")], ""))

    def power_cut(*args: object) -> None:
        raise OSError("interrupted")

    with monkeypatch.context() as patch:  # renamed, imported and updated, then stopped
        patch.setattr(deckbuilder.sync, "set_home_deck", power_cut)
        stopped = run("sync", deck, "--collection", path, "--out", out)
    assert stopped.exit_code == 1
    assert "Anki stopped the sync: interrupted; the backup is" in stopped.output
    again = run("sync", deck, "--collection", path, "--out", out)
    assert again.exit_code == 0, again.output
    assert "synced: 0 added, 0 updated, 1 moved, 0 renamed, 1 removed" in again.output
    col = open_col(path)
    try:
        built = build_deck(deck, out, check=True, now=0)
        notes = ours(col)
        assert set(notes) == {note.guid for note in built.notes}
        for note in built.notes:
            assert tuple(notes[note.guid].fields) == note.fields
            assert {home(col, c) for c in notes[note.guid].cards()} == {note.subdeck}
    finally:
        col.close()
    assert "nothing to do" in run("sync", deck, "--collection", path, "--out", out).output


def test_a_file_that_is_not_a_collection(imported: dict[str, Path], tmp_path: Path) -> None:
    bad = tmp_path / "bad.anki2"
    bad.write_bytes(b"not a database, whatever its name")
    result = run("sync", imported["deck"], "--collection", bad, "--out", imported["out"])
    assert result.exit_code == 1
    assert result.output == f"error: cannot open {bad}: not an Anki collection\n"
    assert bad.read_bytes() == b"not a database, whatever its name"


def test_a_card_put_in_a_deck_of_the_users_own_comes_back_and_the_deck_stays(
        imported: dict[str, Path]) -> None:
    deck, path = imported["deck"], imported["collection"]
    col = open_col(path)
    (card,) = ours(col)[note_guid("sync-deck", "b1")].cards()
    col.set_deck([card.id], col.decks.id("Hard ones", create=True))
    col.close()
    result = run("sync", deck, "--collection", path, "--out", imported["out"])
    assert result.exit_code == 0, result.output
    assert "moved: b1 from 'Hard ones' to 'Sync Deck::02 Beta'" in result.output
    col = open_col(path)
    assert home(col, col.get_card(card.id)) == "Sync Deck::02 Beta"
    assert col.decks.id_for_name("Hard ones")
    col.close()


def test_another_decks_notes_are_never_touched(imported: dict[str, Path],
                                               tmp_path: Path) -> None:
    path, out = imported["collection"], imported["out"]
    other = write_deck(tmp_path / "other", {"deck.yaml": "deck: Other\nid: other-deck\n",
                                            "01-x.yaml": BETA})
    assert run("sync", other, "--collection", path, "--out", tmp_path / "o").exit_code == 0
    col = open_col(path)
    before = col.db.all("select * from notes order by id")
    theirs = len(ours(col, "other-deck"))
    col.close()
    deck = imported["deck"]
    (deck / "02-beta.yaml").unlink()
    result = run("sync", deck, "--collection", path, "--out", out, "--yes")
    assert result.exit_code == 0, result.output
    assert "removed: 10 notes" in result.output
    col = open_col(path)
    try:
        assert theirs == 10 and len(ours(col, "other-deck")) == theirs
        after = {row[0]: row for row in col.db.all("select * from notes")}
        mids = notetype_ids("other-deck")
        assert [row for row in before if row[2] in mids] == [
            after[row[0]] for row in before if row[2] in mids]
    finally:
        col.close()


def test_a_deck_renamed_only_by_case_converges(imported: dict[str, Path]) -> None:
    """Anki's deck names ignore case: 'sync deck::01 Alpha' is the deck 'Sync Deck::01
    Alpha', so nothing moves, and the sync neither fails nor plans the same move forever."""
    deck, path, out = imported["deck"], imported["collection"], imported["out"]
    (deck / "deck.yaml").write_text("deck: sync deck\nid: sync-deck\n")
    (deck / "02-beta.yaml").write_text(BETA.replace("section: Beta", "section: BETA"))
    first = run("sync", deck, "--collection", path, "--out", out)
    assert first.exit_code == 0, first.output
    again = run("sync", deck, "--collection", path, "--out", out)
    assert again.exit_code == 0, again.output
    assert "nothing to do" in again.output
    col = open_col(path)
    try:
        assert_follows_deck(col, build_deck(deck, out, check=True, now=0).notes)
    finally:
        col.close()


@pytest.mark.parametrize("reference", ["[sound:media/word.mp3]", "![map](media/word.png)"])
def test_a_changed_media_file_reaches_the_collection(reference: str,
                                                     imported: dict[str, Path]) -> None:
    """A changed file gets a new content-addressed name, so the note is updated; a note
    that only changed is written directly (no import), and its file must come along."""
    deck, path, out = imported["deck"], imported["collection"], imported["out"]
    file = deck / reference.split("(")[-1].split("[sound:")[-1].rstrip(")]")
    file.parent.mkdir()
    card = f"  - id: m1\n    front: 'Which word? {reference}'\n    back: word\n"
    (deck / "03-media.yaml").write_text("section: Media\ncards:\n" + card)
    for content in (b"first version", b"second version"):
        file.write_bytes(content)
        result = run("sync", deck, "--collection", path, "--out", out)
        assert result.exit_code == 0, result.output
        col = open_col(path)
        try:
            note = ours(col)[note_guid("sync-deck", "m1")]
            name = re.search(r"word-[0-9a-f]+\.(mp3|png)", note["Front"])[0]
            assert (Path(col.media.dir()) / name).read_bytes() == content
            assert not col.media.check().missing
        finally:
            col.close()


def test_anki_own_marked_and_leech_tags_are_no_edit_and_survive_the_deck_s_edits(
        imported: dict[str, Path]) -> None:
    """Mark Note (Ctrl+K) adds the tag 'marked', a leech gets 'leech' by itself: neither is
    an author's edit. Fixing such a card in the deck was a conflict ('copy the Anki edit
    into the deck'), and --overwrite-anki-edits then dropped the tag."""
    deck, path = imported["deck"], imported["collection"]
    col = open_col(path)
    notes = ours(col)
    for card_id, tag in (("a1", "marked"), ("a2", "leech"), ("b1", "Marked")):
        notes[note_guid("sync-deck", card_id)].add_tag(tag)
        col.update_note(notes[note_guid("sync-deck", card_id)])
    col.close()
    (deck / "01-alpha.yaml").write_text(alpha(back="one, fixed"))  # a1 changes, a2 does not
    result = run("sync", deck, "--collection", imported["collection"], "--out", imported["out"])
    assert result.exit_code == 0, result.output
    assert "synced: 0 added, 1 updated, 0 moved, 0 renamed, 0 removed, 0 Anki-side edits " \
           "kept, 0 conflicts" in result.output
    col = open_col(path)
    try:
        notes = ours(col)
        a1, a2, b1 = (notes[note_guid("sync-deck", c)] for c in ("a1", "a2", "b1"))
        assert (a1["Back"], a1.has_tag("marked")) == ("one, fixed", True)
        assert a2.has_tag("leech") and b1.has_tag("marked")
    finally:
        col.close()
    again = run("sync", deck, "--collection", imported["collection"], "--out", imported["out"])
    assert "nothing to do: the collection already matches the deck\n" in again.output


def test_a_lock_line_naming_a_deck_of_the_users_never_removes_it(
        imported: dict[str, Path]) -> None:
    """The lock's subdecks are deckbuilder's to remove once empty: a line naming the user's
    empty 'Japanese::Kanji' (by hand, or a hostile repository's lock) removed it and its
    parent 'Japanese'."""
    deck, path = imported["deck"], imported["collection"]
    col = open_col(path)
    col.decks.id("Japanese::Kanji")
    col.close()
    lock = deck / "deck.lock"
    line = next(line for line in lock.read_text().splitlines() if line.startswith("card\t"))
    fields = line.split("\t")
    fields[1], fields[-1] = "ghost", "Japanese::Kanji"
    lock.write_text(lock.read_text() + "\t".join(fields) + "\n")
    result = run("sync", deck, "--collection", path, "--out", imported["out"])
    assert result.exit_code == 0, result.output
    col = open_col(path)
    try:
        names = {d.name for d in col.decks.all_names_and_ids()}
        assert {"Japanese", "Japanese::Kanji"} <= names, result.output
    finally:
        col.close()


def deck_names(path: Path) -> set[str]:
    col = open_col(path)
    try:
        return {d.name for d in col.decks.all_names_and_ids()}
    finally:
        col.close()


def reported(output: str) -> set[str]:
    """What a run says it does or would do, in the real run's words."""
    lines = {line.replace(" would be ", " ").replace("plan: ", "synced: ")
             .replace("would write ", "wrote ") for line in output.splitlines()}
    return {line for line in lines if not line.startswith(("backup: ", "synced /", "dry run"))}


def test_the_dry_run_says_everything_the_real_run_does(imported: dict[str, Path]) -> None:
    """The dry run left out the subdecks and empty cards the real run removes."""
    deck, path, out = imported["deck"], imported["collection"], imported["out"]
    (deck / "deck.yaml").write_text("deck: Parent::Sync Deck\nid: sync-deck\n")
    (deck / "01-alpha.yaml").write_text(alpha(cloze="{{c1::x}} and y"))
    (deck / "02-beta.yaml").unlink()
    dry = run("sync", deck, "--collection", path, "--out", out, "--dry-run", "--yes")
    assert dry.exit_code == 0, dry.output
    real = run("sync", deck, "--collection", path, "--out", out, "--yes")
    assert real.exit_code == 0, real.output
    assert "empty subdeck removed: 'Sync Deck::02 Beta'" in real.output
    assert "empty subdeck removed: 'Sync Deck'" in real.output
    assert "empty cards removed: 1" in real.output
    assert reported(dry.output) == reported(real.output)
    assert f"backup: would be made in {path.parent / 'backups'}\n" in dry.output
    assert deck_names(path) == {"Default", "Parent", "Parent::Sync Deck",
                                "Parent::Sync Deck::01 Alpha"}


def test_a_deck_taken_out_of_its_parent_leaves_no_empty_parent(
        imported: dict[str, Path]) -> None:
    """`deck: Parent::Sync Deck` brought 'Parent' along; back to `deck: Sync Deck`, the
    empty 'Parent' stayed in the collection."""
    deck, path, out = imported["deck"], imported["collection"], imported["out"]
    for name in ("Parent::Sync Deck", "Sync Deck"):
        (deck / "deck.yaml").write_text(f"deck: {name}\nid: sync-deck\n")
        result = run("sync", deck, "--collection", path, "--out", out)
        assert result.exit_code == 0, result.output
    assert "empty subdeck removed: 'Parent'" in result.output
    assert deck_names(path) == {"Default", "Sync Deck", "Sync Deck::01 Alpha",
                                "Sync Deck::02 Beta"}


def test_a_parent_the_user_made_or_filled_stays(imported: dict[str, Path]) -> None:
    """Only decks deckbuilder made go, and only while nothing of the user's is in them:
    'Shelf' existed before the deck moved in, 'Made' got a subdeck of the user's."""
    deck, path, out = imported["deck"], imported["collection"], imported["out"]

    def sync_as(name: str) -> str:
        (deck / "deck.yaml").write_text(f"deck: {name}\nid: sync-deck\n")
        result = run("sync", deck, "--collection", path, "--out", out)
        assert result.exit_code == 0, result.output
        return result.output

    sync_as("Made::Sync Deck")
    col = open_col(path)
    col.decks.id("Made::Mine")
    col.decks.id("Shelf")
    col.close()
    sync_as("Shelf::Sync Deck")
    sync_as("Sync Deck")
    assert {"Made", "Made::Mine", "Shelf"} <= deck_names(path)
    assert "nothing to do" in sync_as("Sync Deck")
    col = open_col(path)
    col.decks.remove([col.decks.id_for_name("Made::Mine")])
    col.close()
    dry = run("sync", deck, "--collection", path, "--out", out, "--dry-run")
    assert "empty subdeck would be removed: 'Made'" in dry.output
    assert "empty subdeck removed: 'Made'" in sync_as("Sync Deck")
    assert deck_names(path) == {"Default", "Shelf", "Sync Deck", "Sync Deck::01 Alpha",
                                "Sync Deck::02 Beta"}


def move_home(path: Path, card_id: str, deck: str) -> None:
    """The user moves a card of the deck into ``deck`` (made if missing), in Anki."""
    col = open_col(path)
    try:
        note = ours(col)[note_guid("sync-deck", card_id)]
        col.set_deck([card.id for card in note.cards()], col.decks.id(deck))
    finally:
        col.close()


def test_a_deck_of_the_users_under_the_deck_stays_when_its_cards_go_home(
        imported: dict[str, Path]) -> None:
    """A deck the user made under the deck, or under a section's subdeck, to study a few
    cards apart was removed once sync had moved those cards back home."""
    deck, path, out = imported["deck"], imported["collection"], imported["out"]
    move_home(path, "b1", "Sync Deck::My extras")
    move_home(path, "b2", "Sync Deck::02 Beta::Hard")
    dry = run("sync", deck, "--collection", path, "--out", out, "--dry-run")
    result = run("sync", deck, "--collection", path, "--out", out)
    assert result.exit_code == 0, result.output
    assert "moved: b1 from 'Sync Deck::My extras' to 'Sync Deck::02 Beta'" in result.output
    assert "removed: '" not in dry.output + result.output
    assert {"Sync Deck::My extras", "Sync Deck::02 Beta::Hard"} <= deck_names(path)


def test_a_deck_sync_made_is_the_users_once_they_renamed_it(
        imported: dict[str, Path]) -> None:
    """Decks a sync made are recorded by id: the subdeck the user renamed 'Beta mine', and
    'Parent' (brought by `deck: Parent::Sync Deck`) renamed 'Shelf', were removed as
    deckbuilder's once sync had taken the deck's cards back out of them."""
    deck, path, out = imported["deck"], imported["collection"], imported["out"]
    col = open_col(path)
    col.decks.rename(col.decks.id_for_name("Sync Deck::02 Beta"), "Beta mine")
    col.close()
    (deck / "deck.yaml").write_text("deck: Parent::Sync Deck\nid: sync-deck\n")
    result = run("sync", deck, "--collection", path, "--out", out)
    assert result.exit_code == 0, result.output
    col = open_col(path)
    col.decks.rename(col.decks.id_for_name("Parent"), "Shelf")
    col.close()
    result = run("sync", deck, "--collection", path, "--out", out)
    assert result.exit_code == 0, result.output
    assert "synced: 0 added, 0 updated, 14 moved" in result.output
    assert {"Beta mine", "Shelf", "Shelf::Sync Deck", "Shelf::Sync Deck::01 Alpha"} <= \
        deck_names(path), result.output


@pytest.mark.parametrize("record", [
    "ids", "wrong types", "other names", "huge keys"])
def test_a_damaged_record_of_made_decks_removes_nothing_of_the_users(
        imported: dict[str, Path], record: str) -> None:
    """The collection's record of the decks syncs made is data like any other: a record
    naming the user's deck by its id alone (the first version's shape) removed it."""
    deck, path, out = imported["deck"], imported["collection"], imported["out"]
    col = open_col(path)
    mine = col.decks.id("Mine")
    col.set_config("deckbuilder:sync-deck:decks", {
        "ids": [mine, 1, True],
        "wrong types": {str(mine): 5, "1": None, "x": "Mine", str(mine) + ".0": "Mine"},
        "other names": {str(mine): "mine ", "1": "Mine"},
        "huge keys": {"9" * 5000: "Mine", str(2 ** 64): "Mine", "-" + str(mine): "Mine"},
    }[record])
    col.close()
    (deck / "02-beta.yaml").unlink()
    result = run("sync", deck, "--collection", path, "--out", out, "--yes")
    assert result.exit_code == 0, result.output
    assert "Mine" in deck_names(path)
    assert "Sync Deck::02 Beta" not in deck_names(path)  # in the old lock: deckbuilder's


def test_a_deck_of_the_users_holding_a_whole_section_is_never_renamed(
        imported: dict[str, Path]) -> None:
    """Every card of '02 Beta' moved by the user into their 'Sync Deck::My extras', then the
    section renamed: their deck was renamed 'Sync Deck::02 Bees' (it is gone by its name)."""
    deck, path, out = imported["deck"], imported["collection"], imported["out"]
    for number in range(1, 11):
        move_home(path, f"b{number}", "Sync Deck::My extras")
    (deck / "02-beta.yaml").write_text(BETA.replace("section: Beta", "section: Bees"))
    result = run("sync", deck, "--collection", path, "--out", out)
    assert result.exit_code == 0, result.output
    assert "synced: 0 added, 0 updated, 10 moved, 0 renamed" in result.output
    assert deck_names(path) == {"Default", "Sync Deck", "Sync Deck::01 Alpha",
                                "Sync Deck::02 Bees", "Sync Deck::My extras"}


def test_a_backup_that_cannot_be_written_is_said_so_and_changes_nothing(
        imported: dict[str, Path]) -> None:
    """A --backup-dir that cannot be made was 'Anki stopped the sync: [Errno 20] ... Run it
    again to finish', as if the sync had begun: running it again fails the same way."""
    deck, path, out = imported["deck"], imported["collection"], imported["out"]
    (deck / "01-alpha.yaml").write_text(alpha(back="uno"))
    blocker = path.parent / "a-file"
    blocker.write_text("")
    digest = sha(path)
    result = run("sync", deck, "--collection", path, "--out", out,
                 "--backup-dir", blocker / "backups")
    assert result.exit_code == 1
    assert result.output.startswith(f"error: cannot back up the collection into {blocker}/"
                                    "backups: Not a directory; nothing in it was changed "
                                    "(choose another --backup-dir)\n"), result.output
    assert sha(path) == digest


def test_sync_says_what_learners_of_the_new_package_must_do(
        imported: dict[str, Path]) -> None:
    """sync builds the package learners import, but printed only what it did to the
    author's collection: the `nid:` search for a removed card (which an import never
    deletes) was lost, and the next `build` reported nothing removed."""
    deck, path, out = imported["deck"], imported["collection"], imported["out"]
    (deck / "02-beta.yaml").write_text(BETA.replace("  - id: b3\n    front: bee three\n"
                                                    "    back: b\n", ""))
    removed = build_deck(deck, out, check=True, now=int(time.time())).changes.removed
    assert [card_id for card_id, _ in removed] == ["b3"]
    search = f"      nid:{removed[0][1].note_id}"
    dry = run("sync", deck, "--collection", path, "--out", out, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert f"would write {out / 'sync-deck.apkg'}: " in dry.output
    assert search in dry.output.splitlines()
    real = run("sync", deck, "--collection", path, "--out", out)
    assert real.exit_code == 0, real.output
    lines = real.output.splitlines()
    assert lines[0].startswith(f"wrote {out / 'sync-deck.apkg'}: 2 sections, 13 notes")
    assert "changes since the last build: 0 added, 0 changed, 13 unchanged, 1 removed, " \
           "0 moved" in lines
    assert search in lines
    again = run("sync", deck, "--collection", path, "--out", out)
    assert again.exit_code == 0, again.output
    assert "wrote" not in again.output  # nothing new for learners: no report
