"""What a YAML syntax error means for a deck author, and where to fix it.

libyaml names what its grammar expected ("did not find expected key"), at the place
where it gave up, which is often a line after the mistake. Deck authors make a handful
of mistakes: a line indented too far or not far enough, a text with ': ' in it, a text
that starts with a character YAML reserves ('!', '[', '*', '|', '@'...), a tab, a quote
never closed. ``diagnose`` recognises them from the error, the text and the tokens
libyaml read before it failed, and says what to change, at the character to change.
Anything else keeps libyaml's words, so no error is ever lost.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from typing import Any

import yaml

from .yamlindent import indentation_message, short

try:  # the same scanner as the loader, so tokens end where the loader's error began
    from yaml import CSafeLoader as _Scanner
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Scanner  # type: ignore[assignment]

# libyaml ends a line at any of these (so do its line numbers)
_BREAKS = "\r\n\x85\u2028\u2029"
_READ_AS = {
    "!": "a YAML tag", "&": "a YAML anchor (a name for the value)",
    "*": "a YAML alias (a reference to an anchor)", "[": "a YAML list", "{": "a YAML mapping",
    "|": "the start of a block of text on the lines below",
    ">": "the start of a folded block of text on the lines below",
}
# and why, when there is a reason
_RESERVED = {"@": "", "`": "", "%": " for directives", ",": " in lists", "]": " to end a list",
             "}": " to end a mapping"}
_SCANNING = {"while scanning a tag", "while scanning an alias", "while scanning an anchor",
             "while scanning a block scalar"}
_LONGEST_SUGGESTION = 70
BREAK = re.compile("\r\n|[" + _BREAKS + "]")  # one line end, as libyaml counts lines
_BLOCK_START = re.compile(r":\s+([|>][-+0-9]*)\s*(?:#.*)?$")  # 'back: |' ends its line
_LINES_BACK = 2000  # past that many lines, scan from the top
SCAN_FROM_TOP = 256 * 1024  # an error within the file's first characters: exact, and fast
# what may stand before a value that the suggestion quotes: '- ' items and a key and ':'
_VALUE_AFTER = re.compile(r"""(?:- +)*(?:(?:"[^"]*"|'[^']*'|[^\s#'"?:,\[\]{}|>!&*%@`-]"""
                          r"""(?:[^#\[\]{},"':]|:(?! ))*?) *:)?|(?:- *)+""")
# a line where a block node starts: '- ' or a plain or quoted key and ': '
_STARTS_NODE = re.compile(r"""-(?: |$)|(?:"[^"]*"|'[^']*'|[^\s#'"?:,\[\]{}|>!&*%@`-][^#]*?)"""
                          r":(?:\s|$)")


@dataclass(frozen=True)
class Diagnosis:
    """One located message for one syntax error; ``since`` (line, column) is where the
    misread text starts: what the loader said about the file from there on was about
    text it misread, and is not worth a message of its own."""

    line: int
    column: int
    message: str
    since: tuple[int, int]


class _Text:
    """The file's text with libyaml's idea of lines: 0-based indexes, 1-based positions."""

    def __init__(self, text: str) -> None:
        self.text = text

    def line_span(self, index: int) -> tuple[int, int]:
        start = max(self.text.rfind(c, 0, index) for c in _BREAKS) + 1
        ends = [e for e in (self.text.find(c, index) for c in _BREAKS) if e >= 0]
        return start, min(ends, default=len(self.text))

    def line(self, index: int) -> str:
        start, end = self.line_span(index)
        return self.text[start:end]

    def lines(self) -> list[str]:
        return re.split("\r\n|[" + _BREAKS + "]", self.text)


def diagnose(text: str, error: yaml.MarkedYAMLError) -> Diagnosis:
    """The message for ``error`` raised while loading ``text``, placed at the mistake."""
    mark = error.problem_mark or error.context_mark
    if mark is None:  # pragma: no cover - libyaml marks every error
        return Diagnosis(1, 1, _plain(error), (1, 1))
    found = _Diagnoser(_Text(text), error).run()
    return found or _at(mark, _plain(error))


def _plain(error: yaml.MarkedYAMLError) -> str:
    """libyaml's own words, for the errors deck authors rarely make."""
    problem = error.problem or error.context or ""
    context = f" ({error.context})" if error.context and error.problem else ""
    return f"invalid YAML: {problem}{context}"


def _at(mark: Any, message: str, since: Any = None) -> Diagnosis:
    start = since or mark
    return Diagnosis(mark.line + 1, mark.column + 1, message, (start.line + 1, start.column + 1))


