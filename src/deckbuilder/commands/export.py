"""`deckbuilder export`: the deck as a file for Anki's own text import."""

from __future__ import annotations

from pathlib import Path

import click

from .common import DECK_DIR, QUIET, Console, folder_option


@click.command()
@DECK_DIR
@click.option("--format", "fmt", type=click.Choice(["csv"]), default="csv", show_default=True,
              help="csv: tab-separated text for Anki's File > Import, with header lines.")
@folder_option("build", "Folder that receives <deck id>.csv (and <deck id>-media/).")
@QUIET
def export(deck_dir: Path, fmt: str, out_dir: Path, quiet: bool) -> None:
    """Write DECK_DIR as OUT/<deck id>.csv for Anki's own import (File > Import).

    It uses the notetypes every Anki profile has (Basic, Basic (and reversed card),
    Cloze), keeps the package's GUIDs (importing again updates, never duplicates) and
    puts extra and source under the answer. Images go to OUT/<deck id>-media/, to be
    copied into Anki's collection.media folder. For learners without deckbuilder's
    notetypes; the .apkg from `build` is still the better way to ship a deck.
    """
    del fmt  # one format so far
    from .. import progress
    from ..errors import plural
    from ..export import export_csv
    from ..load import load_deck

    console = Console()
    with console.progress("export", quiet), console.reporting():
        progress.phase("checking the deck")
        checked = load_deck(deck_dir)
        progress.phase("writing the file")
        result = export_csv(checked, out_dir)
    for notice in result.notices:
        console.note(notice)
    if not quiet:
        console.out(f"wrote {result.path}: {plural(result.notes, 'note')}", fg="green")
        if result.media_dir:
            console.note(f"copy the files in {result.media_dir} into the collection.media folder "
                         "of the Anki profile (images and sounds cannot travel in a text import)")
