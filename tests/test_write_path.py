"""The write side's shortcuts give exactly what the plain way gives."""

from __future__ import annotations

import base64
import io
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from conftest import AnkiImport, run, write_deck

from deckbuilder.anki import _b85
from deckbuilder.database import Row


@pytest.mark.parametrize("data", [bytes(8), b"\xff" * 8, b"\x00\x00\x00\x01\xff\xff\xff\xfe",
                                  *(os.urandom(8) for _ in range(2000))])
def test_guid_digits_are_base85(data: bytes) -> None:
    assert _b85(data) == base64.b85encode(data).decode()


def _unique_ids_by_the_book(wanted: list[tuple[str, int]]) -> dict[str, int]:
    taken: set[int] = set()
    ids = {}
    for key, number in sorted(wanted):
        while number in taken:
            number += 1
        taken.add(number)
        ids[key] = number
    return ids


@pytest.mark.parametrize("seed", range(200))
def test_ids_without_collisions_skip_the_sort_and_give_the_same(seed: int) -> None:
    import random

    from deckbuilder.anki import unique_ids

    rng = random.Random(seed)
    size = rng.randrange(1, 40)
    wanted = [(f"k{rng.randrange(60)}", rng.randrange(50 if seed % 2 else 10**6))
              for _ in range(size)]
    result = unique_ids(iter(wanted))
    assert result == _unique_ids_by_the_book(wanted)
    assert sorted(result.items()) == sorted(_unique_ids_by_the_book(wanted).items())


def _big_deck(root: Path, cards: int) -> Path:
    """A deck whose collection is over a megabyte (so it is deflated in two threads)."""
    lines = ["section: Big", "cards:"]
    for n in range(cards):
        lines += [f"  - id: card-{n}", f"    front: Question {n} {'x' * (n % 97)}",
                  f"    back: Answer {n} {'y' * (n % 89)}"]
    return write_deck(root, {"deck.yaml": "deck: Big Deck\nid: big-deck\n",
                             "01-big.yaml": "\n".join(lines) + "\n"})


def test_a_big_package_is_a_valid_zip_that_anki_imports(tmp_path: Path,
                                                         anki: AnkiImport) -> None:
    deck = _big_deck(tmp_path / "cards", 4000)
    assert run("build", deck, "--out", tmp_path / "out").exit_code == 0
    package = tmp_path / "out" / "big-deck.apkg"
    with zipfile.ZipFile(package) as archive:
        assert archive.testzip() is None
        assert archive.getinfo("collection.anki2").file_size > 1 << 20
    if shutil.which("unzip"):  # another implementation reads it too
        assert subprocess.run(["unzip", "-tq", str(package)], capture_output=True).returncode == 0
    anki.load(package)
    assert len(anki.col.find_notes("")) == 4000
    assert anki.check_database() == ("Database rebuilt and optimized.", True)


def test_two_threads_give_the_bytes_of_one(tmp_path: Path) -> None:
    from deckbuilder import zipwrite as package

    data = os.urandom(1 << 16) * 40  # compressible, over a megabyte
    entries = [("collection.anki2", data), ("media", b"{}")]
    threaded = package.zip_bytes(entries)
    assert package.zip_bytes(entries) == threaded
    with zipfile.ZipFile(io.BytesIO(threaded)) as archive:
        assert archive.read("collection.anki2") == data


