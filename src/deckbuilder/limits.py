"""What each place a deck's words go to can hold: Anki's fields, deck names and tags, the
lock's lines, file names and the terminal. `validate` checks every value against its place,
so that what it passes, Anki imports and a second build reads back.

Anki's behaviour here was measured with the official ``anki`` library (26.9).
"""

from __future__ import annotations

import math
import re
from typing import Any

# Regular expression classes. Anki separates a note's fields with U+001F and a terminal
# obeys control characters, so texts hold no C0/C1 control but tab and newline. Names,
# titles and tags are one printable line, also because a subdeck name is a line of the
# lock (which splits lines as str.splitlines does).
NOT_IN_TEXT = r"\x00-\x08\x0b-\x1f\x7f-\x9f"
NOT_IN_LINE = r"\x00-\x1f\x7f-\x9f\u2028\u2029"
_NOT_IN = {"text": re.compile(f"[{NOT_IN_TEXT}]"), "line": re.compile(f"[{NOT_IN_LINE}]")}
_LINE_BREAKS = "\t\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"
# A package is `<deck id>.apkg`, a --split one `<deck id>--<file name>.apkg`; a file name
# holds at most 255 bytes on every common file system, and a package is first written as
# `.<name>.<16 hex digits>.tmp` beside it (package.create_exclusive), 22 bytes longer.
MAX_FILE_NAME = 255
MAX_PACKAGE_NAME = MAX_FILE_NAME - len("..0123456789abcdef.tmp")
# Anki makes cards for c1 to c500 only: c501 and above share the card of c500.
MAX_CLOZE_NUMBER = 500
# Anki trims spaces and ':' from both ends of each level of a deck name ("A:::B" is "A::B",
# "A::" is "A::blank"), so such a name would not be the deck Anki creates.
_TRIMMED = re.compile(r"^[\s:]+|[\s:]+$")


def shown(value: str) -> str:
    """``value`` safe to quote in a one-line message: line breaks and controls escaped."""
    return _NOT_IN["line"].sub(lambda m: m.group().encode("unicode_escape").decode(), value)


def character_problem(value: str, one_line: bool) -> str:
    """Why ``value`` cannot be a text (or, ``one_line``, a name), or ''."""
    bad = _NOT_IN["line" if one_line else "text"].search(value)
    if bad is None:
        return ""
    character = bad.group()
    code = f"U+{ord(character):04X}"
    if character == "\x1f":
        return f"contains {code}, which Anki uses to separate a note's fields"
    if one_line and character in _LINE_BREAKS:
        return f"must be one line: it contains the line break or tab {code}"
    if character == "\r":
        return f"contains a carriage return ({code}); end lines with a newline only"
    return f"contains the control character {code}; remove it"


def deck_name_problem(name: str) -> str:
    """What makes ``name`` another deck once Anki has read it, or ''."""
    if any(not level or _TRIMMED.sub("", level) != level for level in name.split("::")):
        return (f"deck name '{shown(name)}' has an empty level, or one that starts or ends "
                "with a space or ':'; Anki would trim it and create a deck of another name")
    if name.split("::")[0].casefold() == "default":
        return (f"deck name '{shown(name)}' is Anki's own 'Default' deck (deck names ignore "
                "case): every profile has it, and the deck's cards would mix with the "
                "learner's; choose another name")
    return ""


def title_problem(title: str) -> str:
    """What a section title cannot be, as the last level of the subdeck `Deck::NN Title`."""
    if "::" in title:
        return "a section title cannot contain '::' (Anki would nest it as another subdeck level)"
    if title.endswith(":"):
        return "a section title cannot end with ':' (Anki would drop it from the subdeck's name)"
    return ""


def tag_problem(tag: str) -> str:
    """What Anki would not keep of ``tag`` as written, or ''."""
    if not tag.strip():
        return "a tag must not be empty"
    if problem := character_problem(tag, one_line=True):
        return f"tag '{shown(tag)}' {problem}"
    if re.search(r"\s", tag):
        return f"tag '{tag}' contains a space; Anki tags are single words (use '-')"
    if '"' in tag:
        return f"tag '{tag}' contains a double quote"
    if any(not part for part in tag.split("::")):
        return f"tag '{tag}' has an empty level around '::'"
    return ""


def file_name_problem(name: str) -> str:
    """Why ``name`` cannot be a package's file name, or ''."""
    size = len(name.encode())
    if size > MAX_PACKAGE_NAME:
        return (f"is {size} bytes; a package name holds at most {MAX_PACKAGE_NAME} (a file "
                f"name holds {MAX_FILE_NAME}, and the package is written first under a name "
                f"{MAX_FILE_NAME - MAX_PACKAGE_NAME} bytes longer)")
    return ""


def finite_number(written: str) -> float | None:
    """A YAML number as written, or None for 0x1f, .inf, 1.0e+400, a 400-digit integer."""
    try:
        number = float(written.replace("_", ""))
    except ValueError:
        return None
    return number if math.isfinite(number) else None


# A plain integer with a leading zero: YAML 1.1 (PyYAML) reads it as octal (017 is 15,
# 0_365 is 245), YAML 1.2 (editors, check-jsonschema) as decimal (17): whichever the
# author meant, one of the two reads another number.
_LEADING_ZERO = re.compile(r"[-+]?0[0-7_]*[0-9][0-9_]*")


def leading_zero_problem(name: str, written: str) -> str:
    """Why the number ``written`` for setting ``name`` reads as two numbers, or ''
    (a leading zero, or an underscore: YAML 1.1 reads 1_000 as 1000, YAML 1.2 as text)."""
    if not _LEADING_ZERO.fullmatch(written):
        plain = written.replace("_", "")
        return (f"'{name}' is written {written}: YAML 1.1 (PyYAML) reads it as {plain}, "
                f"YAML 1.2 (editors) as text; write {plain}") if plain != written else ""
    digits = written.replace("_", "")
    decimal = int(digits, 10)
    octal = int(digits, 8) if set(digits.lstrip("+-")) <= set("01234567") else None
    editors = "as text" if "_" in written else f"as {decimal}"
    if octal == decimal and "_" not in written:  # 07: the same number either way
        return ""
    pyyaml = f"as the octal {octal}" if octal is not None else "as text"
    return (f"'{name}' is written {written}, with a leading zero: YAML 1.1 (PyYAML) reads "
            f"it {pyyaml}, YAML 1.2 (editors) {editors}; write {decimal}")


# YAML 1.1 (PyYAML, `validate`) reads these plain words as booleans, YAML 1.2 (editors,
# check-jsonschema) as text: a flag takes either reading, quoted or not, so both agree.
# Here because a flag is a card's (`reverse`), the deck's (`html`) and an option's.
YAML_BOOLEANS = tuple(f(word) for word in ("yes", "no", "true", "false", "on", "off")
                      for f in (str.lower, str.title, str.upper))
TRUE_WORDS = frozenset(w for w in YAML_BOOLEANS if w.lower() in ("yes", "true", "on"))
FLAG_SCHEMA: dict[str, Any] = {"enum": [True, False, *YAML_BOOLEANS]}
