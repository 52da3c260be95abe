"""What a build writes and deletes, against a hostile repository and failures at any step.

Real files, real symlinks, real SQLite: planted temporaries, renames that fail half way,
a journal left by a killed build, clean-up next to files deckbuilder did not make, and
a $TMPDIR that cannot hold the scratch database.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import run, run_guarded

from deckbuilder import package
from deckbuilder.load import CACHE_DIR
from deckbuilder.lock import read_lock

JOURNAL = ".deckbuilder-journal"  # package.JOURNAL


def _package_mods(apkg: Path) -> dict[str, int]:
    """Every note's mod in the package, read from its collection with sqlite3."""
    with zipfile.ZipFile(apkg) as archive:
        data = archive.read("collection.anki2")
    with tempfile.TemporaryDirectory() as folder:
        database = Path(folder) / "collection.anki2"
        database.write_bytes(data)
        connection = sqlite3.connect(database)
        try:
            return dict(connection.execute("SELECT guid, mod FROM notes").fetchall())
        finally:
            connection.close()


def _lock_mods(deck: Path) -> dict[str, int]:
    return {entry.guid: entry.mod
            for entry in read_lock(deck / "deck.lock", "deck.lock").cards.values()}


def _edit(deck: Path, old: str = "back: Paris", new: str = "back: Lyon") -> None:
    basics = deck / "01-basics.yaml"
    basics.write_text(basics.read_text().replace(old, new))


def _leftovers(*folders: Path) -> list[str]:
    return sorted(p.name for folder in folders for p in folder.rglob("*")
                  if p.name.endswith(".tmp") or p.name == JOURNAL)


def test_planted_symlinks_at_temporary_names_are_never_followed(example: Path,
                                                                 tmp_path: Path) -> None:
    """A repository that commits `.deck.lock.<pid>.tmp -> ~/victim` cannot make a build
    write there: temporaries are fresh random names created with O_EXCL|O_NOFOLLOW."""
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    pid = os.getpid()
    planted = [example / f".deck.lock.{pid}.tmp", out / f".example-deck.apkg.{pid}.tmp",
               example / ".deck.lock.0123456789abcdef.tmp"]
    for link in planted:
        link.symlink_to(victim)
    result = run("build", example, "--out", out)
    assert result.exit_code == 0, result.output
    assert victim.read_text() == "precious\n"
    assert all(link.is_symlink() for link in planted)
    assert (example / "deck.lock").read_text().startswith("# deckbuilder lock")


def test_create_exclusive_never_reuses_a_name(tmp_path: Path) -> None:
    names = set()
    for _ in range(50):
        fd, path = package.create_exclusive(tmp_path, "deck.lock", [])
        os.close(fd)
        assert package.temporary_pattern("deck.lock").fullmatch(path.name)
        names.add(path.name)
    assert len(names) == 50


