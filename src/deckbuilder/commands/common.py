"""What every command shares: the DECK_DIR argument, options, and printing problems."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from ..errors import Problem

DECK_DIR = click.argument("deck_dir", default="cards", type=click.Path(path_type=Path))
FORMAT = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
                      show_default=True, help="How to print problems: text, or JSON for editors.")
QUIET = click.option("-q", "--quiet", is_flag=True, help="Print only problems.")


def _color() -> bool | None:
    return False if os.environ.get("NO_COLOR") else None


def echo(message: str = "", err: bool = False, **style: Any) -> None:
    click.echo(click.style(message, **style) if style else message, err=err, color=_color())


def print_problems(problems: list[Problem], fmt: str, err: bool = False) -> None:
    from ..errors import summary

    if fmt == "json":
        click.echo(json.dumps([p.as_json() for p in problems], indent=2))
        return
    for problem in problems:
        color = "red" if problem.severity == "error" else "yellow"
        echo(str(problem), err=err, fg=color)
    if problems:
        echo(summary(problems), err=err, bold=True)


@contextlib.contextmanager
def reporting(fmt: str = "text", err: bool = True) -> Iterator[None]:
    """Turn the library's exceptions into printed problems and exit status 1."""
    from ..errors import DeckbuilderError, InvalidDeck

    try:
        yield
    except InvalidDeck as exc:
        print_problems(exc.problems, fmt, err=err)
        sys.exit(1)
    except DeckbuilderError as exc:
        echo(f"error: {exc}", err=True, fg="red")
        sys.exit(1)
