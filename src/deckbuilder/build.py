"""The pipeline: files -> YAML -> checked deck -> HTML -> Anki notes -> package and lock."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .anki import Note, collection_bytes, compile_notes
from .cache import SectionCache
from .check import check_across_sections, check_head, check_section
from .errors import InvalidDeck, Problem, Problems
from .lock import LOCK_NAME, Changes, read_lock, update_lock
from .model import Deck, DeckHead, Section
from .package import package_bytes, write_atomic
from .render import RenderedCard, Renderer
from .source import SourceFile, find_deck_files, read_bytes

CACHE_DIR = ".cache"


@dataclass(frozen=True)
class Checked:
    """A deck that passed every check, rendered and ready to compile."""

    deck: Deck
    rendered: list[RenderedCard]
    media: dict[str, Path]
    warnings: list[Problem]


@dataclass(frozen=True)
class BuildResult:
    path: Path
    deck: Deck
    notes: list[Note]
    changes: Changes
    stale: list[str]  # with check=True: why the files on disk are not what a build writes
    parts: tuple[Path, ...] = ()  # with split=True: the one-section packages


def load_deck(deck_dir: Path, cache_dir: Path | None = None, write_cache: bool = False,
              parallel: bool = True) -> Checked:
    """Read and check the whole deck; raise InvalidDeck with every error found.

    With ``cache_dir``, sections whose files have not changed come from the cache
    (and, with ``write_cache``, checked sections are stored there). Big decks are
    checked on every core unless ``parallel`` is false.
    """
    problems = Problems()
    files = find_deck_files(deck_dir, problems)
    if files is None:
        raise InvalidDeck(problems.errors)
    deck_yaml = read_bytes(files.deck, problems) if files.deck.path.is_file() else None
    head = check_head(files.deck, problems, deck_yaml)
    cache = SectionCache(cache_dir, deck_dir, deck_yaml or b"", write_cache)
    loaded: list[_Loaded | None] = []  # None: still to check
    jobs: list[_Job] = []
    for number, source in files.sections:
        data = read_bytes(source, problems)
        hit = cache.get(source.path.name, data) if data is not None else None
        if data is None or hit is not None:
            loaded.append(_Loaded(*hit, []) if hit else _Loaded(None, [], {}, []))
        else:
            loaded.append(None)
            jobs.append(_Job(deck_dir, head, number, source, data))
    results = zip(jobs, _run(jobs, parallel), strict=True)
    for index, item in enumerate(loaded):
        if item is None:
            job, item = next(results)
            problems.extend(item.problems)
            if item.section and not any(p.severity == "error" for p in item.problems):
                cache.put(job.source.path.name, job.data, item.section, item.rendered,
                          item.media)
            loaded[index] = item
    done = [item for item in loaded if item is not None]
    sections = [item.section for item in done if item.section]
    check_across_sections(sections, problems)
    if problems.errors:
        raise InvalidDeck(problems.errors)
    deck = Deck(head.name, head.id, head.description, head.html, tuple(sections),
                str(deck_dir), head.lint)
    rendered = [card for item in done for card in item.rendered]
    media = {name: path for item in done for name, path in item.media.items()}
    return Checked(deck, rendered, media, problems.warnings)


@dataclass(frozen=True)
class _Job:
    """One section file to check and render."""

    deck_dir: Path
    head: DeckHead
    number: int
    source: SourceFile
    data: bytes


@dataclass(frozen=True)
class _Loaded:
    section: Section | None
    rendered: list[RenderedCard]
    media: dict[str, Path]
    problems: list[Problem]


def _load(job: _Job) -> _Loaded:
    problems = Problems()
    section = check_section(job.source, job.number, job.head, problems, job.data)
    if section is None:
        return _Loaded(None, [], {}, problems.items)
    renderer = Renderer(job.deck_dir, job.head.html, problems)
    return _Loaded(section, renderer.section(section), renderer.media, problems.items)


PARALLEL_BYTES = 1 << 20  # below a megabyte of YAML, starting workers costs more than it saves


def _run(jobs: list[_Job], parallel: bool) -> list[_Loaded]:
    """Load the jobs, on every core when there is enough work; results in job order."""
    workers = min(os.cpu_count() or 1, len(jobs))
    if not parallel or workers < 2 or sum(len(job.data) for job in jobs) < PARALLEL_BYTES:
        return [_load(job) for job in jobs]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        return list(pool.map(_load, jobs, chunksize=max(1, len(jobs) // (4 * workers))))


def build_deck(deck_dir: Path, out_dir: Path, *, check: bool = False, now: int,
               allow_field_change: bool = False, split: bool = False,
               parallel: bool = True) -> BuildResult:
    """Build ``out_dir/<deck id>.apkg`` and the lock; with ``check``, only compare.

    With ``split``, also ``out_dir/<deck id>--<section file stem>.apkg`` per section."""
    with _exclusive(deck_dir):
        checked = load_deck(deck_dir, out_dir / CACHE_DIR, write_cache=not check,
                            parallel=parallel)
        deck = checked.deck
        lock_path = deck_dir / LOCK_NAME
        old_lock = read_lock(lock_path, os.path.join(str(deck_dir), LOCK_NAME))
        notes = compile_notes(deck, checked.rendered)
        lock, changes = update_lock(old_lock, notes, deck.id, now, allow_field_change)
        note_mods = {lock.cards[note.card_id].guid: lock.cards[note.card_id].mod
                     for note in notes}
        notetype_mods = {key: entry.mod for key, entry in lock.notetypes.items()}
        collection = collection_bytes(deck, notes, note_mods, notetype_mods)
        package = package_bytes(collection, checked.media)
        path = out_dir / f"{deck.id}.apkg"
        lock_text = lock.text().encode()
        parts = _section_packages(out_dir, deck, notes, note_mods, notetype_mods,
                                  checked.media) if split else []
        # One-section packages of sections that are gone would mislead learners.
        leftovers = sorted(set(out_dir.glob(f"{deck.id}--*.apkg")) - {p for p, _ in parts})
        if check:
            stale = [f"{file} is {_difference(_read(file), data)}"
                     for file, data in ((path, package), *parts, (lock_path, lock_text))
                     if _read(file) != data]
            stale += [f"{file} is left from a section that no longer exists"
                      for file in leftovers if split]
            return BuildResult(path, deck, notes, changes, stale)
        for part, data in parts:
            write_atomic(part, data)
        for file in leftovers if split else ():
            file.unlink()
        write_atomic(path, package)
        if _read(lock_path) != lock_text:
            write_atomic(lock_path, lock_text)
        return BuildResult(path, deck, notes, changes, [], tuple(p for p, _ in parts))


def _section_packages(out_dir: Path, deck: Deck, notes: list[Note], note_mods: dict[str, int],
                      notetype_mods: dict[str, int], media: dict[str, Path]
                      ) -> list[tuple[Path, bytes]]:
    """One package per section, compiled like the whole deck: same GUIDs, ids, mods."""
    parts = []
    for section in deck.sections:
        chosen = [note for note in notes if note.subdeck == deck.subdeck(section)]
        used = {name: file for name, file in media.items()
                if any(name in field for note in chosen for field in note.fields)}
        collection = collection_bytes(deck, chosen, note_mods, notetype_mods)
        parts.append((out_dir / f"{deck.id}--{section.stem}.apkg",
                      package_bytes(collection, used)))
    return parts


def _difference(found: bytes | None, wanted: bytes) -> str:
    return "missing" if found is None else "not what a build writes now"


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


@contextlib.contextmanager
def _exclusive(deck_dir: Path) -> Iterator[None]:
    """One build of a deck at a time: a second one waits for the first to finish."""
    try:
        fd = os.open(deck_dir, os.O_RDONLY)
    except OSError:
        yield  # no folder: load_deck reports it
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
