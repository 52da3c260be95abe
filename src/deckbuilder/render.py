"""Card text to Anki HTML: Markdown rendered, MathJax kept, media checked and renamed flat."""

from __future__ import annotations

import functools
import html
import os
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import unquote, urlsplit

from .errors import Location, Problems
from .limits import character_problem, shown
from .model import Card, Section

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

MAX_MEDIA_BYTES = 100 * 1024 * 1024
_MATH_OPEN = re.compile(r"\\[(\[]")
_PLACEHOLDER = re.compile("\ue000(\\d+)\ue001")
# The placeholder's own characters, written or as character references, are kept like
# maths, so a text can never forge a placeholder.
_MARKER = re.compile("[\ue000\ue001]|&#(?:[xX]0*[eE]00[01]|0*5734[45]);")
_CLOZE_OPENER = re.compile(r"\{\{c(\d+)::")
# Text needs Markdown when it holds one of these characters, two spaces, or starts like a
# list or a quote. Three tests: one expression with all three tried each at every
# character took twice the time (a tenth of rendering).
_MARKDOWN_CHARACTER = re.compile(r"[\\`*_\[\]<>&!#~|\n]")
_MARKDOWN_START = re.compile(r"\s*(?:[-+*>]|\d+[.)])")
# An image Markdown left as text, its path holding a space: `![x](media/my flag.png)`
# (code, where it is shown on purpose, is left out first)
_IMAGE_AS_TEXT = re.compile(r"!\[[^\]\n]*\]\(([^)<>\n]*\s[^)<>\n]*)\)")
_CODE_HTML = re.compile(r"<code>.*?</code>", re.S)
_BLOCK = re.compile(r"\n|^\s*(?:[-+*]\s|\d+[.)]\s|#{1,6}\s|>|```|~~~)")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
# What Anki's editor inserts as [sound:] (aqt/editor.py), but Flash (swf), which no
# current client plays; and the images it shows.
PLAYED = frozenset({"3gp", "aac", "avi", "flac", "flv", "m4a", "mkv", "mov", "mp3", "mp4",
                    "mpeg", "mpg", "oga", "ogg", "ogv", "ogx", "opus", "spx", "wav", "webm"})
IMAGES = frozenset({"jpg", "jpeg", "png", "gif", "svg", "webp", "ico", "avif", "bmp", "tif",
                    "tiff"})
# One line of plain text, *emphasis*, **strong** and `code` that markdown-it would render
# inline without any other rule taking part (no escapes, entities, links, HTML, maths,
# strikethrough or '_'): such text is rendered here, in one regular expression, with the
# same HTML (tests/test_render_fast.py holds the two together). A [sound:] tag, even in
# code, takes the full path, which checks and renames its file. A delimiter's inner edges
# are letters or digits, so it opens or closes whatever stands outside it, and no '*'
# touches another run of '*' (runs would merge, and CommonMark's rule of three apply).
_PLAIN = r"[^\\`*_\[\]<&~\n\r\x00\ue000\ue001]"
_EDGE = r"[^\W_]"
_INNER = rf"{_EDGE}(?:{_PLAIN}*{_EDGE})?"
_CODE = r"[^`\\&\[\n\r\x00\ue000\ue001 ]"  # '[': Anki plays a [sound:] in code too
_STYLED = (rf"\*\*(?P<strong>{_INNER})\*\*(?!\*)|\*(?P<em>{_INNER})\*(?!\*)"
           rf"|`(?P<code>{_CODE}(?:(?:{_CODE}| )*{_CODE})?)`(?!`)")


@functools.cache
def _inline_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """The whole text's pattern and its tokens' (compiled on first use: 1.4 ms)."""
    # One plain character at a time: `(?:plain+)*` would backtrack exponentially on a miss.
    return (re.compile(rf"(?:{_PLAIN}|{_STYLED})*"),
            re.compile(rf"(?P<plain>{_PLAIN}+)|{_STYLED}"))


class RenderedCard(NamedTuple):  # as Note (anki.py): one per card
    card: Card
    fields: tuple[str, ...]  # Front, Back, Extra, Source; or Text, Extra, Source for cloze


