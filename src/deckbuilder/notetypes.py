"""deckbuilder's own notetypes: fields, templates and CSS, the same in the package and preview.

Field lists never change: Anki turns a field change into a copy of the notetype and
leaves existing notes behind, so every notetype carries Extra and Source from day one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Notetype:
    key: str  # basic, reverse or cloze: what the lock and the compiler call it
    label: str
    fields: tuple[str, ...]
    templates: tuple[tuple[str, str, str], ...]  # (name, question, answer)
    is_cloze: bool = False

    @property
    def css(self) -> str:
        return CSS

    def name(self, deck_id: str) -> str:
        return f"deckbuilder {self.label} ({deck_id})"

    def digest(self, deck_id: str) -> str:
        """A hash of everything about the notetype that reaches Anki."""
        data = [self.name(deck_id), self.fields, self.templates, self.css, self.is_cloze]
        return hashlib.sha256(json.dumps(data).encode()).hexdigest()[:16]


_AFTER = (
    '{{#Extra}}<div class="extra">{{Extra}}</div>{{/Extra}}'
    '{{#Source}}<div class="source">{{Source}}</div>{{/Source}}'
)


def _answer(question: str, answer: str) -> str:
    return (f'<div class="question">{question}</div>\n<hr id="answer">\n'
            f'<div class="answer">{answer}</div>\n{_AFTER}')


BASIC = Notetype(
    "basic", "Basic", ("Front", "Back", "Extra", "Source"),
    (("Card 1", '<div class="question">{{Front}}</div>', _answer("{{Front}}", "{{Back}}")),),
)
REVERSE = Notetype(
    "reverse", "Basic and reversed", ("Front", "Back", "Extra", "Source"),
    (
        ("Card 1", '<div class="question">{{Front}}</div>', _answer("{{Front}}", "{{Back}}")),
        ("Card 2", '<div class="question">{{Back}}</div>', _answer("{{Back}}", "{{Front}}")),
    ),
)
CLOZE = Notetype(
    "cloze", "Cloze", ("Text", "Extra", "Source"),
    (("Cloze", '<div class="question cloze-text">{{cloze:Text}}</div>',
      f'<div class="question cloze-text">{{{{cloze:Text}}}}</div>\n{_AFTER}'),),
    is_cloze=True,
)
NOTETYPES = {nt.key: nt for nt in (BASIC, REVERSE, CLOZE)}
# A plain read beside this file: importlib.resources (and the tempfile, shutil and zipfile
# it imports) cost a build 6 ms of its start, and deckbuilder is never run from a zip.
CSS = (Path(__file__).parent / "assets" / "card.css").read_text(encoding="utf-8")
