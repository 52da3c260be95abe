"""Card text to Anki HTML: Markdown rendered, MathJax kept, media checked and renamed flat."""

from __future__ import annotations

import functools
import hashlib
import html
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from .errors import Location, Problems
from .model import Card, Section

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

MAX_MEDIA_BYTES = 100 * 1024 * 1024
_MATH = re.compile(r"\\\((.+?)\\\)|\\\[(.+?)\\\]", re.DOTALL)
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
        self._names: dict[str, tuple[str, Path | None]] = {}  # reference -> flat name, file

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

        def keep(match: re.Match[str]) -> str:
            maths.append(match.group(0))
            return f"\ue000{len(maths) - 1}\ue001"

        protected = _MATH.sub(keep, text)
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
        """Check a referenced file and return its flat name in the package."""
        if src not in self._names:
            reference = html.unescape(src)
            parts = urlsplit(reference)
            if parts.scheme or parts.netloc:
                self.problems.error(where, f"image '{reference}' is not a local file; phones "
                                    "review offline, so put it in the deck folder")
                self._names[src] = (src, None)
            else:
                self._names[src] = self._check_media(unquote(parts.path), where) or (src, None)
        name, path = self._names[src]
        if path is not None:
            self.media[name] = path
        return name

    def _check_media(self, relative: str, where: Location) -> tuple[str, Path] | None:
        if os.path.isabs(relative):
            self.problems.error(where, f"media path '{relative}' is absolute; use a path inside "
                                "the deck folder")
            return None
        path = (self.deck_dir / relative).resolve()
        if not path.is_relative_to(self.root):
            self.problems.error(where, f"media '{relative}' is outside the deck folder")
            return None
        if not path.is_file():
            self.problems.error(where, f"media file not found: {relative}")
            return None
        size = path.stat().st_size
        if size > MAX_MEDIA_BYTES:
            self.problems.error(where, f"media '{relative}' is {size / 2**20:.0f} MiB; the limit "
                                f"is {MAX_MEDIA_BYTES // 2**20} MiB")
            return None
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
        stem = _UNSAFE_NAME.sub("_", path.stem)[:80] or "media"
        suffix = _UNSAFE_NAME.sub("_", path.suffix)[:16]
        return f"{stem}-{digest}{suffix}", path


@functools.cache
def _markdown(allow_html: bool) -> MarkdownIt:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": allow_html}).enable(["table", "strikethrough"])


def render_markdown(text: str, allow_html: bool = False) -> str:
    """Markdown to HTML outside any card (the deck description), no media."""
    return Renderer(Path("."), allow_html, Problems()).field(text, Location(""))
