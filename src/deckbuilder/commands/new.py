"""`deckbuilder new`: start the next section file."""

from __future__ import annotations

from pathlib import Path

import click

from .common import DECK_DIR, Console


@click.command()
@click.argument("title")
@DECK_DIR
@click.option("--number", type=click.IntRange(min=0),
              help="Use this section number instead of the next free one.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the new file's path.")
def new(title: str, deck_dir: Path, number: int | None, quiet: bool) -> None:
    """Create the next numbered section file in DECK_DIR, named after TITLE
    (e.g. 18-baltic-air-policing.yaml), with a commented example card.

    It never overwrites a file. The new section has `cards: []`, which `validate`
    reports as "the section has no cards yet" until you add the first card: an
    empty section is an error on purpose, so that it never ships.
    """
    from ..scaffold import new_section

    console = Console()
    with console.reporting():
        path = new_section(deck_dir, title, number)
    if quiet:
        console.out(str(path))
        return
    console.out(f"created {path}", fg="green")
    # Advice goes with the notes, on stderr: stdout is the result.
    console.err("next: replace `cards: []` with its cards (the file shows an example). Until "
                "then `deckbuilder validate` reports \"the section has no cards yet\": an empty "
                "section is an error on purpose.")