class Renderer:
    def __init__(self, deck_dir: Path, allow_html: bool, problems: Problems,
                 prefix: str = "") -> None:
        self.deck_dir = deck_dir
        self.root = deck_dir.resolve()
        self.allow_html = allow_html
        self.problems = problems
        self.prefix = prefix  # "_" for the deck description: Anki imports such files unused
        self.media: dict[str, Path] = {}
        # (reference, written as a URL) -> (name, file) or error
        self._names: dict[tuple[str, bool], tuple[str, Path] | str] = {}

    def section(self, section: Section) -> list[RenderedCard]:
        """Every card's fields as HTML; media found on the way are added to ``self.media``."""
        rendered = []
        render, default = self._field, section.location
        for card in section.cards:
            at = card.at  # a field's location is looked up only when a problem needs it
            if card.kind == "cloze":
                fields = [render(card.front, at, True, "cloze")]
            else:
                fields = [render(card.front, at, False, "front"),
                          render(card.back, at, False, "back")]
            extra = card.extra  # empty on most cards: no call for it
            fields.append(render(extra, at, False, "extra") if extra else "")
            fields.append(render(card.source, at, False, "source", default))
            rendered.append(tuple.__new__(RenderedCard, (card, tuple(fields))))
        return rendered

    @property
    def md(self) -> MarkdownIt:
        return _markdown(self.allow_html)

    def field(self, text: str, where: Location, cloze: bool = False) -> str:
        """One field's HTML, in Unicode NFC as Anki stores it. Text without Markdown syntax
        skips the renderer. Every file the HTML loads is checked and renamed; in a
        ``cloze`` field, every deletion must stay in the text, where Anki looks for it."""
        return self._field(text, lambda: where, cloze)

    def _field(self, text: str, location: Callable[..., Location], cloze: bool,
               *where_args: Any) -> str:
        """``field``, its location ``location(*where_args)`` (made only when needed)."""
        if not unicodedata.is_normalized("NFC", text):
            text = unicodedata.normalize("NFC", text)
        if not text:
            return ""
        # _MARKDOWN_START only where the first character can begin it (a text is stripped)
        first = text[0]
        if not (_MARKDOWN_CHARACTER.search(text) or "  " in text
                or ((first in "-+*>" or first.isdecimal() or first.isspace())
                    and _MARKDOWN_START.match(text))):
            return text
        fast = _inline(text)
        if fast is not None and not cloze:
            return fast  # only <em>, <strong> and <code>: no file, nothing to check
        where = location(*where_args)
        if fast is not None:
            return self._finish(fast, text, where, cloze)
        kept: list[str] = []  # the HTML each placeholder stands for

        def keep(html_text: str) -> str:
            kept.append(html_text)
            return f"\ue000{len(kept) - 1}\ue001"

        sounds = 0

        def sound(reference: str) -> str:
            nonlocal sounds
            sounds += 1
            return keep(f"[sound:{self.sound_name(reference, where)}]")

        protected = replace_math(text, lambda math: keep(html.escape(math, quote=False)),
                                 lambda plain: replace_sounds(_MARKER.sub(
                                     lambda m: keep(m.group()), plain), sound))
        if _BLOCK.search(protected.strip()):
            out = self.md.render(protected).strip()
        else:
            out = self.md.renderInline(protected)
        if len(set(_PLACEHOLDER.findall(out))) < len(kept):  # encoded in a URL, or dropped
            self.problems.error(where, "maths or a [sound:...] tag in a link's address (or in "
                                "a link definition) is lost there; put it in the text")
        out = _PLACEHOLDER.sub(lambda m: kept[int(m.group(1))], out)
        if "](" in out and (image := _IMAGE_AS_TEXT.search(_CODE_HTML.sub("", out))):
            # the path, without a title ("...") that may follow it
            path = re.split(r"""\s+["']""", html.unescape(image.group(1)).strip())[0]
            self.problems.error(where, "this image is shown as text: Markdown reads no "
                                "image whose path has a space; write the path between < "
                                f"and >: ![...](<{shown(path)}>)")
        if replace_sounds(out, lambda _: "\0").count("\0") > sounds:  # played unchecked
            self.problems.error(where, "this text renders into a [sound:...] tag that "
                                "deckbuilder cannot check (inside maths, or through an "
                                "escape or an HTML entity such as &#91;), and Anki would "
                                "try to play it: write [sound:...] as plain text")
        return self._finish(out, text, where, cloze)

    def _finish(self, out: str, text: str, where: Location, cloze: bool) -> str:
        """The rendered ``out`` of ``text`` with its media checked and renamed."""
        if cloze:  # an escaped brace or an entity (`&#123;`) renders into a deletion
            gained = Counter(_CLOZE_OPENER.findall(out)) - Counter(_CLOZE_OPENER.findall(text))
            for number in sorted(gained, key=int):
                self.problems.error(where, f"this text renders into cloze deletion c{number} "
                                    "(through an escaped brace or an HTML entity such as "
                                    "&#123;), and Anki would make a card of it: write it as "
                                    f"{{{{c{number}::...}}}}, or no braces")
        if "<" not in out:
            return out
        from .markup import scan

        found = scan(out, lambda src, tag: self.media_name(src, where, tag))
        for problem in found.problems:
            self.problems.error(where, problem)
        if cloze:
            lost = Counter(_CLOZE_OPENER.findall(text)) - Counter(
                _CLOZE_OPENER.findall(found.text))
            for number in sorted(lost, key=int):
                self.problems.error(where, f"cloze deletion c{number} is inside a link target "
                                    "or HTML tag, where Anki cannot see it")
        return found.html

    def media_name(self, src: str, where: Location, tag: str = "img") -> str:
        """Check a file the HTML loads and return its flat name in the package; a problem is
        reported at every place that uses the file."""
        name = self._checked(src, where, url=True)
        if tag == "img" and name and name.rpartition(".")[2].lower() in PLAYED:
            self.problems.error(where, f"'{shown(src)}' is audio or video, which an image "
                                f"cannot show: write [sound:{shown(src)}] to play it")
        return name or src

    def sound_name(self, reference: str, where: Location) -> str:
        """Check the file of a ``[sound:reference]`` tag (a path, not a URL) and return its
        flat name in the package."""
        written = shown(reference)
        if self.prefix:
            self.problems.error(where, "Anki plays no sound in a deck's description; put "
                                f"[sound:{written}] on a card")
            return reference
        if _CLOZE_OPENER.search(reference):
            self.problems.error(where, f"[sound:{written}] has a cloze deletion in its file "
                                "name; put the deletion around the whole tag instead")
            return reference
        name = self._checked(reference, where, url=False)
        suffix = reference.rpartition(".")[2].lower() if "." in reference else ""
        if name and suffix not in PLAYED:
            hint = (f": show an image with ![description]({written})" if suffix in IMAGES
                    else f" ({', '.join(sorted(PLAYED))})")
            self.problems.error(where, f"[sound:{written}] is not audio or video that Anki "
                                f"plays{hint}")
        return name or reference

    def _checked(self, reference: str, where: Location, url: bool) -> str:
        """The file's flat name, added to ``self.media``; '' after reporting a problem."""
        key = (reference, url)
        if key not in self._names:
            self._names[key] = self._media(reference, url)
        found = self._names[key]
        if isinstance(found, str):
            self.problems.error(where, found)
            return ""
        name, path = found
        self.media[name] = path
        return name

    def _media(self, reference: str, url: bool = True) -> tuple[str, Path] | str:
        """(flat name, file), or what is wrong with the reference (a URL in HTML; a
        plain path in a sound tag, as Anki reads it)."""
        parts = urlsplit(reference) if url else None
        if (parts.scheme or parts.netloc) if parts else "://" in reference:
            what = "image" if url else "sound"
            return (f"{what} '{shown(reference)}' is not a local file; phones review "
                    "offline, so put it in the deck folder")
        relative = unquote(parts.path) if parts else reference
        written = shown(relative)
        if problem := character_problem(relative, one_line=True):
            return f"media path '{written}' {problem}"
        if os.path.isabs(relative):
            return f"media path '{written}' is absolute; use a path inside the deck folder"
        try:
            path = (self.deck_dir / relative).resolve()
            if not path.exists() and not unicodedata.is_normalized("NFD", relative):
                # the text is NFC, as Anki stores it; a file named in decomposed form (as
                # macOS names them) is found under the name the author wrote
                decomposed = (self.deck_dir / unicodedata.normalize("NFD", relative)).resolve()
                path = decomposed if decomposed.exists() else path
            if not path.is_relative_to(self.root):
                return f"media '{written}' is outside the deck folder"
            if any(part.startswith(".") for part in path.relative_to(self.root).parts):
                return (f"media '{written}' is a hidden file or in a hidden folder (like "
                        ".git); deckbuilder does not package those")
            if not path.is_file():
                return f"media file not found: {written}" + (
                    self._other_case(relative) if url else self._meant(relative))
            size = path.stat().st_size
            if size > MAX_MEDIA_BYTES:
                return (f"media '{written}' is {size / 2**20:.0f} MiB; the limit is "
                        f"{MAX_MEDIA_BYTES // 2**20} MiB")
            import hashlib  # only decks with media need it

            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
        except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop
            return f"media '{written}' cannot be read: {exc}"
        stem = _UNSAFE_NAME.sub("_", path.stem)[:80] or "media"
        suffix = _UNSAFE_NAME.sub("_", path.suffix)[:16]
        return f"{self.prefix}{stem}-{digest}{suffix}", path


    def _other_case(self, relative: str) -> str:
        """Advice for a path that names a file of the deck in other letter case, which a
        case-insensitive disk (macOS, Windows) finds and another computer does not."""
        folder = self.deck_dir
        for part in Path(relative).parts:
            match = [n for n in (os.listdir(folder) if folder.is_dir() else ())
                     if n.lower() == part.lower()]
            if len(match) != 1:
                return ""
            folder /= match[0]
        found = folder.relative_to(self.deck_dir).as_posix()
        return f" (there is {shown(found)}: write its name in the same case)" \
            if folder.is_file() else ""

    def _meant(self, reference: str) -> str:
        """Advice for a sound's path written as an image's would be: Anki reads it as is."""
        for meant, why in ((unquote(reference), "with its spaces, not %20"),
                           (reference.strip(), "without spaces around it")):
            path = self.deck_dir / meant
            if meant != reference and path.resolve().is_relative_to(self.root) and path.is_file():
                return f"; Anki reads the path as written: write it {why}, [sound:{shown(meant)}]"
        return ""


