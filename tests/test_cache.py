"""The per-section cache: a hit gives exactly what checking again gives; damage is a miss."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from conftest import run

from deckbuilder.load import CACHE_DIR, load_deck
from deckbuilder.stamp import seal, unseal


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_cached_build_equals_a_fresh_one(example: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    out = tmp_path / "out"
    assert run("build", example, "--out", out).exit_code == 0
    fresh = _digest(out / "example-deck.apkg")
    entries = sorted((out / CACHE_DIR).glob("*.entry"))
    assert len(entries) == 2  # one per section file
    assert run("build", example, "--out", out).exit_code == 0
    assert _digest(out / "example-deck.apkg") == fresh
    assert load_deck(example, out / CACHE_DIR) == load_deck(example)


def test_damaged_cache_entries_are_misses(example: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run("build", example, "--out", out).exit_code == 0
    for entry in (out / CACHE_DIR).glob("*.entry"):
        entry.write_text('{"number": "garbage"')
    assert load_deck(example, out / CACHE_DIR) == load_deck(example)
    for entry in (out / CACHE_DIR).glob("*.entry"):
        entry.write_text('{"number": 1, "cards": [[1, 2]], "media": {}}')
    assert load_deck(example, out / CACHE_DIR) == load_deck(example)


def test_changed_media_is_never_served_from_the_cache(example: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run("build", example, "--out", out).exit_code == 0
    image = example / "media" / "outline.png"
    image.write_bytes(image.read_bytes() + b"changed")
    checked = load_deck(example, out / CACHE_DIR)
    (name,) = checked.media
    assert hashlib.sha256(image.read_bytes()).hexdigest()[:10] in name
    image.unlink()
    result = run("build", example, "--out", out)
    assert result.exit_code == 1
    assert "media file not found: media/outline.png" in result.output


def test_errors_are_reported_even_when_other_sections_are_cached(example: Path,
                                                                 tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run("build", example, "--out", out).exit_code == 0
    maths = example / "02-maths.yaml"
    maths.write_text(maths.read_text().replace("id: quadratic", "id: capital-france"))
    result = run("build", example, "--out", out)
    assert result.exit_code == 1
    assert f"{example}/01-basics.yaml:5:9: duplicate card id 'capital-france'" in result.output


def test_two_cores_check_in_one_process(example: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # On 2 cores the pool costs more than it saves (load.py): none is started.
    import concurrent.futures

    from deckbuilder import load as build

    def no_pool(*args: object, **kwargs: object) -> None:
        raise AssertionError("a process pool was started")

    monkeypatch.setattr(build, "PARALLEL_BYTES", 0)
    monkeypatch.setattr(build.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", no_pool)
    assert load_deck(example, parallel=True) == load_deck(example, parallel=False)


def test_checking_on_every_core_gives_the_same_deck(example: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from deckbuilder import load as build

    serial = load_deck(example, parallel=False)
    monkeypatch.setattr(build, "PARALLEL_BYTES", 0)
    monkeypatch.setattr(build, "PARALLEL_CORES", 2)
    assert load_deck(example, parallel=True) == serial
    (example / "02-maths.yaml").write_text("section: [broken\n")
    with pytest.raises(build.InvalidDeck) as parallel_errors:
        load_deck(example, parallel=True)
    monkeypatch.setattr(build, "PARALLEL_BYTES", 1 << 40)
    with pytest.raises(build.InvalidDeck) as serial_errors:
        load_deck(example, parallel=True)
    assert parallel_errors.value.problems == serial_errors.value.problems
    assert [str(p) for p in serial_errors.value.problems] == [
        f"{example}/02-maths.yaml:1:10: invalid YAML: a value that starts with '[' is read "
        "as a YAML list, and it is never closed; if it is a list, end it with ']': section: "
        '[broken]; to write it as text, put the whole text between quotes: section: "[broken"']


def test_the_cache_holds_one_deck_worth(example: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    for answer in ("Lyon", "Marseille", "Paris"):
        basics = example / "01-basics.yaml"
        basics.write_text(basics.read_text().replace("back: Paris", f"back: {answer}")
                          .replace("back: Lyon", f"back: {answer}")
                          .replace("back: Marseille", f"back: {answer}"))
        assert run("build", example, "--out", out).exit_code == 0
        assert len(list((out / CACHE_DIR).glob("*.entry"))) == 2


@pytest.mark.parametrize("damage", ["front", "tags", "positions", "fields", "version", "shape",
                                    "source", "line", "lint", "numbers", "place", "row",
                                    "last card"])
def test_well_formed_entries_of_the_wrong_types_are_misses(example: Path, tmp_path: Path,
                                                           damage: str) -> None:
    import marshal

    out = tmp_path / "out"
    assert run("build", example, "--out", out).exit_code == 0
    for entry in (out / CACHE_DIR).glob("*.entry"):
        data = list(marshal.loads(unseal(entry.read_bytes())))
        card = list(data[6][0])
        if damage == "last card":  # every row is checked, not only the first
            data[6] = [*data[6][:-1], (*data[6][-1][:7], "1", *data[6][-1][8:])]
            entry.write_bytes(seal(marshal.dumps(tuple(data))))
            continue
        if damage == "front":
            card[2] = 42
        elif damage == "tags":
            card[6] = ["a", 1]
        elif damage == "positions":
            card[9] = (("front", "1", 2),)
        elif damage == "fields":
            card[11] = (b"bytes",)
        elif damage == "version":
            data[0] = "0"
        elif damage == "source":
            card[5] = 3
        elif damage == "line":
            card[7] = 1.5
        elif damage == "lint":
            card[10] = (None,)
        elif damage == "numbers":
            card[12] = ("1",)
        elif damage == "place":
            card[9] = (("front", 1),)
        elif damage == "row":
            card = dict(enumerate(card))  # type: ignore[assignment]
        else:
            card = card[:5]
        data[6] = [card if damage == "row" else tuple(card), *data[6][1:]]
        entry.write_bytes(seal(marshal.dumps(tuple(data))))
    assert load_deck(example, out / CACHE_DIR) == load_deck(example)
    result = run("build", example, "--out", out)
    assert result.exit_code == 0, result.output


def test_a_hit_names_files_as_this_run_was_given_the_folder(
        example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An entry written by `build cards` is read by `lint /abs/cards`: its problems name
    the files as this run's deck folder does, as a run without the cache would."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.chdir(tmp_path)
    (example / "01-basics.yaml").write_text(
        (example / "01-basics.yaml").read_text(encoding="utf-8")
        + "  - id: yes-no-question\n    front: Is water wet?\n    back: 'yes'\n",
        encoding="utf-8")
    assert run("build", "cards").exit_code == 0
    cached = run("lint", str(example.resolve()))
    (tmp_path / "build" / CACHE_DIR).rename(tmp_path / "elsewhere")
    fresh = run("lint", str(example.resolve()))
    assert f"{example.resolve()}/01-basics.yaml:" in fresh.output
    assert cached.output == fresh.output
    for where in ("cards", str(example.resolve())):  # the tree itself, in-process
        checked = load_deck(Path(where), tmp_path / "elsewhere")
        assert {c.location.path for c in checked.deck.cards} <= {
            f"{where}/01-basics.yaml", f"{where}/02-maths.yaml"}


def test_decks_sharing_a_build_folder_keep_each_others_entries(example: Path,
                                                               tmp_path: Path) -> None:
    """Each build pruned every entry it had not used: two decks built into one folder
    evicted each other's, and each build checked every section again. Each deck now
    prunes only its own; a deck folder that is gone loses its entries at the next build
    of any deck there, so the cache still holds one deck's worth per deck folder."""
    other = tmp_path / "other"
    shutil.copytree(example, other)
    (other / "deck.yaml").write_text((other / "deck.yaml").read_text().replace(
        "id: example-deck", "id: other-deck"))
    (other / "deck.lock").unlink(missing_ok=True)
    out = tmp_path / "out"

    def entries() -> int:
        return len(list((out / CACHE_DIR).glob("*.entry")))

    for answer in ("Lyon", "Marseille"):
        for deck in (example, other):
            basics = deck / "01-basics.yaml"
            basics.write_text(basics.read_text().replace("back: Paris", f"back: {answer}")
                              .replace("back: Lyon", f"back: {answer}"))
            assert run("build", deck, "--out", out).exit_code == 0
    assert entries() == 4  # two sections each: the older edit's entries pruned
    before = {p.name: p.stat().st_ino for p in (out / CACHE_DIR).glob("*.entry")}
    load_deck(example, out / CACHE_DIR)  # every section a hit: no entry written again
    assert {p.name: p.stat().st_ino for p in (out / CACHE_DIR).glob("*.entry")} == before
    shutil.rmtree(other)
    basics = example / "01-basics.yaml"
    basics.write_text(basics.read_text().replace("back: Marseille", "back: Paris"))
    assert run("build", example, "--out", out).exit_code == 0
    assert entries() == 2
    assert [p.suffix for p in (out / CACHE_DIR).glob("*.deck")] == [".deck"]


