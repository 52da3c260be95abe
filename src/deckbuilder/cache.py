"""A per-section cache of checked and rendered cards, under the build folder.

Keyed by the section file's bytes, deck.yaml, the deck folder and deckbuilder's own
code, so a hit is exactly what checking the file again would give. Only sections
without errors are stored. Entries are plain data in marshal's format (never pickle: a
build folder may come from elsewhere, and marshal builds values without running any
code), five times quicker to read than JSON; every value's type is checked on the way
in, so a damaged or planted entry is only a miss. The cache is safe to delete at any time.

The cache has its own folder, marked as deckbuilder's with a CACHEDIR.TAG
(https://bford.info/cachedir/), and pruning deletes only entries named as this
module names them, inside a marked folder: `build --out ~` never touches ~/.cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import re
import stat
from itertools import chain
from pathlib import Path
from typing import Any

from .errors import Location, OutputError
from .model import Card, Section
from .package import read_regular, temporary_pattern, write_atomic
from .render import RenderedCard
from .stamp import code_fingerprint, seal, shadowed, unseal

FORMAT = "4"
TAG_NAME = "CACHEDIR.TAG"
TAG = (b"Signature: 8a477f597d28d172789f06886806bc55\n"
       b"# This file is a cache directory tag created by deckbuilder.\n"
       b"# For information about cache directory tags, see https://bford.info/cachedir/\n")
# Entries, `<deck key>.<entry key>.entry`: the deck key names the deck folder (as the
# stamp's does), so decks that share a build folder each prune only their own; and what
# package.create_exclusive names an entry's temporary (a kill -9 may leave one).
_ENTRY = re.compile(r"\.?([0-9a-f]{32})\.[0-9a-f]{64}\.entry(\.[0-9a-f]{16}\.tmp)?")
# Entries of deckbuilder before the deck key (JSON ones before 0.3): pruned by any deck.
_OLD_ENTRY = re.compile(r"\.?[0-9a-f]{64}\.(entry|json)(\.[0-9a-f]{16}\.tmp)?")
_TAG_TEMPORARY = temporary_pattern(TAG_NAME)
_MAX_FOLDER = 1 << 16  # a `<deck key>.deck` file: the deck folder's path
_MAX_ENTRY = 1 << 30


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
        # Only the tag's temporary: a build killed while it marked the folder. Counted as
        # something else's, it left the deck without cache, stamp or quick rebuild for good.
        names = os.listdir(folder)
        if os.path.islink(folder) or not all(map(_TAG_TEMPORARY.fullmatch, names)):
            return False
        write_atomic(folder / TAG_NAME, TAG)
    except (OSError, OutputError):
        return False
    for name in names:
        _remove(folder / name)
    return True


# Entries this process read or wrote, by file name, with their media stamps; only in a
# long-lived process (`build --watch`), so a rebuild decodes only the sections it checks.
_memory: dict[str, tuple[Section, list[RenderedCard], dict[str, Path], Any]] | None = None


def keep_in_memory() -> None:
    """Keep the entries of the last load in memory (for ``build --watch``)."""
    global _memory
    if _memory is None:
        _memory = {}


class SectionCache:
    def __init__(self, folder: Path | None, deck_dir: Path, deck_yaml: bytes,
                 writable: bool) -> None:
        self.folder = folder
        self.writable = writable
        # A path may hold bytes that are not UTF-8 (surrogate escapes): keep them as bytes.
        seed = os.fsencode(f"{FORMAT}\0{code_fingerprint()}\0{deck_dir.resolve()}\0") + deck_yaml
        self.seed = hashlib.sha256(seed).digest()
        self.deck_folder = os.fsencode(os.path.realpath(deck_dir))
        self.deck_key = _deck_key(self.deck_folder)
        self.used: set[str] = set()
        self.entries: dict[str, str] = {}  # each section file's entry name, by file name
        self.claimed: bool | None = None  # unknown until the first write
        self.signed = False  # whether this load made sure of its `<deck key>.deck` file

    def _path(self, name: str, data: bytes) -> Path | None:
        if self.folder is None:
            return None
        key = hashlib.sha256(self.seed + name.encode() + b"\0" + data).hexdigest()
        entry = f"{self.deck_key}.{key}.entry"
        self.used.add(entry)
        self.entries[name] = entry
        return self.folder / entry

    def prune(self) -> None:
        """Remove the entries of this deck that this load did not use, so the cache holds
        one deck's worth for each deck folder that builds here, and every entry of a deck
        folder that is gone (moved, renamed, deleted: its entries would stay for ever).

        Only regular files named like entries (or their temporaries), in a marked folder."""
        if _memory is not None:
            for name in _memory.keys() - self.used:
                del _memory[name]
        folder = self.folder
        if folder is None or not self.writable or not is_marked(folder):
            return
        self._sign(folder)
        gone: dict[str, bool] = {}
        for name in os.listdir(folder):
            if name in self.used:
                continue
            if found := _ENTRY.fullmatch(name):
                key = found.group(1)
                if key != self.deck_key:
                    if key not in gone:
                        gone[key] = _gone(folder, key)
                    if not gone[key]:
                        continue  # another deck's, which prunes its own
            elif not _OLD_ENTRY.fullmatch(name):
                continue
            _remove(folder / name)
        for key in (key for key, is_gone in gone.items() if is_gone):
            _remove(folder / f"{key}.deck")

    def _sign(self, folder: Path) -> None:
        """Name this deck folder in ``<deck key>.deck`` before the first entry: a deck
        pruning meanwhile takes entries of an unreadable one for a gone deck's."""
        if self.signed:
            return
        self.signed = True
        mine = folder / f"{self.deck_key}.deck"
        with contextlib.suppress(OSError):
            if read_regular(mine, _MAX_FOLDER) == self.deck_folder:
                return
        with contextlib.suppress(OutputError):
            write_atomic(mine, self.deck_folder, durable=False)

    def get(self, name: str, data: bytes, shown: str) -> tuple[Section, list[RenderedCard],
                                                               dict[str, Path]] | None:
        """The entry of the file ``name`` with these bytes, its places naming the file as
        ``shown`` (the entry may come from a run given the folder as another path)."""
        path = self._path(name, data)
        if path is not None and _memory is not None and (kept := _memory.get(path.name)):
            section, rendered, media, stamps = kept
            if section.path == shown and _media_fresh(stamps):
                return section, list(rendered), dict(media)
        try:
            payload = unseal(read_regular(path, _MAX_ENTRY)) if path else None
            stored = marshal.loads(payload) if payload is not None else None
            if stored is None:
                return None
            found = _section_from_data(stored, shown)
            if path is not None and _memory is not None:
                _memory[path.name] = (*found, stored[-1])
            return found
        except (OSError, ValueError, EOFError, KeyError, TypeError, IndexError):
            return None  # a missing or damaged entry is only a miss

    def put(self, name: str, data: bytes, section: Section, rendered: list[RenderedCard],
            media: dict[str, Path], entry: bytes | None = None) -> None:
        """Store the section; ``entry``: its ``encode``, when already made."""
        path = self._path(name, data)
        if path is None or not self.writable:
            return
        if self.claimed is None:
            self.claimed = claim(path.parent)
        if not self.claimed:
            return
        self._sign(path.parent)
        if entry is None or _memory is not None:
            stored = _section_to_data(section, rendered, media)
            entry = marshal.dumps(stored)
            if _memory is not None:
                _memory[path.name] = (section, rendered, media, stored[-1])
        # The cache only saves time; the package write reports any real problem. No
        # fsyncs (they cost a cold build ~100 ms): after a crash an entry is only a miss.
        with contextlib.suppress(OutputError):
            write_atomic(path, seal(entry), durable=False)


