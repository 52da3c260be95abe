"""The ``deckbuilder`` command group; each command lives in ``commands/``.

Heavy modules (genanki, markdown-it, watchfiles) are imported inside the commands
that need them, so ``deckbuilder --help`` starts fast.
"""

from __future__ import annotations

import gc

import click

from . import __version__
from .commands import register


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="deckbuilder")
def cli() -> None:
    """Compile flashcards written as YAML into Anki packages.

    A deck is a folder: deck.yaml plus one numbered YAML file per section
    (see the README for the format). Start with `deckbuilder validate`.
    """


register(cli)


def main() -> None:
    # Decks are trees of small acyclic objects: with the default thresholds the cyclic
    # collector keeps walking the growing heap (a third of a 100,000-card build).
    gc.set_threshold(100_000, 50, 100)
    cli(prog_name="deckbuilder")
