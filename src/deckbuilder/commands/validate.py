"""`deckbuilder validate`: check a deck, write nothing."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import InvalidDeck
from .common import DECK_DIR, FORMAT, echo, print_problems


@click.command()
@DECK_DIR
@FORMAT
def validate(deck_dir: Path, fmt: str) -> None:
    """Check DECK_DIR (default: cards) and report every problem as path:line:column.

    Exits 0 when the deck is clean, 1 when it has errors. Writes nothing.
    """
    from ..build import load_deck

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
