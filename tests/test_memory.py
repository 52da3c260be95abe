"""Memory of a big build: what a loaded deck keeps per card, and a package zipped from the
collection's file without reading it whole (issue 15: 100,000 cards in <= 1.6x the memory
of a plain genanki script)."""

from __future__ import annotations

import gc
import os
import sys
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from deckbuilder import anki
from deckbuilder.errors import Location
from deckbuilder.load import load_deck
from deckbuilder.package import package_bytes
from deckbuilder.zipwrite import zip_bytes

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
try:
    import deckgen
finally:
    sys.path.pop(0)


def test_a_loaded_deck_keeps_under_a_kilobyte_a_card(tmp_path: Path) -> None:
    deckgen.write_deck(2_000, tmp_path / "deck")
    gc.collect()
    tracemalloc.start()
    try:
        checked = load_deck(tmp_path / "deck")
        gc.collect()
        kept, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # A dict of positions per card made it about 1,500 bytes; the texts alone are ~350.
    assert len(checked.rendered) == 2_000
    assert kept / 2_000 < 1_000, kept / 2_000


def test_cards_written_alike_share_their_positions_and_still_locate_each_value(
        tmp_path: Path) -> None:
    deck = tmp_path / "deck"
    deck.mkdir()
    (deck / "deck.yaml").write_text("deck: D\nid: d\n")
    (deck / "01-a.yaml").write_text(
        "section: A\ncards:\n"
        "  - id: one\n    front: F1\n    back: B1\n"
        "  - id: two\n    front: F2\n    back: B2\n"
        "  - front: F3\n    back: B3\n    id: three\n")
    one, two, three = load_deck(deck).deck.sections[0].cards
    assert one.positions is two.positions
    shown = one.location.path
    assert shown.endswith("01-a.yaml")
    assert one.at("back") == Location(shown, 5, 11)
    assert two.at("front") == Location(shown, 7, 12)
    assert three.at("front") == Location(shown, 9, 12)  # before the id's line
    assert three.at("extra") == three.location == Location(shown, 11, 9)


def test_a_package_zipped_from_a_file_is_the_package_of_its_bytes(tmp_path: Path) -> None:
    # Over two megabytes: deflated in two threads, each reading a megabyte at a time.
    data = b"".join(b"row %d of the collection\n" % (n * n % 7919) for n in range(150_000))
    data += os.urandom(300_000)
    assert len(data) > 2 << 20
    file = tmp_path / "collection.anki2"
    file.write_bytes(data)
    entries = [("media", b"{}"), ("0", b"small")]
    assert (zip_bytes([("collection.anki2", file), *entries])
            == zip_bytes([("collection.anki2", data), *entries]))
    packed = tmp_path / "p.apkg"
    packed.write_bytes(package_bytes(file, {}))
    with zipfile.ZipFile(packed) as archive:
        assert archive.testzip() is None
        assert archive.read("collection.anki2") == data


def test_zipping_a_file_never_holds_its_bytes(tmp_path: Path) -> None:
    file = tmp_path / "collection.anki2"
    file.write_bytes(b"\0" * (24 << 20))  # deflates to almost nothing
    tracemalloc.start()
    try:
        package_bytes(file, {})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20  # a megabyte read, and deflated, at a time in each thread


def test_notes_whose_ids_clash_move_to_the_next_free_numbers(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deckgen.write_deck(30, tmp_path / "deck")
    checked = load_deck(tmp_path / "deck")
    alone = anki.compile_notes(checked.deck, checked.rendered)
    # A clash of 64-bit hashes cannot be found for a test: every note wants one number.
    monkeypatch.setattr(anki, "derived_note_id", lambda deck_id, guid: 1_000)
    clashing = anki.compile_notes(checked.deck, checked.rendered)
    by_guid = sorted(note.guid for note in alone)
    assert {note.guid: note.note_id for note in clashing} == {
        guid: 1_000 + n for n, guid in enumerate(by_guid)}
    assert [note.guid for note in clashing] == [note.guid for note in alone]
    assert ([(n.fields, n.tags, n.subdeck, n.ords, n.digest) for n in clashing]
            == [(n.fields, n.tags, n.subdeck, n.ords, n.digest) for n in alone])


def test_chunks_deflated_in_two_threads_come_back_in_order_and_a_failure_is_raised() -> None:
    import threading
    import time

    from deckbuilder import zipwrite

    todo = list(range(40))  # 40 chunks of 64 KiB: two threads
    seen: set[str] = set()

    def chunk(index: int) -> bytes:
        seen.add(threading.current_thread().name)
        time.sleep(0.002)  # lets go of the GIL, as zlib does
        return bytes([index]) * 3

    assert zipwrite._each(chunk, todo) == [bytes([i]) * 3 for i in todo]
    assert len(seen) == 2

    def cut_short(index: int) -> bytes:
        if index == 25:
            raise OSError("cut short while it was read")
        return b""

    with pytest.raises(OSError, match="cut short"):
        zipwrite._each(cut_short, todo)
