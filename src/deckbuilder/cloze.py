"""Cloze deletions: find them and say what is wrong with them.

Every check is one pass over the text or the deletions, so no text can make it slow:
a gap check that walked every number up to the largest hung on {{c99999999999::b}}.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from .limits import MAX_CLOZE_NUMBER

_OPEN = re.compile(r"\{\{c(\d+)::")
# Anything that looks like an opener, `{{ C1 :`, but not the exact form `{{c1::` that Anki
# reads. (No such match can start inside another, so one search finds any.)
_MALFORMED = re.compile(r"\{\{(?!c\d+::)\s*[cC]\s*\d+\s*:")
MAX_DELETIONS = 65_536
_MISSING_SHOWN = 5
# The common cloze text, in which parse_cloze finds nothing wrong: no brace but those of
# deletions c1 to c9 whose text holds no brace and whose answer is not blank. Possessive
# (nothing is tried twice), so any text is read in one pass.
_SIMPLE = re.compile(r"(?:[^{]++|\{\{c[1-9]::(?!\s*+(?:::|\}\}))[^{}]*+\}\})*+")
_SIMPLE_NUMBER = re.compile(r"\{\{c([1-9])::")


class Deletion(NamedTuple):  # a NamedTuple: a third of a frozen dataclass's cost
    number: int
    answer: str
    hint: str


def simple_numbers(text: str) -> tuple[int, ...] | None:
    """The sorted deletion numbers of a text of the common form with nothing wrong in it
    (what parse_cloze would find, a quarter of its time); None: ask parse_cloze."""
    if not _SIMPLE.fullmatch(text):
        return None
    found = _SIMPLE_NUMBER.findall(text)
    numbers = sorted(set(found))
    # one deletion at least, not too many, numbered from 1 without gaps
    if not numbers or len(found) > MAX_DELETIONS or int(numbers[-1]) != len(numbers):
        return None
    return tuple(map(int, numbers))


def parse_cloze(text: str) -> tuple[list[Deletion], list[str]]:
    """The deletions of ``text`` and a message for each thing Anki would get wrong."""
    deletions: list[Deletion] = []
    problems: list[str] = []
    if _MALFORMED.search(text):
        problems.append("malformed cloze: write deletions as {{c1::answer}}")
    pos = 0
    while (match := _OPEN.search(text, pos)) is not None:
        written = match.group(1) if len(match.group(1)) <= 12 else match.group(1)[:12] + "..."
        if len(deletions) == MAX_DELETIONS:
            problems.append(f"a cloze may have at most {MAX_DELETIONS:,} deletions")
            break
        digits = match.group(1).lstrip("0") or "0"  # Anki reads c01 as c1
        number = int(digits) if len(digits) < 10 else MAX_CLOZE_NUMBER + 1  # no int("9" * 5000)
        end = text.find("}}", match.end())
        inner_open = _OPEN.search(text, match.end(), end if end >= 0 else len(text))
        if end < 0:
            problems.append(f"cloze deletion c{written} is not closed with }}}}")
            break
        if inner_open is not None:
            problems.append(f"cloze deletion c{written} contains another deletion; "
                            "nesting is not supported")
            break
        body = text[match.end() : end]
        answer, _, hint = body.partition("::")
        if number == 0:
            problems.append("cloze numbers start at c1, not c0")
        elif number > MAX_CLOZE_NUMBER:
            problems.append(f"cloze number c{written} is too big: Anki makes cards for "
                            f"c1 to c{MAX_CLOZE_NUMBER} only")
            number = 0  # not a card; kept out of the gap check
        if not answer.strip():
            problems.append(f"cloze deletion c{written} is empty")
        elif answer.count("{") > answer.count("}"):
            problems.append(f"cloze deletion c{written} ends at the first '}}}}', which "
                            "is inside braces here; in maths write '} }' with a space")
        deletions.append(Deletion(number, answer, hint))
        pos = end + 2
    if not deletions and not problems:
        problems.append("cloze text has no deletion; mark one as {{c1::answer}}")
    numbers = sorted({d.number for d in deletions if d.number > 0})
    # distinct numbers from 1 whose largest is their count are 1..n: nothing is missing
    missing = _missing(numbers) if numbers and numbers[-1] != len(numbers) else []
    if missing:
        listed = ", ".join(f"c{n}" for n in missing[:_MISSING_SHOWN])
        more = f" and {len(missing) - _MISSING_SHOWN} more" if len(missing) > _MISSING_SHOWN \
            else ""
        problems.append(f"cloze numbers must run from c1 without gaps: {listed}{more} missing")
    return deletions, problems


def _missing(numbers: list[int]) -> list[int]:
    """The numbers from 1 to the largest that ``numbers`` (sorted, distinct) lacks; the
    largest is at most MAX_CLOZE_NUMBER, so the list is short."""
    present = set(numbers)
    return [n for n in range(1, (numbers[-1] if numbers else 0) + 1) if n not in present]