def _keeping(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Builds from now on start from the last collection made, as under ``build --watch``;
    the list says, build by build, whether the kept collection was updated (True)."""
    from deckbuilder import database, quick

    results: list[bool] = []
    update = database._update

    def spy(*args: object) -> bool:
        results.append(update(*args))  # type: ignore[arg-type]
        return results[-1]

    monkeypatch.setattr(database, "_update", spy)
    monkeypatch.setattr(database, "_kept", None)
    monkeypatch.setattr(database, "_remember", True)
    # --watch never takes the quick rebuild from disk (quick.py): neither do these builds.
    monkeypatch.setattr(quick, "quick_rebuild", lambda *args, **kwargs: None)
    return results


def _forget(monkeypatch: pytest.MonkeyPatch) -> None:
    """Builds from now on start from nothing."""
    from deckbuilder import database

    monkeypatch.setattr(database, "_kept", None)
    monkeypatch.setattr(database, "_remember", False)


def _change(deck: Path, change: str) -> None:
    basics, maths = deck / "01-basics.yaml", deck / "02-maths.yaml"
    if change == "edit":
        basics.write_text(basics.read_text().replace("back: Paris", "back: Lyon"))
    elif change == "add":
        basics.write_text(basics.read_text().replace(
            "cards:\n", "cards:\n  - id: new-first\n    front: New\n    back: Card\n\n", 1))
    elif change == "remove":
        text = basics.read_text()
        start = text.index("  - id: capital-france")
        basics.write_text(text[:start] + text[text.index("  - id: map-image"):])
    elif change == "rename section":
        basics.rename(deck / "01-renamed.yaml")
    elif change == "section title":
        basics.write_text(basics.read_text().replace("section: Basics", "section: Fundamentals"))
    elif change == "move":
        text = basics.read_text()
        start, end = text.index("  - id: haus"), len(text)
        maths.write_text(maths.read_text().rstrip("\n") + "\n\n" + text[start:end])
        basics.write_text(text[:start])
    elif change == "deck description":
        deck_yaml = deck / "deck.yaml"
        deck_yaml.write_text(deck_yaml.read_text().replace("*every*", "**every**"))


@pytest.mark.parametrize("change", ["edit", "add", "remove", "rename section", "section title",
                                    "move", "deck description"])
def test_a_rebuild_gives_the_bytes_of_a_cold_build(example: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   change: str) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    updates = _keeping(monkeypatch)
    out, cold = tmp_path / "out", tmp_path / "cold"
    assert run("build", example, "--out", out).exit_code == 0
    _change(example, change)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000100")
    rebuilt = run("build", example, "--out", out)
    assert rebuilt.exit_code == 0, rebuilt.output
    assert updates == [True]  # the first build had nothing to start from
    _forget(monkeypatch)
    assert run("build", example, "--out", cold).exit_code == 0  # the same lock, from nothing
    assert updates == [True]
    assert (out / "example-deck.apkg").read_bytes() == (cold / "example-deck.apkg").read_bytes()


@pytest.mark.parametrize("kept", ["garbage", "not a database", "another schema"])
def test_a_rebuild_from_a_strange_collection_is_a_cold_build(example: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             kept: str) -> None:
    import sqlite3

    from deckbuilder import database

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    out, cold = tmp_path / "out", tmp_path / "cold"
    assert run("build", example, "--out", cold).exit_code == 0
    data = b"SQLite format 3\x00" + bytes(5000) if kept == "not a database" else b"garbage"
    if kept == "another schema":
        db = tmp_path / "strange.db"
        connection = sqlite3.connect(db)
        connection.execute("CREATE TABLE notes (id integer primary key, x text)")
        connection.commit()
        connection.close()
        data = db.read_bytes()
    updates = _keeping(monkeypatch)
    monkeypatch.setattr(database, "_kept", database.Collection(data, [(1, "x")], []))
    result = run("build", example, "--out", out)
    assert result.exit_code == 0, result.output
    assert True not in updates  # not updated: built from nothing
    assert (out / "example-deck.apkg").read_bytes() == (cold / "example-deck.apkg").read_bytes()


def test_a_rebuilt_package_imports_into_anki(example: Path, tmp_path: Path, anki: AnkiImport,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    updates = _keeping(monkeypatch)
    out = tmp_path / "out"
    assert run("build", example, "--out", out).exit_code == 0
    _change(example, "add")
    _change(example, "edit")
    assert run("build", example, "--out", out).exit_code == 0
    assert updates == [True]
    anki.load(out / "example-deck.apkg")
    assert "New" in anki.notes()
    assert anki.check_database() == ("Database rebuilt and optimized.", True)


def test_watch_writes_the_bytes_of_a_cold_build(example: Path, tmp_path: Path) -> None:
    """The real thing: `build --watch` rebuilding from what it keeps in memory."""
    import sys
    import time

    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000", "PYTHONUNBUFFERED": "1"}
    out, cold, log = tmp_path / "out", tmp_path / "cold", tmp_path / "watch.log"
    with log.open("w") as handle:
        watcher = subprocess.Popen([sys.executable, "-m", "deckbuilder", "build", str(example),
                                    "--out", str(out), "--watch"], stdout=handle,
                                   stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 60
        while "watching" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        for number, change in enumerate(["edit", "add", "remove"], start=2):
            package = out / "example-deck.apkg"
            before = package.read_bytes()
            while log.read_text().count("wrote ") < number:
                assert time.monotonic() < deadline, log.read_text()
                _change(example, change)  # again if the watcher started a moment late
                time.sleep(0.5)
            while package.read_bytes() == before:
                time.sleep(0.05)
    finally:
        watcher.terminate()
        watcher.wait(timeout=10)
    built = subprocess.run([sys.executable, "-m", "deckbuilder", "build", str(example),
                            "--out", str(cold)], env=env, capture_output=True)
    assert built.returncode == 0, built.stderr
    assert (out / "example-deck.apkg").read_bytes() == (cold / "example-deck.apkg").read_bytes()


@pytest.mark.parametrize("change", ["edit", "add", "remove", "move", "deck description"])
def test_notes_compiled_from_remembered_hashes_are_the_notes(example: Path,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             change: str) -> None:
    from deckbuilder import anki
    from deckbuilder.load import load_deck

    monkeypatch.setattr(anki, "_known", {})
    first = load_deck(example)
    anki.compile_notes(first.deck, first.rendered)
    assert anki._known  # remembered
    _change(example, change)
    checked = load_deck(example)
    remembered = anki.compile_notes(checked.deck, checked.rendered)
    monkeypatch.setattr(anki, "_known", None)
    assert remembered == anki.compile_notes(checked.deck, checked.rendered)


@pytest.mark.parametrize("clash", [False, True])
@pytest.mark.parametrize("change", ["edit", "add", "remove", "move", "rename section",
                                    "section title", "deck description"])
def test_notes_and_rows_of_unchanged_cards_are_reused_and_the_same(
        example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str,
        clash: bool) -> None:
    """As under --watch: the cache hands back the very cards of unchanged sections, whose
    notes and rows are then reused; they are what compiling afresh gives (also when ids
    clash: then every note wants one id, and cards the ids of other notes)."""
    from deckbuilder import anki, cache, database, keptrows
    from deckbuilder.load import load_deck

    if clash:
        monkeypatch.setattr(anki, "derived_note_id", lambda deck_id, guid: 1_300_000_000_000)

    monkeypatch.setattr(anki, "_known", {})
    monkeypatch.setattr(cache, "_memory", {})
    monkeypatch.setattr(database, "_remember", True)
    monkeypatch.setattr(keptrows, "_made", {})

    def compiled() -> tuple[list[anki.Note], tuple[list[Row], list[Row]]]:
        checked = load_deck(example, tmp_path / "cache", write_cache=True)
        notes = anki.compile_notes(checked.deck, checked.rendered)
        mods = {note.guid: 1700000000 + len(note.card_id) for note in notes}
        _, note_rows, card_rows = database._rows(checked.deck, notes, mods,
                                                 dict.fromkeys(anki.NOTETYPES, 1700000000))
        return notes, (list(note_rows), list(card_rows))

    first, first_rows = compiled()
    _change(example, change)
    notes, rows = compiled()
    reused = {id(note) for note in first} & {id(note) for note in notes}
    if change in ("edit", "add", "remove", "section title") and not clash:
        assert reused  # one section changed: the other's notes are the ones made before
    if change == "edit" and not clash:  # and no card moved: their rows are the ones made before
        assert set(map(id, first_rows[0] + first_rows[1])) & set(map(id, rows[0] + rows[1]))
    again, again_rows = compiled()  # nothing changed: everything is what was made before
    assert list(map(id, again)) == list(map(id, notes))
    assert list(map(id, again_rows[0])) == list(map(id, rows[0]))
    if not clash:  # (cards whose ids moved get new rows)
        assert list(map(id, again_rows[1])) == list(map(id, rows[1]))
    monkeypatch.setattr(anki, "_known", None)
    monkeypatch.setattr(database, "_remember", False)
    checked = load_deck(example)
    assert notes == anki.compile_notes(checked.deck, checked.rendered)
    mods = {note.guid: 1700000000 + len(note.card_id) for note in notes}
    _, note_rows, card_rows = database._rows(checked.deck, notes, mods,
                                             dict.fromkeys(anki.NOTETYPES, 1700000000))
    # A build from nothing gives SQLite only the columns that vary, the others as literals
    # (database._VARYING): with those, its rows are the whole rows kept.
    assert rows == ([_whole(database._VARYING["notes"], row) for row in note_rows],
                    [_whole(database._VARYING["cards"], row) for row in card_rows])


def _whole(marks: str, row: Row) -> Row:
    """The row SQLite stores for ``INSERT ... VALUES(marks)`` given ``row``."""
    values = iter(row)
    literals = {"-1": -1, "0": 0, "''": ""}
    whole = tuple(next(values) if mark == "?" else literals[mark] for mark in marks.split(","))
    assert next(values, None) is None
    return whole


def test_lock_lines_kept_between_rebuilds_are_the_lines(example: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Under --watch a lock's unchanged cards keep their entry and their line: the text is
    the text of a lock written from nothing, build after build."""
    from deckbuilder import anki, lock
    from deckbuilder.load import load_deck

    monkeypatch.setattr(lock, "_lines", {})
    old = lock.Lock()
    for number, change in enumerate(["edit", "add", "move", "remove", None], start=1):
        checked = load_deck(example)
        notes = anki.compile_notes(checked.deck, checked.rendered)
        new, _ = lock.update_lock(old, notes, checked.deck.id, 1700000000 + number)
        # Every entry that is as it was is the very one (so its line is kept too).
        assert all(old.cards.get(card_id) is entry for card_id, entry in new.cards.items()
                   if old.cards.get(card_id) == entry)
        text, lines = new.text(), lock._lines
        monkeypatch.setattr(lock, "_lines", None)
        assert text == new.text()  # from nothing
        monkeypatch.setattr(lock, "_lines", lines)
        if change:
            _change(example, change)
        old = new


@pytest.mark.parametrize("change", ["none", "early", "late", "window", "last chunk", "longer",
                                    "shorter", "one chunk", "empty", "small"])
def test_deflating_only_changed_chunks_gives_the_bytes_of_a_whole_deflate(
        monkeypatch: pytest.MonkeyPatch, change: str) -> None:
    """Under --watch the zip reuses the deflated chunks whose bytes and window did not
    change: the zip is the one made from nothing, and the chunks untouched are reused."""
    import random

    from deckbuilder import zipwrite

    rng = random.Random(change)
    words = [bytes(rng.choice(b"abcdefgh") for _ in range(rng.randrange(2, 9)))
             for _ in range(500)]
    before = b" ".join(rng.choice(words) for _ in range(300_000))  # ~1.6 MB, compressible
    chunk, window = zipwrite._CHUNK, zipwrite._WINDOW
    after = {
        "none": before,
        "early": before[:100] + b"X" + before[101:],
        "late": before[:-chunk - 5] + b"XY" + before[-chunk - 3:],
        "window": (before[:5 * chunk - window // 2] + before[5 * chunk - window // 2:5 * chunk]
                   .upper() + before[5 * chunk:]),  # a chunk's end: the next one's window
        "last chunk": before[:-3] + b"end",
        "longer": before[:7 * chunk] + b"inserted" + before[7 * chunk:],
        "shorter": before[:-chunk * 2],
        "one chunk": before[:chunk // 2],
        "empty": b"",
        "small": before[:150_000] + b"W" + before[150_001:200_000],  # one stream, both
    }[change]
    if change == "small":
        before = before[:200_000]
    entries = [("collection.anki2", after), ("media", b"{}")]
    monkeypatch.setattr(zipwrite, "_last", None)
    whole = zipwrite.zip_bytes(entries)
    monkeypatch.setattr(zipwrite, "_last", {})
    zipwrite.zip_bytes([("collection.anki2", before), ("media", b"{}")])
    old_parts = zipwrite._last["collection.anki2"][1]
    assert zipwrite.zip_bytes(entries) == whole
    with zipfile.ZipFile(io.BytesIO(whole)) as archive:
        assert archive.read("collection.anki2") == after
    parts = zipwrite._last["collection.anki2"][1]
    reused = {id(part) for part in parts} & {id(part) for part in old_parts}
    if change in ("early", "late", "window", "last chunk", "longer", "shorter"):
        assert 0 < len(reused) < len(old_parts)  # only what changed was deflated again
    elif change == "none":
        assert len(reused) == len(old_parts)
