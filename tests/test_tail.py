"""The end of a one-off build: what it made is left to the process's exit (freed whole by
the system), never freed one object at a time; a build run as a library is freed as usual."""

from __future__ import annotations

import gc
import subprocess
import sys
import weakref
from pathlib import Path

import pytest
from conftest import run

from deckbuilder import build
from deckbuilder.model import Deck

# Runs the program as `deckbuilder build` does, noting on stderr when the build's deck is
# freed.
_PROGRAM = """
import os, sys, weakref
from deckbuilder import build, start
real, refs = build.build_deck, []
def noted(*args, **kwargs):
    result = real(*args, **kwargs)
    refs.append(weakref.ref(result.deck, lambda _: os.write(2, b"freed\\n")))
    return result
build.build_deck = noted
sys.argv = ["deckbuilder", *sys.argv[1:]]
start.run()
"""


def test_a_one_off_build_leaves_what_it_made_to_the_exit(example: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-c", _PROGRAM, "build", str(example), "--out",
                           str(out)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout and (out / "example-deck.apkg").is_file()
    assert "freed" not in done.stderr


def test_a_build_in_this_process_is_freed_after_it(example: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    refs: list[weakref.ref[Deck]] = []
    real = build.build_deck

    def noted(*args: object, **kwargs: object) -> build.BuildResult:
        result = real(*args, **kwargs)  # type: ignore[arg-type]
        refs.append(weakref.ref(result.deck))
        return result

    monkeypatch.setattr(build, "build_deck", noted)
    assert run("build", example, "--out", tmp_path / "out").exit_code == 0
    gc.collect()
    assert len(refs) == 1 and refs[0]() is None


def test_a_clean_deck_is_checked_without_difflib(example: Path) -> None:
    """difflib serves only the "did you mean" of a misspelt key or option: not imported at
    every start (1 ms). (click imports it itself for a short option such as -q.)"""
    script = ("import sys\nfrom deckbuilder.cli import main\n"
              f"sys.argv = ['deckbuilder', 'validate', {str(example)!r}]\n"
              "try:\n    main()\nexcept SystemExit as exc:\n    assert exc.code == 0\n"
              "print('difflib' in sys.modules)\n")
    found = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           timeout=60, check=True)
    assert found.stdout.splitlines()[-1] == "False", found.stderr


@pytest.mark.parametrize("count", [0, 1, 63, 64, 65, 200])
@pytest.mark.parametrize("limit", [7, 32766])
def test_rows_inserted_many_at_once_are_every_row_in_order(count: int, limit: int) -> None:
    import sqlite3

    from deckbuilder import database

    connection = sqlite3.connect(":memory:")
    connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, limit)  # 7: 2 rows at once
    connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b INTEGER, c TEXT)")
    rows = [(n, f"a{n}", n * n) for n in range(count)]
    database._insert_all(connection.cursor(), "t", "?,?,?,'c'", iter(rows))
    assert connection.execute("SELECT * FROM t ORDER BY rowid").fetchall() == [
        (*row, "c") for row in rows]


def _entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.entry")) if folder.is_dir() else []


def test_a_passing_load_leaves_its_cache_writes_to_the_caller(example: Path,
                                                             tmp_path: Path) -> None:
    from deckbuilder.load import load_deck

    folder, later = tmp_path / "cache", []
    load_deck(example, folder, write_cache=True, parallel=False, later=later)
    assert len(later) == 2 and _entries(folder) == []  # two sections, none written yet
    for store in later:
        store()
    assert len(_entries(folder)) == 2


def test_a_failing_load_makes_its_cache_writes_itself(example: Path, tmp_path: Path) -> None:
    from deckbuilder.errors import InvalidDeck
    from deckbuilder.load import load_deck

    second = sorted(example.glob("0*.yaml"))[1]
    second.write_text(second.read_text(encoding="utf-8") + "  - id: [\n", encoding="utf-8")
    folder, later = tmp_path / "cache", []
    with pytest.raises(InvalidDeck):
        load_deck(example, folder, write_cache=True, parallel=False, later=later)
    assert later == [] and len(_entries(folder)) == 1  # the section that passed


def test_a_build_writes_its_cache_and_state_from_nothing(example: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run("build", example, "--out", out).exit_code == 0
    folder = out / ".deckbuilder-cache"
    assert len(_entries(folder)) == 2
    assert list(folder.glob("*.quick")) and list(folder.glob("*.collection"))


_YAML_SEEN = """
import re
compile = re.compile
from deckbuilder import source
import yaml
reader = yaml.reader.Reader
print(type(reader.NON_PRINTABLE).__name__, re.compile is compile)
try:
    yaml.load("a: \\x07", Loader=yaml.SafeLoader)  # the pure-Python reader, as before
except yaml.reader.ReaderError:
    print("rejected")
print(yaml.load("a: caf\\u00e9", Loader=yaml.SafeLoader),
      type(reader.NON_PRINTABLE.compiled).__name__)
"""


def test_yaml_is_imported_without_compiling_its_pure_python_readers_expression() -> None:
    found = subprocess.run([sys.executable, "-c", _YAML_SEEN], capture_output=True, text=True,
                           timeout=60, check=True)
    assert found.stdout.splitlines() == ["Deferred True", "rejected", "{'a': 'café'} Pattern"]


@pytest.mark.parametrize("saved", [False, True])
def test_a_file_saved_while_the_build_loads_leaves_no_stamp(
        saved: bool, example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from deckbuilder.stamp import stamp_path

    real = build.load_deck

    def loading(*args: object, **kwargs: object) -> object:
        checked = real(*args, **kwargs)  # type: ignore[arg-type]
        if saved:  # the author saves once the build has read the file
            section = example / "02-maths.yaml"
            section.write_text(section.read_text(encoding="utf-8") + "# saved\n",
                               encoding="utf-8")
        return checked

    monkeypatch.setattr(build, "load_deck", loading)
    out = tmp_path / "out"
    build.build_deck(example, out, now=1_700_000_000)
    assert stamp_path(example, out).exists() is not saved
    assert bool(list((out / ".deckbuilder-cache").glob("*.quick"))) is not saved


def test_a_file_read_half_written_then_whole_again_leaves_no_stamp(
        example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An editor that saves in place (truncates, then writes) while the build reads the
    file: the build read its first card only, and the file was whole again, as before,
    when the folder was read again. The stamp then said the package of one card was
    fresh, and the next builds kept it ('nothing changed') until another edit."""
    from deckbuilder import load
    from deckbuilder.stamp import stamp_path

    section = example / "02-maths.yaml"
    whole = section.read_bytes()
    cut = whole[:whole.index(b"\n  - ", whole.index(b"  - ") + 1) + 1]  # its first card
    real = load.read_bytes

    def read_bytes(source: object, problems: object) -> bytes | None:
        if source.path != section:  # type: ignore[attr-defined]
            return real(source, problems)  # type: ignore[arg-type]
        section.write_bytes(cut)  # the save, caught half way
        try:
            return real(source, problems)  # type: ignore[arg-type]
        finally:
            section.write_bytes(whole)  # and done

    monkeypatch.setattr(load, "read_bytes", read_bytes)
    out = tmp_path / "out"
    result = build.build_deck(example, out, now=1_700_000_000)
    assert len(result.deck.sections[1].cards) == 1  # what it read
    assert not stamp_path(example, out).exists()
    monkeypatch.undo()
    again = run("build", example, "--out", out)
    assert again.exit_code == 0 and "2 added" in again.output, again.output  # the rest
