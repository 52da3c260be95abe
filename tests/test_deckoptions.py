"""`options:` in deck.yaml: one preset in the package, what Anki does with it on import
(measured with the official library), and `sync` updating the author's own."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
import zipfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from conftest import AnkiImport, run, run_guarded, write_deck

from deckbuilder.anki import preset_id

ROOT = Path(__file__).resolve().parents[1]
DECK = "deck: Opt Deck\nid: opt-deck\n"
CARDS = ("section: A\ncards:\n  - id: a\n    front: f\n    back: b\n"
         "  - id: b\n    front: g\n    back: c\n")
OPTIONS = """options:
  new-per-day: 7
  reviews-per-day: 150
  learning-steps: [30s, 10m, 1d]
  relearning-steps: [15m]
  desired-retention: 0.85
  maximum-interval: 365
  bury-siblings: true
"""


def _import(tmp_path: Path, package: Path, presets: bool,
            anki: AnkiImport | None = None) -> AnkiImport:
    """Import as a learner would, with "Import any deck presets" ticked or not."""
    from anki.collection import ImportAnkiPackageOptions, ImportAnkiPackageRequest

    anki = anki or AnkiImport(tmp_path)
    anki.col.import_anki_package(ImportAnkiPackageRequest(
        package_path=str(package), options=ImportAnkiPackageOptions(with_deck_configs=presets)))
    return anki


def _settings(col: Any, name: str) -> tuple[Any, ...]:
    conf = col.decks.config_dict_for_deck_id(col.decks.id_for_name(name))
    return (conf["id"], conf["new"]["perDay"], conf["rev"]["perDay"], conf["new"]["delays"],
            conf["lapse"]["delays"], round(conf["desiredRetention"], 4), conf["rev"]["maxIvl"],
            conf["new"]["bury"], conf["rev"]["bury"], conf["buryInterdayLearning"])


def _build(tmp_path: Path, deck_yaml: str, out: str = "out") -> Path:
    deck = write_deck(tmp_path / "cards", {"deck.yaml": deck_yaml, "01-a.yaml": CARDS,
                                           "02-b.yaml": CARDS.replace("id: ", "id: x")})
    result = run_guarded("build", deck, "--out", tmp_path / out)
    assert result.exit_code == 0, result.output
    return tmp_path / out / "opt-deck.apkg"


def test_options_are_one_preset_that_every_subdeck_uses(tmp_path: Path) -> None:
    package = _build(tmp_path, DECK + OPTIONS)
    anki = _import(tmp_path, package, presets=True)
    try:
        wanted = (preset_id("opt-deck"), 7, 150, [0.5, 10.0, 1440.0], [15.0], 0.85, 365,
                  True, True, True)
        for name in ("Opt Deck", "Opt Deck::01 A", "Opt Deck::02 A"):
            assert _settings(anki.col, name) == wanted
        assert anki.col.decks.get_config(preset_id("opt-deck"))["name"] == "Opt Deck"
        assert anki.check_database() == ("Database rebuilt and optimized.", True)
    finally:
        anki.col.close()


def test_left_out_options_are_ankis_defaults(tmp_path: Path) -> None:
    package = _build(tmp_path, DECK + "options:\n  new-per-day: 5\n")
    anki = _import(tmp_path, package, presets=True)
    try:
        assert _settings(anki.col, "Opt Deck::01 A") == (
            preset_id("opt-deck"), 5, 200, [1.0, 10.0], [10.0], 0.9, 36500, False, False, False)
    finally:
        anki.col.close()


def test_what_anki_does_with_the_preset_on_import(tmp_path: Path) -> None:
    """Measured, and what the README says: without "Import any deck presets" the preset is
    ignored; with it, added once and never updated by a later package, and the deck's
    subdecks are put back on it at every import."""
    first = _build(tmp_path, DECK + OPTIONS)
    (tmp_path / "plain").mkdir()
    plain = _import(tmp_path / "plain", first, presets=False)
    try:
        assert _settings(plain.col, "Opt Deck::01 A")[:2] == (1, 20)
    finally:
        plain.col.close()
    shutil.rmtree(tmp_path / "cards")
    second = _build(tmp_path, DECK + OPTIONS.replace("new-per-day: 7", "new-per-day: 9"),
                    out="out2")
    anki = _import(tmp_path, first, presets=True)
    try:
        mine = anki.col.decks.add_config_returning_id("Mine")  # the learner's own preset
        subdeck = anki.col.decks.get(anki.col.decks.id_for_name("Opt Deck::01 A"))
        subdeck["conf"] = mine
        anki.col.decks.save(subdeck)
        _import(tmp_path, second, presets=True, anki=anki)
        assert _settings(anki.col, "Opt Deck::02 A")[1] == 7  # never updated
        # ... but every later import with presets ticked puts the subdeck back on it
        assert _settings(anki.col, "Opt Deck::01 A")[:2] == (preset_id("opt-deck"), 7)
    finally:
        anki.col.close()


def _col_table(package: Path, tmp_path: Path) -> dict[str, Any]:
    database = tmp_path / "read.anki2"
    with zipfile.ZipFile(package) as archive:
        database.write_bytes(archive.read("collection.anki2"))
    connection = sqlite3.connect(database)
    try:
        row = connection.execute("SELECT dconf, decks FROM col").fetchone()
        names = [name for (name,) in connection.execute(
            "SELECT name FROM sqlite_master ORDER BY name")]
        counts = [connection.execute(f"SELECT count() FROM {t}").fetchone()[0]
                  for t in ("notes", "cards")]
    finally:
        connection.close()
    database.unlink()
    return {"dconf": row[0], "decks": row[1], "schema": names, "counts": counts}


def test_without_options_the_package_is_byte_for_byte_what_it_was(tmp_path: Path) -> None:
    """The committed NATO package was built before options existed; a build now, without
    options, gives the same bytes. With options only the presets and decks differ."""
    copy = tmp_path / "cards"
    shutil.copytree(ROOT / "cards", copy)
    result = run("build", copy, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    built = tmp_path / "out" / "nato-collective-security.apkg"
    committed = ROOT / "build" / "nato-collective-security.apkg"
    assert built.read_bytes() == committed.read_bytes()
    yaml = copy / "deck.yaml"
    yaml.write_text(yaml.read_text(encoding="utf-8") + "options:\n  new-per-day: 10\n",
                    encoding="utf-8")
    assert run("build", copy, "--out", tmp_path / "with").exit_code == 0
    before = _col_table(committed, tmp_path)
    after = _col_table(tmp_path / "with" / "nato-collective-security.apkg", tmp_path)
    assert before["schema"] == after["schema"] and before["counts"] == after["counts"]
    assert before["dconf"] != after["dconf"] and before["decks"] != after["decks"]


BAD = [
    ("  new-per-day: -1\n", "5:16: 'new-per-day' must be a whole number from 0 to 9999"),
    ("  new-per-day: 2.5\n", "5:16: 'new-per-day' must be a whole number from 0 to 9999"),
    ("  reviews-per-day: ten\n", "5:20: 'reviews-per-day' must be a whole number from 0 to "
     "9999"),
    ("  desired-retention: 1.2\n", "5:22: 'desired-retention' must be a number from 0.7 to "
     "0.99"),
    ("  maximum-interval: 0\n", "5:21: 'maximum-interval' must be a whole number from 1 to "
     "36500"),
    ("  bury-siblings: 1\n", "5:18: 'bury-siblings' must be true or false"),
    ("  learning-steps: 10m\n", "5:19: 'learning-steps' must be a list, like [1m, 10m]"),
    ("  learning-steps: [1m, 10]\n", "5:24: 'learning-steps': a step is a number and a unit "
     "(s, m, h or d), more than 0 and at most 365d, like 10m or 1d; found '10'"),
    ("  relearning-steps: [0m]\n", "5:22: 'relearning-steps': a step is a number"),
    ("  learning-steps: [[1m]]\n", "5:20: 'learning-steps': a step is a number and a unit "
     "(s, m, h or d), more than 0 and at most 365d, like 10m or 1d; found a list"),
    ("  relearning-steps: [{1m: 1}]\n", "5:22: 'relearning-steps': a step is a number and a "
     "unit (s, m, h or d), more than 0 and at most 365d, like 10m or 1d; found a mapping"),
    ("  learning-steps: [1m, ~]\n", "5:24: 'learning-steps': a step is a number and a unit "
     "(s, m, h or d), more than 0 and at most 365d, like 10m or 1d; found ''"),
    # digits other than 0-9: an editor's schema (\d is ASCII there) refuses them
    ("  learning-steps: [\u0661m]\n", "5:20: 'learning-steps': a step is a number"),
    ("  new-cards-per-day: 5\n", "5:3: unknown option 'new-cards-per-day'; did you mean "
     "'new-per-day'?"),
]


# validate only: like 'at most 365d', a pattern cannot compare numbers (this step was
# stored as 0), and PyYAML refuses a bad tag before any schema sees it (it was reported twice)
VALIDATE_ONLY = [("  learning-steps: [0.001s]\n", "5:20: 'learning-steps': a step is a number"),
                 ("  learning-steps: [!!int 1m]\n", "5:20: '1m' is not a whole number (YAML "
                  "tag !!int)"),
                 # YAML 1.1 (PyYAML) reads a leading zero as octal, YAML 1.2 (editors, so
                 # the schema) does not: 017 was taken as 17, PyYAML's own reading is 15
                 ("  new-per-day: 017\n", "5:16: 'new-per-day' is written 017, with a "
                  "leading zero: YAML 1.1 (PyYAML) reads it as the octal 15, YAML 1.2 "
                  "(editors) as 17; write 17"),
                 ("  reviews-per-day: +0100\n", "5:20: 'reviews-per-day' is written +0100"),
                 ("  maximum-interval: 0_365\n", "5:21: 'maximum-interval' is written 0_365, "
                  "with a leading zero: YAML 1.1 (PyYAML) reads it as the octal 245, YAML 1.2 "
                  "(editors) as text; write 365"),
                 # and an underscore anywhere: 1_000 and 0_ were read, as 1000 and 0
                 ("  new-per-day: 1_000\n", "5:16: 'new-per-day' is written 1_000: YAML 1.1 "
                  "(PyYAML) reads it as 1000, YAML 1.2 (editors) as text; write 1000"),
                 ("  reviews-per-day: 0_\n", "5:20: 'reviews-per-day' is written 0_: YAML "
                  "1.1 (PyYAML) reads it as 0, YAML 1.2 (editors) as text; write 0"),
                 ("  desired-retention: 0.9_5\n", "5:22: 'desired-retention' is written "
                  "0.9_5: YAML 1.1 (PyYAML) reads it as 0.95")]


def test_a_leading_zero_that_reads_alike_is_no_problem(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """07 and 00 are the same number in YAML 1.1 and 1.2: nothing to report."""
    monkeypatch.chdir(tmp_path)
    write_deck(tmp_path / "cards", {"deck.yaml": DECK + "html: false\noptions:\n  "
                                    "new-per-day: 07\n  reviews-per-day: 00\n",
                                    "01-a.yaml": CARDS})
    result = run_guarded("validate", "cards")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(("options", "message"), BAD + VALIDATE_ONLY)
def test_bad_options_are_located_errors(options: str, message: str, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_deck(tmp_path / "cards", {"deck.yaml": DECK + "html: false\noptions:\n" + options,
                                    "01-a.yaml": CARDS})
    result = run_guarded("validate", "cards")
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.startswith("cards/")]
    assert len(lines) == 1 and lines[0].startswith(f"cards/deck.yaml:{message}"), lines


def test_options_must_be_a_mapping(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_deck(tmp_path / "cards", {"deck.yaml": DECK + "options: [new-per-day]\n",
                                    "01-a.yaml": CARDS})
    result = run_guarded("validate", "cards")
    assert result.output.splitlines()[0] == ("cards/deck.yaml:3:10: 'options' must be a "
                                             "mapping, found a list")


def test_sync_updates_the_authors_preset_without_a_full_sync(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from anki.collection import Collection

    deck = write_deck(tmp_path / "cards", {"deck.yaml": DECK + OPTIONS, "01-a.yaml": CARDS})
    collection = tmp_path / "profile" / "collection.anki2"
    collection.parent.mkdir()
    col = Collection(str(collection))
    col.db.execute("update col set ls = scm")  # as after a sync with AnkiWeb
    schema = col.db.scalar("select scm from col")
    col.close()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(time.time()) - 1000))
    first = run("sync", deck, "--collection", collection, "--out", tmp_path / "out",
                "--no-backup")
    assert first.exit_code == 0, first.output
    assert "deck options: preset 'Opt Deck' added" in first.output
    yaml = deck / "deck.yaml"
    yaml.write_text(yaml.read_text().replace("new-per-day: 7", "new-per-day: 12"))
    dry = run("sync", deck, "--collection", collection, "--out", tmp_path / "out",
              "--dry-run")
    assert "deck options (would change): preset 'Opt Deck': new-per-day 7 -> 12" in dry.output
    # only the options change: never "nothing to do" above the change it lists
    assert dry.output.splitlines()[0] == "the notes already match the deck", dry.output
    col = Collection(str(collection))
    try:
        assert _settings(col, "Opt Deck::01 A")[1] == 7
        default = col.decks.get_config(1)  # the author's Default is never touched
        assert (default["id"], default["new"]["perDay"], default["rev"]["maxIvl"]) == (
            1, 20, 36500)
        theirs = col.decks.add_config_returning_id("Mine")  # the author moves a subdeck
        subdeck = col.decks.get(col.decks.id_for_name("Opt Deck::01 A"))
        subdeck["conf"] = theirs
        col.decks.save(subdeck)
    finally:
        col.close()
    second = run("sync", deck, "--collection", collection, "--out", tmp_path / "out",
                 "--no-backup")
    assert second.exit_code == 0, second.output
    assert "new-per-day 7 -> 12" in second.output
    assert "'Opt Deck::01 A' put on the preset" in second.output
    assert "nothing to do" not in second.output
    assert second.output.splitlines()[-1] == f"synced {collection}", second.output
    col = Collection(str(collection))
    try:
        for name in ("Opt Deck", "Opt Deck::01 A"):
            assert _settings(col, name) == (preset_id("opt-deck"), 12, 150, [0.5, 10.0, 1440.0],
                                            [15.0], 0.85, 365, True, True, True)
        assert col.db.scalar("select scm from col") == schema  # no one-way sync
    finally:
        col.close()
    third = run("sync", deck, "--collection", collection, "--out", tmp_path / "out")
    assert "deck options" not in third.output, third.output
    assert os.path.exists(tmp_path / "out" / "opt-deck.apkg")


@pytest.mark.parametrize(("options", "message"), BAD)
def test_the_schema_rejects_what_validate_rejects(options: str, message: str) -> None:
    schema = json.loads((ROOT / "schema" / "deck.schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    good = yaml.safe_load(DECK + OPTIONS)
    assert not list(validator.iter_errors(good))
    bad = yaml.safe_load(DECK + "options:\n" + options)
    assert list(validator.iter_errors(bad)), message


def test_removing_options_gives_the_package_of_a_deck_that_never_had_them(
        tmp_path: Path) -> None:
    """A rebuild after `options:` is dropped holds no preset: its bytes are those of a
    cold build without options (a guard for any build that reuses the last package)."""
    with_options = _build(tmp_path, DECK + OPTIONS)
    (tmp_path / "cards" / "deck.yaml").write_text(DECK)
    assert run_guarded("build", tmp_path / "cards", "--out", tmp_path / "out").exit_code == 0
    rebuilt = with_options.read_bytes()
    shutil.rmtree(tmp_path / "out")
    assert run_guarded("build", tmp_path / "cards", "--out", tmp_path / "out").exit_code == 0
    assert rebuilt == with_options.read_bytes()
    assert str(preset_id("opt-deck")) not in _col_table(with_options, tmp_path)["dconf"]


@pytest.mark.parametrize(("written", "buried"), [("yes", True), ('"yes"', True), ("'On'", True),
                                                 ("off", False), ('"NO"', False)])
def test_bury_siblings_is_a_flag_like_reverse(written: str, buried: bool,
                                              tmp_path: Path) -> None:
    """YAML 1.1 reads a bare `yes` as true, YAML 1.2 (an editor, check-jsonschema) as
    text: like `reverse`, the flag takes either reading, and validate and the schema
    agree (a quoted "yes" was refused, and the schema refused a bare one)."""
    deck_yaml = DECK + f"options:\n  bury-siblings: {written}\n"
    package = _build(tmp_path, deck_yaml)
    anki = _import(tmp_path, package, presets=True)
    try:
        assert _settings(anki.col, "Opt Deck")[-3:] == (buried,) * 3
    finally:
        anki.col.close()
    schema = json.loads(run("schema", "deck").stdout)
    jsonschema.validate(yaml.load(deck_yaml, Loader=yaml.BaseLoader), schema)  # YAML 1.2 reads
    jsonschema.validate(yaml.safe_load(deck_yaml), schema)
