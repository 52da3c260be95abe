"""What Anki and a card's web view will read in a field's HTML, found with a real tokenizer.

With ``html: true`` an author writes any HTML, so a regular expression for
``src="..."`` misses single-quoted, unquoted, upper-case and ``srcset`` sources, and
comments or ``<script>`` text can look like tags. The standard library's HTML parser
finds the tags the way a browser does; within a tag that loads a file, each
attribute's value is found by the HTML tokenizer's own rules, so only that value is
rewritten and the rest of the field keeps its exact bytes.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser

from .limits import shown

# Attributes whose value is a file the card loads as it is shown (``href`` only loads on
# these tags, or sets the base of every relative URL; on <a> it is a link the learner may
# follow, which loads nothing).
_LOADS = frozenset({"src", "srcset", "poster", "data", "background", "lowsrc", "dynsrc"})
_LOADS_HREF = frozenset({"link", "image", "use", "feimage", "script", "base"})
_HREFS = frozenset({"href", "xlink:href"})
# SVG animation can set any attribute, a link's included, to a value of its own.
_SVG_ANIMATION = frozenset({"set", "animate", "animatemotion", "animatetransform"})
_CSS_URL = re.compile(r"url\s*\(|@import|image-set\s*\(", re.IGNORECASE)
_SPACE = " \t\n\r\f"
_UNFINISHED = re.compile(r"<[A-Za-z/!?][^>]*")


@dataclass
class Scan:
    """A field's HTML with every loaded file renamed, the text a reader sees (where Anki
    looks for cloze deletions) and what cannot be checked."""

    html: str
    text: str
    problems: list[str] = field(default_factory=list)


def scan(html_text: str, rename: Callable[[str, str], str]) -> Scan:
    """Rename every file ``html_text`` loads with ``rename(value, tag)`` (which reports its
    problems; the tag says how the file is used: an <img> shows an image)."""
    parser = _Parser(html_text, rename)
    # An unfinished tag or comment at the end is an error anyway, and html.parser would
    # retry each of its '<' up to the end (quadratic: 20 s for 60 KB), so it is not parsed.
    tail = _UNFINISHED.search(html_text, html_text.rfind(">") + 1)
    try:
        parser.feed(html_text[: tail.start()] if tail else html_text)
        parser.close()
    except (AssertionError, ValueError):  # before Python 3.13 it asserts on `<![x` and such
        parser.problems.append("this HTML cannot be read (a '<!' that starts no comment or "
                               "section?): write '&lt;' for a plain '<'")
    parser.end_of_text()
    if tail:
        parser.problems.append(_unfinished(tail.group()))
    out, pos = [], 0
    for start, end, replacement in parser.edits:
        out += [html_text[pos:start], replacement]
        pos = end
    out.append(html_text[pos:])
    return Scan("".join(out), "".join(parser.texts), parser.problems)


class _Parser(HTMLParser):
    def __init__(self, source: str, rename: Callable[[str, str], str]) -> None:
        super().__init__(convert_charrefs=False)  # text as written: "&lt;b" is no tag
        self.rename = rename
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", source)]
        self.edits: list[tuple[int, int, str]] = []
        self.texts: list[str] = []
        self.problems: list[str] = []
        self.run: list[str] = []  # text since the last tag, in the pieces the parser gives

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.end_of_text()
        if any(name == "style" and value and _CSS_URL.search(value) for name, value in attrs):
            self.problems.append(f"a style attribute on <{tag}> loads a file with CSS url(); "
                                 "deckbuilder cannot check it: use an image instead")
        if any(name == "srcdoc" for name, _ in attrs) or (
                tag == "meta" and any(name == "http-equiv" for name, _ in attrs)):
            self.problems.append(f"<{tag}> with srcdoc or http-equiv can load what deckbuilder "
                                 "cannot check; leave it out")
        if tag in _SVG_ANIMATION and any(
                name == "attributename" and (value or "").strip().lower() in _HREFS
                for name, value in attrs):
            self.problems.append(f"<{tag}> animates a link, which can load a file "
                                 "deckbuilder cannot check; leave it out")
        loads = _LOADS | _HREFS if tag in _LOADS_HREF else _LOADS
        if not any(name in loads for name, _ in attrs):
            return
        text = self.get_starttag_text() or ""
        line, column = self.getpos()
        start = self.line_starts[line - 1] + column
        new = _rewrite_tag(text, loads, lambda value: self.rename(value, tag))
        if new != text:
            self.edits.append((start, start + len(text), new))

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag: str) -> None:
        self.end_of_text()

    def handle_comment(self, data: str) -> None:
        self.end_of_text()

    def handle_data(self, data: str) -> None:
        self.texts.append(data)
        self.run.append(data)

    def end_of_text(self) -> None:
        """Check the text between two tags (the parser hands it over in pieces)."""
        text, self.run = "".join(self.run), []
        cdata = getattr(self, "cdata_elem", None)  # inside <script> or <style>
        if cdata == "style" and _CSS_URL.search(text):
            self.problems.append("a <style> element loads a file with CSS url() or @import; "
                                 "deckbuilder cannot check it: use an image instead")
        if cdata is None and (unfinished := _UNFINISHED.search(text)):
            self.problems.append(_unfinished(unfinished.group()))


def _rewrite_tag(text: str, loads: frozenset[str] | set[str],
                 rename: Callable[[str], str]) -> str:
    """The start tag ``text`` with the value of each attribute in ``loads`` renamed.

    Follows the HTML tokenizer's attribute states: names end at space, '/', '>' or '=';
    a value is double-quoted, single-quoted or runs to space or '>'.
    """
    out, pos, n = [], 0, len(text)
    i = 1
    while i < n and text[i] not in _SPACE + "/>":  # the tag name
        i += 1
    while i < n:
        while i < n and text[i] in _SPACE + "/":
            i += 1
        if i >= n or text[i] == ">":
            break
        name_start = i
        i += 1  # a name may start with '='
        while i < n and text[i] not in _SPACE + "/>=":
            i += 1
        name = text[name_start:i].lower()
        j = i
        while j < n and text[j] in _SPACE:
            j += 1
        if j >= n or text[j] != "=":
            continue
        j += 1
        while j < n and text[j] in _SPACE:
            j += 1
        start = j  # of the value, with its quotes
        if j < n and text[j] in "\"'":
            close = text.find(text[j], j + 1)
            i = n if close < 0 else close + 1
            value = text[j + 1 : i - 1]
        else:
            while j < n and text[j] not in _SPACE + ">":
                j += 1
            i = j
            value = text[start:i]
        if name in loads:
            value = html.unescape(value)
            renamed = _rename_srcset(value, rename) if name == "srcset" else rename(value)
            if renamed != value:
                out += [text[pos:start], '"' + _escape(renamed) + '"']
                pos = i
    out.append(text[pos:])
    return "".join(out)


def _rename_srcset(value: str, rename: Callable[[str], str]) -> str:
    """``srcset``: comma-separated candidates, each a URL and an optional descriptor."""
    candidates = []
    for candidate in value.split(","):
        url, _, descriptor = candidate.strip().partition(" ")
        if url:
            candidates.append(" ".join(filter(None, (rename(url), descriptor.strip()))))
    return ", ".join(candidates)


def _escape(value: str) -> str:
    """As markdown-it escapes an attribute, so a Markdown image keeps its exact HTML."""
    return (value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def _unfinished(html_text: str) -> str:
    # The card template goes on after the field, so it would finish this tag or comment:
    # `<img src=http://x` at the end of a field would load a remote image.
    return (f"unfinished HTML '{shown(html_text[:30])}': end a tag with '>' and a comment with "
            "'-->', or write '&lt;' for a '<'")
