"""Build a package: load the deck, compile notes, consult the lock, write package and lock."""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from .anki import Note, compile_notes
from .cache import claim
from .errors import OutputError
from .load import CACHE_DIR, Checked, load_deck
from .lock import LOCK_NAME, Changes, remember, update_lock
from .model import Deck
from .package import package_bytes, recover, remove_leftovers, staged
from .quickstate import drop, hold, quick_state, save, state_path
from .stamp import Stamp, digest, exclusive, notetypes_digest, snapshot, stamp_path

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable


class BuildResult(NamedTuple):  # made at every start: not a dataclass (0.3 ms)
    path: Path
    deck: Deck
    notes: list[Note]
    changes: Changes
    stale: list[str]  # with check=True: why the files on disk are not what a build writes
    parts: tuple[Path, ...] = ()  # with split=True: the one-section packages
    notices: tuple[str, ...] = ()  # what the build did or left beside its work
    recovered: Path | None = None  # the package the lost lock was recovered from


def build_deck(deck_dir: Path, out_dir: Path, *, check: bool = False, now: int,
               allow_field_change: bool = False, split: bool = False,
               parallel: bool = True, cache: bool | None = None,
               leave_state: bool = True) -> BuildResult:
    """Build ``out_dir/<deck id>.apkg`` and the lock; with ``check``, only compare.

    With ``split``, also ``out_dir/<deck id>--<section file stem>.apkg`` per section.
    Checked sections are cached for the next run unless ``check`` (or ``cache`` says);
    with ``leave_state``, what a quick rebuild in a new process starts from (quick.py)."""
    with exclusive(deck_dir):
        # A build killed between its renames is finished first: then the lock read
        # below is the one that matches the packages.
        notices = [done] if (done := recover(deck_dir)) else []
        before = None if check else snapshot(deck_dir)
        stores: list[Callable[[], None]] = []  # the section cache's writes (see _Aside)
        checked = load_deck(deck_dir, out_dir / CACHE_DIR,
                            write_cache=not check if cache is None else cache,
                            parallel=parallel, compiling=True, meanwhile=_later_modules,
                            later=stores)
        from .database import collection_file, keep, kept

        deck = checked.deck
        lock_path = deck_dir / LOCK_NAME
        path = out_dir / f"{deck.id}.apkg"
        if not check:
            remove_leftovers(deck_dir / LOCK_NAME, out_dir, deck.id)
        old_lock, recovered = checked.lock, None
        if not lock_path.exists():  # lost? (or a first build)
            from .salvage import lock_from_package

            if (recovery := lock_from_package(path, deck)) is not None:
                old_lock, recovered = recovery, path
        notes = compile_notes(deck, checked.rendered, checked.note_keys())
        lock, changes = update_lock(old_lock, notes, deck.id, now, allow_field_change)
        note_mods = {entry.guid: entry.mod for entry in lock.cards.values()}  # one per note
        notetype_mods = {key: entry.mod for key, entry in lock.notetypes.items()}
        if not check and (leave_state or state_path(deck_dir, out_dir).exists()):
            # The last build's collection, kept for a quick rebuild, is replaced by this
            # one: gone first, a disk that held the last build holds this one. A build
            # that leaves none (--watch) still removes it: it no longer matches.
            save(None, None, deck_dir, out_dir)
        scratch = _scratch_folder(path, check)
        packed: dict[str, bytes] = {}
        aside = _Aside(stores=partial(_run_all, stores), text=lambda: lock.text().encode(),
                       # Read again once loading is done: no file changed while it was read
                       # (see below) when it is as it was before, and so were the bytes read.
                       after=lambda: None if before is None else (
                           snapshot(deck_dir), {name: digest(data)
                                                for name, data in checked.read.items()}),
                       stamp=partial(_stamp_parts, checked, out_dir))
        # Under --watch the last collection made is a head start: only the rows that
        # differ are written (the bytes of a build from nothing; see database.py).
        # Zipped from its file: a big deck's collection is tens of megabytes.
        with aside, collection_file(deck, notes, note_mods, notetype_mods, scratch, kept(),
                                    meanwhile=aside.start) as (file, made):
            keep(made)
            package = package_bytes(file, checked.media, packed)
            # Before hold(): the cache folder a first build makes is made by its writes.
            aside.get("stores")
            lock_text: bytes = aside.get("text")
            # For the next build in a fresh process (quick.py): a link, not a copy.
            held = hold(file, deck_dir, out_dir) if leave_state and not (check or split) \
                else None
        try:
            del made
            parts = _section_packages(out_dir, deck, notes, note_mods, notetype_mods,
                                      checked.media, scratch) if split else []
            # One-section packages of sections that are gone would mislead learners.
            leftovers, strangers = _old_parts(out_dir, deck.id, {p for p, _ in parts})
            if split:
                notices += [f"{file} is named like a section package but is not a file "
                            "deckbuilder wrote; left as it is" for file in strangers]
            if check:
                found = {file: (_read(file), data)
                         for file, data in ((path, package), *parts, (lock_path, lock_text))}
                stale = [f"{file} is {'missing' if old is None else 'not what a build writes now'}"
                         for file, (old, data) in found.items() if old != data]
                stale += [f"{file} is left from a section that no longer exists"
                          for file in leftovers if split]
                return BuildResult(path, deck, notes, changes, stale, notices=tuple(notices),
                                   recovered=recovered)
            # The lock is renamed first: at no moment is a package newer than the lock (a
            # lock ahead of its package is harmless: the next build writes that package).
            # The journal lets the next build finish renames a kill interrupted.
            with staged(deck_dir) as stage:
                if _read(lock_path) != lock_text:
                    stage(lock_path, lock_text)
                stage(path, package)
                for part, data in parts:
                    stage(part, data)
            remember(lock, lock_text, os.path.join(str(deck_dir), LOCK_NAME))
            for file in leftovers if split else ():
                try:
                    file.unlink()
                except OSError as exc:
                    notices.append(f"cannot remove {file}: {exc.strerror or exc}")
            # Only when no file changed while it was read is the build's stamp the truth.
            # It lives in the cache folder, and only when that folder is deckbuilder's.
            # (A file written in place as it was read, or saved and saved back, is the same
            # again after loading: the bytes read are the proof.)
            read = {name: hashed for name, _, hashed in before[1] if name in checked.read} \
                if before is not None else None
            if before is not None and aside.get("after") == (before, read) \
                    and claim(out_dir / CACHE_DIR):
                stamp = _stamp(aside.get("stamp"), before, packed, lock_text, split,
                               [(path, package), *parts])
                stamp.write(stamp_path(deck_dir, out_dir))
                if leave_state:
                    save(quick_state(checked, notes, stamp, held), held, deck_dir, out_dir)
            elif leave_state:
                save(None, held, deck_dir, out_dir)
            return BuildResult(path, deck, notes, changes, [], tuple(p for p, _ in parts),
                               tuple(notices), recovered)
        except BaseException:
            # (a Ctrl-C, a full disk) No state names the collection kept for a quick
            # rebuild: it stayed, as big as the collection, until the next build.
            drop(held, out_dir)
            raise


