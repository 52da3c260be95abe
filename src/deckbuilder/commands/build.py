"""`deckbuilder build`: compile the package and the lock, or check them, or watch."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .common import DECK_DIR, QUIET, Console, folder_option

if TYPE_CHECKING:
    from ..stamp import Look


@click.command()
@DECK_DIR
@folder_option("build", "Folder that receives <deck id>.apkg.")
@click.option("--check", is_flag=True,
              help="Write nothing; exit 1 if the package or the lock is not what a build "
                   "would write now (for CI and pre-commit).")
@click.option("--watch", is_flag=True, help="Rebuild on every save until Ctrl-C.")
@click.option("--allow-field-change", is_flag=True,
              help="Allow a notetype's fields to change (Anki then copies the notetype and "
                   "stops updating existing notes).")
@click.option("--split", is_flag=True,
              help="Also write one package per section: OUT/<deck id>--<section file>.apkg.")
@QUIET
def build(deck_dir: Path, out_dir: Path, check: bool, watch: bool, allow_field_change: bool,
          split: bool, quiet: bool) -> None:
    """Validate DECK_DIR and, when clean, write OUT/<deck id>.apkg and DECK_DIR/deck.lock.

    Prints what it wrote and what changed since the last build, with the Anki
    searches for what an import cannot do by itself (removed and moved cards).
    """
    console = Console()

    def once() -> bool:
        # Watching keeps a file-watcher thread alive: no forked workers then.
        # Watching keeps the last build in memory: no quick rebuild from disk then, nor
        # its state left on every save (6 ms of a 10k rebuild).
        return _build_once(console, deck_dir, out_dir, quiet, check=check, split=split,
                           allow_field_change=allow_field_change, parallel=not watch,
                           quick=not watch)

    if not watch:
        console.exit(0 if once() else 1)
    import gc

    from watchfiles import watch as watch_files

    from .. import anki, cache, database, lock, zipwrite

    def rebuild() -> None:
        # The collector stays off while a rebuild runs (its full passes over a big deck's
        # objects came at random and cost up to a third of a rebuild) and runs once after
        # the package is written, off the author's wait: the process lives on.
        gc.disable()
        try:
            once()
        finally:
            gc.collect()

    # One process for every rebuild: what the last one read and made stays in memory.
    anki.keep_in_memory()
    cache.keep_in_memory()
    lock.keep_in_memory()
    database.keep_in_memory()
    zipwrite.keep_in_memory()
    armed = False
    try:
        # step: how long the watcher waits for more of one save (an editor writes in a few
        # ms; watchfiles waits 50 ms by default, a fifth of a 10k rebuild). The first build
        # waits for the watcher's first report (at most ARMED ms after it starts watching):
        # a save made before that, or during that build, is then seen, never lost.
        for changes in watch_files(deck_dir, watch_filter=_SourceFilter(deck_dir, out_dir),
                                   step=10, yield_on_timeout=True, rust_timeout=ARMED):
            if armed and not changes:
                continue  # a timeout: nothing was saved
            rebuild()
            if not armed:
                armed = True
                console.err(f"watching {deck_dir} (Ctrl-C to stop)")
    except KeyboardInterrupt:
        pass


ARMED = 100  # ms: the watcher reports this often even when nothing changed


class _SourceFilter:
    """Which changes are an author's save: never what a build writes itself (packages,
    the cache, the lock, temporaries, the journal), whatever the relative paths
    (`cd cards && deckbuilder build . --watch` puts build/ inside the deck folder)."""

    def __init__(self, deck_dir: Path, out_dir: Path) -> None:
        self.deck_dir = os.path.realpath(deck_dir)
        out = os.path.realpath(out_dir)
        # An out folder inside the deck folder is ignored whole; one that holds the deck
        # folder (`--out .` from the repository) must not hide the deck's own files.
        self.out_inside = out if _within(out, self.deck_dir) and out != self.deck_dir else None

    def __call__(self, change: object, path: str) -> bool:
        # The folder resolved, not the file: a media file replaced by a symlink out of the
        # deck is a change of the deck (its check now fails), not a file elsewhere.
        real = os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))
        if self.out_inside and _within(real, self.out_inside):
            return False
        relative = os.path.relpath(real, self.deck_dir)
        # Temporaries, the journal, the cache and hidden folders (.git) start with a dot.
        return (not any(part.startswith(".") for part in relative.split(os.sep))
                and relative != "deck.lock" and not real.endswith(".apkg"))


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _build_once(console: Console, deck_dir: Path, out_dir: Path, quiet: bool,
                **options: bool) -> bool:
    check = options["check"]
    looked = None if check else _unchanged(console, deck_dir, out_dir, quiet, options["split"])
    if looked is True:
        return True
    from ..lock import build_time
    from ..report import describe_changes

    quick = options.pop("quick")
    if quick and not check and not options["split"] and _quick(
            console, deck_dir, out_dir, quiet, options["allow_field_change"], looked or None):
        return True
    from ..build import build_deck

    try:
        with console.progress("build", quiet), console.reporting():
            result = build_deck(deck_dir, out_dir, now=build_time(), leave_state=quick,
                                **options)
    except SystemExit:
        return False  # reported; --watch goes on
    if quick:  # a one-off build (--watch runs again and again)
        console.keep(result)
    for notice in result.notices:
        console.note(notice)
    if check:
        again = "deckbuilder build --split" if options["split"] else "deckbuilder build"
        for reason in result.stale:
            console.err(f"out of date: {reason}; run `{again}`", fg="red")
        if not result.stale and not quiet:
            console.out(f"{result.path} and the lock are up to date")
        return not result.stale
    if result.recovered:
        console.note(f"no lock in {deck_dir}: recovered every card's GUID and mod time from "
                     f"{result.recovered}, so unchanged cards keep their mod")
    if not quiet:
        deck = result.deck
        console.out(f"wrote {result.path}: {deck.counts()}", fg="green")
        if result.parts:
            console.out(f"wrote {len(result.parts)} section packages: "
                        f"{out_dir / (deck.id + '--*.apkg')}", fg="green")
        for line in describe_changes(result.changes):
            console.out(line)
    return True


def _quick(console: Console, deck_dir: Path, out_dir: Path, quiet: bool,
           allow_field_change: bool, looked: Look | None) -> bool:
    """When only section files changed since the last build, rebuild from what it left
    (quick.py: the same bytes, in time proportional to the change); False otherwise."""
    from ..lock import build_time
    from ..quick import quick_rebuild
    from ..report import describe_changes

    try:
        now = build_time()
    except Exception:
        return False
    result = quick_rebuild(deck_dir, out_dir, now, allow_field_change, looked)
    if result is None:
        return False
    if not quiet:
        console.out(f"wrote {result.path}: {result.counts}", fg="green")
        for line in describe_changes(result.changes):
            console.out(line)
    return True


def _unchanged(console: Console, deck_dir: Path, out_dir: Path, quiet: bool,
               split: bool) -> Look | bool:
    """When the deck, lock and packages are what the last build read and wrote, say what
    that build said and stop (True): no parsing, nothing written (see stamp.py). Else
    what the check read, for the quick rebuild (False: nothing worth keeping)."""
    from ..stamp import unchanged_build

    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    if epoch and not (epoch.isascii() and epoch.isdigit()):
        return False  # the full build reports it
    looked = unchanged_build(deck_dir, out_dir, split)
    stamp = looked.stamp
    if not looked.fresh or stamp is None:
        return looked
    if not quiet:
        console.out(f"wrote {out_dir / (stamp.deck_id + '.apkg')}: {stamp.counts}", fg="green")
        if split:
            console.out(f"wrote {len(stamp.outputs) - 1} section packages: "
                        f"{out_dir / (stamp.deck_id + '--*.apkg')}", fg="green")
        for line in stamp.report:
            console.out(line)
    return True
