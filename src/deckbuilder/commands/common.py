"""What every command shares: the DECK_DIR argument and options; printing is in output.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from .output import Console, visible

__all__ = ["DECK_DIR", "FORMAT", "QUIET", "Console", "NonEmptyPath", "visible"]


class NonEmptyPath(click.Path):
    """A path that cannot be empty: `--out ''` would otherwise mean the current folder."""

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value:
            self.fail("the path is empty", param, ctx)
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
