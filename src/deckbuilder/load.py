"""Load a deck: find its files, check them (on two or more cores for big decks), render them.

Every consumer of a deck starts here: build, validate, lint, preview, export, stats.
Sections whose files have not changed come from the cache a build left.
"""

from __future__ import annotations

import marshal
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from itertools import repeat
from pathlib import Path
from typing import Any, NamedTuple

from . import cache as entries
from .anki import NoteKey, note_keys
from .cache import SectionCache
from .check import check_across_sections, check_head, check_section
from .comments import cut_texts
from .errors import InvalidDeck, Location, Problem, Problems
from .forked import load_shared, usable_cores
from .lock import LOCK_NAME, Lock, read_lock
from .model import Deck, DeckHead, Section
from .render import RenderedCard, Renderer
from .source import SourceFile, find_deck_files, load_yaml, read_bytes

NoteKeys = tuple[list[str], list[int], list[str]]  # anki.note_keys: GUIDs, ids, digests
CACHE_DIR = ".deckbuilder-cache"  # marked with a CACHEDIR.TAG: see cache.py


@dataclass(frozen=True)
class Checked:
    """A deck that passed every check, rendered and ready to compile."""

    deck: Deck
    rendered: list[RenderedCard]
    media: dict[str, Path]
    warnings: list[Problem]
    lock: Lock  # what the last build wrote; empty before the first
    # each section's own media, in section order (what quick.py records for the next build)
    section_media: tuple[dict[str, Path], ...] = ()
    # each section file's cache entry, by file name (where a load found it: not compared)
    entries: dict[str, str] | None = field(default=None, compare=False)
    # each loaded section's number of rendered cards and their NoteKeys, where loading
    # made them (see note_keys)
    keys: tuple[tuple[int, NoteKeys | None], ...] = field(default=(), compare=False)
    # the bytes loading read, by file name (the build's stamp holds only if they are the
    # files' bytes before and after: see build.py)
    read: dict[str, bytes] = field(default_factory=dict, compare=False)

    def note_keys(self) -> Iterator[NoteKey | None]:
        """Each card's NoteKey, beside ``rendered``; None where loading made none. (Made
        as compile_notes takes them: at 100,000 cards, a tuple each is 6 MB more.)"""
        for count, keys in self.keys:
            yield from zip(*keys, strict=True) if keys else repeat(None, count)


def load_deck(deck_dir: Path, cache_dir: Path | None = None, write_cache: bool = False,
              parallel: bool = True, compiling: bool = False,
              meanwhile: Callable[[], object] | None = None,
              later: list[Callable[[], None]] | None = None) -> Checked:
    """Read and check the whole deck; raise InvalidDeck with every error found.

    With ``cache_dir``, sections whose files have not changed come from the cache
    (and, with ``write_cache``, checked sections are stored there). Big decks are
    checked on every core unless ``parallel`` is false. With ``compiling`` (the caller
    compiles the notes next), each section loaded also gets its cards' NoteKeys: on two
    cores, that half of compiling is shared with a forked child. ``meanwhile`` is called
    by this process while a forked child loads (work for after the load that the child
    need not do: imports); not at all when no child is forked. With ``later``, a load
    that passes leaves its cache writes there, for the caller to make when it suits it
    (a failing one makes them itself), and keeps the bytes it read (``Checked.read``).
    """
    problems = Problems()
    files = find_deck_files(deck_dir, problems)
    if files is None:
        raise InvalidDeck(problems.errors)
    deck_yaml = read_bytes(files.deck, problems) if files.deck.path.is_file() else None
    deck_tree = load_yaml(files.deck, problems, deck_yaml) if deck_yaml is not None else None
    head = check_head(files.deck, problems, deck_tree)
    head_clean = not problems.errors  # else the deck id may be a stand-in: no lock checks
    lock = read_lock(deck_dir / LOCK_NAME, os.path.join(str(deck_dir), LOCK_NAME),
                     head.id if head_clean else None, problems)
    cache = SectionCache(cache_dir, deck_dir, deck_yaml or b"", write_cache)
    loaded: list[_Loaded | None] = []  # None: still to check
    jobs: list[_Job] = []
    # A build's stamp compares them (build.py); only a build (``later``) keeps them.
    read = {files.deck.path.name: deck_yaml} if deck_yaml is not None and later is not None else {}
    for number, source in files.sections:
        data = read_bytes(source, problems)
        if data is not None and later is not None:
            read[source.path.name] = data
        hit = cache.get(source.path.name, data, source.display) if data is not None else None
        if data is None or hit is not None:
            loaded.append(_Loaded(*hit, []) if hit else _Loaded(None, [], {}, []))
        else:
            loaded.append(None)
            jobs.append(_Job(deck_dir, head, number, source, data, compiling,
                             write_cache and cache_dir is not None))
    results = zip(jobs, _run(jobs, parallel, meanwhile), strict=True)
    stores: list[Callable[[], None]] = []
    for index, item in enumerate(loaded):
        if item is None:
            job, item = next(results)
            problems.extend(item.problems)
            if item.section and not any(p.severity == "error" for p in item.problems):
                stores.append(partial(cache.put, job.source.path.name, job.data,
                                      item.section, item.rendered, item.media, item.entry))
            loaded[index] = item
    done = [item for item in loaded if item is not None]
    sections = [item.section for item in done if item.section]
    cache.prune()
    check_across_sections(sections, problems)
    # The description reaches Anki like a card's text, so it gets the same media checks.
    describer = Renderer(deck_dir, head.html, problems, prefix="_")
    description = describer.field(head.description, head.description_at or files.deck.at())
    if problems.errors or later is None:
        for store in stores:
            store()
    else:
        later += stores
    if problems.errors:
        raise InvalidDeck(problems.errors)
    deck = Deck(head, tuple(sections), str(deck_dir), description)
    rendered = [card for item in done for card in item.rendered]
    media = {name: path for item in done for name, path in item.media.items()}
    media.update(describer.media)
    keys = tuple((len(item.rendered), item.keys) for item in done if item.rendered)
    return Checked(deck, rendered, media, problems.warnings, lock,
                   tuple(item.media for item in done if item.section), cache.entries,
                   keys if any(made for _, made in keys) else (), read)