class _Aside:
    """The build's work that waits for nothing after the notes are compiled: the lock's
    text, the section cache's writes, the deck folder read again, the stamp's parts (20 ms
    of Python and I/O at 10,000 cards), done in turn on a thread of its own while the
    collection's SQLite index builds and VACUUM INTO let go of the GIL. Started only then
    (``start``): begun while the rows were made and inserted (Python, holding the GIL),
    it took turns with them and saved nothing. A piece the thread did not finish is done
    by ``get`` in the build's thread, where a failure is raised. Nothing to clean up if
    the build fails (the cache's writes are whole files or none)."""

    def __init__(self, **work: Callable[[], Any]) -> None:
        self.work = work
        self.done: dict[str, Any] = {}
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        import threading

        from .threads import start

        if self.thread is None:
            self.thread = threading.Thread(target=self._run, name="deckbuilder-aside",
                                           daemon=True)
            start(self.thread)

    def _run(self) -> None:
        # The build's thread asks for the GIL back after each index SQLite built: it gets
        # it in 0.5 ms, not the 5 ms this thread could otherwise keep it.
        switch = sys.getswitchinterval()
        sys.setswitchinterval(0.0005)
        try:
            with contextlib.suppress(Exception):  # done again by get(), which reports it
                for name, piece in self.work.items():
                    self.done[name] = piece()
        finally:
            sys.setswitchinterval(switch)

    def __enter__(self) -> _Aside:
        return self

    def __exit__(self, *exc: object) -> None:
        # A build that fails (or is interrupted) leaves once the thread's writes are whole.
        if self.thread is not None:
            self.thread.join()

    def get(self, name: str) -> Any:
        if self.thread is not None:
            self.thread.join()
        if name not in self.done:
            self.done[name] = self.work[name]()
        return self.done[name]


