"""A static HTML preview: every card as Anki shows it, through the package's own templates and CSS.

The page is one self-contained file (card CSS, page CSS and a small script inlined, no
external assets) with the media it shows copied beside it, so it opens from disk. The
cards travel as compact JSON inside the page and the script draws them as they scroll
into view: a page of 20,000 cards shows its first card as fast as one of 20, and the
tag filter and the search still see every card.
"""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from string import Template

from . import progress
from .anki import compile_notes
from .load import Checked, load_deck
from .model import Deck, Section
from .notetypes import CSS, NOTETYPES
from .package import write_atomic
from .render import replace_sounds

_TAG = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
# Like Anki, a deletion ends at the first "}}"; the checker has already refused nesting.
_CLOZE = re.compile(r"\{\{c(\d+)::(.*?)\}\}", re.DOTALL)
# Anki's own test for an empty field in {{#Field}}: only whitespace, <br> or <div> tags.
_EMPTY = re.compile(r"^(?:\s|</?(?:br|div) ?/?>)*$", re.IGNORECASE)


def render_template(template: str, fields: dict[str, str], *, cloze: int = 0,
                    answer: bool = False, front_side: str = "") -> str:
    """One side of a card, as Anki renders ``template`` with ``fields``.

    Covers the syntax deckbuilder's templates use: ``{{Field}}``, ``{{#Field}}...{{/Field}}``
    (and ``{{^Field}}``), ``{{FrontSide}}`` and ``{{cloze:Field}}``, which shows deletion
    number ``cloze``. Field text is inserted once and never read as template syntax.
    """
    parts = _TAG.split(template)
    out: list[str] = []
    sections: list[tuple[str, bool]] = []  # open {{#Field}}s and whether their parent shows
    shown = True
    for index, part in enumerate(parts):
        if index % 2 == 0:
            if shown:
                out.append(part)
            continue
        tag = part.strip()
        if tag.startswith(("#", "^")):
            name = tag[1:].strip()
            filled = not _EMPTY.match(_field(fields, name))
            sections.append((name, shown))
            shown = shown and filled == tag.startswith("#")
        elif tag.startswith("/"):
            if not sections or sections[-1][0] != tag[1:].strip():
                raise ValueError(f"template closes {{{{{tag}}}}} without opening it")
            shown = sections.pop()[1]
        elif shown:
            out.append(_replacement(tag, fields, cloze, answer, front_side))
    if sections:
        raise ValueError(f"template leaves {{{{#{sections[-1][0]}}}}} open")
    return "".join(out)


def _replacement(tag: str, fields: dict[str, str], cloze: int, answer: bool,
                 front_side: str) -> str:
    if tag == "FrontSide":
        return front_side
    *filters, name = (part.strip() for part in tag.split(":"))
    text = _field(fields, name)
    for name in reversed(filters):  # Anki applies filters right to left
        if name != "cloze":
            raise ValueError(f"template filter '{name}' is not supported by the preview")
        text = render_cloze(text, cloze, answer)
    return text


def _field(fields: dict[str, str], name: str) -> str:
    if name not in fields:
        raise ValueError(f"template uses unknown field '{name}'")
    return fields[name]


def render_cloze(text: str, number: int, answer: bool) -> str:
    """Cloze card ``number``: its deletion hidden (question) or shown (answer), the rest as text."""
    def one(match: re.Match[str]) -> str:
        content, given, hint = match.group(2).partition("::")
        if int(match.group(1)) != number:
            return f'<span class="cloze-inactive">{content}</span>'
        # As Anki shows it: an empty hint (`{{c1::a::}}`) is "[]", no hint "[...]".
        shown = content if answer else f"[{hint}]" if given else "[...]"
        return f'<span class="cloze">{shown}</span>'

    return _CLOZE.sub(one, text)


@dataclass(frozen=True)
class CardView:
    """One card as a learner meets it: a template of a note, or one cloze deletion."""

    card_id: str
    ord: int  # Anki's card ordinal: the template, or the deletion number minus one
    name: str  # Anki's card name: "Card 1", "Card 2", "Cloze 3"
    tags: tuple[str, ...]
    question: str
    answer: str
    line: int = 0  # where the card starts in its section file


def _players(side: str) -> str:
    """Each [sound:file] of a rendered side as a player of the file copied beside the page
    (Anki plays it; a browser shows it as text)."""
    return replace_sounds(side, lambda name: f'<audio controls preload="metadata" '
                          f'src="{html.escape(name, quote=True)}"></audio>')


def card_views(checked: Checked) -> list[tuple[Section, list[CardView]]]:
    """Every card of the package, section by section, rendered like Anki renders it."""
    notes = {note.card_id: note for note in compile_notes(checked.deck, checked.rendered)}
    grouped: list[tuple[Section, list[CardView]]] = []
    progress.phase("rendering notes")
    for section in checked.deck.sections:
        progress.advance(sum(len(done.cards) for done, _ in grouped), len(notes))
        views = []
        for card in section.cards:
            note = notes[card.id]
            notetype = NOTETYPES[note.notetype]
            fields = dict(zip(notetype.fields, note.fields, strict=True))
            for ord_ in note.ords:
                name, qfmt, afmt = notetype.templates[0 if notetype.is_cloze else ord_]
                question = render_template(qfmt, fields, cloze=ord_ + 1)
                answer = _players(render_template(afmt, fields, cloze=ord_ + 1, answer=True,
                                                  front_side=question))
                question = _players(question)
                views.append(CardView(card.id, ord_,
                                      f"Cloze {ord_ + 1}" if notetype.is_cloze else name,
                                      note.tags, question, answer, card.location.line))
        grouped.append((section, views))
    return grouped