class _Job(NamedTuple):  # NamedTuples: made at every start, 0.1 ms against a dataclass's 0.5
    """One section file to check and render."""

    deck_dir: Path
    head: DeckHead
    number: int
    source: SourceFile
    data: bytes
    compiling: bool = False  # also make the cards' NoteKeys
    # Also make the section's cache entry (for a load that stores it): on two cores, a
    # forked child makes those of its share anyway, and this process makes its own
    # while the child works rather than after.
    caching: bool = False


class _Loaded(NamedTuple):
    section: Section | None
    rendered: list[RenderedCard]
    media: dict[str, Path]
    problems: list[Problem]
    entry: bytes | None = None  # the section's cache entry, when made with it
    keys: NoteKeys | None = None  # its cards' NoteKeys, for a load that compiles next


def load_section(deck_dir: Path, head: DeckHead, number: int, source: SourceFile,
                 data: bytes) -> tuple[Section | None, list[RenderedCard], dict[str, Path],
                                        list[Problem]]:
    """One section file checked and rendered, as a full load does it (for quick.py)."""
    loaded = _load(_Job(deck_dir, head, number, source, data))
    return loaded.section, loaded.rendered, loaded.media, loaded.problems


def _load(job: _Job) -> _Loaded:
    problems = Problems()
    root = load_yaml(job.source, problems, job.data)
    section = check_section(job.source, job.number, job.head, problems, root)
    if section is None:
        return _Loaded(None, [], {}, problems.items)
    cut_texts(job.data, section, problems)
    renderer = Renderer(job.deck_dir, job.head.html, problems)
    rendered = renderer.section(section)
    keys = note_keys(job.head.id, rendered) if job.compiling else None
    entry = (entries.encode(section, rendered, renderer.media)
             if job.caching and not problems.errors else None)
    return _Loaded(section, rendered, renderer.media, problems.items, entry, keys)


def _encode(loaded: _Loaded) -> bytes:
    """What a forked child sends: the problems, the section as a cache entry, and its
    cards' NoteKeys if it made them."""
    entry = loaded.entry or (entries.encode(loaded.section, loaded.rendered, loaded.media)
                             if loaded.section else None)
    return marshal.dumps(([(p.location.path, p.location.line, p.location.column, p.message,
                            p.severity, p.rule) for p in loaded.problems], entry,
                          loaded.keys if entry is not None else None))


def _decode(job: _Job, data: bytes) -> _Loaded:
    """What ``_encode`` was given; ValueError for anything else."""
    rows, entry, keys = marshal.loads(data)
    problems = []
    for path, line, column, message, severity, rule in rows:
        if not (_types(path, message, rule) == {str} and _types(line, column) == {int}
                and severity in ("error", "warning")):
            raise ValueError("not a problem")
        problems.append(Problem(Location(path, line, column), message, severity, rule))
    if entry is None:
        return _Loaded(None, [], {}, problems)
    if type(entry) is not bytes:
        raise ValueError("not an entry")
    section, rendered, media = entries.decode(entry, job.source.display)
    if keys is not None and not _valid_keys(keys, len(rendered)):
        raise ValueError("not note keys")
    return _Loaded(section, rendered, media, problems, entry, keys)


def _valid_keys(keys: Any, count: int) -> bool:
    if type(keys) is not tuple or len(keys) != 3 or not all(
            type(column) is list and len(column) == count for column in keys):
        return False
    guids, numbers, digests = keys
    return _types(*guids, *digests) <= {str} and _types(*numbers) <= {int}


def _types(*values: object) -> set[type]:
    return set(map(type, values))


PARALLEL_BYTES = 1 << 20  # below a megabyte of YAML, starting workers costs more than it saves
# Sending a worker's results back (pickled, then unpickled here) costs about half the
# work it took: at 10,000 cards on 2 cores the pool used 0.2 s more CPU and was slower
# on the wall too (median 1.14 s against 0.89 s), so it is kept for machines with more;
# below that, one forked child takes a share (forked.py).
PARALLEL_CORES = 4


def _run(jobs: list[_Job], parallel: bool,
         meanwhile: Callable[[], object] | None = None) -> list[_Loaded]:
    """Load the jobs, on every core when there is enough work; results in job order."""
    cores = usable_cores()  # a process held to some cores (taskset) uses those
    workers = min(cores, len(jobs))
    if not parallel:
        return [_load(job) for job in jobs]
    if (cores < PARALLEL_CORES or workers < 2
            or sum(len(job.data) for job in jobs) < PARALLEL_BYTES):
        return load_shared(jobs, [len(job.data) for job in jobs], _load, _encode, _decode,
                           meanwhile)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        return list(pool.map(_load, jobs, chunksize=max(1, len(jobs) // (4 * workers))))
