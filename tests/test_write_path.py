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
    from deckbuilder import package

    data = os.urandom(1 << 16) * 40  # compressible, over a megabyte
    entries = [("collection.anki2", data), ("media", b"{}")]
    threaded = package.zip_bytes(entries)
    assert package.zip_bytes(entries) == threaded
    with zipfile.ZipFile(io.BytesIO(threaded)) as archive:
        assert archive.read("collection.anki2") == data
