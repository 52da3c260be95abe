"""`deckbuilder preview`: a static HTML page showing every card as Anki renders it."""

from __future__ import annotations

from pathlib import Path

import click

from .common import DECK_DIR, QUIET, Console, folder_option


@click.command()
@DECK_DIR
@folder_option("build/preview", "Folder that receives index.html and the images the cards show.")
@QUIET
def preview(deck_dir: Path, out_dir: Path, quiet: bool) -> None:
    """Validate DECK_DIR and write OUT/index.html: every card, question and answer.

    Cards are rendered through the package's own templates and CSS (one card per
    cloze deletion and per reverse side), grouped by section, with a tag filter, a
    night-mode switch and a summary. The page opens from disk and loads nothing
    from the network.
    """
    from ..errors import plural
    from ..preview import write_preview

    console = Console(quiet)
    with console.progress("preview", quiet), console.reporting():
        result = write_preview(deck_dir, out_dir)
    media = f", {plural(result.media, 'media file')} copied" if result.media else ""
    counts = ", ".join(plural(n, word) for n, word in ((result.sections, "section"),
                                                        (result.notes, "note"),
                                                        (result.cards, "card")))
    console.out(f"wrote {result.path} ({result.size / 1024:.0f} KiB): {counts}{media}", fg="green")
    console.out(f"open {result.path.resolve().as_uri()}")
