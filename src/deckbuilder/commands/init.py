"""`deckbuilder init`: start a deck of your own, ready for git."""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from .common import QUIET, Console, NonEmptyPath


@click.command()
@click.argument("folder", default=".", metavar="[DIR]",
                type=NonEmptyPath(file_okay=False, path_type=Path))
@QUIET
def init(folder: Path, quiet: bool) -> None:
    """Start a deck of your own in DIR, ready for git.

    DIR defaults to the current folder. It writes cards/deck.yaml named after the
    folder, a first section with a card of each kind, the editor schemas in schema/,
    a .gitignore for build/'s cache, a
    .gitattributes for deck.lock's merge driver and a .pre-commit-config.yaml; nothing
    if any of these files exists.
    """
    from ..scaffold import MERGE_DRIVER, init_deck

    console = Console()
    with console.reporting():
        written = init_deck(folder)
    if quiet:
        return
    names = ", ".join(str(path.relative_to(folder)) for path in written)
    console.out(f"created in {folder}: {names}", fg="green")
    # What to do next is advice, so it goes with the notes, on stderr.
    steps = [] if folder == Path(".") else [f"cd {shlex.quote(str(folder))}"]
    steps += ["deckbuilder validate && deckbuilder build    # then edit cards/, and again",
              f"git init && {MERGE_DRIVER}",
              "git add -A && git commit -m 'A new deck'",
              "pre-commit install    # optional: check every commit (https://pre-commit.com)"]
    console.err("next:")
    for step in steps:
        console.err(f"  {step}")
