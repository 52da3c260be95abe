"""A per-section cache of checked and rendered cards, under the build folder.

Keyed by the section file's bytes, deck.yaml, the deck folder and deckbuilder's own
code, so a hit is exactly what checking the file again would give. Only sections
without errors are stored. It is JSON (never pickle: a build folder may come from
elsewhere) and safe to delete at any time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from .errors import Location, OutputError
from .model import Card, Section
from .package import write_atomic
from .render import RenderedCard

FORMAT = "1"


def code_fingerprint() -> str:
    """Changes whenever deckbuilder's code or assets change (sizes and mtimes of its files)."""
    package = Path(__file__).parent
    stats = sorted((str(p.relative_to(package)), p.stat().st_size, p.stat().st_mtime_ns)
                   for p in package.rglob("*") if p.suffix in (".py", ".css", ".html"))
    return hashlib.sha256(repr((FORMAT, stats)).encode()).hexdigest()


class SectionCache:
    def __init__(self, folder: Path | None, deck_dir: Path, deck_yaml: bytes,
                 writable: bool) -> None:
        self.folder = folder
        self.writable = writable
        seed = f"{code_fingerprint()}\0{deck_dir.resolve()}\0".encode() + deck_yaml
        self.seed = hashlib.sha256(seed).digest()
        self.used: set[str] = set()

    def _path(self, name: str, data: bytes) -> Path | None:
        if self.folder is None:
            return None
        key = hashlib.sha256(self.seed + name.encode() + b"\0" + data).hexdigest()
        self.used.add(f"{key}.json")
        return self.folder / f"{key}.json"

    def prune(self) -> None:
        """Remove the entries this load did not use, so the cache holds one deck's worth."""
        if self.folder is None or not self.writable or not self.folder.is_dir():
            return
        for entry in self.folder.glob("*.json"):
            if entry.name not in self.used:
                entry.unlink(missing_ok=True)

    def get(self, name: str, data: bytes) -> tuple[Section, list[RenderedCard],
                                                   dict[str, Path]] | None:
        path = self._path(name, data)
        try:
            stored = json.loads(path.read_bytes()) if path else None
            return _section_from_json(stored) if stored else None
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            return None  # a missing or damaged entry is only a miss

    def put(self, name: str, data: bytes, section: Section, rendered: list[RenderedCard],
            media: dict[str, Path]) -> None:
        path = self._path(name, data)
        if path is None or not self.writable:
            return
        # The cache only saves time; the package write reports any real problem.
        with contextlib.suppress(OutputError):
            write_atomic(path, json.dumps(_section_to_json(section, rendered, media)).encode())


def _raw_fields(card: Card) -> tuple[str, ...]:
    """The fields as written, which is what rendering gives for text without Markdown."""
    if card.kind == "cloze":
        return card.front, card.extra, card.source
    return card.front, card.back, card.extra, card.source


def _media_stamp(path: Path) -> list[Any]:
    stat = path.stat()
    return [str(path), stat.st_size, stat.st_mtime_ns]


def _section_to_json(section: Section, rendered: list[RenderedCard],
                     media: dict[str, Path]) -> dict[str, Any]:
    # Most texts need no Markdown and most cards share the section's source: store
    # those once, so the cache stays small and quick to read.
    cards = [[c.id, c.kind, c.front, c.back, c.extra,
              None if c.source == section.source else c.source, c.tags,
              [c.location.line, c.location.column], c.positions, c.lint_off,
              None if r.fields == _raw_fields(c) else r.fields, c.cloze_numbers]
             for c, r in ((r.card, r) for r in rendered)]
    return {"number": section.number, "stem": section.stem, "title": section.title,
            "source": section.source, "path": section.path, "cards": cards,
            "media": {name: _media_stamp(path) for name, path in media.items()}}


def _section_from_json(data: dict[str, Any]) -> tuple[Section, list[RenderedCard],
                                                      dict[str, Path]]:
    media = {}
    for name, stamp in data["media"].items():
        path = Path(stamp[0])
        if not os.path.isfile(path) or _media_stamp(path) != stamp:
            raise ValueError("media changed")
        media[name] = path
    shown = data["path"]
    rendered = []
    for (card_id, kind, front, back, extra, source, tags, (line, column), positions,
         lint_off, fields, numbers) in data["cards"]:
        card = Card(card_id, kind, front, back, extra, data["source"] if source is None
                    else source, tuple(tags), Location(shown, line, column), positions,
                    tuple(lint_off), tuple(numbers))
        rendered.append(RenderedCard(card, _raw_fields(card) if fields is None else tuple(fields)))
    section = Section(data["number"], data["stem"], data["title"], data["source"], shown,
                      tuple(r.card for r in rendered), Location(shown, 1, 1))
    return section, rendered, media