def _deck_key(deck_folder: bytes) -> str:
    return hashlib.sha256(deck_folder).hexdigest()[:32]


def _gone(folder: Path, key: str) -> bool:
    """Whether the deck folder whose entries carry ``key`` is gone: its ``.deck`` file
    is missing, damaged or names a folder that no longer exists."""
    try:
        named = read_regular(folder / f"{key}.deck", _MAX_FOLDER)
    except OSError:
        return True
    return _deck_key(named) != key or not os.path.isdir(os.fsdecode(named))


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        if stat.S_ISREG(os.lstat(path).st_mode):
            path.unlink()


def encode(section: Section, rendered: list[RenderedCard], media: dict[str, Path]) -> bytes:
    """The bytes of the section's entry (what ``put`` stores)."""
    return marshal.dumps(_section_to_data(section, rendered, media))


def decode(entry: bytes, shown: str) -> tuple[Section, list[RenderedCard], dict[str, Path]]:
    """What ``encode`` was given, the file shown as ``shown``; ValueError when ``entry``
    is not an entry or its media changed since."""
    try:
        return _section_from_data(marshal.loads(entry), shown)
    except (OSError, EOFError, KeyError, TypeError, IndexError) as exc:
        raise ValueError("not an entry") from exc


def _media_stamp(path: Path) -> tuple[str, int, str]:
    # The content, not the mtime: a rendered field names its media by their digest, and
    # an edit can keep a file's size and mtime.
    data = path.read_bytes()
    return str(path), len(data), hashlib.sha256(data).hexdigest()