def _fail_renames_onto(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    real_replace = os.replace

    def replace(source: object, target: object) -> None:
        if os.path.basename(str(target)) == name:
            raise OSError(28, "No space left on device")
        real_replace(source, target)  # type: ignore[arg-type]

    monkeypatch.setattr(package.os, "replace", replace)


def test_a_failed_lock_rename_leaves_package_and_lock_agreeing(
        example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    assert run("build", example, "--out", out).exit_code == 0
    _edit(example)
    _fail_renames_onto(monkeypatch, "deck.lock")
    result = run("build", example, "--out", out)
    assert (result.exit_code, result.output) == (
        1, f"error: cannot write {example}/deck.lock: No space left on device\n")
    assert _package_mods(out / "example-deck.apkg") == _lock_mods(example)
    assert _leftovers(example, out) == []


def test_a_failed_package_rename_is_finished_by_the_next_run(
        example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The lock is renamed first; the package rename fails; `build --check` (the next
    run) rolls the journal forward, and then everything is up to date."""
    out = tmp_path / "out"
    assert run("build", example, "--out", out, "--split").exit_code == 0
    _edit(example)
    _fail_renames_onto(monkeypatch, "example-deck.apkg")
    result = run("build", example, "--out", out, "--split")
    assert result.exit_code == 1
    assert (example / JOURNAL).is_file()
    monkeypatch.undo()
    result = run("build", example, "--out", out, "--split", "--check")
    assert result.exit_code == 0, result.output
    assert "note: finished the writes of a build that was interrupted" in result.output
    assert _package_mods(out / "example-deck.apkg") == _lock_mods(example)
    assert _leftovers(example, out) == []


def test_a_package_that_cannot_be_replaced_blocks_until_fixed_then_agrees(
        example: Path, tmp_path: Path) -> None:
    """The package's name taken by a folder: the lock is in, the package is not; every
    later build says so (no guessing) until the folder is gone, then finishes the job."""
    out = tmp_path / "out"
    assert run("build", example, "--out", out).exit_code == 0
    _edit(example)
    apkg = out / "example-deck.apkg"
    apkg.unlink()
    (apkg / "in-the-way").mkdir(parents=True)
    result = run("build", example, "--out", out)
    assert result.exit_code == 1
    assert result.output.startswith(f"error: cannot write {apkg}: Is a directory")
    result = run("build", example, "--out", out)
    assert result.exit_code == 1
    assert result.output.startswith("error: cannot finish the build that was interrupted")
    (apkg / "in-the-way").rmdir()
    apkg.rmdir()
    result = run("build", example, "--out", out)
    assert result.exit_code == 0, result.output
    assert _package_mods(apkg) == _lock_mods(example)
    assert _leftovers(example, out) == []


def test_a_journal_cut_short_is_rolled_back(example: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run("build", example, "--out", out).exit_code == 0
    package_before = (out / "example-deck.apkg").read_bytes()
    lock_before = (example / "deck.lock").read_bytes()
    staged = example / ".deck.lock.00112233445566aa.tmp"
    staged.write_text("half a lock")
    (example / JOURNAL).write_text("deckbuilder journal 1\n" + json.dumps(
        [str(staged), str(example / "deck.lock")]) + "\n")  # no end line: cut short
    result = run("build", example, "--out", out)
    assert result.exit_code == 0, result.output
    assert "undid the writes of a build that was interrupted" in result.output
    assert (out / "example-deck.apkg").read_bytes() == package_before
    assert (example / "deck.lock").read_bytes() == lock_before
    assert _leftovers(example, out) == []


def test_a_hostile_journal_moves_and_deletes_nothing_that_is_not_ours(
        example: Path, tmp_path: Path) -> None:
    """Entries must name a temporary as deckbuilder names them, a regular file beside a
    package or this deck's lock: anything else is neither renamed nor deleted."""
    out = tmp_path / "out"
    assert run("build", example, "--out", out).exit_code == 0
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    secret = tmp_path / "secret.txt"
    secret.write_text("secret\n")
    link = example / ".deck.lock.ffffffffffffffff.tmp"
    link.symlink_to(secret)
    entries = [[str(secret), str(victim)],  # not a temporary name
               [str(link), str(example / "deck.lock")],  # a symlink
               [str(secret), str(tmp_path / "deck.lock")],  # another folder's lock
               "not a pair", [1, 2]]
    (example / JOURNAL).write_text("deckbuilder journal 1\n" + "\n".join(
        json.dumps(e) for e in entries) + "\nend\n")
    result = run("build", example, "--out", out)
    assert result.exit_code == 0, result.output
    assert (victim.read_text(), secret.read_text()) == ("precious\n", "secret\n")
    assert link.is_symlink()
    assert (example / "deck.lock").read_text().startswith("# deckbuilder lock")
    assert not (example / JOURNAL).exists()


def test_the_cache_never_deletes_what_it_did_not_write(example: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """`build --out ~` must leave ~/.cache alone, even files named like cache entries."""
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    theirs = home / ".cache"
    theirs.mkdir(parents=True)
    kept = ["settings.json", "a" * 64 + ".json"]
    for name in kept:
        (theirs / name).write_text("{}")
    result = run("build", example, "--out", Path(os.path.expanduser("~")))
    assert result.exit_code == 0, result.output
    assert run("build", example, "--out", home).exit_code == 0
    assert sorted(p.name for p in theirs.iterdir()) == sorted(kept)
    ours = home / ".deckbuilder-cache"
    assert (ours / "CACHEDIR.TAG").read_bytes().startswith(
        b"Signature: 8a477f597d28d172789f06886806bc55")


def test_pruning_only_touches_entries_in_a_marked_folder(example: Path,
                                                         tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run("build", example, "--out", out).exit_code == 0
    cache = out / ".deckbuilder-cache"
    stale = cache / ("b" * 64 + ".json")
    stale.write_text("{}")
    strangers = [cache / "notes.json", cache / ("c" * 64 + ".json.d")]
    for file in strangers:
        file.write_text("mine")
    (cache / ("d" * 64 + ".json")).mkdir()
    _edit(example)  # a build where nothing changed stops before loading (and pruning)
    assert run("build", example, "--out", out).exit_code == 0
    assert not stale.exists()  # an old entry of ours
    assert all(file.exists() for file in strangers)
    assert (cache / ("d" * 64 + ".json")).is_dir()
    # Without the tag the folder is not ours: nothing in it is pruned or written.
    (cache / "CACHEDIR.TAG").unlink()
    stale.write_text("{}")
    _edit(example, "back: Lyon", "back: Paris")
    assert run("build", example, "--out", out).exit_code == 0
    assert stale.exists()


def test_a_symlinked_cache_folder_is_not_written_through(example: Path,
                                                         tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / CACHE_DIR).symlink_to(elsewhere)
    assert run("build", example, "--out", out).exit_code == 0
    assert list(elsewhere.iterdir()) == []


def test_split_clean_up_leaves_folders_and_symlinks_named_like_old_parts(
        example: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    folder = out / "example-deck--07-gone.apkg"
    (folder / "inside").mkdir(parents=True)
    target = tmp_path / "target.apkg"
    target.write_text("not ours")
    link = out / "example-deck--08-gone.apkg"
    link.symlink_to(target)
    old = out / "example-deck--09-gone.apkg"
    old.write_bytes(b"PK old part")
    result = run("build", example, "--out", out, "--split")
    assert result.exit_code == 0, result.output
    assert (f"note: {folder} is named like a section package but is not a file deckbuilder "
            "wrote; left as it is") in result.output
    assert (folder / "inside").is_dir() and link.is_symlink() and target.exists()
    assert not old.exists()
    assert _package_mods(out / "example-deck.apkg") == _lock_mods(example)


def test_a_missing_tmpdir_does_not_stop_a_build(example: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The scratch database is built beside the package, not in $TMPDIR."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no-such-tmp"))
    out = tmp_path / "out"
    result = run("build", example, "--out", out)
    assert result.exit_code == 0, result.output
    assert _leftovers(example, out) == []
    # A check of a deck never built has no output folder: then $TMPDIR is used, and a
    # missing one is a clean error.
    result = run("build", example, "--out", tmp_path / "never", "--check")
    assert result.exit_code == 1
    assert result.output.startswith(f"error: cannot build the collection in {tmp_path}/no-")
    assert not (tmp_path / "never").exists()


def test_a_full_disk_during_the_scratch_database_is_a_clean_error(
        example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    assert run("build", example, "--out", out).exit_code == 0
    package_before = (out / "example-deck.apkg").read_bytes()
    lock_before = (example / "deck.lock").read_bytes()
    _edit(example)
    real_connect = sqlite3.connect

    class Full:
        def __init__(self, *args: object, **options: object) -> None:
            self.connection = real_connect(*args, **options)  # type: ignore[arg-type]

        def execute(self, sql: str, *args: object) -> object:
            return self.connection.execute(sql, *args)

        def cursor(self) -> object:
            raise sqlite3.OperationalError("database or disk is full")

        def close(self) -> None:
            self.connection.close()

    monkeypatch.setattr(sqlite3, "connect", Full)
    result = run("build", example, "--out", out)
    assert (result.exit_code, result.output) == (
        1, f"error: cannot build the collection in {out}: database or disk is full\n")
    assert (out / "example-deck.apkg").read_bytes() == package_before
    assert (example / "deck.lock").read_bytes() == lock_before
    assert _leftovers(example, out) == []


def test_empty_source_date_epoch_is_unset(example: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "")
    result = run("build", example, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("args", [
    ("build", "CARDS", "--out", ""), ("build", ""), ("validate", ""), ("lint", ""),
    ("stats", ""), ("export", "CARDS", "--out", ""), ("preview", "CARDS", "--out", ""),
    ("new", "Title", ""),
])
def test_an_empty_path_is_a_usage_error(example: Path, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch,
                                        args: tuple[str, ...]) -> None:
    monkeypatch.chdir(tmp_path)
    result = run(*(str(example) if a == "CARDS" else a for a in args))
    assert result.exit_code == 2, result.output
    assert "the path is empty" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cards"]  # nothing written


@pytest.mark.parametrize("args", [
    ("validate", "LONG"), ("build", "LONG"), ("build", "CARDS", "--out", "LONG"),
    ("stats", "LONG"), ("lint", "LONG"), ("export", "LONG"), ("preview", "LONG"),
    ("new", "Title", "LONG"), ("init", "LONG"), ("init", "LONG/deck"),
    ("sync", "CARDS", "--collection", "LONG", "--dry-run"),
    ("merge-lock", "LONG", "LONG", "LONG"),
])
def test_a_path_too_long_to_look_up_is_a_usage_error(example: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     args: tuple[str, ...]) -> None:
    """A name past the system's 255 bytes made pathlib's is_dir() raise: a traceback."""
    monkeypatch.chdir(tmp_path)
    long = "a" * 300
    result = run_guarded(*(str(example) if a == "CARDS" else a.replace("LONG", long)
                           for a in args))
    assert result.exit_code == 2, result.output
    assert "File name too long" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cards"]  # nothing written


def test_journal_paths_survive_any_bytes(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Names with tabs, newlines or undecodable bytes round-trip through the journal."""
    folder = tmp_path / "odd\tname\nhere"
    folder.mkdir()
    target = folder / "x\udcff.apkg"
    _fail_renames_onto(monkeypatch, "deck.lock")
    with pytest.raises(package.OutputError), package.staged(folder) as stage:
        stage(target, b"one")
        stage(folder / "deck.lock", b"two")
    assert target.read_bytes() == b"one"
    monkeypatch.undo()
    assert package.recover(folder) == "finished the writes of a build that was interrupted " \
                                      "(2 files)"
    assert (folder / "deck.lock").read_bytes() == b"two"
    assert sorted(os.listdir(folder)) == ["deck.lock", "x\udcff.apkg"]


def test_export_never_copies_media_through_a_symlink(example: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run("export", example, "--out", out).exit_code == 0
    (copied,) = (out / "example-deck-media").iterdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    copied.unlink()
    copied.symlink_to(victim)
    assert run("export", example, "--out", out).exit_code == 0
    assert victim.read_text() == "precious\n"
    assert copied.is_file() and not copied.is_symlink()


def test_check_does_not_hang_on_a_pipe_named_like_the_package(example: Path,
                                                              tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    os.mkfifo(out / "example-deck.apkg")
    done = subprocess.run([sys.executable, "-m", "deckbuilder", "build", str(example), "--out",
                           str(out), "--check"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 1
    assert f"out of date: {out}/example-deck.apkg is missing" in done.stderr


def test_a_planted_cache_entry_is_never_followed(example: Path, tmp_path: Path) -> None:
    """An entry that is a symlink (here to a pipe, which never ends) is only a miss."""
    out = tmp_path / "build"  # where validate looks for the cache, from tmp_path
    assert run("build", example, "--out", out).exit_code == 0
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    for entry in (out / CACHE_DIR).glob("*.json"):
        entry.unlink()
        entry.symlink_to(pipe)
    done = subprocess.run([sys.executable, "-m", "deckbuilder", "validate", str(example)],
                          capture_output=True, text=True, timeout=30, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert run("build", example, "--out", out).exit_code == 0
    assert not [e for e in (out / CACHE_DIR).iterdir() if e.is_symlink()]


def test_a_pipe_given_as_the_deck_folder_is_reported_not_waited_on(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "cards")
    done = subprocess.run([sys.executable, "-m", "deckbuilder", "build", "cards"],
                          capture_output=True, text=True, timeout=30, cwd=tmp_path)
    assert (done.returncode, done.stderr) == (
        1, "cards: is a file, not a deck folder\n1 error in 1 file\n")


def _killed_when(tmp_path: Path, folder: str, pattern: str) -> tuple[Path, Path]:
    """A 5,000-card deck whose build was killed (SIGKILL) as soon as a file matching
    ``pattern`` appeared in ``folder`` ("deck" or "out"); the deck and the output folder."""
    import signal
    import time

    sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
    try:
        import deckgen
    finally:
        sys.path.pop(0)
    deck, out = tmp_path / "deck", tmp_path / "out"
    deckgen.write_deck(5_000, deck)
    watched = deck if folder == "deck" else out
    left: list[Path] = []
    for _ in range(10):
        build = subprocess.Popen([sys.executable, "-m", "deckbuilder", "build", str(deck),
                                  "--out", str(out)], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        while build.poll() is None and not (left := list(watched.glob(pattern))):
            time.sleep(0.001)
        build.send_signal(signal.SIGKILL)
        build.wait(timeout=60)
        if left:
            return deck, out
        (deck / "deck.lock").unlink(missing_ok=True)
    raise AssertionError("the moment never came")


def test_temporaries_a_killed_build_left_are_removed_by_the_next(tmp_path: Path) -> None:
    """kill -9 (a CI timeout, the OOM killer) while the package was written left the lock's
    temporary in the deck folder, where `git add -A` commits it, for good."""
    # the moment: the lock's temporary written, the package not yet
    deck, out = _killed_when(tmp_path, "deck", ".deck.lock.*.tmp")
    stranger = deck / ".deck.lock.0123456789abcdef.tmp"
    stranger.symlink_to(tmp_path / "elsewhere")  # planted: not a file a build wrote
    assert run("build", deck, "--out", out).exit_code == 0
    assert list(deck.glob(".deck.lock.*.tmp")) == [stranger]
    assert not list(out.glob(".*.apkg.*.tmp"))


def test_a_scratch_collection_a_killed_build_left_is_removed_by_the_next(tmp_path: Path
                                                                         ) -> None:
    """kill -9 while the collection was built left `.collection.anki2.<hex>.tmp`, as big
    as the collection, in the build folder for good: its name said nothing of the deck,
    and another deck's build may share the folder. Now named by the deck, it goes with
    the next build of that deck; another deck's, and a planted link, stay."""
    deck, out = _killed_when(tmp_path, "out", ".benchmark.db.*.tmp")
    other = out / ".other-deck.db.0123456789abcdef.tmp"  # another deck's build, running
    other.write_bytes(b"")
    planted = out / ".benchmark.db.fedcba9876543210.tmp"
    planted.symlink_to(tmp_path / "elsewhere")
    assert run("build", deck, "--out", out).exit_code == 0
    assert sorted(out.glob(".*.db.*.tmp")) == sorted([other, planted])


def _no_thread(stop: threading.Event) -> Callable[[], None]:
    return lambda: None


def _aside_thread(stop: threading.Event) -> Callable[[], None]:
    from deckbuilder.build import _Aside

    aside = _Aside(wait=stop.wait)
    aside.start()
    return lambda: aside.__exit__(None, None, None)


def _later_thread(stop: threading.Event) -> Callable[[], None]:
    from deckbuilder.quickread import Later

    later = Later(stop.wait)

    def finish() -> None:
        later.result()

    return finish


def _status_thread(stop: threading.Event) -> Callable[[], None]:
    import io

    from deckbuilder.progress import StatusLine

    line = StatusLine(io.StringIO(), "build")
    line.start()
    return line.stop


@pytest.mark.parametrize("thread", [_no_thread, _aside_thread, _later_thread, _status_thread])
def test_ctrl_c_during_a_rename_lets_the_others_finish(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        thread: Callable[[threading.Event], Callable[[], None]]) -> None:
    """A Ctrl-C (a real SIGINT) that comes while the lock is renamed into place: the
    package is renamed too before it is taken. It was taken between the two, leaving the
    new lock beside the old package, and the journal (seen 1 in 40 Ctrl-C at random
    moments of a real rebuild). Also with one of deckbuilder's threads alive, as the
    quick rebuild's hashing is during its renames and the status line during a build on
    a terminal: the system gave the SIGINT to that thread, which did not block it, and
    Python raised it in this one between the two renames."""
    import signal

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    real_replace = os.replace
    interrupted = []

    def replace(source: object, target: object) -> None:
        real_replace(source, target)  # type: ignore[arg-type]
        if not interrupted:
            interrupted.append(target)
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)  # (another thread that takes it interrupts this one now)

    lock, apkg = tmp_path / "deck.lock", tmp_path / "build" / "deck.apkg"
    lock.write_text("old")
    apkg.parent.mkdir()
    apkg.write_text("old")
    stop = threading.Event()
    finish = thread(stop)
    monkeypatch.setattr(os, "replace", replace)
    try:
        with pytest.raises(KeyboardInterrupt), package.staged(tmp_path) as stage:
            stage(lock, b"new")
            stage(apkg, b"new")
    finally:
        signal.signal(signal.SIGINT, previous)
        stop.set()
        finish()
    assert interrupted == [lock]
    assert (lock.read_text(), apkg.read_text()) == ("new", "new")
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["build", "deck.apkg", "deck.lock"]


def test_a_cache_folder_left_half_marked_by_a_killed_build_is_marked_by_the_next(
        example: Path, tmp_path: Path) -> None:
    """kill -9 while a first build marked its new cache folder left only the tag's
    temporary there (seen 1 in 15 kills of a cold build). The next builds took the folder
    for something else's: no cache, no stamp, no quick rebuild, ever again."""
    out = tmp_path / "out"
    leftover = out / CACHE_DIR / ".CACHEDIR.TAG.0123456789abcdef.tmp"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"Signature: 8a47")
    assert run("build", example, "--out", out).exit_code == 0
    names = sorted(p.name for p in (out / CACHE_DIR).iterdir())
    assert "CACHEDIR.TAG" in names and leftover.name not in names
    assert [name for name in names if name.endswith(".stamp")]


def test_a_cache_folder_holding_anything_else_stays_unmarked(example: Path,
                                                             tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / CACHE_DIR).mkdir(parents=True)
    leftover = out / CACHE_DIR / ".CACHEDIR.TAG.0123456789abcdef.tmp"
    leftover.write_bytes(b"")
    (out / CACHE_DIR / "notes.txt").write_text("mine")
    assert run("build", example, "--out", out).exit_code == 0
    assert sorted(p.name for p in (out / CACHE_DIR).iterdir()) == [leftover.name, "notes.txt"]



@contextlib.contextmanager
def _interrupted_after_first_removal(monkeypatch: pytest.MonkeyPatch, prefix: str
                                     ) -> Iterator[list[Path]]:
    """Inside: a real SIGINT once the first file whose name starts with ``prefix`` is
    removed (the files removed then, listed), which must come out as KeyboardInterrupt."""
    import signal

    real_unlink = Path.unlink
    interrupted: list[Path] = []

    def unlink(self: Path, missing_ok: bool = False) -> None:
        real_unlink(self, missing_ok)
        if self.name.startswith(prefix) and not interrupted:
            interrupted.append(self)
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(Path, "unlink", unlink)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            yield interrupted
    finally:
        signal.signal(signal.SIGINT, previous)
    assert interrupted


def test_a_ctrl_c_while_the_scratch_collections_are_removed_removes_them_all(
        example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real SIGINT that comes as the first of the build's two scratch collections is
    removed: the second stayed in the build folder (1 in 40 Ctrl-C at random moments of
    a 10,000-card build)."""
    from deckbuilder import build

    out = tmp_path / "out"
    with _interrupted_after_first_removal(monkeypatch, ".example-deck.db."):
        build.build_deck(example, out, now=1700000000)
    assert not list(out.glob(".example-deck.db.*"))


def test_a_ctrl_c_while_staged_temporaries_are_removed_removes_them_all(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As above, for the temporaries of a write that failed before its renames."""
    with _interrupted_after_first_removal(monkeypatch, ".deck."), \
            package.staged(tmp_path) as stage:
        stage(tmp_path / "deck.lock", b"new")
        stage(tmp_path / "deck.apkg", b"new")
        raise OSError("the package's media could not be read")
    assert list(tmp_path.iterdir()) == []
