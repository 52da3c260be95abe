"""What the user sees, owned by one object: ``Console``.

Every command prints through it, so every command follows the same rules:

- stdout carries results (what was written, tables, JSON); stderr carries problems,
  their summary, notes and advice (what to do next). JSON always goes to stdout.
- ``-q`` (``Console(quiet=True)``) drops the text results; problems, notes and JSON stay.
- Exit status: 0 clean, 1 the deck has errors / a build was refused / output failed,
  2 bad usage (click's own errors pass through ``run_main`` here too).
- What is printed may come from a hostile file name: control characters (ESC, CR,
  NUL, newlines), line separators and bidi overrides are shown escaped (``\\x1b``,
  ``\\u202e``), and characters the output's encoding cannot hold are shown as
  backslash escapes instead of raising (``PYTHONIOENCODING=latin-1``).
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import re
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

import click

from ..progress import paused

if TYPE_CHECKING:
    from ..errors import Problem

# C0 and C1 controls (newline included: one call prints one line), line and paragraph
# separators, and the bidi controls that can reorder what a terminal shows.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e"
                     "\u2066-\u2069]")
# Problems shown with their source line; past that many (a file of conflict markers can
# give 10^5), nobody reads them and they would only slow the report down.
EXCERPTS = 1000


def visible(text: str) -> str:
    r"""``text`` with every character that could rewrite a terminal shown as an escape."""
    return _UNSAFE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def _encodable(text: str, stream: TextIO) -> str:
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        return text.encode(encoding, "backslashreplace").decode(encoding)
    except LookupError:  # an encoding Python does not know: ASCII is safe everywhere
        return text.encode("ascii", "backslashreplace").decode("ascii")


class Console:
    """The streams, the escaping and the exit status of one command run."""

    def __init__(self, quiet: bool = False) -> None:
        self.color = False if os.environ.get("NO_COLOR") else None
        self.quiet = quiet
        # What the command made, referenced until the process ends (see ``keep``).
        self.kept: list[object] = []

    def keep(self, made: object) -> None:
        """Keep ``made`` (a build's deck and notes) as long as this Console: the program's
        exit (cli.run) then frees it with the process, not one object at a time (5 ms at
        10,000 cards). Not for a command that runs again in the same process (--watch)."""
        self.kept.append(made)

    def out(self, text: str = "", **style: Any) -> None:
        """A result, on stdout; nothing with ``-q`` (problems and notes still show)."""
        if not self.quiet:
            self._write(sys.stdout, visible(text), style)

    def err(self, text: str = "", **style: Any) -> None:
        """A problem, a summary or a note, on stderr."""
        self._write(sys.stderr, visible(text), style)

    def note(self, text: str) -> None:
        self.err(f"note: {text}", fg="yellow")

    def error(self, text: str) -> None:
        """``error: text``; a message of several lines goes out line by line, indented."""
        first, *more = text.split("\n")
        self.err(f"error: {first}", fg="red")
        for line in more:
            self.err(f"  {line}", fg="red")

    def json(self, data: object, ascii_only: bool = True) -> None:
        """JSON on stdout; JSON escapes control characters itself, and everything but
        ASCII when the output's encoding could not hold the text (still valid JSON)."""
        import json  # only the commands that print JSON pay for it

        text = json.dumps(data, indent=2, ensure_ascii=ascii_only)
        if _encodable(text, sys.stdout) != text:
            text = json.dumps(data, indent=2)
        self._write(sys.stdout, text, {})

    def problems(self, problems: list[Problem], fmt: str = "text") -> None:
        """Problems as JSON on stdout, or as lines and a summary on stderr."""
        from ..errors import summary

        if fmt == "json":
            self.json([p.as_json() for p in problems])
            return
        sources: dict[str, list[str] | None] = {}
        for number, problem in enumerate(problems):
            color = "red" if problem.severity == "error" else "yellow"
            self.err(str(problem), fg=color)
            if number < EXCERPTS:
                self._excerpt(problem, sources, color)
        if problems:
            self.err(summary(problems), bold=True)

    def _excerpt(self, problem: Problem, sources: dict[str, list[str] | None],
                 color: str) -> None:
        """The problem's source line and a caret under its column, indented under it (the
        first line stays ``path:line:column: message`` for editors and pre-commit)."""
        from ..excerpt import excerpt, read_lines

        where = problem.location
        if not where.line:
            return
        if where.path not in sources:  # problems come sorted by path: one file at a time
            sources.clear()  # (a thousand problems in files of 20 MB each held them all)
            sources[where.path] = read_lines(where.path)
        lines = sources[where.path]

        def shown(text: str) -> str:  # as _write will show it, so the caret lines up
            return _encodable(visible(text), sys.stderr)

        if shown_lines := excerpt(lines or [], where.line, where.column, shown):
            source, caret = shown_lines  # one write: a deck with 10^5 problems prints fast
            self._write(sys.stderr, f"{source}\n{click.style(caret, fg=color)}", {})

    def exit(self, code: int = 0) -> NoReturn:
        raise SystemExit(code)

    @contextlib.contextmanager
    def reporting(self, fmt: str = "text") -> Iterator[None]:
        """Turn the library's exceptions into printed problems and exit status 1."""
        from ..errors import DeckbuilderError, InvalidDeck

        try:
            yield
        except InvalidDeck as exc:
            self.problems(exc.problems, fmt)
            self.exit(1)
        except DeckbuilderError as exc:
            self.error(str(exc))
            self.exit(1)

    def usage(self, exc: click.ClickException) -> int:
        """Click's own error (bad usage: status 2), escaped like everything else."""
        buffer = io.StringIO()
        exc.show(file=buffer)
        for line in buffer.getvalue().splitlines():
            self.err(line)
        return exc.exit_code

    @contextlib.contextmanager
    def progress(self, label: str, quiet: bool = False) -> Iterator[None]:
        """A status line for long work on stderr, on a terminal only (see progress.py)."""
        from .. import progress

        with progress.shown(sys.stderr, label, enabled=not quiet):
            yield

    def _write(self, stream: TextIO, text: str, style: dict[str, Any]) -> None:
        text = _encodable(text, stream)
        try:
            with paused():  # a status line never mixes with what is printed
                click.echo(click.style(text, **style) if style else text, file=stream,
                           color=self.color)
        except OSError as exc:  # a full disk, a closed pipe: see run_main
            raise _Unwritable(stream, exc) from None


class _Unwritable(Exception):
    """stdout or stderr refused what the command printed."""

    def __init__(self, stream: TextIO, error: OSError) -> None:
        super().__init__(error.strerror or str(error))
        self.stream, self.error = stream, error


def _lost(exc: _Unwritable) -> int:
    """Exit status 1 for output that could not be written, said on stderr when it is
    stdout that failed (not for a reader gone, as `| head -1`): the command's result is
    not where the user asked for it. The stream is dropped, so that what its buffer
    still holds is not written again (and fails again) at the exit."""
    if exc.stream is sys.stdout:
        sys.stdout = None
        if exc.error.errno != errno.EPIPE:
            with contextlib.suppress(_Unwritable):
                Console().error(f"cannot write to standard output: {exc}")
    elif exc.stream is sys.stderr:
        sys.stderr = None
    return 1


def run_main(main: Callable[..., Any], *args: Any, standalone_mode: bool = True,
             **kwargs: Any) -> Any:
    """Run click's ``main`` with its errors printed by a Console; exits like click."""
    if not standalone_mode:
        return main(*args, standalone_mode=False, **kwargs)
    console = Console()
    try:
        code = main(*args, standalone_mode=False, **kwargs)
    except click.ClickException as exc:
        code = console.usage(exc)
    except click.Abort:
        console.err("Aborted!")
        code = 1
    except _Unwritable as exc:
        code = _lost(exc)
    sys.exit(code if isinstance(code, int) else 0)
