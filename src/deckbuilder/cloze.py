"""Cloze deletions: find them and say what is wrong with them."""

from __future__ import annotations

import re
from dataclasses import dataclass

_OPEN = re.compile(r"\{\{c(\d+)::")
_LOOKS_LIKE = re.compile(r"\{\{\s*[cC]\s*\d+\s*:(?!:)|\{\{\s*C\d+::|\{\{c\d+\s+::")


@dataclass(frozen=True)
class Deletion:
    number: int
    answer: str
    hint: str


def parse_cloze(text: str) -> tuple[list[Deletion], list[str]]:
    """The deletions of ``text`` and a message for each thing Anki would get wrong."""
    deletions: list[Deletion] = []
    problems: list[str] = []
    if _LOOKS_LIKE.search(text):
        problems.append("malformed cloze: write deletions as {{c1::answer}}")
    pos = 0
    while (match := _OPEN.search(text, pos)) is not None:
        number = int(match.group(1))
        end = text.find("}}", match.end())
        inner_open = _OPEN.search(text, match.end())
        if end < 0:
            problems.append(f"cloze deletion c{number} is not closed with }}}}")
            break
        if inner_open is not None and inner_open.start() < end:
            problems.append(f"cloze deletion c{number} contains another deletion; nesting is not "
                            "supported")
            break
        body = text[match.end() : end]
        answer, _, hint = body.partition("::")
        if number == 0:
            problems.append("cloze numbers start at c1, not c0")
        if not answer.strip():
            problems.append(f"cloze deletion c{number} is empty")
        elif answer.count("{") > answer.count("}"):
            problems.append(f"cloze deletion c{number} ends at the first '}}}}', which is inside "
                            "braces here; in maths write '} }' with a space")
        deletions.append(Deletion(number, answer, hint))
        pos = end + 2
    if not deletions and not problems:
        problems.append("cloze text has no deletion; mark one as {{c1::answer}}")
    numbers = sorted({d.number for d in deletions if d.number > 0})
    missing = [n for n in range(1, (numbers[-1] if numbers else 0) + 1) if n not in numbers]
    if missing:
        listed = ", ".join(f"c{n}" for n in missing)
        problems.append(f"cloze numbers must run from c1 without gaps: {listed} missing")
    return deletions, problems
