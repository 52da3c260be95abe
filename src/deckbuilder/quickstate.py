"""What a build leaves in the cache folder for the next build in a fresh process (quick.py).

`build --watch` keeps the last collection, rows and deflated chunks in memory; a fresh
process has none of that. So every build that writes a stamp also leaves a state file
(``<stamp key>.quick``: marshal, plain data) and its collection (``<stamp key>.<16 hex>
.collection``, a hard link to the file that was zipped, so it costs no copy): each
section's cards with their note ids, the package's media, and the collection entry's
length, CRC and deflated chunk sizes within the package. Everything is checked on the way
in (types and shapes here; contents against the package, lock and deck by their digests
in quick.py): anything unexpected is a miss and the build runs in full.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import re
import stat
from collections.abc import Iterator, Sequence
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, overload

from .cache import is_marked
from .package import read_regular, write_atomic
from .stamp import CACHE_DIR, Stamp, code_fingerprint, read_stamp, seal, stamp_path, unseal

if TYPE_CHECKING:
    from .anki import Note
    from .load import Checked
    from .model import Deck, Section

FORMAT = "deckbuilder quick 3"
_MAX_STATE = 256 << 20  # a damaged or planted file is never read whole

CardState = tuple[str, int, tuple[int, ...]]  # card id, note id, the card ordinals


class SectionState(NamedTuple):  # NamedTuples: plain data, and cheaper to make than
    # dataclasses (2 ms of a quick rebuild's start)
    name: str  # the file's name in the deck folder
    subdeck: str
    cards: Sequence[CardState]  # in file order: a list, or Cards as read from the file
    media: dict[str, str]  # the media its cards use: name -> path
    entry: str  # its entry in the section cache ("" when it has none)


class State(NamedTuple):
    deck_dir: str  # realpath
    out_dir: str  # realpath
    deck_id: str
    snapshot: tuple[Any, ...]  # stamp.snapshot() of the deck folder the build read
    package: bytes  # the package's digest
    lock: bytes  # the lock's digest
    collection: str  # the collection's file name in the cache folder
    length: int  # the collection's length, CRC and deflated chunk sizes in the package
    crc: int
    chunks: list[int]
    media: dict[str, str]  # the package's media: name -> path
    sections: list[SectionState]


class Cards(Sequence[CardState]):
    """A section's cards as the state file keeps them: their ids (one string), how many
    notes and cards, and the cards' marshal data, decoded and checked only when read. A
    rebuild after an edit reads the edited sections' (decoding and checking every card
    of 10,000 took 3 ms), and saves the others' bytes as it found them."""

    __slots__ = ("_cards", "data", "ids", "notes", "total")

    def __init__(self, ids: str, notes: int, total: int, data: bytes) -> None:
        self.ids, self.notes, self.total, self.data = ids, notes, total, data
        self._cards: list[CardState] | None = None

    def __len__(self) -> int:
        return self.notes

    @overload
    def __getitem__(self, index: int) -> CardState: ...

    @overload
    def __getitem__(self, index: slice) -> list[CardState]: ...

    def __getitem__(self, index: int | slice) -> CardState | list[CardState]:
        return self.decoded()[index]

    def __iter__(self) -> Iterator[CardState]:
        return iter(self.decoded())

    def decoded(self) -> list[CardState]:
        """The cards; ValueError unless they are what ``save`` wrote (the rebuild that
        reads them then runs in full)."""
        if self._cards is None:
            cards = marshal.loads(self.data)
            if not (type(cards) is list and _types(cards, tuple)
                    and set(map(len, cards)) <= {3}):
                raise ValueError("not a state")
            ids, numbers, ords = zip(*cards, strict=True) if cards else ((), (), ())
            if not (list(ids) == card_ids(self) and _types(numbers, int)
                    and _types(ords, tuple) and _types(chain.from_iterable(ords), int)
                    and sum(map(len, ords)) == self.total):
                raise ValueError("not a state")
            self._cards = cards
        return self._cards


