"""`deckbuilder validate`: check a deck, write nothing."""

from __future__ import annotations

from pathlib import Path

import click

from .common import DECK_DIR, FORMAT, QUIET, Console


@click.command()
@DECK_DIR
@FORMAT
@click.option("--strict", is_flag=True,
              help="Also run `deckbuilder lint`; exit 1 on any warning as on an error.")
@QUIET
def validate(deck_dir: Path, fmt: str, strict: bool, quiet: bool) -> None:
    """Check DECK_DIR (default: cards) and report every problem as path:line:column.

    Exits 0 when the deck is clean, 1 when it has errors. Writes nothing; files
    unchanged since the last build are read from the cache it left in build/.cache.
    """
    console = Console(quiet)
    if not strict and _unchanged(console, deck_dir, fmt):
        return
    from ..load import CACHE_DIR, load_deck

    with console.reporting(fmt):
        checked = load_deck(deck_dir, Path("build") / CACHE_DIR)
    warnings = checked.warnings
    if strict:
        from ..errors import in_order
        from ..lint import lint_deck

        warnings = in_order([*warnings, *lint_deck(checked.deck)])
    if fmt == "json" or warnings:
        console.problems(warnings, fmt)
    if fmt == "text" and not (strict and warnings):
        console.out(f"{deck_dir}: {checked.deck.counts()}, no errors", fg="green")
    console.exit(1 if strict and warnings else 0)


def _unchanged(console: Console, deck_dir: Path, fmt: str) -> bool:
    """When the deck and lock are exactly what the last build in build/ read, its answer
    holds: say it without parsing (see stamp.py)."""
    from ..stamp import unchanged_deck

    stamp = unchanged_deck(deck_dir, Path("build"))
    if stamp is None:
        return False
    if fmt == "json" or stamp.warnings:
        from ..errors import Location, Problem

        console.problems([Problem(Location(path, line, column), message, "warning", rule)
                          for path, line, column, message, rule in stamp.warnings], fmt)
    if fmt == "text":
        console.out(f"{deck_dir}: {stamp.counts}, no errors", fg="green")
    return True
