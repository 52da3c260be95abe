"""The real deck in cards/: complete, balanced, tagged, in our own words, and importable."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import SHARED, AnkiImport, needs_shared, run

from deckbuilder.load import load_deck
from deckbuilder.model import Card

ROOT = Path(__file__).resolve().parents[1]
CARDS = ROOT / "cards"
ARTICLE = SHARED / "source" / "nato-collective-security-article.txt"
NOT_THEMES = {"correction", "supplement"}


@pytest.fixture(scope="module")
def checked():  # type: ignore[no-untyped-def]
    return load_deck(CARDS)


def _headings() -> list[str]:
    """The article's section headings: short lines followed by a paragraph, minus leftovers."""
    needs_shared()
    lines = [line.strip() for line in ARTICLE.read_text(encoding="utf-8").splitlines()]
    headings = [line for line in lines[1:] if line and len(line) < 110
                and not line.endswith((".", ":")) and not line.startswith(("See also", "⚠"))]
    return [h.replace("\u2019", "'") for h in headings]


def test_one_section_per_heading_in_article_order(checked) -> None:  # type: ignore[no-untyped-def]
    headings = _headings()
    assert len(headings) == 17
    assert [s.source for s in checked.deck.sections] == headings
    assert all(section.cards for section in checked.deck.sections)


def test_card_count_and_theme_tags(checked) -> None:  # type: ignore[no-untyped-def]
    cards = checked.deck.cards
    assert 110 <= len(cards) <= 170
    vocabulary = set(yaml.safe_load((CARDS / "deck.yaml").read_text())["vocabulary"])
    for card in cards:
        own = {t for t in card.tags if "::" not in t and t != "nato"}
        assert own <= vocabulary, card.id
        assert own - NOT_THEMES, f"{card.id} has no theme tag"


def _is_supplement(card: Card) -> bool:
    return "supplement" in card.tags


def _own_sources() -> dict[str, object]:
    """Each card's own `source:` as written in its section file (None when it inherits one):
    the checked model only keeps the effective source."""
    own: dict[str, object] = {}
    for path in sorted(CARDS.glob("[0-9]*.yaml")):
        for raw in yaml.safe_load(path.read_text(encoding="utf-8"))["cards"]:
            own[raw["id"]] = raw.get("source")
    return own


def test_every_section_tests_the_article(checked) -> None:  # type: ignore[no-untyped-def]
    """At least three cards a section ask what the article itself says: not supplements,
    and sourced to the article's heading."""
    headings = set(_headings())
    for section in checked.deck.sections:
        article_cards = [card.id for card in section.cards if not _is_supplement(card)
                         and card.source == section.source and card.source in headings]
        assert len(article_cards) >= 3, f"{section.stem}: only {article_cards}"


def test_supplements_name_their_own_source(checked) -> None:  # type: ignore[no-untyped-def]
    """A fact from elsewhere says where it comes from, never the article heading it sits under."""
    headings = set(_headings())
    own = _own_sources()
    supplements = [card for card in checked.deck.cards if _is_supplement(card)]
    assert supplements
    for card in supplements:
        source = own[card.id]
        assert isinstance(source, str) and source.strip(), f"{card.id} has no source of its own"
        assert source.replace("\u2019", "'") not in headings, f"{card.id} cites the article"
        assert card.source == source


def test_balance_of_the_deck(checked) -> None:  # type: ignore[no-untyped-def]
    """Mostly the article, no section swamping the rest, and the repetitive diplomacy and
    exercises sections (06-08, 14-16) kept to under a third of the deck between them."""
    cards = checked.deck.cards
    supplements = sum(_is_supplement(card) for card in cards)
    assert supplements <= 0.40 * len(cards), f"{supplements} of {len(cards)} are supplements"
    for section in checked.deck.sections:
        assert len(section.cards) <= 0.12 * len(cards), section.stem
    themes = sum(len(section.cards) for section in checked.deck.sections
                 if section.number in {6, 7, 8, 14, 15, 16})
    assert themes <= 0.30 * len(cards), f"{themes} of {len(cards)} in sections 06-08, 14-16"


def test_case_tags_in_vocabulary() -> None:
    vocabulary = yaml.safe_load((CARDS / "deck.yaml").read_text())["vocabulary"]
    assert {"kosovo", "ukraine", "afghanistan"} <= set(vocabulary)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower().replace("\u2019", "'"))


def test_no_run_of_eight_words_from_the_article(checked) -> None:  # type: ignore[no-untyped-def]
    needs_shared()
    article = _words(ARTICLE.read_text(encoding="utf-8"))
    runs = {tuple(article[i:i + 8]) for i in range(len(article) - 7)}
    for card in checked.deck.cards:
        words = _words(" ".join((card.front, card.back, card.extra)))
        copied = [" ".join(words[i:i + 8]) for i in range(len(words) - 7)
                  if tuple(words[i:i + 8]) in runs]
        assert not copied, f"{card.id} copies the article: {copied[0]}"


def test_committed_package_is_current_and_imports_cleanly(tmp_path: Path,
                                                          anki: AnkiImport) -> None:
    package = ROOT / "build" / "nato-collective-security.apkg"
    check = run("build", CARDS, "--out", ROOT / "build", "--check")
    assert check.exit_code == 0, check.output
    log = anki.load(package)
    checked = load_deck(CARDS)
    assert len(log.new) == len(checked.deck.cards)
    names = anki.deck_names()
    assert names[0] == "NATO and Collective Security"
    assert names[1:] == [checked.deck.subdeck(s) for s in checked.deck.sections]
    assert anki.check_database() == ("Database rebuilt and optimized.", True)
    copy = tmp_path / "cards"
    shutil.copytree(CARDS, copy)
    assert run("validate", copy).exit_code == 0