def _section_to_data(section: Section, rendered: list[RenderedCard],
                     media: dict[str, Path]) -> tuple[Any, ...]:
    # Most texts need no Markdown and most cards share the section's source: store
    # those once, so the cache stays small and quick to read.
    shared = section.source
    cards = []
    for card, fields in rendered:  # tuples (NamedTuples): unpacked at once
        (card_id, kind, front, back, extra, source, tags, (_, line, column), positions,
         lint_off, numbers) = card
        # the fields as written, which is what rendering gives for text without Markdown
        raw = (front, extra, source) if kind == "cloze" else (front, back, extra, source)
        cards.append((card_id, kind, front, back, extra, None if source == shared else source,
                      tags, line, column, positions, lint_off,
                      None if fields == raw else fields, numbers))
    return (FORMAT, section.number, section.stem, section.title, section.source, section.path,
            cards, {name: _media_stamp(path) for name, path in media.items()})


def _section_from_data(data: Any, shown: str
                       ) -> tuple[Section, list[RenderedCard], dict[str, Path]]:
    """The entry's section, its file shown as ``shown``; ValueError (a miss) unless every
    value has the type it had."""
    version, number, stem, title, source, stored_shown, cards, stored_media = data
    if not (version == FORMAT and type(number) is int and _strs((stem, title, source, stored_shown))
            and type(cards) is list and type(stored_media) is dict):
        raise ValueError("not an entry")
    media = {}
    for name, stamp in stored_media.items():
        if not (type(name) is str and type(stamp) is tuple and type(stamp[0]) is str):
            raise ValueError("not an entry")
        media[name] = Path(stamp[0])
    if not _media_fresh(stored_media):
        raise ValueError("media changed")
    if not _valid_cards(cards):
        raise ValueError("not an entry")
    rendered = []
    # The NamedTuples made as tuple.__new__ makes them, without their __new__'s Python
    # call (a third of this loop); every field is given, in order.
    new = tuple.__new__
    for row in cards:
        (card_id, kind, front, back, extra, own_source, tags, line, column, positions,
         lint_off, fields, numbers) = row
        if own_source is None:
            own_source = source
        if fields is None:  # the fields as written (see _section_to_data)
            fields = ((front, extra, own_source) if kind == "cloze"
                      else (front, back, extra, own_source))
        card = new(Card, (card_id, kind, front, back, extra, own_source, tags,
                          new(Location, (shown, line, column)), positions, lint_off, numbers))
        rendered.append(new(RenderedCard, (card, fields)))
    section = Section(number, stem, title, source, shown, tuple(r.card for r in rendered),
                      Location(shown, 1, 1))
    return section, rendered, media


def _media_fresh(stamps: dict[str, tuple[str, int, str]]) -> bool:
    """Whether every media file still has the content it had when the entry was made."""
    for stamp in stamps.values():
        path = Path(stamp[0])
        # The path was resolved when checked: a symlink since put in its place (to a file
        # outside the deck, with the same bytes) is the error a cold check reports, and a
        # composed twin of a decomposed name is the file it finds.
        if (os.path.realpath(path) != stamp[0] or shadowed(stamp[0]) or not path.is_file()
                or _media_stamp(path) != stamp):
            return False
    return True


# The types of an entry's card rows, column by column (source and fields may be None).
_TEXT: set[type] = {str}
_COLUMNS: tuple[set[type], ...] = (_TEXT, _TEXT, _TEXT, _TEXT, _TEXT, {str, type(None)},
                                   {tuple}, {int}, {int}, {tuple}, {tuple},
                                   {tuple, type(None)}, {tuple})


def _valid_cards(rows: list[Any]) -> bool:
    """Whether every row has the types ``_section_to_data`` gives it. A column at a time,
    as sets of types built in C: a quarter of the time of a check row by row."""
    if not rows:
        return True
    if set(map(type, rows)) != {tuple} or set(map(len, rows)) != {len(_COLUMNS)}:
        return False
    columns = list(zip(*rows, strict=True))
    if any(not set(map(type, values)) <= types
           for values, types in zip(columns, _COLUMNS, strict=True)):
        return False
    tags, positions, lint_off, fields, numbers = (columns[i] for i in (6, 9, 10, 11, 12))
    # Cards written alike share their positions (marshal keeps them shared): once each.
    layouts = dict(zip(map(id, positions), positions, strict=True)).values()
    places = list(chain.from_iterable(layouts))
    if not (set(map(type, places)) <= {tuple} and set(map(len, places)) <= {3}):
        return False
    keys, lines, places_columns = zip(*places, strict=True) if places else ((), (), ())
    texts = chain(keys, *map(chain.from_iterable, (tags, lint_off, filter(None, fields))))
    return (set(map(type, texts)) <= {str}
            and set(map(type, chain(lines, places_columns, chain.from_iterable(numbers))))
            <= {int})


def _strs(values: tuple[Any, ...]) -> bool:
    return all(type(value) is str for value in values)
