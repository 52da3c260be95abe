"""Export to Anki's own text import: a tab-separated file any Anki profile can read.

It targets the notetypes every fresh profile has (``Basic``, ``Basic (and reversed
card)``, ``Cloze``), so it needs neither Python nor deckbuilder's notetypes on the
learner's side. Notes keep the package's GUIDs, so importing the file again updates
them instead of adding copies.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from .anki import Note, compile_notes
from .errors import OutputError
from .load import Checked
from .package import write_atomic

# deckbuilder's notetype -> the stock notetype with the same cards
STOCK_NOTETYPES = {"basic": "Basic", "reverse": "Basic (and reversed card)", "cloze": "Cloze"}
HEADER = (
    "#separator:tab\n"
    "#html:true\n"
    "#notetype column:1\n"
    "#deck column:2\n"
    "#tags column:5\n"
    "#guid column:6\n"
)


@dataclass(frozen=True)
class Export:
    path: Path
    notes: int
    media_dir: Path | None  # where the images went, for the learner to copy into Anki
    notices: list[str]  # what the stock notetypes cannot carry


def csv_text(checked: Checked) -> tuple[str, list[str]]:
    """The file's text, and a notice for each thing it has to leave out."""
    notes = compile_notes(checked.deck, checked.rendered)
    buffer = io.StringIO()
    buffer.write(HEADER)
    writer = csv.writer(buffer, delimiter="\t", quotechar='"', lineterminator="\n")
    dropped = []
    for note in notes:
        first, second = _stock_fields(note)
        if note.notetype == "reverse" and (note.fields[2] or note.fields[3]):
            dropped.append(note.card_id)
        writer.writerow([STOCK_NOTETYPES[note.notetype], note.subdeck, first, second,
                         " ".join(note.tags), note.guid])
    notices = []
    if dropped:
        notices.append(
            f"{len(dropped)} reverse card(s) left out their extra and source, because both "
            "sides of 'Basic (and reversed card)' are questions: " + ", ".join(dropped))
    return buffer.getvalue(), notices


def export_csv(checked: Checked, out_dir: Path) -> Export:
    """Write ``out_dir/<deck id>.csv`` and copy the deck's images to ``<deck id>-media/``."""
    text, notices = csv_text(checked)
    path = out_dir / f"{checked.deck.id}.csv"
    write_atomic(path, text.encode("utf-8"))
    media_dir = None
    if checked.media:
        media_dir = out_dir / f"{checked.deck.id}-media"
        try:
            media_dir.mkdir(parents=True, exist_ok=True)
            for name, source in sorted(checked.media.items()):
                write_atomic(media_dir / name, source.read_bytes())  # never through a symlink
        except OSError as exc:
            raise OutputError(f"cannot copy media to {media_dir}: {exc.strerror or exc}") from exc
    return Export(path, len(checked.rendered), media_dir, notices)


def _stock_fields(note: Note) -> tuple[str, str]:
    """Two fields: Front and Back (Extra and Source after the answer) or Text and Back Extra."""
    if note.notetype == "cloze":
        text, extra, source = note.fields
        return text, _after("", extra, source)
    front, back, extra, source = note.fields
    if note.notetype == "reverse":
        return front, back
    return front, _after(back, extra, source)


def _after(answer: str, extra: str, source: str) -> str:
    parts = [answer] if answer else []
    if extra:
        parts.append(f'<div class="extra">{extra}</div>')
    if source:
        parts.append(f'<div class="source"><small>Source: {source}</small></div>')
    return "<br>".join(parts)
