"""Hostile input to the lock, its merge driver, its recovery from a package, and `sync`:
never a traceback, a hang or damage."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import run, run_guarded

from deckbuilder import lockahead
from deckbuilder.lock import MAX_MOD, CardEntry, Lock, read_lock
from deckbuilder.lockahead import ahead

DECK_ID = "example-deck"


@pytest.fixture
def built(example: Path, tmp_path: Path) -> Path:
    assert run("build", example, "--out", tmp_path / "out").exit_code == 0
    return example


def _card_line(lock: Path) -> tuple[list[str], int]:
    lines = lock.read_text().splitlines(keepends=True)
    return lines, next(i for i, line in enumerate(lines) if line.startswith("card\t"))


@pytest.mark.parametrize("name", ["deck.lock", "01-basics.yaml"])
def test_many_conflict_markers_are_found_in_one_pass(built: Path, name: str) -> None:
    path = built / name
    path.write_text(path.read_text() + "<<<<<<< ours\n" + "=======\n" * 250_000)
    result = run_guarded("validate", built, seconds=20)
    assert result.exit_code == 1
    assert "merge conflict" in result.output


def _set_mod(lock: Path, mod: int) -> tuple[str, int, int]:
    """Give the lock's first card ``mod``; its id, line and the mod's column."""
    lines, index = _card_line(lock)
    fields = lines[index].split("\t")
    fields[6] = str(mod)
    lines[index] = "\t".join(fields)
    lock.write_text("".join(lines))
    return fields[1], index + 1, len("\t".join(fields[:6])) + 2


def test_a_mod_far_in_the_future_is_a_located_problem(built: Path, tmp_path: Path) -> None:
    """A mod of the year 9999 was accepted, and then no later edit could get a newer one."""
    lock = built / "deck.lock"
    card_id, line, column = _set_mod(lock, MAX_MOD)
    text = lock.read_text()
    for command in (["validate"], ["build", "--out", tmp_path / "out"]):
        result = run_guarded(*command, built)
        assert result.exit_code == 1, result.output
        assert result.output.startswith(
            f"{built}/deck.lock:{line}:{column}: card '{card_id}' has a mod in the future "
            f"({MAX_MOD}, 9999-12-31; this computer's clock says "), result.output
        assert "restore this line from version control" in result.output.lower()
        assert "delete" not in result.output
        assert lock.read_text() == text
    now = int(result.output.split("set this one mod to ", 1)[1].split(".")[0])
    assert abs(now - time.time()) < 60
    _set_mod(lock, now)  # the advice, followed: the deck builds, and an edit gets newer mods
    assert run_guarded("build", built, "--out", tmp_path / "out").exit_code == 0
    assert read_lock(lock, "deck.lock", DECK_ID).cards[card_id].mod == now


def test_many_mods_in_the_future_are_one_problem_that_never_says_to_set_each(
        built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A build whose time was a year ahead (SOURCE_DATE_EPOCH, or the clock) wrote every
    mod there: each line was a problem advising to set its mod to now, that is to bump
    every card, which updates every learner's copy and overwrites their own edits."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(time.time()) + 365 * 86_400))
    lock = built / "deck.lock"
    lock.unlink()
    assert run_guarded("build", built, "--out", tmp_path / "ahead").exit_code == 0
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    text = lock.read_text()
    mods = text.count("\ncard\t") + text.count("\nnotetype\t")
    result = run_guarded("validate", built)
    assert result.exit_code == 1
    (problem,) = [line for line in result.output.splitlines() if "deck.lock:" in line]
    first = next(n for n, line in enumerate(text.splitlines(), 1)
                 if line.startswith(("card\t", "notetype\t")))
    assert problem.startswith(f"{lock}:{first}:")
    assert f"{mods} mods of the lock are in the future" in problem
    assert "Restore deck.lock from version control" in problem
    assert "set this one mod" not in problem and "Do not set them all to now" in problem
    assert "delete" not in result.output
    assert lock.read_text() == text


def test_the_future_mods_of_a_big_lock_are_found_in_one_pass() -> None:
    """Each late mod searched the whole text for its line: 13 s for 20,000 cards."""
    cards = {f"card-{n}": CardEntry("g" * 10, 1, "basic", "0" * 16, MAX_MOD, "D::01 A")
             for n in range(20_000)}
    lock = Lock(cards=cards)
    text = "".join(f"card\t{card_id}\tg\t1\tbasic\t{'0' * 16}\t{MAX_MOD}\tD::01 A\n"
                   for card_id in cards)
    start = time.perf_counter()
    (problem,) = ahead(lock, text, "deck.lock")
    assert time.perf_counter() - start < 2
    assert str(problem).startswith("deck.lock:1:")


@pytest.mark.parametrize("ahead", [3600, 86_000])
def test_a_clock_a_little_ahead_is_no_problem(built: Path, tmp_path: Path,
                                              ahead: int) -> None:
    """Two authors' clocks may differ: a mod up to a day ahead reads, as Anki allows ids."""
    _set_mod(built / "deck.lock", int(time.time()) + ahead)
    assert run_guarded("validate", built).exit_code == 0