class _Diagnoser:
    def __init__(self, text: _Text, error: yaml.MarkedYAMLError) -> None:
        self.text = text
        self.error = error
        self.problem = error.problem or ""
        self.context = error.context or ""
        self.mark: Any = error.problem_mark or error.context_mark

    def char(self, mark: Any) -> str:
        return self.text.text[mark.index : mark.index + 1]

    def run(self) -> Diagnosis | None:
        mark, context_mark = self.mark, self.error.context_mark
        if self.char(mark) == "\t" or "tab" in self.problem:
            return _at(mark, "invalid YAML: a tab in the indentation; YAML indents with "
                       "spaces only: replace the tab with spaces")
        if self.context.endswith("a quoted scalar") and context_mark is not None:
            return self.quoted(context_mark)
        if self.context in _SCANNING and context_mark is not None:
            return self.starts_with(context_mark)
        if (self.problem == "found character that cannot start any token" or
                self.context == "while parsing a block node") and \
                self.char(mark) in _RESERVED and self.char(mark).strip():
            return self.starts_with(mark)
        if self.problem.startswith("mapping values are not allowed"):
            return self.colon()
        if self.context.startswith("while parsing a flow") and context_mark is not None \
                and self.char(context_mark) in "[{" and context_mark.line < mark.line:
            return self.starts_with(context_mark, "and it is never closed", closes=True)
        if self.problem.startswith("did not find expected") and \
                self.context.startswith("while parsing a block"):
            return self.unexpected()
        if self.problem == "could not find expected ':'" and context_mark is not None:
            return self.not_a_key(context_mark)
        return None

    def quoted(self, opening: Any) -> Diagnosis | None:
        quote = self.char(opening)
        if self.problem.startswith("found unexpected end of stream"):
            return _at(opening, f"invalid YAML: the quote {quote} here is never closed, so the "
                       f"rest of the file is read as its text; end the text with {quote}")
        if self.problem.startswith("found unexpected document indicator"):
            return _at(opening, f"invalid YAML: the quote {quote} here is not closed before "
                       f"the '---' on line {self.mark.line + 1}; end the text with {quote}")
        if "escape" in self.problem or "hexdecimal" in self.problem:
            return _at(self.mark, "invalid YAML: in a text between double quotes, '\\' starts "
                       "an escape such as \\n or \\\"; write \\\\ for a backslash, or use "
                       "single quotes", opening)
        return None

    def starts_with(self, start: Any, why: str = "", closes: bool = False) -> Diagnosis:
        """A value that begins with an indicator character it was not meant to have; or,
        ``closes``, a list or mapping left open, which may be meant (`tags: [a, b`)."""
        first = self.char(start)
        why = f", {why}" if why else ""
        read_as = f"is read as {_READ_AS[first]}" if first not in _RESERVED else \
            f"is refused: YAML reserves '{first}'{_RESERVED[first]}"
        advice = self.quote_advice(start.index)
        if closes:
            line, value = self.written(start.index)
            closer = "]" if first == "[" else "}"
            what = "a list" if first == "[" else "a mapping"
            closed = f"{line}{value}{closer}"
            shown = f": {closed}" if len(closed) <= _LONGEST_SUGGESTION else ""
            advice = f"if it is {what}, end it with '{closer}'{shown}; {advice}"
        return _at(start, f"invalid YAML: a value that starts with '{first}' {read_as}{why}; "
                   f"{advice}")

    def written(self, value_index: int) -> tuple[str, str]:
        """What the line has before the value (key and all), and the value up to a comment."""
        start, end = self.text.line_span(value_index)
        before = self.text.text[start:value_index].strip()
        # ' #' ends a plain text in YAML: what follows is a comment, not the text
        value = re.split(r"\s#", self.text.text[value_index:end], maxsplit=1)[0].rstrip()
        return (f"{before} " if before else ""), value

    def quote_advice(self, value_index: int) -> str:
        """'quote the whole text: front: "..."', the line as it should be written."""
        before, value = self.written(value_index)
        if '"' in value and "'" not in value:
            quoted = f"'{value}'"
        else:
            quoted = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        suggestion = f"{before}{quoted}"
        # only where the value starts right after 'key:' or '- ': after a tag, an anchor, a
        # quoted text or inside a list or mapping, the quotes would not hold the whole text
        if len(suggestion) > _LONGEST_SUGGESTION or not _VALUE_AFTER.fullmatch(before.strip()):
            return "to write it as text, put the whole text between quotes"
        return f"to write it as text, put the whole text between quotes: {suggestion}"

    def colon(self) -> Diagnosis | None:
        """': ' where YAML cannot start another key: inside a text, or on a line that
        continues the text above it (indented too far, or no space after a ':')."""
        tokens = _tokens_before(self.text.text, self.mark)
        if not tokens or not isinstance(tokens[-1], yaml.ScalarToken) or tokens[-1].style:
            return None
        scalar = tokens[-1]
        key = _key_of(tokens)
        if scalar.start_mark.line == self.mark.line:
            owner = f"the text of '{short(key)}'" if key else "this text"
            return _at(self.mark, f"invalid YAML: {owner} has ': ' in it, which YAML reads "
                       f"as the start of another key; "
                       f"{self.quote_advice(scalar.start_mark.index)}", scalar.start_mark)
        first_line = self.text.line(scalar.start_mark.index)
        if key is None and (glued := re.search(r":(?=[^\s])", first_line)):
            return Diagnosis(scalar.start_mark.line + 1, glued.start() + 1,
                             "invalid YAML: a key needs a space after its ':' (write "
                             "'key: value', not 'key:value')",
                             (scalar.start_mark.line + 1, 1))
        found = self.indentation(continues=key)
        return found and Diagnosis(found.line, found.column, found.message,
                                   (scalar.start_mark.line + 1, scalar.start_mark.column + 1))

    def unexpected(self) -> Diagnosis | None:
        """libyaml found a token it did not expect: after a complete value on the same
        line (a list, a mapping or a quoted text followed by more), or at the start of a
        line that is not indented like the lines it belongs with."""
        tokens = _tokens_before(self.text.text, self.mark, flows=True)
        last = tokens[-1] if tokens else None
        if isinstance(last, tuple):  # a flow collection closed on this line
            opened, closed = last
            if closed.end_mark.line == self.mark.line:
                end = closed.start_mark
                return self.starts_with(opened.start_mark, f"which ends at the "
                                        f"'{self.char(end)}' in column {end.column + 1}")
            if (below := self.below_a_value(tokens, opened, closed)) is not None:
                return below
        if isinstance(last, yaml.ScalarToken) and last.style in ("'", '"') and \
                last.end_mark.line == self.mark.line:
            return self.closed_early(last)
        line = self.text.line(self.mark.index)
        if line[: self.mark.column].strip(" -") == "":
            return self.indentation()
        return None

    def below_a_value(self, tokens: list[Any], opened: Any, closed: Any) -> Diagnosis | None:
        """List items indented under a key whose value, a list or mapping, is on its own
        line: `cards: []` (as `deckbuilder new` writes it) with the cards written below it.
        The fix is the value, not the items' indentation. (A key indented under it is a
        sibling indented too far: the indentation's message says so.)"""
        key = tokens[-3] if _key_of(tokens) is not None else None
        line = self.text.line(self.mark.index)
        item = line.lstrip(" ")
        if key is None or closed.end_mark.line >= self.mark.line or \
                len(line) - len(item) <= key.start_mark.column or \
                not (item[:2] == "- " or item.rstrip() == "-"):
            return None
        value = self.text.text[opened.start_mark.index : closed.end_mark.index]
        return _at(opened.start_mark, f"invalid YAML: '{short(key.value)}' has its value "
                   f"'{short(value)}' on this line, so the lines indented under it (from line "
                   f"{self.mark.line + 1}) belong to nothing; to make them its value, write "
                   f"nothing after '{short(key.value)}:'")

    def closed_early(self, scalar: Any) -> Diagnosis:
        quote = scalar.style
        opening, closing = scalar.start_mark, scalar.end_mark
        if opening.line < closing.line:
            return _at(opening, f"invalid YAML: the quote {quote} here is not closed on its "
                       f"line, so the text runs on to the {quote} on line {closing.line + 1}; "
                       f"end the text with {quote} on line {opening.line + 1}")
        other = "'" if quote == '"' else '"'
        return Diagnosis(closing.line + 1, closing.column, "invalid YAML: the text between "
                         f"{quote} ends here, and more follows it; to put a {quote} inside "
                         f"a text, quote the whole text with {other} instead",
                         (opening.line + 1, opening.column + 1))

    def not_a_key(self, start: Any) -> Diagnosis:
        line = self.text.line(start.index)
        if glued := re.search(r":(?=[^\s])", line):
            return Diagnosis(start.line + 1, glued.start() + 1, "invalid YAML: a key needs a "
                             "space after its ':' (write 'key: value', not 'key:value')",
                             (start.line + 1, 1))
        lines = self.text.lines()[: start.line]
        number = next((n for n in range(len(lines) - 1, -1, -1) if lines[n].strip()), -1)
        if number >= 0 and (block := _BLOCK_START.search(lines[number])):
            return _at(start, f"invalid YAML: the lines of the block of text that "
                       f"'{block.group(1)}' starts on line {number + 1} must be indented "
                       "more than its key")
        return _at(start, "invalid YAML: this line is neither 'key: value' nor '- item'; a "
                   "text that goes on over several lines must be indented more than its key")

    def indentation(self, continues: str | None = None) -> Diagnosis | None:
        lines = self.text.lines()
        number = self.mark.line
        message = indentation_message(lines, number, continues)
        if message is None:
            return None
        column = len(lines[number]) - len(lines[number].lstrip(" ")) + 1
        return Diagnosis(number + 1, column, f"invalid YAML: {message}", (number + 1, 1))


