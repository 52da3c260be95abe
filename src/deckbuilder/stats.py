"""How big the deck is: notes and Anki cards per section, per kind and per tag."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from .model import Card, Deck

KINDS = ("basic", "reverse", "cloze")


@dataclass(frozen=True)
class Row:
    name: str
    notes: int
    cards: int  # the cards Anki makes: 2 for a reverse note, one per cloze number


@dataclass(frozen=True)
class Stats:
    sections: list[Row]
    kinds: list[Row]
    tags: list[Row]  # the automatic section tags left out: they repeat `sections`
    total: Row


def anki_cards(card: Card) -> int:
    if card.kind == "cloze":
        return len(card.cloze_numbers)
    return 2 if card.kind == "reverse" else 1


def deck_stats(deck: Deck) -> Stats:
    sections = [_row(deck.subdeck(s)[len(deck.name) + 2 :], s.cards) for s in deck.sections]
    kinds = [_row(kind, [c for c in deck.cards if c.kind == kind]) for kind in KINDS]
    automatic = {deck.section_tag(section) for section in deck.sections}
    counts = Counter(tag for card in deck.cards for tag in card.tags if tag not in automatic)
    tags = [_row(tag, [c for c in deck.cards if tag in c.tags])
            for tag, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]
    return Stats(sections, kinds, tags, _row("total", deck.cards))


def _row(name: str, cards: list[Card] | tuple[Card, ...]) -> Row:
    return Row(name, len(cards), sum(anki_cards(card) for card in cards))
