"""The baseline: a plain genanki script that builds the benchmark's notes.

``python benchmarks/plain_genanki.py NOTES.json OUT.apkg`` reads the notes deckgen.py
wrote (texts already HTML) and writes them with genanki's usual API: three models,
one Deck per subdeck, a Note per card, Package.write_to_file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import genanki

CSS = ".card { font-family: sans-serif; font-size: 20px; }"
AFTER = ('{{#Extra}}<div class="extra">{{Extra}}</div>{{/Extra}}'
         '<div class="source">{{Source}}</div>')


def _fields(*names: str) -> list[dict[str, str]]:
    return [{"name": name} for name in names]


def _card(name: str, question: str, answer: str) -> dict[str, str]:
    return {"name": name, "qfmt": question, "afmt": f'{question}<hr id="answer">{answer}{AFTER}'}


def models(deck_id: str) -> dict[str, genanki.Model]:
    front_back = ("Front", "Back", "Extra", "Source")
    return {
        "basic": genanki.Model(
            1_700_000_001, f"Basic ({deck_id})", fields=_fields(*front_back),
            templates=[_card("Card 1", "{{Front}}", "{{Back}}")], css=CSS),
        "reverse": genanki.Model(
            1_700_000_002, f"Basic and reversed ({deck_id})", fields=_fields(*front_back),
            templates=[_card("Card 1", "{{Front}}", "{{Back}}"),
                       _card("Card 2", "{{Back}}", "{{Front}}")], css=CSS),
        "cloze": genanki.Model(
            1_700_000_003, f"Cloze ({deck_id})", fields=_fields("Text", "Extra", "Source"),
            templates=[_card("Cloze", "{{cloze:Text}}", "")], css=CSS,
            model_type=genanki.Model.CLOZE),
    }


def main(notes_path: str, out_path: str) -> None:
    data = json.loads(Path(notes_path).read_text(encoding="utf-8"))
    by_kind = models(data["id"])
    decks = []
    for number, section in enumerate(data["sections"], start=1):
        deck = genanki.Deck(1_800_000_000 + number, section["subdeck"])
        for note in section["notes"]:
            deck.add_note(genanki.Note(by_kind[note["kind"]], note["fields"], tags=note["tags"],
                                       guid=genanki.guid_for(data["id"], note["id"])))
        decks.append(deck)
    genanki.Package(decks).write_to_file(out_path)


if __name__ == "__main__":
    main(*sys.argv[1:])
