"""Card text to Anki HTML: Markdown rendered, MathJax kept, media checked and renamed flat."""

from __future__ import annotations

import functools
import hashlib
import html
import os
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from .errors import Location, Problems
from .model import Card, Section

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

MAX_MEDIA_BYTES = 100 * 1024 * 1024
_MATH_OPEN = re.compile(r"\\[(\[]")
_PLACEHOLDER = re.compile("\ue000(\\d+)\ue001")
_NEEDS_MARKDOWN = re.compile(r"[\\`*_\[\]<>&!#~|\n]|^\s*(?:[-+*>]|\d+[.)])|  ")
_BLOCK = re.compile(r"\n|^\s*(?:[-+*]\s|\d+[.)]\s|#{1,6}\s|>|```|~~~)")
_SRC = re.compile(r'(<img\b[^>]*?\bsrc=")([^"]*)(")', re.IGNORECASE)
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class RenderedCard:
    card: Card
    fields: tuple[str, ...]  # Front, Back, Extra, Source; or Text, Extra, Source for cloze


class Renderer:
    def __init__(self, deck_dir: Path, allow_html: bool, problems: Problems) -> None:
        self.deck_dir = deck_dir
        self.root = deck_dir.resolve()
        self.allow_html = allow_html
        self.problems = problems
        self.media: dict[str, Path] = {}
        self._names: dict[str, tuple[str, Path] | str] = {}  # reference -> (name, file) or error

    def section(self, section: Section) -> list[RenderedCard]:
        """Every card's fields as HTML; media found on the way are added to ``self.media``."""
        rendered = []
        for card in section.cards:
            texts = (card.front, card.back) if card.kind != "cloze" else (card.front,)
            names = ("front", "back") if card.kind != "cloze" else ("cloze",)
            fields = [self.field(text, card.at(name))
                      for text, name in zip(texts, names, strict=True)]
            fields.append(self.field(card.extra, card.at("extra")))
            fields.append(self.field(card.source, card.at("source", section.location)))
            rendered.append(RenderedCard(card, tuple(fields)))
        return rendered

    @property
    def md(self) -> MarkdownIt:
        return _markdown(self.allow_html)

    def field(self, text: str, where: Location) -> str:
        """One field's HTML, in Unicode NFC as Anki stores it. Text without Markdown syntax
        skips the renderer."""
        if not unicodedata.is_normalized("NFC", text):
            text = unicodedata.normalize("NFC", text)
        if not text:
            return ""
        if not _NEEDS_MARKDOWN.search(text):
            return text
        maths: list[str] = []

        def keep(math: str) -> str:
            maths.append(math)
            return f"\ue000{len(maths) - 1}\ue001"

        protected = replace_math(text, keep)
        if _BLOCK.search(protected.strip()):
            out = self.md.render(protected).strip()
        else:
            out = self.md.renderInline(protected)
        out = _PLACEHOLDER.sub(lambda m: html.escape(maths[int(m.group(1))], quote=False), out)
        if "<img" in out:
            out = _SRC.sub(lambda m: m.group(1) + self.media_name(m.group(2), where) + m.group(3),
                           out)
        return out

    def media_name(self, src: str, where: Location) -> str:
        """Check a referenced file and return its flat name in the package; a problem is
        reported at every place that uses the file."""
        if src not in self._names:
            self._names[src] = self._media(html.unescape(src))
        found = self._names[src]
        if isinstance(found, str):
            self.problems.error(where, found)
            return src
        name, path = found
        self.media[name] = path
        return name

    def _media(self, reference: str) -> tuple[str, Path] | str:
        """(flat name, file), or what is wrong with the reference."""
        parts = urlsplit(reference)
        if parts.scheme or parts.netloc:
            return (f"image '{reference}' is not a local file; phones review offline, so put "
                    "it in the deck folder")
        relative = unquote(parts.path)
        if os.path.isabs(relative):
            return f"media path '{relative}' is absolute; use a path inside the deck folder"
        try:
            path = (self.deck_dir / relative).resolve()
            if not path.is_relative_to(self.root):
                return f"media '{relative}' is outside the deck folder"
            if not path.is_file():
                return f"media file not found: {relative}"
            size = path.stat().st_size
            if size > MAX_MEDIA_BYTES:
                return (f"media '{relative}' is {size / 2**20:.0f} MiB; the limit is "
                        f"{MAX_MEDIA_BYTES // 2**20} MiB")
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
        except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop
            return f"media '{relative}' cannot be read: {exc}"
        stem = _UNSAFE_NAME.sub("_", path.stem)[:80] or "media"
        suffix = _UNSAFE_NAME.sub("_", path.suffix)[:16]
        return f"{stem}-{digest}{suffix}", path


def replace_math(text: str, replace: Callable[[str], str]) -> str:
    """``text`` with each MathJax span, ``\\( \\)`` or ``\\[ \\]``, replaced.

    One pass (a regular expression would take quadratic time on many unclosed openers);
    an opener without its closer is plain text.
    """
    out, pos, unclosed = [], 0, set()
    while (opener := _MATH_OPEN.search(text, pos)) is not None:
        closer = "\\)" if opener.group() == "\\(" else "\\]"
        end = -1 if closer in unclosed else text.find(closer, opener.end())
        if end < 0:
            unclosed.add(closer)  # no later opener of this kind can close either
            out.append(text[pos : opener.end()])
            pos = opener.end()
            continue
        out += [text[pos : opener.start()], replace(text[opener.start() : end + 2])]
        pos = end + 2
    return "".join(out) + text[pos:]


@functools.cache
def _markdown(allow_html: bool) -> MarkdownIt:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": allow_html}).enable(["table", "strikethrough"])


def render_markdown(text: str, allow_html: bool = False) -> str:
    """Markdown to HTML outside any card (the deck description), no media."""
    return Renderer(Path("."), allow_html, Problems()).field(text, Location(""))