def replace_math(text: str, replace: Callable[[str], str],
                 plain: Callable[[str], str] = str) -> str:
    """``text`` with each MathJax span, ``\\( \\)`` or ``\\[ \\]``, replaced (and
    the text between them passed through ``plain``).

    One pass (a regular expression would take quadratic time on many unclosed openers);
    an opener without its closer is plain text.
    """
    out, pos, unclosed = [], 0, set()
    while (opener := _MATH_OPEN.search(text, pos)) is not None:
        closer = "\\)" if opener.group() == "\\(" else "\\]"
        end = -1 if closer in unclosed else text.find(closer, opener.end())
        if end < 0:
            unclosed.add(closer)  # no later opener of this kind can close either
            out.append(plain(text[pos : opener.end()]))
            pos = opener.end()
            continue
        out += [plain(text[pos : opener.start()]), replace(text[opener.start() : end + 2])]
        pos = end + 2
    return "".join(out) + plain(text[pos:])


def replace_sounds(text: str, replace: Callable[[str], str]) -> str:
    """``text`` with each ``[sound:file]`` replaced by ``replace(file)``.

    Found as Anki finds them (its pattern is `\\[sound:(.+?)\\]`, newlines included: a
    file name of one character or more, up to the first ']'), in one pass: a regular
    expression takes quadratic time on many openers without a ']'.
    """
    out, pos = [], 0
    while (start := text.find("[sound:", pos)) >= 0:
        end = text.find("]", start + 8)
        if end < 0:
            break
        out += [text[pos:start], replace(text[start + 7 : end])]
        pos = end + 1
    return "".join(out) + text[pos:]


@functools.cache
def _markdown(allow_html: bool) -> MarkdownIt:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": allow_html}).enable(["table", "strikethrough"])


def _inline(text: str) -> str | None:
    """``text``'s HTML when it is one line of the simple Markdown ``_INLINE`` describes."""
    whole, tokens = _inline_patterns()
    # `[sound:x]` in code is played by Anki all the same: its file is checked on the full path
    if _BLOCK.search(text.strip()) or "[sound:" in text or not whole.fullmatch(text):
        return None
    out = []
    # Each token is one of the four groups, never empty; escaped as html.escape(quote=False)
    # and '"' as markdown-it does (written out: the calls cost a tenth of rendering).
    for plain, strong, em, code in tokens.findall(text):
        token = plain or strong or em or code
        escaped = token.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") \
            .replace('"', "&quot;")
        out.append(escaped if plain else f"<strong>{escaped}</strong>" if strong
                   else f"<em>{escaped}</em>" if em else f"<code>{escaped}</code>")
    return "".join(out)


def render_markdown(text: str, allow_html: bool = False) -> str:
    """Markdown to HTML outside any deck (media are neither checked nor renamed)."""
    return Renderer(Path("."), allow_html, Problems()).field(text, Location(""))