def _run_all(pieces: list[Callable[[], None]]) -> None:
    """Each piece, once (what a failure left is run by the next call)."""
    while pieces:
        pieces[0]()
        del pieces[0]


def _later_modules() -> None:
    """What only the steps after the load use (SQLite, genanki, the zip writer: 8 ms of
    imports at every build), imported by this process while a forked child loads its
    share of a big deck (load.py): the child never pays for them."""
    from . import database, zipwrite  # noqa: F401
    from .genankiload import load_genanki

    load_genanki()


def _section_packages(out_dir: Path, deck: Deck, notes: list[Note], note_mods: dict[str, int],
                      notetype_mods: dict[str, int], media: dict[str, Path], scratch: Path
                      ) -> list[tuple[Path, bytes]]:
    """One package per section, compiled like the whole deck: same GUIDs, ids, mods."""
    from .database import collection_bytes

    parts = []
    for section in deck.sections:
        chosen = [note for note in notes if note.subdeck == deck.subdeck(section)]
        # Each part carries the parent deck and its description, so the description's
        # media too.
        texts = [deck.description_html, *(field for note in chosen for field in note.fields)]
        used = {name: file for name, file in media.items() if any(name in t for t in texts)}
        collection = collection_bytes(deck, chosen, note_mods, notetype_mods, scratch)
        parts.append((out_dir / f"{deck.id}--{section.stem}.apkg",
                      package_bytes(collection, used)))
    return parts


def _scratch_folder(package: Path, check: bool) -> Path:
    """Where the collection is built: beside the package (where its bytes go anyway, and
    no full $TMPDIR can stop the build); a check writes nothing, so it uses $TMPDIR when
    the output folder does not exist yet."""
    out_dir = package.parent
    if check and not out_dir.is_dir():
        import tempfile

        return Path(tempfile.gettempdir())
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot write {package}: {exc.strerror or exc}") from exc
    return out_dir


def _old_parts(out_dir: Path, deck_id: str, keep: set[Path]) -> tuple[list[Path], list[Path]]:
    """Section packages of sections that are gone, and what only has their name: only
    regular files are deckbuilder's to delete, never a folder or a symlink."""
    old: list[Path] = []
    strangers: list[Path] = []
    for file in sorted(set(out_dir.glob(f"{deck_id}--*.apkg")) - keep):
        try:
            regular = stat.S_ISREG(os.lstat(file).st_mode)
        except OSError:
            continue
        (old if regular else strangers).append(file)
    return old, strangers


def _read(path: Path) -> bytes | None:
    """The file's bytes; None when it is missing or not a regular file (a pipe named like
    the package would never end reading)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as handle:
            return handle.read() if stat.S_ISREG(os.fstat(fd).st_mode) else None
    except OSError:
        return None


def _stamp_parts(checked: Checked, out_dir: Path) -> tuple[Any, ...]:
    """The stamp's values that follow from the load alone (see _stamp)."""
    from .report import describe_changes

    unchanged = Changes(unchanged=[card.id for card in checked.deck.cards])
    return (checked.deck.path, checked.deck.id, checked.deck.counts(),
            tuple((w.location.path, w.location.line, w.location.column, w.message, w.rule)
                  for w in checked.warnings),
            os.path.realpath(out_dir), tuple(describe_changes(unchanged)), notetypes_digest())


def _stamp(parts: tuple[Any, ...], deck: tuple[object, ...], packed: dict[str, bytes],
           lock_text: bytes, split: bool, written: list[tuple[Path, bytes]]) -> Stamp:
    """What this build read and wrote, for the next build to compare with (stamp.py)."""
    deck_dir, deck_id, counts, warnings, out_dir, report, notetypes = parts
    return Stamp(deck_dir, deck, tuple(sorted(packed.items())), digest(lock_text), deck_id,
                 counts, warnings, out_dir, split,
                 tuple((os.path.realpath(path), digest(data)) for path, data in written),
                 report, notetypes)
