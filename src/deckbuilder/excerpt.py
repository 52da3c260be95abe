"""The source line of a problem with a caret under its column, as compilers show it.

    cards/01-a.yaml:5:4: invalid YAML: 'back' is indented 3 spaces, ...
      5 |    back: x
        |    ^

Columns count characters, as every location does; the caret is placed by the width
each character takes on a terminal (a tab shows as four spaces, a wide CJK character
as two, a combining accent as none, an escaped control character as its escape).
"""

from __future__ import annotations

import os
import re
import stat
import unicodedata
from collections.abc import Callable

from .source import MAX_FILE_BYTES

TAB = "    "
WIDEST = 100  # a longer line is cut around the caret
_BREAKS = re.compile("\r\n|[\r\n\x85\u2028\u2029]")  # libyaml's line ends: its line numbers


def read_lines(path: str) -> list[str] | None:
    """The lines of a deck file as the loader numbered them, or None when the path is
    not a readable regular file (then the problem is shown without its line)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode) or os.path.getsize(path) > MAX_FILE_BYTES:
            return None
        with open(path, "rb") as file:
            data = file.read()
    except OSError:
        return None
    return _BREAKS.split(data.removeprefix(b"\xef\xbb\xbf").decode("utf-8", "replace"))


def excerpt(lines: list[str], line: int, column: int,
            shown: Callable[[str], str] = str) -> list[str]:
    """Two lines to print under a problem at ``line``:``column`` (1-based): the source
    line and the caret; none when the place is not in ``lines``. ``shown`` is how the
    output will show a character (escaped, when it could harm a terminal)."""
    if not 1 <= line <= len(lines) or column < 1:
        return []
    whole = lines[line - 1]
    # Only the characters near the column can be shown (no character is narrower than
    # none): a line of megabytes under a thousand problems is cut first, not escaped whole.
    cut = max(0, min(column - 1, len(whole)) - WIDEST)
    source = whole[cut : column + WIDEST]
    if source.isascii() and source.isprintable():  # most lines: each character is one column
        pieces, widths = list(source), [1] * len(source)
    else:
        pieces = [TAB if char == "\t" else shown(char) for char in source]
        widths = [sum(_width(char) for char in piece) for piece in pieces]
    at = min(column - 1, len(whole)) - cut  # a caret just past the end marks the line's end
    first, last = _window(widths, at, cut + len(source) < len(whole) or cut > 0)
    text = "".join(pieces[first:last])
    offset = sum(widths[first:at])
    if first > 0 or cut > 0:
        text, offset = "…" + text, offset + 1
    if last < len(pieces) or cut + len(source) < len(whole):
        text += "…"
    number = str(line)
    return [f"  {number} | {text}".rstrip(), f"  {' ' * len(number)} | {' ' * offset}^"]


def _window(widths: list[int], at: int, cut: bool) -> tuple[int, int]:
    """The pieces to show: all of them, or about WIDEST columns with ``at`` inside (always
    when the line was ``cut`` before)."""
    if not cut and sum(widths) <= WIDEST:
        return 0, len(widths)
    first, room = at, WIDEST // 2
    while first > 0 and room - widths[first - 1] >= 0:
        first -= 1
        room -= widths[first]
    last, room = first, WIDEST
    while last < len(widths) and room - widths[last] >= 0:
        room -= widths[last]
        last += 1
    return first, max(last, min(at + 1, len(widths)))


def _width(char: str) -> int:
    """Columns a character takes on a terminal."""
    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
