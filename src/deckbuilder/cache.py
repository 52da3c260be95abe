"""A per-section cache of checked and rendered cards, under the build folder.

Keyed by the section file's bytes, deck.yaml, the deck folder and deckbuilder's own
code, so a hit is exactly what checking the file again would give. Only sections
without errors are stored. It is JSON (never pickle: a build folder may come from
elsewhere) and safe to delete at any time.

The cache has its own folder, marked as deckbuilder's with a CACHEDIR.TAG
(https://bford.info/cachedir/), and pruning deletes only entries named as this
module names them, inside a marked folder: `build --out ~` never touches ~/.cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import stat
from pathlib import Path
from typing import Any

from .errors import Location, OutputError
from .model import Card, Section
from .package import write_atomic
from .render import RenderedCard
from .stamp import code_fingerprint

FORMAT = "2"
TAG_NAME = "CACHEDIR.TAG"
TAG = (b"Signature: 8a477f597d28d172789f06886806bc55\n"
       b"# This file is a cache directory tag created by deckbuilder.\n"
       b"# For information about cache directory tags, see https://bford.info/cachedir/\n")
_ENTRY = re.compile(r"[0-9a-f]{64}\.json")
# what package.create_exclusive names an entry's temporary (a kill -9 may leave one)
_ENTRY_TEMPORARY = re.compile(r"\.[0-9a-f]{64}\.json\.[0-9a-f]{16}\.tmp")


def is_marked(folder: Path) -> bool:
    """Whether ``folder`` is a real folder (not a symlink) holding deckbuilder's tag."""
    try:
        if not stat.S_ISDIR(os.lstat(folder).st_mode):
            return False
        tag = folder / TAG_NAME
        return stat.S_ISREG(os.lstat(tag).st_mode) and tag.read_bytes().startswith(TAG[:44])
    except OSError:
        return False


def claim(folder: Path) -> bool:
    """Make ``folder`` deckbuilder's cache: create and mark it, unless something else
    already lives there (then it is not ours to write or to clean)."""
    if is_marked(folder):
        return True
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if os.path.islink(folder) or any(folder.iterdir()):
            return False
        write_atomic(folder / TAG_NAME, TAG)
    except (OSError, OutputError):
        return False
    return True


class SectionCache:
    def __init__(self, folder: Path | None, deck_dir: Path, deck_yaml: bytes,
                 writable: bool) -> None:
        self.folder = folder
        self.writable = writable
        # A path may hold bytes that are not UTF-8 (surrogate escapes): keep them as bytes.
        seed = os.fsencode(f"{FORMAT}\0{code_fingerprint()}\0{deck_dir.resolve()}\0") + deck_yaml
        self.seed = hashlib.sha256(seed).digest()
        self.used: set[str] = set()
        self.claimed: bool | None = None  # unknown until the first write

    def _path(self, name: str, data: bytes) -> Path | None:
        if self.folder is None:
            return None
        key = hashlib.sha256(self.seed + name.encode() + b"\0" + data).hexdigest()
        self.used.add(f"{key}.json")
        return self.folder / f"{key}.json"

    def prune(self) -> None:
        """Remove the entries this load did not use, so the cache holds one deck's worth.

        Only regular files named like entries (or their temporaries), in a marked folder."""
        if self.folder is None or not self.writable or not is_marked(self.folder):
            return
        for name in os.listdir(self.folder):
            if name in self.used or not (_ENTRY.fullmatch(name)
                                         or _ENTRY_TEMPORARY.fullmatch(name)):
                continue
            entry = self.folder / name
            with contextlib.suppress(OSError):
                if stat.S_ISREG(os.lstat(entry).st_mode):
                    entry.unlink()

    def get(self, name: str, data: bytes) -> tuple[Section, list[RenderedCard],
                                                   dict[str, Path]] | None:
        path = self._path(name, data)
        try:
            stored = json.loads(_read_entry(path)) if path else None
            return _section_from_json(stored) if stored else None
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            return None  # a missing or damaged entry is only a miss

    def put(self, name: str, data: bytes, section: Section, rendered: list[RenderedCard],
            media: dict[str, Path]) -> None:
        path = self._path(name, data)
        if path is None or not self.writable:
            return
        if self.claimed is None:
            self.claimed = claim(path.parent)
        if not self.claimed:
            return
        # The cache only saves time; the package write reports any real problem.
        with contextlib.suppress(OutputError):
            write_atomic(path, json.dumps(_section_to_json(section, rendered, media)).encode(),
                         durable=False)  # a cache: fsyncs would cost a cold build ~100 ms


def _read_entry(path: Path) -> bytes:
    """An entry's bytes: a regular file, never through a symlink (to /dev/zero, a pipe)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError("not a regular file")
        return handle.read()


def _raw_fields(card: Card) -> tuple[str, ...]:
    """The fields as written, which is what rendering gives for text without Markdown."""
    if card.kind == "cloze":
        return card.front, card.extra, card.source
    return card.front, card.back, card.extra, card.source


def _media_stamp(path: Path) -> list[Any]:
    # The content, not the mtime: a rendered field names its media by their digest, and
    # an edit can keep a file's size and mtime.
    data = path.read_bytes()
    return [str(path), len(data), hashlib.sha256(data).hexdigest()]


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