@dataclass(frozen=True)
class Preview:
    path: Path  # the index.html written
    sections: int
    notes: int
    cards: int
    media: int  # files copied beside it
    size: int  # bytes of index.html


def write_preview(deck_dir: Path, out_dir: Path) -> Preview:
    """Check the deck, then write ``out_dir/index.html`` and copy the media it shows beside it.

    Raises InvalidDeck (writing nothing) or OutputError. Files already in ``out_dir``
    are left alone: media names carry a content hash, so an old image never shadows a new one.
    """
    progress.phase("checking the deck")
    checked = load_deck(deck_dir)
    grouped = card_views(checked)
    progress.phase("writing the page")
    for name, source in sorted(checked.media.items()):
        target = out_dir / name
        data = source.read_bytes()
        if not target.is_file() or target.read_bytes() != data:
            write_atomic(target, data)
    page = preview_html(checked.deck, grouped).encode()
    path = out_dir / "index.html"
    write_atomic(path, page)
    cards = sum(len(views) for _, views in grouped)
    return Preview(path, len(grouped), len(checked.rendered), cards, len(checked.media),
                   len(page))


def preview_html(deck: Deck, grouped: list[tuple[Section, list[CardView]]]) -> str:
    """The whole page: summary charts, a tag filter, a search, a night switch, and every
    card as data the page's script draws."""
    views = [view for _, section_views in grouped for view in section_views]
    tag_counts = sorted(Counter(tag for view in views for tag in view.tags).items(),
                        key=lambda item: (-item[1], item[0]))
    titles = {section.stem: _section_title(deck, section) for section, _ in grouped}
    section_rows = [(f'<a href="#section-{section.stem}">{html.escape(titles[section.stem])}'
                     "</a>", len(section_views)) for section, section_views in grouped]
    section_tags = {deck.section_tag(section) for section, _ in grouped}  # charted above
    tag_rows = [(_tag_button(tag), n) for tag, n in tag_counts if tag not in section_tags]
    page = Template(files("deckbuilder").joinpath("assets/preview.html").read_text("utf-8"))
    return page.substitute(
        title=html.escape(deck.name),
        card_css=CSS,
        description=deck.description_html,  # its media named as copied beside the page
        totals=(f"{_plural(len(grouped), 'section')}, "
                f"{_plural(sum(len(s.cards) for s, _ in grouped), 'note')}, "
                f"{_plural(len(views), 'card')}"),
        charts=(_chart("Cards per section", "section", section_rows)
                + _chart("Cards per tag", "tag", tag_rows)),
        tag_options="".join(f'<option value="{html.escape(tag)}">{html.escape(tag)} ({n})'
                            "</option>" for tag, n in tag_counts),
        cards=_cards_json(grouped, titles, [tag for tag, _ in tag_counts]),
    )


def _cards_json(grouped: list[tuple[Section, list[CardView]]], titles: dict[str, str],
                tags: list[str]) -> str:
    """Every card as the page's script reads it, safe inside a <script> element.

    A card is [section, card id, ordinal, name, tag numbers, line, question, answer,
    shared]: with shared 1, the answer begins with the question (Anki's {{FrontSide}})
    and only the rest of it is stored, so each card's text is stored about once.
    """
    number = {tag: index for index, tag in enumerate(tags)}
    cards = []
    for index, (_, section_views) in enumerate(grouped):
        for view in section_views:
            shared = view.answer.startswith(view.question)
            cards.append([index, view.card_id, view.ord + 1, view.name,
                          [number[tag] for tag in view.tags], view.line, view.question,
                          view.answer[len(view.question):] if shared else view.answer,
                          int(shared)])
    data = {"sections": [[section.stem, titles[section.stem], Path(section.path).name]
                         for section, _ in grouped],
            "tags": tags, "cards": cards}
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    # The HTML parser ends a script at "</script" and treats "<!--" specially: JSON may
    # spell "<" as \u003c, which no parser reads as markup. U+2028/9 are fine in JSON.
    return text.replace("</", "\\u003c/").replace("<!--", "\\u003c!--")


def _section_title(deck: Deck, section: Section) -> str:
    return deck.subdeck(section)[len(deck.name) + 2:]  # "01 Title", numbered as in Anki


def _chart(caption: str, what: str, rows: list[tuple[str, int]]) -> str:
    """A bar chart as a table: readable without CSS and by screen readers."""
    top = max((count for _, count in rows), default=1)
    body = "".join(f'<tr><th scope="row">{label}</th><td class="n">{count}</td>'
                   f'<td class="bar"><span style="width:{100 * count / top:.1f}%"></span></td>'
                   "</tr>" for label, count in rows)
    return (f'<table class="chart"><caption>{caption}</caption>'
            f'<thead><tr><th scope="col">{what}</th><th scope="col" class="n">cards</th>'
            f'<td></td></tr></thead><tbody>{body}</tbody></table>')


def _tag_button(tag: str) -> str:
    escaped = html.escape(tag)
    return f'<button type="button" class="tag" data-tag="{escaped}">{escaped}</button>'


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
