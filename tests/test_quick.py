"""The quick rebuild (quick.py): in a fresh process, from what the last build left, the
bytes of a full build of the same state; anything unexpected is the full build."""

from __future__ import annotations

import marshal
import os
import shutil
from pathlib import Path

import pytest
from conftest import AnkiImport, run, write_deck
from test_write_path import _change

from deckbuilder import quick, quickdb, quickstate
from deckbuilder.stamp import read_stamp, seal, stamp_path, unseal

PACKAGE = "example-deck.apkg"


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each build took the quick path."""
    taken: list[bool] = []
    real = quick._rebuild

    def spy(*args: object) -> object:
        taken.append(False)
        result = real(*args)  # type: ignore[arg-type]
        taken[-1] = result is not None
        return result

    monkeypatch.setattr(quick, "_rebuild", spy)
    return taken


def _against_cold(deck: Path, out: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                  change: object, package: str = PACKAGE) -> tuple[list[bool], bytes, bytes]:
    """Build, change, rebuild; then build the changed deck from the old lock with nothing
    cached, and require the same package and lock. The taken paths, old and new lock."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert run("build", deck, "--out", out).exit_code == 0
    old_lock = (deck / "deck.lock").read_bytes()
    change(deck) if callable(change) else _change(deck, str(change))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000100")
    taken = _spy(monkeypatch)
    rebuilt = run("build", deck, "--out", out)
    assert rebuilt.exit_code == 0, rebuilt.output
    new_lock = (deck / "deck.lock").read_bytes()
    (deck / "deck.lock").write_bytes(old_lock)
    cold = tmp_path / "cold"
    shutil.rmtree(cold, ignore_errors=True)
    full = run("build", deck, "--out", cold)
    assert full.exit_code == 0
    assert full.output == rebuilt.output.replace(str(out), str(cold))  # the same report
    assert (deck / "deck.lock").read_bytes() == new_lock
    assert (out / package).read_bytes() == (cold / package).read_bytes()
    # The stamp says what a full build's says (but for where the build folder is).
    stamps = [read_stamp(stamp_path(deck, folder)) for folder in (out, cold)]
    assert None not in stamps
    assert [s._replace(out_dir="", outputs=tuple(d for _, d in s.outputs))
            for s in stamps if s] == 2 * [stamps[1]._replace(
                out_dir="", outputs=tuple(d for _, d in stamps[1].outputs))]
    return taken, old_lock, new_lock


def _two_edits(deck: Path) -> None:
    _change(deck, "edit")
    maths = deck / "02-maths.yaml"
    maths.write_text(maths.read_text().replace("cards:\n", "cards:\n  - id: also-new\n"
                                                "    front: Also\n    back: New\n\n", 1))


def _kind(deck: Path) -> None:
    basics = deck / "01-basics.yaml"
    basics.write_text(basics.read_text().replace("    back: Paris\n",
                                                 "    back: Paris\n    reverse: true\n"))


def _retag(deck: Path) -> None:  # every card of the section changes (its tags)
    basics = deck / "01-basics.yaml"
    basics.write_text(basics.read_text().replace("tags: [geo]", "tags: [geo, history]", 1))


@pytest.mark.parametrize("change", ["edit", "add", "remove", "move", _two_edits, _kind,
                                    _retag])
def test_a_quick_rebuild_gives_the_bytes_of_a_full_build(example: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         change: object) -> None:
    taken, old, new = _against_cold(example, tmp_path / "out", tmp_path, monkeypatch, change)
    assert taken[:1] == [True]
    if change == "edit":  # only the edited card's lock line moves (its mod)
        moved = set(new.decode().splitlines()) - set(old.decode().splitlines())
        assert [line.split("\t")[1] for line in moved] == ["capital-france"]


def _media(deck: Path) -> None:
    image = next(p for p in (deck / "media").iterdir() if p.is_file())
    image.write_bytes(image.read_bytes() + b"\0")


def _deck_yaml(deck: Path) -> None:
    _change(deck, "deck description")


