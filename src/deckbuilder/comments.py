"""Card text that YAML cut at a ` #`: the rest of the line is a comment, never on the card.

`front: Which key is the # sign?` puts "Which key is the" on the card and says nothing:
after a space, `#` starts a comment in unquoted YAML text. A comment is what an author
meant after a deck or section key (card-format.md writes `section: Title   # ...`), but
within a card's text it is almost always text lost, so there it is an error that says
how to keep it. Quoted text holds `#` as text, and block text (`|`, `>`) has no comments.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from . import schema
from .errors import Location, Problems
from .model import Section

# The card keys whose value is text, as the format declares them (front, back, cloze,
# extra, source).
_TEXT_KEYS = tuple(key.name for key in schema.CARD_KEYS if key.type == "text")
# The start of a line `[- ]key: value` whose value is plain text (it starts with none of
# the characters that make it quoted, block or flow text, or an anchor, alias or tag); then
# the first ' #' after it. (No pattern here can backtrack: a hostile line of a million
# spaces is read once.)
_HEAD = re.compile(r"[ \t]*+(?:-[ \t]++)?(" + "|".join(_TEXT_KEYS) + r")[ \t]*+:[ \t]++"
                   r"(?=[^\s'\"|>\[{&*!%@`#])")
_CUT = re.compile(r"[ \t]#")


def cut_texts(data: bytes, section: Section, problems: Problems) -> None:
    """Report each card text of ``section`` (loaded from ``data``) that a comment cut."""
    # Most files have no ' #' at all: one search of the bytes each; only the lines that
    # hold one are read, and counted once, in order (a file of such lines stays linear).
    starts = sorted({data.rfind(b"\n", 0, at) + 1 for mark in (b" #", b"\t#")
                     for at in _found(data, mark)})
    found: dict[tuple[int, int], tuple[str, int]] = {}
    number, counted = 1, 0
    for start in starts:
        end = data.find(b"\n", start)
        text = data[start:end if end != -1 else len(data)].decode("utf-8", "replace")
        if (head := _HEAD.match(text)) and (cut := _CUT.search(text, head.end())):
            number += data.count(b"\n", counted, start)
            counted = start
            found[number, head.end() + 1] = (head.group(1), cut.end())
    for card in section.cards if found else ():
        for name, line, column in card.positions:
            at = (card.location.line + line, column)
            if name in _TEXT_KEYS and found.get(at, ("",))[0] == name:
                problems.error(Location(card.location.path, at[0], found[at][1]),
                               f"'{name}': the text after ' #' is a YAML comment and would "
                               "be left off the card; to keep it, put the whole text between "
                               "quotes (a comment goes on a line of its own)")


def _found(data: bytes, mark: bytes) -> Iterator[int]:
    """Where ``mark`` is in ``data``, the first on each line."""
    at = data.find(mark)
    while at != -1:
        yield at
        end = data.find(b"\n", at)
        at = data.find(mark, end) if end != -1 else -1
