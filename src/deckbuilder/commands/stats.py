"""`deckbuilder stats`: notes and cards per section, per kind and per tag."""

from __future__ import annotations

from pathlib import Path

import click

from .common import DECK_DIR, Console


@click.command()
@DECK_DIR
@click.option("-q", "--quiet", is_flag=True,
              help="Print only the tables (as without it: stats prints nothing else).")
def stats(deck_dir: Path, quiet: bool) -> None:
    """Print tables of DECK_DIR's notes and Anki cards per section, per kind
    (basic, reverse, cloze) and per tag, most used tag first.

    A note is one card entry in the YAML; Anki makes two cards from a reverse note
    and one per cloze number.
    """
    del quiet  # accepted as by every command; the tables are the result
    from ..load import CACHE_DIR, load_deck
    from ..stats import deck_stats

    console = Console()
    with console.reporting():
        checked = load_deck(deck_dir, Path("build") / CACHE_DIR)
    figures = deck_stats(checked.deck)
    for title, rows in (("section", [*figures.sections, figures.total]),
                        ("kind", figures.kinds), ("tag", figures.tags)):
        if title != "section":
            console.out()
        for line in _table(title, [(r.name, r.notes, r.cards) for r in rows]):
            console.out(line)


def _table(title: str, rows: list[tuple[str, int, int]]) -> list[str]:
    width = max([len(title), *(len(name) for name, _, _ in rows)])
    lines = [f"{title:<{width}}  notes  cards"]
    lines += [f"{name:<{width}}  {notes:>5}  {cards:>5}" for name, notes, cards in rows]
    return lines
