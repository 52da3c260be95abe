"""What every command shares: the DECK_DIR argument and options; printing is in output.py."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from .output import Console, visible

__all__ = ["DECK_DIR", "FORMAT", "QUIET", "Console", "NonEmptyPath", "visible"]


# What pathlib's exists() and is_dir() take for "not there" (Python 3.11 and 3.12): any
# other error (a name too long, a folder that cannot be searched) they raise.
_ABSENT = {errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP}


class NonEmptyPath(click.Path):
    """A path that cannot be empty (`--out ''` would otherwise mean the current folder),
    nor one that cannot even be looked up (a name longer than the system allows)."""

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value:
            self.fail("the path is empty", param, ctx)
        try:
            os.stat(value)
        except OSError as exc:
            if exc.errno not in _ABSENT:
                self.fail(f"cannot use {click.format_filename(value)}: "
                          f"{exc.strerror or exc}", param, ctx)
        except ValueError:  # a NUL byte: click says so below
            pass
        return super().convert(value, param, ctx)


F = TypeVar("F", bound=Callable[..., Any])


def folder_option(default: str, help: str) -> Callable[[F], F]:
    """The --out option of the commands that write files."""
    return click.option("--out", "out_dir", default=default, show_default=True,
                        type=NonEmptyPath(file_okay=False, path_type=Path), help=help)


DECK_DIR = click.argument("deck_dir", default="cards", type=NonEmptyPath(path_type=Path))
FORMAT = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
                      show_default=True, help="How to print problems: text, or JSON for editors.")
QUIET = click.option("-q", "--quiet", is_flag=True, help="Print only problems.")
