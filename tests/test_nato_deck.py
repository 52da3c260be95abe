"""The real deck in cards/: complete, balanced, tagged, in our own words, and importable."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import SHARED, AnkiImport, needs_shared, run

from deckbuilder.load import load_deck

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
    assert 90 <= len(cards) <= 130
    vocabulary = set(__import__("yaml").safe_load((CARDS / "deck.yaml").read_text())["vocabulary"])
    for card in cards:
        own = {t for t in card.tags if "::" not in t and t != "nato"}
        assert own <= vocabulary, card.id
        assert own - NOT_THEMES, f"{card.id} has no theme tag"


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