def _new_section(deck: Path) -> None:
    (deck / "03-more.yaml").write_text("section: More\ncards:\n  - id: more-1\n"
                                       "    front: More\n    back: Cards\n")


@pytest.mark.parametrize("change", ["rename section", "section title", _deck_yaml, _media,
                                    _new_section])
def test_what_the_quick_path_leaves_to_the_full_build(example: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      change: object) -> None:
    taken, _, _ = _against_cold(example, tmp_path / "out", tmp_path, monkeypatch, change)
    assert taken[:1] == [False]


def test_a_section_removed_is_the_full_build(example: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    _new_section(example)

    def remove(deck: Path) -> None:
        (deck / "03-more.yaml").unlink()

    taken, _, _ = _against_cold(example, tmp_path / "out", tmp_path, monkeypatch, remove)
    assert taken[:1] == [False]


def test_changed_code_is_the_full_build(example: Path, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from deckbuilder import stamp

    def code(deck: Path) -> None:
        _change(deck, "edit")
        monkeypatch.setattr(stamp, "code_fingerprint", lambda: "another version")

    taken, _, _ = _against_cold(example, tmp_path / "out", tmp_path, monkeypatch, code)
    assert taken[:1] == [False]


def _big_deck(root: Path, cards: int) -> Path:
    """A deck whose collection is over a megabyte: deflated in 64 KiB chunks."""
    files = {"deck.yaml": "deck: Big\nid: big-deck\n"}
    for number in range(1, 4):
        lines = [f"section: Part {number}", "cards:"]
        for i in range(cards // 3):
            lines += [f"  - id: c{number}-{i}", f"    front: Question {number} {i} " + "x" * 80,
                      f"    back: Answer {i} " + "y" * 80]
        files[f"0{number}-part.yaml"] = "\n".join(lines) + "\n"
    return write_deck(root, files)


@pytest.mark.parametrize("many", [False, True])
def test_a_big_deck_reuses_chunks_and_gives_the_same_bytes(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          many: bool) -> None:
    from deckbuilder import zipwrite

    deck = _big_deck(tmp_path / "big", 4500)
    deflated: list[int] = []
    real = zipwrite._chunk

    def count(*args: object) -> bytes:
        deflated.append(1)
        return real(*args)  # type: ignore[arg-type]

    def edit(deck: Path) -> None:
        part = deck / "02-part.yaml"
        text = part.read_text().replace("Answer 7 ", "Changed 7 ", 1)
        if many:  # cards added between others (ids sort among theirs), others removed
            text = text.replace("  - id: c2-10\n", "  - id: c2-10a\n    front: A\n    back: B\n"
                                "  - id: c2-10\n", 1).replace("  - id: c2-20\n", "  - id: zz\n"
                                "    front: C\n    back: D\n  - id: c2-20\n", 1)
            start = text.index("  - id: c2-30\n")
            text = text[:start] + text[text.index("  - id: c2-33\n"):]
        part.write_text(text)
        monkeypatch.setattr(zipwrite, "_chunk", count)

    taken, _, _ = _against_cold(deck, tmp_path / "out", tmp_path, monkeypatch, edit,
                                "big-deck.apkg")
    assert taken[:1] == [True]
    total = len(zipwrite.written["collection.anki2"][2])
    assert total > 16
    # The cold build deflated every chunk (and the media list); the rebuild before it only
    # a few (but for cards added and removed: every row after them moves).
    if not many:
        assert 0 < len(deflated) - total - 1 < total // 4


def _built(example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    out = tmp_path / "out"
    assert run("build", example, "--out", out).exit_code == 0
    assert quickstate.read_state(example, out) is not None
    return out


def _damage(kind: str, example: Path, out: Path, tmp_path: Path) -> None:
    state = quickstate.state_path(example, out)
    found = quickstate.read_state(example, out)
    assert found is not None
    collection = state.parent / found.collection
    if kind == "truncated":
        state.write_bytes(state.read_bytes()[:200])
    elif kind == "garbage":
        state.write_bytes(b"\x00garbage" * 100)
    elif kind == "symlink":
        target = tmp_path / "elsewhere"
        target.write_bytes(state.read_bytes())
        state.unlink()
        state.symlink_to(target)
    elif kind == "collection symlink":
        target = tmp_path / "elsewhere"
        target.write_bytes(collection.read_bytes())
        collection.unlink()
        collection.symlink_to(target)
    elif kind == "collection missing":
        collection.unlink()
    elif kind == "collection emptied":
        collection.write_bytes(b"")
    elif kind == "package damaged":
        package = out / PACKAGE
        data = bytearray(package.read_bytes())
        data[-30] ^= 0xFF
        package.write_bytes(bytes(data))
    elif kind == "collection damaged":
        data = bytearray(collection.read_bytes())
        data[5000] ^= 0xFF
        collection.write_bytes(bytes(data))
    elif kind == "older format":
        fields = list(marshal.loads(unseal(state.read_bytes())))
        fields[0] = "deckbuilder quick 0"
        state.write_bytes(seal(marshal.dumps(tuple(fields))))
    elif kind == "wrong types":
        fields = list(marshal.loads(unseal(state.read_bytes())))
        fields[13][0] = (1, 2, 3, 4)
        state.write_bytes(seal(marshal.dumps(tuple(fields))))
    elif kind == "another deck":
        other = write_deck(tmp_path / "other", {
            "deck.yaml": "deck: Example Deck\nid: example-deck\n",
            "01-basics.yaml": "section: Basics\ncards:\n  - id: one\n    front: A\n"
                              "    back: B\n"})
        assert run("build", other, "--out", out).exit_code == 0
        shutil.copy(quickstate.state_path(other, out), state)
    elif kind == "cards data":  # the edited section's: read only when it is
        fields = list(marshal.loads(unseal(state.read_bytes())))
        fields[13][0] = (*fields[13][0][:7], marshal.dumps([("capital-france", 1, "0")]))
        state.write_bytes(seal(marshal.dumps(tuple(fields))))
    elif kind == "ids and notes disagree":
        fields = list(marshal.loads(unseal(state.read_bytes())))
        section = fields[13][1]
        fields[13][1] = (*section[:4], section[4] + "\nanother", *section[5:])
        state.write_bytes(seal(marshal.dumps(tuple(fields))))
    elif kind == "chunks":
        fields = list(marshal.loads(unseal(state.read_bytes())))
        fields[11] = [1, *fields[11]]
        state.write_bytes(seal(marshal.dumps(tuple(fields))))
    elif kind == "chunks cut elsewhere":  # the same total, other places
        fields = list(marshal.loads(unseal(state.read_bytes())))
        fields[11] = [fields[11][0] - 3, 3, *fields[11][1:]]
        state.write_bytes(seal(marshal.dumps(tuple(fields))))


@pytest.mark.parametrize("kind", ["truncated", "garbage", "symlink", "collection symlink",
                                  "collection missing", "collection emptied",
                                  "collection damaged",
                                  "package damaged", "older format", "wrong types",
                                  "cards data", "ids and notes disagree",
                                  "another deck", "chunks", "chunks cut elsewhere"])
def test_a_damaged_or_foreign_state_is_the_full_build(example: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      kind: str) -> None:
    out = _built(example, tmp_path, monkeypatch)
    old_lock = (example / "deck.lock").read_bytes()
    _damage(kind, example, out, tmp_path)
    _change(example, "edit")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000100")
    taken = _spy(monkeypatch)
    result = run("build", example, "--out", out)
    assert result.exit_code == 0, result.output
    assert taken == [False]
    new_lock = (example / "deck.lock").read_bytes()
    (example / "deck.lock").write_bytes(old_lock)
    assert run("build", example, "--out", tmp_path / "cold").exit_code == 0
    assert (example / "deck.lock").read_bytes() == new_lock
    assert (out / PACKAGE).read_bytes() == (tmp_path / "cold" / PACKAGE).read_bytes()


def test_an_interrupted_quick_rebuild_leaves_package_and_lock(example: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    out = _built(example, tmp_path, monkeypatch)
    before = {path: path.read_bytes() for path in (example / "deck.lock", out / PACKAGE)}
    listing = sorted(os.listdir(out))

    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(quickdb, "_update", interrupted)
    _change(example, "edit")
    with pytest.raises(KeyboardInterrupt):
        quick.quick_rebuild(example, out, 1700000100)
    assert {path: path.read_bytes() for path in before} == before
    assert sorted(os.listdir(out)) == listing  # no temporary left behind
    assert not (example / ".deckbuilder-journal").exists()


def test_a_quick_rebuild_imports_into_anki(example: Path, tmp_path: Path, anki: AnkiImport,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    out = _built(example, tmp_path, monkeypatch)
    anki.load(out / PACKAGE)
    _change(example, "edit")
    _change(example, "add")
    taken = _spy(monkeypatch)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000100")
    assert run("build", example, "--out", out).exit_code == 0
    assert taken == [True]
    anki.load(out / PACKAGE)
    notes = anki.notes()
    assert "New" in notes
    assert any("Lyon" in field for note in notes.values()
               for field in note.fields)  # type: ignore[attr-defined]
    assert anki.check_database()[1]


def test_the_stamp_after_a_quick_rebuild_makes_the_next_build_a_no_op(
        example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = _built(example, tmp_path, monkeypatch)
    _change(example, "edit")
    taken = _spy(monkeypatch)
    assert run("build", example, "--out", out).exit_code == 0
    assert taken == [True]
    assert stamp_path(example, out).is_file()
    again = run("build", example, "--out", out)
    assert again.exit_code == 0
    assert taken == [True]  # answered by the stamp: nothing changed


def test_a_quick_rebuild_keeps_the_state_of_unchanged_sections_as_it_read_it(
        example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the edited section's cards are decoded; the others' go back to the state file
    as they were read, and a rebuild that does need them (a card moved there) reads
    them."""
    out = _built(example, tmp_path, monkeypatch)
    path = quickstate.state_path(example, out)
    before = marshal.loads(unseal(path.read_bytes()))[13]
    decoded: list[str] = []  # the ids of the cards decoded
    real = quickstate.Cards.decoded

    def spy(self: quickstate.Cards) -> list[quickstate.CardState]:
        decoded.append(self.ids)
        return real(self)

    monkeypatch.setattr(quickstate.Cards, "decoded", spy)
    _change(example, "edit")
    taken = _spy(monkeypatch)
    assert run("build", example, "--out", out).exit_code == 0
    after = marshal.loads(unseal(path.read_bytes()))[13]
    assert taken == [True]
    assert set(decoded) == {before[0][4]}  # the first section's
    assert after[1] == before[1] and after[0] != before[0]
    decoded.clear()
    _change(example, "move")  # a card from the first section to the second
    assert run("build", example, "--out", out).exit_code == 0
    assert taken == [True, True]
    assert set(decoded) == {after[0][4], after[1][4]}


@pytest.mark.parametrize("late", ["the edited section", "another section", "a new section"])
def test_a_change_made_during_a_quick_rebuild_is_the_next_builds(
        example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, late: str) -> None:
    """The quick rebuild's stamp and state are those of the deck as it read it: a file
    changed once it was read (while the collection is made) is never taken for built,
    and the next build gives the bytes of a full build of the deck as it is then."""
    out = _built(example, tmp_path, monkeypatch)
    _change(example, "edit")
    real = quickdb.zipped

    def meanwhile(*args: object, **kwargs: object) -> object:
        if late == "a new section":
            (example / "03-late.yaml").write_text("section: Late\ncards:\n  - id: late-1\n"
                                                  "    front: Late\n    back: Card\n")
        else:
            name = "01-basics.yaml" if late == "the edited section" else "02-maths.yaml"
            path = example / name
            path.write_text(path.read_text().replace("cards:\n", "cards:\n  - id: late-1\n"
                                                     "    front: Late\n    back: Card\n\n", 1))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(quickdb, "zipped", meanwhile)
    taken = _spy(monkeypatch)
    assert run("build", example, "--out", out).exit_code == 0
    assert taken == [True]
    monkeypatch.setattr(quickdb, "zipped", real)
    again = run("build", example, "--out", out)
    assert again.exit_code == 0
    assert "1 added" in again.output and "late-1" in again.output
    built = (out / PACKAGE).read_bytes()
    lock = (example / "deck.lock").read_bytes()
    assert run("build", example, "--out", tmp_path / "cold").exit_code == 0
    assert (tmp_path / "cold" / PACKAGE).read_bytes() == built
    assert (example / "deck.lock").read_bytes() == lock


def _remove_list_card(deck: Path) -> None:
    maths = deck / "02-maths.yaml"
    text = maths.read_text()
    maths.write_text(text[:text.index("  - id: list-card")])


@pytest.mark.parametrize("change", ["edit", "add", "remove", "move", _remove_list_card])
def test_colliding_ids_give_the_bytes_of_a_full_build(example: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       change: object) -> None:
    """Note ids that collide (made to: 20 ids for 6 notes; map-image and list-card want
    the same one) are placed by the full build: the quick one gives way, or gives the
    same ids (list-card removed: map-image moves back to the id it wants)."""
    from deckbuilder import anki

    real = anki.derived_note_id
    monkeypatch.setattr(anki, "derived_note_id",  # 20 ids, 10 apart: cards never collide
                        lambda deck_id, guid: real(deck_id, guid) % 20 * 10 + 1_500_000_000_000)
    _against_cold(example, tmp_path / "out", tmp_path, monkeypatch, change)


def test_a_watching_build_neither_takes_nor_leaves_the_quick_state(example: Path,
                                                                   tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch
                                                                   ) -> None:
    from deckbuilder.commands import build
    from deckbuilder.commands.output import Console

    out = tmp_path / "out"
    taken = _spy(monkeypatch)
    for _ in range(2):  # the first build, then a rebuild after an edit
        assert build._build_once(Console(), example, out, True, check=False, split=False,
                                 allow_field_change=False, parallel=False, quick=False)
        _change(example, "edit")
    assert taken == []
    assert not quickstate.state_path(example, out).exists()
    assert not list((out / ".deckbuilder-cache").glob("*.collection"))


def test_a_moved_deck_folder_leaves_no_collection_behind(example: Path, tmp_path: Path
                                                          ) -> None:
    """A deck folder renamed (or its project moved) is a new key in the build folder: the
    old key's collection (5 MB at 10,000 cards, 52 MB at 100,000) and state stayed for
    ever, one more each move. Another deck's in the same build folder stay."""
    out = tmp_path / "out"
    other = write_deck(tmp_path / "other", {"deck.yaml": "deck: Other\nid: other\n",
                                            "01-a.yaml": "section: A\ncards:\n"
                                            "  - id: a\n    front: Q?\n    back: A\n"})
    assert run("build", other, "--out", out).exit_code == 0
    assert run("build", example, "--out", out).exit_code == 0
    moved = example.rename(tmp_path / "renamed")
    assert run("build", moved, "--out", out).exit_code == 0
    cache = out / ".deckbuilder-cache"
    kept = sorted(name.split(".")[0] for name in os.listdir(cache)
                  if name.endswith((".collection", ".quick")))
    keys = sorted(stamp_path(deck, out).stem for deck in (other, moved))
    assert kept == sorted(keys * 2)


def _generated(size: int, folder: Path) -> Path:
    """benchmarks/deckgen.py's deck of ``size`` cards (deck id 'benchmark') in ``folder``."""
    import sys

    sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
    try:
        import deckgen
    finally:
        sys.path.pop(0)
    deckgen.write_deck(size, folder)
    return folder


def test_what_a_killed_quick_rebuild_left_goes_with_the_next_quick_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """kill -9 while a quick rebuild laid out its collection left that scratch file (5 MB
    at 10,000 cards) and SQLite's `-journal` beside it; only a full build removed the
    first, none the second, so both stayed while the builds after it were quick."""
    import signal
    import subprocess
    import sys
    import time

    deck, out = _generated(5_000, tmp_path / "deck"), tmp_path / "out"
    assert run("build", deck, "--out", out).exit_code == 0
    section = sorted(deck.glob("0*.yaml"))[0]
    left: list[Path] = []
    for attempt in range(20):
        section.write_text(section.read_text().replace("front: ", f"front: K{attempt} ", 1))
        build = subprocess.Popen([sys.executable, "-m", "deckbuilder", "build", str(deck),
                                  "--out", str(out)], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        while build.poll() is None and not (left := list(out.glob(".benchmark.db.*"))):
            time.sleep(0.0005)
        build.send_signal(signal.SIGKILL)
        build.wait(timeout=60)
        if left:
            break
    assert left, "the moment never came"
    section.write_text(section.read_text().replace("front: ", "front: Again ", 1))
    taken = _spy(monkeypatch)
    assert run("build", deck, "--out", out).exit_code == 0
    assert taken == [True]
    assert list(out.glob(".benchmark.db.*")) == []
    # and a full build removes SQLite's journal of one too
    journal = out / ".benchmark.db.0123456789abcdef.tmp-journal"
    journal.write_bytes(b"")
    head = deck / "deck.yaml"
    head.write_text(head.read_text().replace("description: ", "description: New. ", 1))
    assert run("build", deck, "--out", out).exit_code == 0
    assert taken == [True, False]
    assert not journal.exists()


def _tmpfs(folder: Path, size: int) -> bool:
    import subprocess

    folder.mkdir(exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size // 1024 + 1}k", "tmpfs",
                           str(folder)], capture_output=True)
    return done.returncode == 0


def _used(folder: Path) -> int:
    return sum(os.lstat(path).st_size for path in folder.rglob("*"))


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                    reason="mounts a small tmpfs (root)")
def test_the_collection_kept_for_a_quick_rebuild_needs_no_more_room(tmp_path: Path) -> None:
    """The collection kept for the quick rebuild (5 MB at 10,000 cards) stayed while a
    full build made its own: a build folder with room for one build (and the package it
    replaces) said 'database or disk is full'. A full build lets it go first; and a
    failed write leaves no SQLite journal behind."""
    import subprocess

    deck, out = _generated(10_000, tmp_path / "deck"), tmp_path / "out"
    assert run("build", deck, "--out", out).exit_code == 0
    used = _used(out)
    collection = max(p.stat().st_size for p in out.rglob("*.collection"))
    package = (out / "benchmark.apkg").stat().st_size
    small = tmp_path / "small"
    # Room for what a build leaves, the package it writes and one more collection: the
    # scratch one (two are made, one after the other is written), not the kept one too.
    if not _tmpfs(small, used + collection * 3 // 2 + package):
        pytest.skip("cannot mount a tmpfs")
    try:
        shutil.copytree(out, small, dirs_exist_ok=True)
        head = deck / "deck.yaml"
        head.write_text(head.read_text().replace("description: ", "description: New. ", 1))
        rebuilt = run("build", deck, "--out", small)
        assert rebuilt.exit_code == 0, rebuilt.output
        for name in os.listdir(small):
            shutil.rmtree(small / name) if (small / name).is_dir() else (small / name).unlink()
        head.write_text(head.read_text().replace("description: ", "description: Again. ", 1))
        (small / "filler").write_bytes(b"\0" * (collection * 3 // 2 + package))
        failed = run("build", deck, "--out", small)
        assert failed.exit_code == 1 and "full" in failed.output
        assert sorted(os.listdir(small)) == [".deckbuilder-cache", "filler"]
    finally:
        subprocess.run(["umount", str(small)], check=True)


def test_watch_leaves_no_stale_state_behind(example: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """--watch keeps its last build in memory and leaves no state for a fresh process; the
    one-off build's state before it, its collection included (50 MB at 100,000 cards),
    stayed in the cache folder, naming a package that was gone, until the next one-off
    build. The watch removes it as its build replaces that package."""
    from test_output import _save_until_rebuilt, _watching

    from deckbuilder.stamp import CACHE_DIR

    out = _built(example, tmp_path, monkeypatch)
    held = f"{stamp_path(example, out).stem}.*.collection"
    assert list((out / CACHE_DIR).glob(held))
    log = tmp_path / "watch.log"
    with _watching(tmp_path, log, str(example), "--out", str(out)):
        _save_until_rebuilt(example, log)
    assert not quickstate.state_path(example, out).exists()
    assert list((out / CACHE_DIR).glob(held)) == []
    _two_edits(example)  # the next one-off build leaves its state again
    assert run("build", example, "--out", out).exit_code == 0
    assert quickstate.read_state(example, out) is not None
    assert len(list((out / CACHE_DIR).glob(held))) == 1


def test_work_on_a_thread_gives_its_result_or_raises_its_exception() -> None:
    """What the quick rebuild hands to a thread (quickread.Later) comes back whole: its
    result, or its exception raised in the thread that asks (then the build runs in
    full), never None."""
    from deckbuilder.quickread import Later

    assert Later(pow, 2, 10).result() == 1024
    with pytest.raises(ZeroDivisionError):
        Later(divmod, 1, 0).result()
    with pytest.raises(FileNotFoundError):
        Later(open, "/nonexistent/deckbuilder").result()


@pytest.mark.parametrize("moment", ["writes", "stamp"])
def test_a_ctrl_c_late_in_a_quick_rebuild_leaves_no_second_collection(
        example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, moment: str) -> None:
    """A real SIGINT once the new collection is kept (linked into the cache folder for
    the next rebuild), as the package and lock are written or once they are: no state
    names that link, which stayed, as big as the collection, until the next build (3 in
    40 Ctrl-C at random moments of a 10,000-card quick rebuild)."""
    import contextlib
    import signal

    out = _built(example, tmp_path, monkeypatch)
    cache = out / quickstate.CACHE_DIR
    kept = sorted(cache.glob("*.collection"))
    real_staged, real_record = quick.staged, quick._record

    @contextlib.contextmanager
    def staged(*args: object) -> object:
        if moment == "writes":
            os.kill(os.getpid(), signal.SIGINT)
        with real_staged(*args) as stage:  # type: ignore[arg-type]
            yield stage

    def record(*args: object) -> None:
        if moment == "stamp":
            os.kill(os.getpid(), signal.SIGINT)
        real_record(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(quick, "staged", staged)
    monkeypatch.setattr(quick, "_record", record)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    _change(example, "edit")
    try:
        with pytest.raises(KeyboardInterrupt):
            quick.quick_rebuild(example, out, 1700000100)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert sorted(cache.glob("*.collection")) == kept


def test_a_ctrl_c_late_in_a_full_build_leaves_no_second_collection(
        example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As above, in a full build: a real SIGINT as the package and lock are written."""
    import contextlib
    import signal

    from deckbuilder import build

    out = _built(example, tmp_path, monkeypatch)
    cache = out / quickstate.CACHE_DIR
    real_staged = build.staged

    @contextlib.contextmanager
    def staged(*args: object) -> object:
        os.kill(os.getpid(), signal.SIGINT)
        with real_staged(*args) as stage:  # type: ignore[arg-type]
            yield stage

    monkeypatch.setattr(build, "staged", staged)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    head = example / "deck.yaml"
    head.write_text(head.read_text().replace("description: ", "description: New. ", 1))
    try:
        with pytest.raises(KeyboardInterrupt):
            build.build_deck(example, out, now=1700000100)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert list(cache.glob("*.collection")) == []  # the last went first: it no longer matched