@pytest.mark.parametrize("planted", ["none", "another deck's", "a link"])
def test_a_deck_building_while_another_prunes_keeps_its_entries(
        example: Path, tmp_path: Path, planted: str) -> None:
    """A deck named its folder (`<deck key>.deck`, which tells the other decks that build
    there whose entries they are) only when it pruned, at the end of its build, and never
    replaced a damaged one: another deck's build meanwhile took its entries for those of a
    deck folder that is gone, and removed them."""
    from deckbuilder.cache import SectionCache

    other = tmp_path / "other"
    shutil.copytree(example, other)
    out = tmp_path / "out"
    assert run("build", example, "--out", out).exit_code == 0
    cache = SectionCache(out / CACHE_DIR, other, (other / "deck.yaml").read_bytes(), True)
    sign = out / CACHE_DIR / f"{cache.deck_key}.deck"
    if planted == "another deck's":
        sign.write_bytes(str(example.resolve()).encode())
    elif planted == "a link":
        sign.symlink_to(example / "deck.yaml")
    data = (other / "01-basics.yaml").read_bytes()
    cache.put("01-basics.yaml", data, None, [], {}, entry=b"checked")  # type: ignore[arg-type]
    (entry,) = (out / CACHE_DIR).glob(f"{cache.deck_key}.*.entry")
    basics = example / "01-basics.yaml"
    basics.write_text(basics.read_text().replace("back: Paris", "back: Lyon"))
    assert run("build", example, "--out", out).exit_code == 0  # it prunes meanwhile
    assert entry.exists()
    assert (example / "deck.yaml").read_text().startswith("deck:")  # (never written)
