"""Which lines a misindented line could belong with, read from the lines above it.

YAML's structure is its indentation: a key belongs to the mapping whose keys start in
the same column, a '-' to the list whose dashes do. When libyaml stops at a line, the
columns it could have meant are those of the lines above it that are less indented than
every line between (the line's possible parents and older siblings); naming the nearest
one on each side tells the author which way to move the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DASH = re.compile(r"-(?: +|$)")
# a key as deck files write it: plain or quoted, then ':' and a space or the line's end
# (spaces before the ':' are stripped after the match: '[^#]*?[ \t]*:' took quadratic
# time on a long run of spaces without a ':')
_KEY = re.compile(r"""("[^"]*"[ \t]*|'[^']*'[ \t]*|[^\s#'"?:,\[\]{}|>!&*%@`-][^#]*?):(?=\s|$)""")


@dataclass(frozen=True)
class _Level:
    column: int  # 0-based: the number of spaces before it
    line: int  # 0-based
    key: str | None  # None for a list item's '-'

    def __str__(self) -> str:
        what = f"'{short(self.key)}'" if self.key is not None else "the '-'"
        return f"{what} on line {self.line + 1} ({_spaces(self.column)})"


def indentation_message(lines: list[str], number: int, continues: str | None) -> str | None:
    """Why line ``number`` (0-based) does not fit where it stands, or None when its
    indentation matches a line above (then the mistake is something else).
    ``continues``: the key whose text YAML took the line to continue, if it did."""
    line = lines[number]
    indent = len(line) - len(line.lstrip(" "))
    if line[indent : indent + 1] == "\t":
        return "a tab in the indentation; YAML indents with spaces only: replace it with spaces"
    own = _levels(line, number)
    is_item = bool(own) and own[0].key is None
    what = "this list item" if is_item else (f"'{short(own[0].key)}'" if own and own[0].key
                                             else "this line")
    above = _open_levels(lines, number)
    same_kind = [level for level in above if (level.key is None) == is_item] or above
    if not same_kind or any(level.column == indent for level in same_kind):
        return None
    # the nearest line on each side wins a tie (max and min keep the first one found)
    lower = max((lv for lv in same_kind if lv.column < indent), key=lambda lv: lv.column,
                default=None)
    upper = min((lv for lv in same_kind if lv.column > indent), key=lambda lv: lv.column,
                default=None)
    start = f"{what} is indented {_spaces(indent)}"
    line_up = "line up the '-' of the items of one list" if is_item else \
        "line up the keys of one mapping"
    if lower is not None and upper is not None:
        sides = [f"more than {lower}", f"less than {upper}"]
        if upper.column - indent < indent - lower.column:  # the nearer, likelier one first
            sides.reverse()
        return f"{start}: {' and '.join(sides)}; {line_up}"
    if lower is not None:
        reads = f", so YAML reads it as more of the text of '{short(continues)}'" \
            if continues else ""
        return f"{start}, more than {lower}{reads}; {line_up}"
    return f"{start}, less than {upper}; {line_up}"


def _levels(line: str, number: int) -> list[_Level]:
    """The columns a line opens: one per '-' it starts with, then its key's."""
    column = len(line) - len(line.lstrip(" "))
    rest = line[column:]
    levels = []
    while dash := _DASH.match(rest):
        levels.append(_Level(column, number, None))
        column += dash.end()
        rest = rest[dash.end() :]
    if key := _KEY.match(rest):
        levels.append(_Level(column, number, key.group(1).rstrip(" \t").strip("'\"")))
    return levels


def _open_levels(lines: list[str], number: int) -> list[_Level]:
    """The levels of the lines above ``number`` that are less indented than every line
    between them and it, nearest first; blank lines and comments do not count."""
    found: list[_Level] = []
    limit = 1 << 30  # the indentation of the last line kept
    for above in range(number - 1, -1, -1):
        line = lines[above]
        text = line.lstrip(" ")
        indent = len(line) - len(text)
        if not text.strip() or text.startswith("#") or indent >= limit:
            continue
        limit = indent
        found.extend(_levels(line, above))
        if indent == 0:
            break
    return found


def _spaces(count: int) -> str:
    return f"{count} space{'' if count == 1 else 's'}"


def short(text: str | None) -> str:
    """A key as messages name it: at most 30 characters."""
    text = text or ""
    return text if len(text) <= 30 else text[:29] + "…"
