"""Shared test helpers: decks in temporary folders, the CLI, and Anki itself."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from deckbuilder.cli import cli

DATA = Path(__file__).parent / "data"
# The project's shared folder (the article, PyYAML's corpus) lies beside the repository,
# as it does on CI; DECKBUILDER_SHARED points elsewhere.
SHARED = Path(os.environ.get("DECKBUILDER_SHARED",
                             Path(__file__).resolve().parents[2] / "shared"))


def needs_shared() -> None:
    """Skip a test that reads the shared folder when a local clone lacks it; CI never skips."""
    if not SHARED.is_dir() and not os.environ.get("CI"):
        pytest.skip(f"needs the shared folder at {SHARED} (or set DECKBUILDER_SHARED)")


def run(*args: str | os.PathLike[str]) -> Result:
    """Run the deckbuilder CLI in-process, as a user would type it."""
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


# the source line and caret printed under a problem (deckbuilder.excerpt)
_EXCERPT = re.compile(r"^  [ 0-9]* \|( |$)")


def problem_lines(output: str) -> list[str]:
    """The lines of ``output`` without the source excerpts under the problems."""
    return [line for line in output.splitlines() if not _EXCERPT.match(line)]


def without_excerpts(output: str) -> str:
    """``output`` without the source excerpts under the problems."""
    return "".join(f"{line}\n" for line in problem_lines(output))


def write_deck(root: Path, files: dict[str, str]) -> Path:
    """A deck folder under ``root`` with the given files (text is dedented)."""
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


DECK_YAML = """
deck: Test Deck
id: test-deck
"""


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A copy of tests/data/example: two sections, every kind of card, an image."""
    target = tmp_path / "cards"
    shutil.copytree(DATA / "example", target)
    return target


class AnkiImport:
    """A fresh Anki collection, opened with the official library, that imports packages."""

    def __init__(self, folder: Path) -> None:
        from anki.collection import Collection

        self.col = Collection(str(folder / "collection.anki2"))

    def load(self, package: Path):  # type: ignore[no-untyped-def]
        from anki.collection import ImportAnkiPackageOptions, ImportAnkiPackageRequest
        from anki.import_export_pb2 import ImportAnkiPackageUpdateCondition as Update

        response = self.col.import_anki_package(ImportAnkiPackageRequest(
            package_path=str(package.resolve()),
            options=ImportAnkiPackageOptions(
                update_notes=Update.IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_IF_NEWER,
                update_notetypes=Update.IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_IF_NEWER,
                with_scheduling=False,
            ),
        ))
        self.col.models._clear_cache()
        return response.log

    def deck_names(self) -> list[str]:
        return [d.name for d in self.col.decks.all_names_and_ids() if d.name != "Default"]

    def notes(self) -> dict[str, object]:
        """Every note by its sort field's first 40 characters."""
        return {self.col.get_note(nid).fields[0][:40]: self.col.get_note(nid)
                for nid in self.col.find_notes("")}

    def note_by_guid(self, guid: str):  # type: ignore[no-untyped-def]
        for nid in self.col.find_notes(""):
            note = self.col.get_note(nid)
            if note.guid == guid:
                return note
        raise KeyError(guid)

    def check_database(self) -> tuple[str, bool]:
        return self.col.fix_integrity()  # type: ignore[no-any-return]


@pytest.fixture
def anki(tmp_path: Path) -> Iterator[AnkiImport]:
    folder = tmp_path / "anki"
    folder.mkdir()
    collection = AnkiImport(folder)
    yield collection
    collection.col.close()


class Hang(Exception):
    """Raised inside a command that ran past its deadline: a hang fails the test, not the suite."""


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Interrupt the code inside after ``seconds`` (SIGALRM, so main thread and POSIX only).

    A pure-Python loop gets the signal between bytecodes; C code (libyaml) between events.
    """
    def expire(signum: int, frame: object) -> None:
        raise Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_guarded(*args: str | os.PathLike[str], seconds: float = 20) -> Result:
    """Run the CLI like ``run``, but as hostile input needs: an exception the CLI did not turn
    into an exit status, or a run past ``seconds``, fails the test with its traceback."""
    with deadline(seconds):
        result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        shown = "".join(traceback.format_exception(*result.exc_info))  # type: ignore[misc]
        pytest.fail(f"deckbuilder {' '.join(map(str, args))} raised:\n{shown}")
    return result
