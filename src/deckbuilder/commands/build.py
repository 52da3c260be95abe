"""`deckbuilder build`: compile the package and the lock, or check them, or watch."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from .common import DECK_DIR, QUIET, echo, reporting


@click.command()
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
@click.option("--split", is_flag=True,
              help="Also write one package per section: OUT/<deck id>--<section file>.apkg.")
@QUIET
def build(deck_dir: Path, out_dir: Path, check: bool, watch: bool, allow_field_change: bool,
          split: bool, quiet: bool) -> None:
    """Validate DECK_DIR and, when clean, write OUT/<deck id>.apkg and DECK_DIR/deck.lock.

    Prints what it wrote and what changed since the last build, with the Anki
    searches for what an import cannot do by itself (removed and moved cards).
    """
    def once() -> bool:
        # Watching keeps a file-watcher thread alive: no forked workers then.
        return _build_once(deck_dir, out_dir, quiet, check=check, split=split,
                           allow_field_change=allow_field_change, parallel=not watch)

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


def _build_once(deck_dir: Path, out_dir: Path, quiet: bool, **options: bool) -> bool:
    from ..build import build_deck
    from ..lock import build_time, describe_changes

    check = options["check"]
    try:
        with reporting():
            result = build_deck(deck_dir, out_dir, now=build_time(), **options)
    except SystemExit:
        return False  # reported; --watch goes on
    if check:
        again = "deckbuilder build --split" if options["split"] else "deckbuilder build"
        for reason in result.stale:
            echo(f"out of date: {reason}; run `{again}`", err=True, fg="red")
        if not result.stale and not quiet:
            echo(f"{result.path} and the lock are up to date")
        return not result.stale
    if result.recovered and not quiet:
        echo(f"no lock in {deck_dir}: recovered every card's GUID and mod time from "
             f"{result.recovered}, so unchanged cards keep their mod", err=True)
    if not quiet:
        deck = result.deck
        echo(f"wrote {result.path}: {deck.counts()}", fg="green")
        if result.parts:
            echo(f"wrote {len(result.parts)} section packages: "
                 f"{out_dir / (deck.id + '--*.apkg')}", fg="green")
        for line in describe_changes(result.changes):
            echo(line)
    return True