def card_ids(cards: Sequence[CardState]) -> list[str]:
    """The ids of ``cards`` in order (of cards as read, without decoding them)."""
    if isinstance(cards, Cards):
        return cards.ids.split("\n") if cards.ids else []
    return [card[0] for card in cards]


def card_total(cards: Sequence[CardState]) -> int:
    """How many Anki cards ``cards`` make (of cards as read, without decoding them)."""
    return cards.total if isinstance(cards, Cards) else sum(len(card[2]) for card in cards)


def state_path(deck_dir: Path, out_dir: Path) -> Path:
    return stamp_path(deck_dir, out_dir).with_suffix(".quick")


def hold(collection: Path, deck_dir: Path, out_dir: Path) -> str | None:
    """A hard link to ``collection`` in the cache folder under a fresh name (before the
    build removes its scratch file); None when there is none to make."""
    folder = out_dir / CACHE_DIR
    key = stamp_path(deck_dir, out_dir).stem
    if not is_marked(folder):
        return None  # not deckbuilder's cache folder (or none): nothing is kept
    for _ in range(4):
        name = f"{key}.{os.urandom(8).hex()}.collection"
        try:
            os.link(collection, folder / name, follow_symlinks=False)
        except FileExistsError:
            continue
        except OSError:
            return None  # no hard links there: the next build runs in full
        return name
    return None


def drop(held: str | None, out_dir: Path) -> None:
    """Remove the link ``hold`` made, when the build stops before a state names it: it
    stayed, as big as the collection, until the next build of the deck."""
    if held is not None:
        with contextlib.suppress(OSError):
            (out_dir / CACHE_DIR / held).unlink()


def quick_state(checked: Checked, notes: list[Note], stamp: Stamp, held: str | None
                ) -> State | None:
    """The state a full build leaves; None when there is nothing to keep, or when a card
    id is not the one it wants (then a card's id depends on others: the next build runs
    in full)."""
    from .zipwrite import written

    entry = written.get("collection.anki2")
    if held is None or entry is None or stamp.split:
        return None
    deck = checked.deck
    sections = section_states(deck, deck.sections, checked.section_media, notes,
                              checked.entries or {})
    cards = [card[1] + o for s in sections for card in s.cards for o in card[2]]
    if len(set(cards)) != len(cards):
        return None
    length, crc, chunks = entry
    return State(os.path.realpath(deck.path), stamp.out_dir, stamp.deck_id, stamp.deck,
                 stamp.outputs[0][1], stamp.lock, held, length, crc, chunks,
                 {name: str(path) for name, path in checked.media.items()}, sections)


def section_states(deck: Deck, sections: tuple[Section, ...] | list[Section],
                   media: tuple[dict[str, Path], ...] | list[dict[str, Path]],
                   notes: list[Note], entries: dict[str, str]) -> list[SectionState]:
    """Each section's state, from its notes (``notes`` holds theirs in section order)."""
    states = []
    start = 0
    for section, used in zip(sections, media, strict=True):
        mine = notes[start:start + len(section.cards)]
        start += len(section.cards)
        name = os.path.basename(section.path)
        states.append(SectionState(name, deck.subdeck(section),
                                   [(n.card_id, n.note_id, n.ords) for n in mine],
                                   {key: str(path) for key, path in used.items()},
                                   entries.get(name, "")))
    return states


def save(state: State | None, held: str | None, deck_dir: Path, out_dir: Path) -> None:
    """Store ``state`` (None: forget the last one) and remove every collection of this
    deck's that it does not name. Saving only saves time: failures are ignored."""
    folder = out_dir / CACHE_DIR
    path = state_path(deck_dir, out_dir)
    keep = state.collection if state is not None else None
    with contextlib.suppress(OSError, Exception):
        if state is None or held is None:
            path.unlink(missing_ok=True)
        else:
            fields = (FORMAT, code_fingerprint(), *_plain(state))
            write_atomic(path, seal(marshal.dumps(fields)), durable=False)
    if not is_marked(folder):
        return
    linked = re.compile(r"([0-9a-f]{32})\.[0-9a-f]{16}\.collection")
    abandoned: dict[str, bool] = {path.stem: True}  # key -> its files may go
    with contextlib.suppress(OSError):
        for name in os.listdir(folder):
            if name == keep or not (found := linked.fullmatch(name)):
                continue
            key = found.group(1)
            if key not in abandoned:
                abandoned[key] = _abandoned(folder, key)
                if abandoned[key]:
                    with contextlib.suppress(OSError):
                        (folder / f"{key}.quick").unlink()
            if abandoned[key] and stat.S_ISREG(os.lstat(folder / name).st_mode):
                (folder / name).unlink()