def _tokens_before(text: str, error: Any, flows: bool = False) -> list[Any]:
    """The last tokens libyaml reads before the ``error`` mark; with ``flows``, a flow
    collection that closes is replaced by (its opening token, its closing token).
    Scanning starts a few lines above the error, not at the top of a file of megabytes."""
    start = _restart(text, error.index)
    # libyaml's own count of line breaks, so that marks keep its line numbers
    lines_above = error.line - len(BREAK.findall(text, start, error.index))
    scanner = _Scanner(text[start:])
    recent: deque[Any] = deque(maxlen=4)
    # the tokens of the flow collections still open, apart: a long `tags: [a, b, ...]`
    # closed on a line above must not push its key out of ``recent``
    inside: deque[Any] = deque(maxlen=4)
    opened: list[Any] = []
    try:
        while (token := scanner.get_token()) is not None and \
                token.start_mark.index + start < error.index:
            if flows and isinstance(token, (yaml.FlowSequenceStartToken,
                                            yaml.FlowMappingStartToken)):
                opened.append(token)
            elif flows and opened and isinstance(token, (yaml.FlowSequenceEndToken,
                                                         yaml.FlowMappingEndToken)):
                (inside if len(opened) > 1 else recent).append((opened.pop(), token))
                continue
            (inside if opened else recent).append(token)
        recent.extend(inside if opened else ())
    except yaml.YAMLError:
        pass
    finally:
        scanner.dispose()
    # Only the tokens kept are placed in the whole text: a full scan reads millions.
    for token in {id(t): t for item in recent for t in
                  (item if isinstance(item, tuple) else (item,))}.values():
        token.start_mark = _moved(token.start_mark, start, lines_above)
        token.end_mark = _moved(token.end_mark, start, lines_above)
    return list(recent)


