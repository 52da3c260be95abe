"""Deterministic decks for the benchmark: deckbuilder's YAML plus the same notes as JSON.

``python benchmarks/deckgen.py 10000 /tmp/deck`` writes the deck folder /tmp/deck and
/tmp/deck.json, the notes that plain_genanki.py builds; bench.py calls ``write_deck``.
"""

from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path
from typing import Any

DECK_NAME = "Benchmark Deck"
DECK_ID = "benchmark"
DECK_TAGS = ("bench",)
# Words are made of these; without "n", no text can be "no", a YAML boolean.
_SYLLABLES = [consonant + vowel for consonant in "bdfgklmprstvz" for vowel in "aeiou"]
_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ,.?'()-]*")  # text YAML reads as is, unquoted
_HTML = ((re.compile(r"\*([^*]+)\*"), r"<em>\1</em>"),
         (re.compile(r"`([^`]+)`"), r"<code>\1</code>"))


def section_count(size: int) -> int:
    """20 files for 10,000 cards, 100 for 100,000."""
    return min(100, max(1, size // 500))


def write_deck(size: int, folder: Path, seed: int = 7) -> Path:
    """Write a deck of ``size`` cards into the new ``folder``; return the notes' JSON file."""
    writer = _Writer(seed)
    folder.mkdir(parents=True)
    (folder / "deck.yaml").write_text(
        f"deck: {DECK_NAME}\nid: {DECK_ID}\n"
        "description: A generated deck, the same on every run.\n"
        f"tags: [{', '.join(DECK_TAGS)}]\nvocabulary: [{', '.join(writer.vocabulary)}]\n",
        encoding="utf-8")
    count = section_count(size)
    width = max(2, len(str(count)))
    sections = []
    for number in range(1, count + 1):
        title = writer.sentence(2, 5, "")
        source = f"{writer.sentence(2, 5, '')}, chapter {number}"
        stem = f"{number:0{width}d}-{writer.word()}"
        first = (number - 1) * size // count
        cards = [writer.card(n) for n in range(first, number * size // count)]
        head = f"section: {title}\nsource: {source}\ncards:\n"
        body = "\n".join("".join(f"{'  - ' if i == 0 else '    '}{key}: {_yaml(value)}\n"
                                  for i, (key, value) in enumerate(card.items()))
                          for card in cards)
        (folder / f"{stem}.yaml").write_text(head + body, encoding="utf-8")
        tags = (*DECK_TAGS, f"{DECK_ID}::{stem}")
        sections.append({"subdeck": f"{DECK_NAME}::{number:0{width}d} {title}",
                         "notes": [_note(card, source, tags) for card in cards]})
    notes = folder.with_suffix(".json")
    notes.write_text(json.dumps({"deck": DECK_NAME, "id": DECK_ID, "sections": sections}),
                     encoding="utf-8")
    return notes


class _Writer:
    """Seeded pseudo-text: words from syllables, sentences with some Markdown, cards."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.words = sorted({"".join(self.rng.choices(_SYLLABLES, k=self.rng.randint(1, 4)))
                             for _ in range(3000)})
        self.vocabulary = sorted(self.rng.sample(self.words, 20))

    def word(self) -> str:
        return self.rng.choice(self.words)

    def sentence(self, low: int, high: int, end: str = ".", markup: bool = False) -> str:
        words = [self.word() for _ in range(self.rng.randint(low, high))]
        roll = self.rng.random()
        if markup and roll < 0.15:
            words[self.rng.randrange(len(words))] = f"*{self.word()}*"
        elif markup and roll < 0.25:
            words[self.rng.randrange(len(words))] = f"`{self.word()}`"
        text = " ".join(words) + end
        return text[0].upper() + text[1:]

    def cloze(self, deletions: int) -> str:
        words = [self.word() for _ in range(self.rng.randint(10, 24))]
        for number, index in enumerate(sorted(self.rng.sample(range(len(words)), deletions)), 1):
            hint = f"::{self.word()}" if self.rng.random() < 0.1 else ""
            words[index] = f"{{{{c{number}::{words[index]}{hint}}}}}"
        return " ".join(words) + "."

    def card(self, number: int) -> dict[str, Any]:
        """About 70% front/back, 20% cloze with 1-3 deletions, 10% reversed; 1-2 tags."""
        rng = self.rng
        card: dict[str, Any] = {"id": f"{self.word()}-{self.word()}-{number}"}
        roll = rng.random()
        if roll < 0.7:
            card["front"] = self.sentence(6, 16, "?", markup=True)
            card["back"] = (str(rng.randint(1000, 2025)) if rng.random() < 0.1
                            else self.sentence(1, 6, "", markup=True))
        elif roll < 0.9:
            card["cloze"] = self.cloze(rng.randint(1, 3))
        else:
            card["front"] = self.sentence(1, 3, "")
            card["back"] = self.sentence(5, 12, markup=True)
            card["reverse"] = True
        if rng.random() < 0.3:
            card["extra"] = self.sentence(8, 24, markup=True)
        card["tags"] = rng.sample(self.vocabulary, rng.randint(1, 2))
        return card


def _yaml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return f"[{', '.join(value)}]"
    text = str(value)
    return text if _PLAIN.fullmatch(text) else json.dumps(text)


def _note(card: dict[str, Any], source: str, tags: tuple[str, ...]) -> dict[str, Any]:
    """The note deckbuilder makes of ``card``, with its Markdown already turned into HTML."""
    kind = "cloze" if "cloze" in card else "reverse" if card.get("reverse") else "basic"
    texts = [card["cloze"]] if kind == "cloze" else [card["front"], card["back"]]
    fields = [_html(text) for text in (*texts, card.get("extra", ""))]
    return {"id": card["id"], "kind": kind, "fields": [*fields, source],
            "tags": sorted({*tags, *card["tags"]})}


def _html(text: str) -> str:
    for pattern, replacement in _HTML:
        text = pattern.sub(replacement, text)
    return text


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: deckgen.py CARDS FOLDER")
    print(write_deck(int(sys.argv[1]), Path(sys.argv[2])))