def _abandoned(folder: Path, key: str) -> bool:
    """Whether another deck's state in this build folder is one of a deck folder that is
    gone (moved or renamed: a new key): its collection (50 MB at 100,000 cards) would
    stay for ever. Another deck that shares the folder, or one unknown, keeps its own."""
    stamp = read_stamp(folder / f"{key}.stamp")
    if stamp is None:
        return False
    decks = [real for name, real, _ in stamp.deck[1] if name == "deck.yaml"]
    return bool(decks) and not os.path.isdir(os.path.dirname(decks[0]))


def _plain(state: State) -> tuple[Any, ...]:
    values = list(state)
    values[-1] = [(s.name, s.subdeck, s.media, s.entry, *_stored(s.cards))
                  for s in state.sections]
    return tuple(values)


def _stored(cards: Sequence[CardState]) -> tuple[str, int, int, bytes]:
    if isinstance(cards, Cards):
        return cards.ids, cards.notes, cards.total, cards.data  # as read: the same bytes
    listed = list(cards)
    return ("\n".join([card[0] for card in listed]), len(listed),
            sum(map(len, map(itemgetter(2), listed))), marshal.dumps(listed))


def read_state(deck_dir: Path, out_dir: Path) -> State | None:
    """The state the last build left for this deck and build folder; None unless it is
    ours, of this format and this code, and every value has the type it had."""
    try:
        # sealed: the path follows from the deck folder's, so the file can be planted
        data = unseal(read_regular(state_path(deck_dir, out_dir), _MAX_STATE))
        if data is None:
            return None
        fields = marshal.loads(data)
        if not (type(fields) is tuple and len(fields) == 14
                and fields[:2] == (FORMAT, code_fingerprint())):
            return None
        if type(fields[13]) is not list:
            return None
        values: tuple[Any, ...] = (*fields[2:13], [_section(item) for item in fields[13]])
        state = State(*values)
        return state if _valid(state) else None
    except (OSError, ValueError, EOFError, TypeError, IndexError):
        return None


def _section(item: Any) -> SectionState:
    """A section's state as ``_plain`` wrote it; its cards are checked when read."""
    if not (type(item) is tuple and len(item) == 8):
        raise ValueError("not a state")
    name, subdeck, media, entry, ids, notes, total, data = item
    # The count of ids is the count of notes (a kept section's place in the deck follows
    # from it, its cards unread): a line apiece, as card ids hold no newline.
    if not (_types((name, subdeck, entry, ids), str) and _types((notes, total), int)
            and type(data) is bytes and _names(media)
            and (ids.count("\n") + 1 if ids else 0) == notes):
        raise ValueError("not a state")
    return SectionState(name, subdeck, Cards(ids, notes, total, data), media, entry)


def _valid(state: State) -> bool:
    # Sets of types, built in C: the check costs little even for 100,000 cards.
    return (_types((state.deck_dir, state.out_dir, state.deck_id, state.collection), str)
            and _types((state.package, state.lock), bytes)
            and _types((state.length, state.crc), int) and type(state.chunks) is list
            and _types(state.chunks, int) and _names(state.media)
            and type(state.snapshot) is tuple and len(state.snapshot) == 2
            and "/" not in state.collection and state.collection.endswith(".collection"))


def _types(values: Any, kind: type) -> bool:
    return set(map(type, values)) <= {kind}


def _names(media: Any) -> bool:
    return type(media) is dict and _types(media.keys(), str) and _types(media.values(), str)