def test_a_build_time_chosen_ahead_reads_its_own_lock(built: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(time.time()) + 100 * 86_400))
    (built / "deck.lock").unlink()
    assert run_guarded("build", built, "--out", tmp_path / "o2").exit_code == 0
    assert run_guarded("validate", built).exit_code == 0


def test_a_source_date_epoch_of_thousands_of_digits_is_no_traceback(
        built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The future-mod check read it with int(), which refuses more than 4,300 digits."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "9" * 5000)
    section = built / "01-basics.yaml"
    section.write_text(section.read_text() + "# edited\n")  # no answer from the stamp
    assert run_guarded("validate", built).exit_code == 0
    result = run_guarded("build", built, "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert "SOURCE_DATE_EPOCH must be a whole number of seconds" in result.output


def test_a_clock_in_1970_is_blamed_not_every_mod_of_the_lock(
        built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A board without a real-time clock starts in 1970: every mod of the lock was 'in the
    future', each with advice to set it to 0, which would have hidden every later edit."""
    lock = built / "deck.lock"
    text = lock.read_text()
    monkeypatch.setattr(lockahead, "time", SimpleNamespace(time=lambda: 12.5))
    result = run_guarded("validate", built)
    assert result.exit_code == 1
    mods = text.count("\ncard\t") + text.count("\nnotetype\t")
    (problem,) = [line for line in result.output.splitlines() if "deck.lock:" in line]
    assert "this computer's clock says 12 (1970-01-01)" in problem
    assert f"{mods} mods of the lock" in problem
    assert "set the clock right" in problem and "leave it as it is" in problem
    assert "set this one mod" not in result.output and "delete" not in result.output
    assert lock.read_text() == text


def _rewrite_package(package: Path, change) -> None:  # type: ignore[no-untyped-def]
    """Apply ``change`` to the package's collection (a sqlite3 connection)."""
    with zipfile.ZipFile(package) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    database = package.with_suffix(".db")
    database.write_bytes(entries["collection.anki2"])
    connection = sqlite3.connect(database)
    change(connection)
    connection.commit()
    connection.close()
    entries["collection.anki2"] = database.read_bytes()
    database.unlink()
    with zipfile.ZipFile(package, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)


def _half_second_mods(connection: sqlite3.Connection) -> None:
    connection.execute("UPDATE notes SET mod = mod + 0.5")


def _notetype_mod_true(connection: sqlite3.Connection) -> None:
    import json

    (models,) = connection.execute("SELECT models FROM col").fetchone()
    data = json.loads(models)
    for model in data.values():
        model["mod"] = True
    connection.execute("UPDATE col SET models = ?", (json.dumps(data),))


def _flip_header_byte(offset: int, value: int):  # type: ignore[no-untyped-def]
    """A change to the collection's zip headers, local and central (offset in the local
    header; 6: flags, 8: compression method; the central one has it 2 bytes later)."""
    def change(package: Path) -> None:
        data = bytearray(package.read_bytes())
        data[offset] = value
        central = data.index(b"PK\x01\x02")  # the collection is the first entry
        data[central + offset + 2] = value
        package.write_bytes(bytes(data))
    return change


def _damaged_deflate(package: Path) -> None:
    data = bytearray(package.read_bytes())
    start = 30 + len("collection.anki2")
    data[start:start + 64] = b"\xff" * 64
    package.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [
    lambda p: _rewrite_package(p, _half_second_mods),
    lambda p: _rewrite_package(p, _notetype_mod_true),
    _flip_header_byte(6, 1),  # "encrypted"
    _flip_header_byte(8, 99),  # an unknown compression method
    _damaged_deflate,
], ids=["decimal-mods", "notetype-mod-true", "encrypted", "compression-99", "bad-deflate"])
def test_a_damaged_package_never_costs_a_traceback_or_a_lock(built: Path, tmp_path: Path,
                                                            damage) -> None:  # type: ignore[no-untyped-def]
    package = tmp_path / "out" / f"{DECK_ID}.apkg"
    damage(package)
    (built / "deck.lock").unlink()
    result = run_guarded("build", built, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert run_guarded("validate", built).exit_code == 0  # the lock written reads back
    assert read_lock(built / "deck.lock", "deck.lock", DECK_ID).cards


def test_merge_lock_refuses_what_it_cannot_read(tmp_path: Path) -> None:
    binary = tmp_path / "binary.lock"
    binary.write_bytes(b"\xff\xfe\x00bin")
    fifo = tmp_path / "fifo.lock"
    os.mkfifo(fifo)
    for args in (["--resolve", binary], ["--resolve", fifo], [fifo, binary, binary]):
        result = run_guarded("merge-lock", *args, seconds=10)
        assert result.exit_code == 1
        assert "cannot read the lock" in result.output


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("kind", ["empty", "another-database"])
def test_sync_never_makes_a_collection_of_another_file(built: Path, tmp_path: Path,
                                                       kind: str) -> None:
    target = tmp_path / "mine.db"
    target.touch()
    if kind == "another-database":
        connection = sqlite3.connect(target)
        connection.execute("CREATE TABLE recipes (name TEXT)")
        connection.commit()
        connection.close()
    before = _sha(target)
    for extra in (["--dry-run"], []):
        result = run_guarded("sync", built, "--collection", target, "--out", tmp_path / "out",
                             *extra)
        assert result.exit_code == 1
        assert "not an Anki collection" in result.output
        assert _sha(target) == before


def test_a_profile_name_stays_inside_the_base_folder(built: Path, tmp_path: Path) -> None:
    base = tmp_path / "Anki2"
    (base / "User 1").mkdir(parents=True)
    for name in ("..", "../User 1", ""):
        result = run_guarded("sync", built, "--base", base, "--profile", name)
        assert result.exit_code == 2
        assert "is not a profile name" in result.output


@pytest.mark.parametrize("command", [["validate"], ["build", "--check"], ["build"], ["lint"],
                                     ["merge-lock", "--resolve"]])
def test_a_lock_linked_to_a_file_outside_the_deck_is_never_shown(
        built: Path, tmp_path: Path, command: list[str]) -> None:
    """A repository's deck.lock -> ~/.git-credentials: every command printed the secret as
    the excerpt of a 'damaged lock line' (a public CI log, for a pull request)."""
    secret = tmp_path / "credentials"
    secret.write_text("<<<<<<< a\nhttps://user:ghp_SECRET@github.com\n=======\n>>>>>>> b\n")
    lock = built / "deck.lock"
    lock.unlink()
    lock.symlink_to(secret)
    target = lock if command[0] == "merge-lock" else built
    result = run_guarded(*command, target, "--out" if command[0] == "build" else "-q",
                         *([tmp_path / "out"] if command[0] == "build" else []))
    assert result.exit_code == 1
    assert "outside the deck folder" in result.output
    assert "SECRET" not in result.output and "<<<<" not in result.output
    assert secret.read_text().startswith("<<<<<<< a\n")  # never written through


def test_a_lock_saved_with_a_byte_order_mark_reads_as_it_was(built: Path, tmp_path: Path) -> None:
    """A merge tool or editor on Windows that saves UTF-8 with a BOM (as it may keep CRLF):
    the header line was 'damaged', with advice to restore the lock the author just merged."""
    lock = built / "deck.lock"
    plain, before = lock.read_text(), read_lock(lock, "deck.lock", DECK_ID)
    lock.write_bytes(("\ufeff" + plain.replace("\n", "\r\n")).encode())
    assert run_guarded("validate", built).exit_code == 0
    assert read_lock(lock, "deck.lock", DECK_ID) == before
    assert run_guarded("build", built, "--out", tmp_path / "out").exit_code == 0
    assert lock.read_text() == plain  # rewritten as a build writes it, every mod kept
