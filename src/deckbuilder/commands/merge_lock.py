"""`deckbuilder merge-lock`: git's merge driver for deck.lock, and its conflict resolver."""

from __future__ import annotations

from pathlib import Path

import click

from .common import QUIET, Console, NonEmptyPath

_FILE = NonEmptyPath(exists=True, dir_okay=False, path_type=Path)


@click.command("merge-lock")
@click.argument("files", nargs=-1, type=_FILE, metavar="[BASE OURS THEIRS]")
@click.option("--resolve", "conflicted", type=_FILE,
              help="Resolve a deck.lock that a merge left with conflict markers, in place.")
@QUIET
def merge_lock(files: tuple[Path, ...], conflicted: Path | None, quiet: bool) -> None:
    """Merge two branches' locks card by card: BASE OURS THEIRS (git's %O %A %B).

    The result replaces OURS. Set it up once per clone, as the README shows:

    \b
      echo 'deck.lock merge=deckbuilder' >> .gitattributes
      git config merge.deckbuilder.driver "deckbuilder merge-lock %O %A %B"

    A card changed on one side takes that side's entry; changed on both, the newer
    one, never with an older mod; removed on one side and changed on the other, the
    changed one. Exits 1 (git then reports a conflict) when a lock cannot be read.
    """
    from ..lockmerge import merge_files, resolve_conflicted
    from ..package import write_atomic

    if (conflicted is None) == (len(files) == 0) or (files and len(files) != 3):
        raise click.UsageError("give BASE OURS THEIRS, or --resolve PATH")
    console = Console(quiet)
    with console.reporting():
        if conflicted is not None:
            merged = resolve_conflicted(conflicted)
            if merged is None:
                console.out(f"{conflicted} has no merge conflict: nothing to resolve")
                return
            write_atomic(conflicted, merged.encode())
            console.out(f"resolved {conflicted}; check it with `deckbuilder validate`, then "
                        f"`git add {conflicted}`", fg="green")
        else:
            base, ours, theirs = files
            write_atomic(ours, merge_files(base, ours, theirs).encode())
