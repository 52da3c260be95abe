"""`deckbuilder sync`: the author's own Anki collection follows the deck."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .common import DECK_DIR, QUIET, Console, NonEmptyPath, folder_option

if TYPE_CHECKING:
    from ..syncplan import Plan

# Into deckbuilder's own environment, wherever it was installed (a clone's .venv, a venv of
# its own, pipx): its interpreter's pip is the one that reaches it.
INSTALL = ("deckbuilder sync needs the official Anki library, beside deckbuilder: "
           "{python} -m pip install 'anki>=25.2,<27' (installed with pipx: "
           "pipx inject anki-deckbuilder 'anki>=25.2,<27')")


@click.command()
@DECK_DIR
@click.option("--collection", type=NonEmptyPath(dir_okay=False, path_type=Path),
              help="The collection.anki2 to sync (default: the profile's).")
@click.option("--profile", help="The Anki profile (needed when there are several).")
@click.option("--base", type=NonEmptyPath(file_okay=False, path_type=Path),
              help="Anki's base folder (default: Anki's own for this system).")
@folder_option("build", "Folder that receives <deck id>.apkg, as with build.")
@click.option("--dry-run", is_flag=True, help="Print the plan; change nothing.")
@click.option("--yes", is_flag=True,
              help="Allow removing more than 10 notes or 10% of the deck without asking.")
@click.option("--backup-dir", type=NonEmptyPath(file_okay=False, path_type=Path),
              help="Where the backup goes (default: the profile's backups folder).")
@click.option("--no-backup", is_flag=True, help="Skip the backup.")
@click.option("--allow-full-sync", is_flag=True,
              help="Allow changes that force a one-way sync of every device (a field, "
                   "template or kind change).")
@click.option("--overwrite-anki-edits", is_flag=True,
              help="Overwrite notes edited both in Anki and in the deck with the deck's.")
@QUIET
def sync(deck_dir: Path, collection: Path | None, profile: str | None, base: Path | None,
         out_dir: Path, dry_run: bool, yes: bool, backup_dir: Path | None, no_backup: bool,
         allow_full_sync: bool, overwrite_anki_edits: bool, quiet: bool) -> None:
    """Make your own Anki collection equal DECK_DIR: adds, updates, moves, renames and
    removals, every review kept. Anki must be closed (or on another profile)."""
    console = Console(quiet)
    try:
        import anki  # noqa: F401
    except ImportError:
        console.error(INSTALL.format(python=shlex.quote(sys.executable)))
        console.exit(2)
    from ..errors import SyncUsage
    from ..lock import build_time
    from ..profiles import find_collection
    from ..report import describe_changes
    from ..sync import SyncOptions, sync_deck
    from ..syncplan import describe_plan

    if backup_dir and no_backup:
        raise click.UsageError("give --backup-dir or --no-backup, not both")
    try:
        path = find_collection(collection, profile, base)
    except SyncUsage as exc:
        console.error(str(exc))
        console.exit(2)
    options = SyncOptions(dry_run=dry_run, backup_dir=backup_dir, no_backup=no_backup,
                          allow_full_sync=allow_full_sync,
                          overwrite_anki_edits=overwrite_anki_edits, yes=yes)
    with console.reporting():
        result = sync_deck(deck_dir, path, out_dir, build_time(), options, _ask)
    built = result.built
    if built is not None and any((built.changes.added, built.changes.changed,
                                  built.changes.removed, built.changes.moved,
                                  built.changes.renamed, built.changes.notetypes)):
        # What learners who import the new package need to know (none when only the
        # deck's options or description changed: the notes are as they were).
        wrote = f"{built.path}: {built.deck.counts()}"
        if dry_run:
            console.out(f"would write {wrote}")
        else:
            console.out(f"wrote {wrote}", fg="green")
        for line in describe_changes(built.changes):
            console.out(line)
    lines = describe_plan(result.plan, result.applied)
    if result.plan.empty and result.preset:  # the options change: not "nothing to do"
        lines[0] = lines[0].replace("nothing to do: the collection already matches",
                                    "the notes already match")
    for line in lines:
        console.out(line)
    for line in result.preset:
        console.out(f"  deck options{' (would change)' if dry_run else ''}: {line}")
    if result.applied:
        if result.cards_removed:
            console.out(f"  empty cards removed: {result.cards_removed}")
        for name in result.decks_removed:
            console.out(f"  empty subdeck removed: '{name}'")
        if result.backup:
            console.out(f"backup: {result.backup}")
        console.out(f"synced {path}", fg="green")
    elif result.preset and not dry_run:
        console.out(f"synced {path}", fg="green")
    elif dry_run and (not result.plan.empty or result.preset):
        if not result.plan.empty and not no_backup:
            console.out(f"backup: would be made in {backup_dir or path.parent / 'backups'}")
        if result.plan.big_removal and not yes:
            console.note(f"the real run removes {len(result.plan.removed)} of the deck's "
                         f"{result.plan.deck_notes} notes: it will ask, or need --yes")
        console.out("dry run: the collection was not changed")


def _ask(plan: Plan) -> bool:
    """A prompt only on a terminal; piped or scripted runs need --yes."""
    if not sys.stdin.isatty():
        return False
    return click.confirm(f"Remove {len(plan.removed)} of the deck's {plan.deck_notes} notes "
                         "from your collection?", default=False)
