"""The build stamp: what the last build read and wrote, by content hash, so that a build
(or a validate) of a deck where nothing changed answers without parsing anything.

Written beside the section cache after a build has renamed its package and lock into
place. A stamp is only ever trusted when every file it names still has the bytes it
records: the deck folder's listing, deck.yaml and the section files, the media, the lock,
the packages, and deckbuilder's own code. Anything else (no stamp, a damaged one, one of
another version) is a miss, and the caller builds as usual.

This module imports no YAML, Markdown or genanki: it is the whole of a no-change build.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import marshal
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

FORMAT = 1
_MAX_STAMP = 64 << 20  # a damaged or planted file is never read whole
CACHE_DIR = ".deckbuilder-cache"  # the same folder as load.CACHE_DIR (marked: see cache.py)


@functools.cache
def code_fingerprint() -> str:
    """Changes whenever deckbuilder's code or assets change (sizes and mtimes of its files),
    or the libraries whose output the cache holds are installed anew (their first file).

    Once per process (a build asked up to three times; `build --watch` on every save):
    a process goes on running the code it started with, whatever its files become."""
    import importlib.util

    stats = sorted(_code_files(os.path.dirname(__file__), ""))
    for name in DEPENDENCIES:  # found, not imported: a no-change build stays without them
        spec = importlib.util.find_spec(name)
        origin = spec.origin if spec is not None else None
        if origin and os.path.isfile(origin):
            found = os.stat(origin)
            stats.append((origin, found.st_size, found.st_mtime_ns))
    return hashlib.sha256(repr(("1", stats)).encode()).hexdigest()


def _code_files(folder: str, prefix: str) -> Iterator[tuple[str, int, int]]:
    """Each code or asset file under ``folder``: its path from there, size and mtime. One
    stat a file and no bytecode folder: this is the start of every build (1 ms less
    than pathlib's rglob and two stats a file)."""
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if entry.name != "__pycache__":
                    yield from _code_files(entry.path, f"{prefix}{entry.name}{os.sep}")
            elif entry.name.endswith((".py", ".css", ".html")):
                found = entry.stat()
                yield f"{prefix}{entry.name}", found.st_size, found.st_mtime_ns


# What shapes the cached trees, HTML and packages besides deckbuilder's own code: an
# upgrade of one of them (a new markdown-it renders otherwise) makes every entry a miss.
DEPENDENCIES = ("yaml", "markdown_it", "genanki")


def notetypes_digest() -> str:
    """The notetypes as this process has them (only ever called once they are loaded)."""
    from .notetypes import NOTETYPES

    return digest(repr([(nt.key, nt.label, nt.fields, nt.templates, nt.css, nt.is_cloze)
                        for _, nt in sorted(NOTETYPES.items())]).encode()).hex()


def digest(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def stamp_path(deck_dir: Path, out_dir: Path) -> Path:
    """One stamp per deck folder and build folder (several decks may share a build folder)."""
    key = hashlib.sha256(os.fsencode(os.path.realpath(deck_dir))).hexdigest()[:32]
    return out_dir / CACHE_DIR / f"{key}.stamp"


def is_yaml_name(name: str) -> bool:
    """Whether a build reads the file (or reports its name): .yaml or .yml, in any case."""
    return name.lower().endswith((".yaml", ".yml"))


def snapshot(deck_dir: Path) -> tuple[Any, ...] | None:
    """The deck folder as a build reads it: the names and bytes (hashed) of its YAML
    files; None when it cannot be read (the build reports why)."""
    try:
        # Loading reads only these names (media have their own digests, the lock too):
        # a build folder inside the deck appearing is no change. Dot-files
        # (temporaries, the journal) are the build's own, and loading ignores them.
        names = sorted(n for n in os.listdir(deck_dir) if is_yaml_name(n) and n[:1] != ".")
        files = []
        for name in names:
            path = os.path.join(deck_dir, name)
            files.append((name, os.path.realpath(path), _file_digest(path)))
    except (OSError, ValueError):
        return None
    return tuple(names), tuple(files)


class Stamp(NamedTuple):
    """What one build saw and wrote; plain data only, so it marshals. (A NamedTuple, not
    a dataclass: making the dataclass cost every build 1.9 ms of its start.)"""

    deck_dir: str  # the folder as the author wrote it: messages quote it
    deck: tuple[Any, ...]  # snapshot()
    media: tuple[tuple[str, bytes], ...]  # (path, digest)
    lock: bytes  # digest
    deck_id: str
    counts: str
    warnings: tuple[tuple[str, int, int, str, str], ...]  # path, line, column, message, rule
    out_dir: str  # realpath
    split: bool
    outputs: tuple[tuple[str, bytes], ...]  # (real path, digest): the package, then parts
    report: tuple[str, ...]  # the change report of a rebuild where nothing changed
    notetypes: str  # notetypes_digest() when it was written

    def write(self, path: Path) -> None:
        """Store it; a stamp only saves time, so a failure to write it is ignored."""
        from .package import write_atomic

        data = seal(marshal.dumps((FORMAT, code_fingerprint(), *self)))
        with contextlib.suppress(OSError, Exception):
            write_atomic(path, data, durable=False)


def seal(payload: bytes) -> bytes:
    """``payload`` (marshal data) behind a line naming this code's fingerprint.

    marshal allocates whatever sizes its data declares (5 bytes asked for a 16 GiB
    tuple), and a file at a path that follows from the deck folder's can be planted (a
    committed build folder, on CI): only data behind the fingerprint, which another
    machine cannot know, is ever given to it (``unseal``)."""
    return _SEAL.format(code_fingerprint()).encode() + payload


def unseal(data: bytes) -> memoryview | None:
    """The payload ``seal`` put behind the fingerprint; None for anything else."""
    head = _SEAL.format(code_fingerprint()).encode()
    return memoryview(data)[len(head):] if data.startswith(head) else None


_SEAL = "deckbuilder {}\n"


def read_stamp(path: Path) -> Stamp | None:
    """The stamp at ``path`` if it is ours, of this version and this code; else None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            data = handle.read(_MAX_STAMP + 1)
        payload = unseal(data)
        if len(data) > _MAX_STAMP or payload is None:
            return None
        fields = marshal.loads(payload)
        if not (isinstance(fields, tuple) and fields[:2] == (FORMAT, code_fingerprint())):
            return None
        stamp = Stamp(*fields[2:])
        _validate(stamp)
        return stamp
    except (OSError, ValueError, EOFError, TypeError, IndexError):
        return None  # missing, damaged or foreign: only a miss


def _validate(stamp: Stamp) -> None:
    """Raise ValueError unless every field has the shape this module wrote."""
    names, files = stamp.deck
    ok = (isinstance(stamp.deck_dir, str) and isinstance(stamp.deck_id, str)
          and isinstance(stamp.counts, str) and isinstance(stamp.out_dir, str)
          and isinstance(stamp.split, bool) and isinstance(stamp.lock, bytes)
          and all(isinstance(n, str) for n in names)
          and all(_shape(f, (str, str, bytes)) for f in files)
          and all(_shape(m, (str, bytes)) for m in stamp.media)
          and all(_shape(o, (str, bytes)) for o in stamp.outputs) and stamp.outputs
          and all(_shape(w, (str, int, int, str, str)) for w in stamp.warnings)
          and all(isinstance(line, str) for line in stamp.report)
          and isinstance(stamp.notetypes, str))
    if not ok:
        raise ValueError("not a stamp")


def _shape(item: object, types: tuple[type, ...]) -> bool:
    return (isinstance(item, tuple) and len(item) == len(types)
            and all(isinstance(v, t) for v, t in zip(item, types, strict=True)))


def _file_digest(path: str) -> bytes:
    """A regular file's digest (never read through to a pipe or a device)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError("not a regular file")
        return hashlib.file_digest(handle, "sha256").digest()


def shadowed(path: str) -> bool:
    """Whether a media file found under its decomposed name (render.py looks for that name
    only when the composed one is missing) now has a composed twin that a check finds."""
    if path.isascii():
        return False
    import unicodedata

    composed = unicodedata.normalize("NFC", path)
    return composed != path and os.path.exists(composed)


def _same_files(pairs: tuple[tuple[str, bytes], ...]) -> bool:
    try:
        return all(_file_digest(path) == wanted for path, wanted in pairs)
    except (OSError, ValueError):
        return False


def fresh_for_validate(stamp: Stamp | None, deck_dir: Path, lock: Path,
                       deck: tuple[Any, ...] | None = None) -> bool:
    """Whether the deck, its media and its lock are exactly what the stamp's build read
    (``deck``: the deck's snapshot, when it was just taken)."""
    if stamp is None or stamp.deck_dir != str(deck_dir) or os.path.lexists(
            deck_dir / ".deckbuilder-journal"):
        return False
    if (deck or snapshot(deck_dir)) != stamp.deck:
        return False
    # Media paths were resolved when checked: one that now resolves elsewhere (a symlink
    # out of the deck put in its place, with the same bytes) is for a full check to judge.
    return (all(os.path.realpath(path) == path and not shadowed(path)
                for path, _ in stamp.media)
            and _same_files(((str(lock), stamp.lock), *stamp.media)))


def fresh_for_build(stamp: Stamp | None, deck_dir: Path, out_dir: Path, lock: Path,
                    split: bool, deck: tuple[Any, ...] | None = None) -> bool:
    """Whether a build now would write exactly the files the stamp's build wrote."""
    if stamp is None or stamp.split != split or stamp.out_dir != os.path.realpath(out_dir):
        return False
    # Loaded notetypes may differ from their files (a long-lived process, tests).
    if "deckbuilder.notetypes" in sys.modules and stamp.notetypes != notetypes_digest():
        return False
    if split:  # section packages of removed sections would have to go
        parts = sorted(os.path.realpath(p) for p in out_dir.glob(f"{stamp.deck_id}--*.apkg"))
        if parts != sorted(path for path, _ in stamp.outputs[1:]):
            return False
    return fresh_for_validate(stamp, deck_dir, lock, deck) and _same_files(stamp.outputs)


@contextlib.contextmanager
def exclusive(deck_dir: Path) -> Iterator[None]:
    """One build of a deck at a time: a second one waits for the first to finish.

    (A lock held on the folder's open file: never take it twice in one process.)"""
    try:
        # O_DIRECTORY: a pipe given as the deck folder would block the open forever.
        fd = os.open(deck_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        yield  # no folder: load_deck reports it
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


class Look(NamedTuple):
    """What the no-change check read: the last build's stamp, the deck's snapshot then,
    and whether a build now would write the same bytes. A quick rebuild starts from the
    stamp and snapshot instead of reading both again (3-4 ms at 10,000 cards): whatever
    changes after the snapshot, its check after the build sees."""

    stamp: Stamp | None
    deck: tuple[Any, ...] | None
    fresh: bool


def unchanged_build(deck_dir: Path, out_dir: Path, split: bool) -> Look:
    with exclusive(deck_dir):
        stamp = read_stamp(stamp_path(deck_dir, out_dir))
        deck = snapshot(deck_dir) if stamp is not None else None
        fresh = fresh_for_build(stamp, deck_dir, out_dir, deck_dir / "deck.lock", split, deck)
    return Look(stamp, deck, fresh)


def unchanged_deck(deck_dir: Path, out_dir: Path) -> Stamp | None:
    """The last build's stamp when the deck and lock are what it read, else None."""
    stamp = read_stamp(stamp_path(deck_dir, out_dir))
    return stamp if fresh_for_validate(stamp, deck_dir, deck_dir / "deck.lock") else None