def _key_of(tokens: list[Any]) -> str | None:
    """The key whose value is the last token: ``key``, ``:``, value."""
    if len(tokens) >= 3 and isinstance(tokens[-2], yaml.ValueToken) and \
            isinstance(tokens[-3], yaml.ScalarToken):
        return str(tokens[-3].value)
    return None


def _restart(text: str, index: int) -> int:
    """Where scanning can start afresh: the nearest line above ``index``'s that starts a
    key or a list item and is indented no more than any line after it (the lines of a
    block of text or of a long plain text are indented more than their key). A text
    in quotes may span lines that look like keys, so only a big file starts there."""
    if index < SCAN_FROM_TOP:
        return 0
    end = max(text.rfind(c, 0, index) for c in _BREAKS)  # the line before the error's
    lowest = 1 << 30
    for _ in range(_LINES_BACK):
        if end < 0:
            return 0
        start = max(text.rfind(c, 0, end) for c in _BREAKS) + 1
        line = text[start:end]
        indent = len(line) - len(line.lstrip(" "))
        if line.strip() and not line.lstrip(" ").startswith("#"):
            if indent <= lowest and _STARTS_NODE.match(line, indent):
                return start
            lowest = min(lowest, indent)
        end = start - 1
        if end > 0 and text[end - 1 : end + 1] == "\r\n":
            end -= 1
    return 0


def _moved(mark: Any, start: int, lines_above: int) -> yaml.Mark:
    """A mark of the scanned slice as a mark of the whole text."""
    line = mark.line + lines_above
    return yaml.Mark(mark.name, mark.index + start, line, mark.column, None, 0)
