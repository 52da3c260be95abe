"""Every problem deckbuilder reports, and the exceptions that carry them.

One format for all of them: ``path:line:column: message``. The library collects
problems and never prints; the CLI formats them and picks the exit code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

Severity = Literal["error", "warning"]


class Location(NamedTuple):
    """A place in a deck file; line and column are 1-based, 0 when unknown.

    A NamedTuple (immutable, ordered and hashed as the tuple (path, line, column), as the
    frozen ordered dataclass it was): a load makes one per card, and decoding a cache
    entry one more; each costs half of the dataclass's."""

    path: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line:
            return f"{self.path}:{self.line}:{self.column}"
        return self.path


@dataclass(frozen=True, order=True, slots=True)
class Problem:
    """One located finding: an error breaks the build, a warning only advises."""

    location: Location
    message: str
    severity: Severity = "error"
    rule: str = ""

    def __str__(self) -> str:
        rule = f" [{self.rule}]" if self.rule and self.severity == "warning" else ""
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{self.location}: {prefix}{self.message}{rule}"

    def as_json(self) -> dict[str, object]:
        return {
            "path": self.location.path,
            "line": self.location.line,
            "column": self.location.column,
            "severity": self.severity,
            "rule": self.rule or None,
            "message": self.message,
        }


@dataclass
class Problems:
    """Collects problems from every stage, so that one run reports all of them."""

    items: list[Problem] = field(default_factory=list)

    def error(self, location: Location, message: str, rule: str = "") -> None:
        self.items.append(Problem(location, message, "error", rule))

    def warn(self, location: Location, message: str, rule: str) -> None:
        self.items.append(Problem(location, message, "warning", rule))

    def extend(self, problems: list[Problem]) -> None:
        self.items.extend(problems)

    @property
    def errors(self) -> list[Problem]:
        return in_order(p for p in self.items if p.severity == "error")

    @property
    def warnings(self) -> list[Problem]:
        return in_order(p for p in self.items if p.severity == "warning")


def in_order(problems: Iterable[Problem]) -> list[Problem]:
    """Each problem once, by place, then message, severity and rule: the dataclasses' own
    order, compared as plain tuples (their generated __lt__ took 19 s for 250,000)."""
    return sorted(set(problems), key=_order)


def _order(p: Problem) -> tuple[str, int, int, str, str, str]:
    return (p.location.path, p.location.line, p.location.column, p.message, p.severity, p.rule)


def summary(problems: list[Problem]) -> str:
    """'3 errors in 2 files', '1 warning in 1 file', '2 errors and 1 warning in 2 files'."""
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    files = len({p.location.path for p in problems})
    parts = [plural(n, word) for n, word in ((errors, "error"), (warnings, "warning")) if n]
    return f"{' and '.join(parts) or 'no problems'} in {plural(files, 'file')}"


def plural(n: int, word: str) -> str:
    """'1 card', '2 cards'."""
    return f"{n} {word}{'' if n == 1 else 's'}"


class DeckbuilderError(Exception):
    """Base of every exception the library raises on purpose."""


class InvalidDeck(DeckbuilderError):
    """Raised when a deck has errors; carries all of them, sorted."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = in_order(problems)
        super().__init__(summary(self.problems))


class OutputError(DeckbuilderError):
    """Raised when the package, the lock or the cache cannot be written."""


class BadSetting(DeckbuilderError):
    """Raised when an environment setting such as SOURCE_DATE_EPOCH cannot be used."""


class RefusedChange(DeckbuilderError):
    """Raised when a build would change a notetype's fields without the user's consent."""


class CannotCreate(DeckbuilderError):
    """Raised when `deckbuilder new` cannot create a section file; it never overwrites one."""


class SyncUsage(DeckbuilderError):
    """Raised when `sync` cannot tell which collection to use, or it does not exist."""


class CollectionLocked(DeckbuilderError):
    """Raised when Anki (or another program) has the collection open."""


class SyncRefused(DeckbuilderError):
    """Raised when a sync would force a full sync, overwrite Anki-side edits or remove
    many notes without the user's consent; the collection is left untouched."""


class SyncFailed(DeckbuilderError):
    """Raised when the collection does not match the deck after a sync."""
