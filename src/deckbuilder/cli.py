"""The ``deckbuilder`` command: parse options, call the library, print, exit.

Heavy modules (genanki, markdown-it, watchfiles) are imported inside the commands
that need them, so ``deckbuilder --help`` starts fast.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from . import __version__
from .errors import DeckbuilderError, InvalidDeck, Problem, summary

DECK_DIR = click.argument("deck_dir", default="cards", type=click.Path(path_type=Path))
FORMAT = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
                      show_default=True, help="How to print problems: text, or JSON for editors.")
QUIET = click.option("-q", "--quiet", is_flag=True, help="Print only problems.")


def _color() -> bool | None:
    return False if os.environ.get("NO_COLOR") else None


def echo(message: str = "", err: bool = False, **style: Any) -> None:
    click.echo(click.style(message, **style) if style else message, err=err, color=_color())


def print_problems(problems: list[Problem], fmt: str, err: bool = False) -> None:
    if fmt == "json":
        click.echo(json.dumps([p.as_json() for p in problems], indent=2))
        return
    for problem in problems:
        color = "red" if problem.severity == "error" else "yellow"
        echo(str(problem), err=err, fg=color)
    if problems:
        echo(summary(problems), err=err, bold=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="deckbuilder")
def cli() -> None:
    """Compile flashcards written as YAML into Anki packages.

    A deck is a folder: deck.yaml plus one numbered YAML file per section
    (see the README for the format). Start with `deckbuilder validate`.
    """


@cli.command()
@DECK_DIR
@FORMAT
def validate(deck_dir: Path, fmt: str) -> None:
    """Check DECK_DIR (default: cards) and report every problem as path:line:column.

    Exits 0 when the deck is clean, 1 when it has errors. Writes nothing.
    """
    from .build import load_deck

    try:
        checked = load_deck(deck_dir)
    except InvalidDeck as exc:
        print_problems(exc.problems, fmt)
        sys.exit(1)
    if fmt == "json":
        print_problems(checked.warnings, fmt)
    else:
        cards = len(checked.deck.cards)
        echo(f"{deck_dir}: {len(checked.deck.sections)} sections, {cards} cards, no errors",
             fg="green")


@cli.command()
@DECK_DIR
@click.option("--out", "out_dir", default="build", show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Folder that receives <deck id>.apkg.")
@click.option("--check", is_flag=True,
              help="Write nothing; exit 1 if the package or the lock is not what a build "
                   "would write now (for CI and pre-commit).")
@click.option("--watch", is_flag=True, help="Rebuild on every save until Ctrl-C.")
@click.option("--allow-field-change", is_flag=True,
              help="Allow a notetype's fields to change (Anki then copies the notetype and "
                   "stops updating existing notes).")
@QUIET
def build(deck_dir: Path, out_dir: Path, check: bool, watch: bool, allow_field_change: bool,
          quiet: bool) -> None:
    """Validate DECK_DIR and, when clean, write OUT/<deck id>.apkg and DECK_DIR/deck.lock.

    Prints what it wrote and what changed since the last build, with the Anki
    searches for what an import cannot do by itself (removed and moved cards).
    """
    def once() -> bool:
        return _build_once(deck_dir, out_dir, check, allow_field_change, quiet)

    if not watch:
        sys.exit(0 if once() else 1)
    from watchfiles import watch as watch_files

    once()
    echo(f"watching {deck_dir} (Ctrl-C to stop)", err=True)
    try:
        for changes in watch_files(deck_dir, watch_filter=_deck_source_changed):
            del changes
            once()
    except KeyboardInterrupt:
        pass


def _deck_source_changed(change: object, path: str) -> bool:
    name = os.path.basename(path)
    return not name.startswith(".") and name != "deck.lock"


def _build_once(deck_dir: Path, out_dir: Path, check: bool, allow_field_change: bool,
                quiet: bool) -> bool:
    from .build import build_deck
    from .lock import build_time, describe_changes

    try:
        result = build_deck(deck_dir, out_dir, check=check, now=build_time(),
                            allow_field_change=allow_field_change)
    except InvalidDeck as exc:
        print_problems(exc.problems, "text", err=True)
        return False
    except DeckbuilderError as exc:
        echo(f"error: {exc}", err=True, fg="red")
        return False
    if check:
        for reason in result.stale:
            echo(f"out of date: {reason}; run `deckbuilder build`", err=True, fg="red")
        if not result.stale and not quiet:
            echo(f"{result.path} and the lock are up to date")
        return not result.stale
    if not quiet:
        deck = result.deck
        echo(f"wrote {result.path}: {len(deck.sections)} sections, {len(result.notes)} notes, "
             f"{result.card_count} cards", fg="green")
        for line in describe_changes(result.changes):
            echo(line)
    return True


def main() -> None:
    cli(prog_name="deckbuilder")
