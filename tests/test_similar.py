"""Words and near-duplicate prompts: the fast search finds exactly what comparing every
pair finds, and stays fast on a deck of 10,000 cards."""

from __future__ import annotations

import random
import time

from conftest import deadline
from hypothesis import given, settings
from hypothesis import strategies as st

from deckbuilder.errors import Location
from deckbuilder.lint import lint_deck
from deckbuilder.model import Card, Deck, DeckHead, Section
from deckbuilder.similar import content_words, near_duplicates, similar, words


def test_words_ignore_markup() -> None:
    assert words("**Paris**, on the [Seine](https://x.org/a?b) ![map](m.png) <b>x</b>") == [
        "Paris", "on", "the", "Seine", "x"]
    assert words("NATO\u2019s Euro-Atlantic area, 9/11 and \\(x^2 + y\\)") == [
        "NATO\u2019s", "Euro-Atlantic", "area", "9", "11", "and", "math"]


def test_content_words_fold_plurals_and_drop_function_words() -> None:
    assert content_words("Which Allies host NATO's headquarters?") == {
        "ally", "host", "nato", "headquarter"}
    assert content_words("Which Ally hosts the NATO headquarters") == {
        "ally", "host", "nato", "headquarter"}
    assert content_words("of the") == frozenset()
    assert content_words("of the", keep_stop_words=True) == {"of", "the"}


def _brute_force(entries: list[tuple[str, frozenset[str]]], threshold: float
                 ) -> list[tuple[int, int]]:
    pairs = []
    for later, (owner, bag) in enumerate(entries):
        for earlier in range(later):
            other_owner, other = entries[earlier]
            if bag and other and owner != other_owner and similar(bag, other, threshold):
                pairs.append((later, earlier))
                break
    return pairs


entry = st.tuples(st.sampled_from("abcd"),
                  st.frozensets(st.sampled_from("pqrstuvwxyz"), max_size=6))


@settings(max_examples=300, deadline=None)
@given(st.lists(entry, max_size=25), st.sampled_from([0.3, 0.5, 0.6, 0.8, 0.9, 1.0]))
def test_prefix_filtering_finds_what_every_pair_finds(
        entries: list[tuple[str, frozenset[str]]], threshold: float) -> None:
    assert sorted(near_duplicates(entries, threshold)) == _brute_force(entries, threshold)


def test_lint_of_10000_cards_is_fast() -> None:
    rng = random.Random(6)
    vocabulary = [f"w{i}" for i in range(3000)]
    weights = [1 / (i + 1) for i in range(3000)]  # Zipf-like, as in real text
    where = Location("cards/01-a.yaml", 1, 1)
    cards = []
    for number in range(10_000):
        question = " ".join(rng.choices(vocabulary, weights, k=rng.randint(6, 14)))
        cards.append(Card(f"c{number}", "basic", f"Which {question}?",
                          " ".join(rng.choices(vocabulary, k=rng.randint(1, 6))), "", "", (),
                          where))
    copy = cards[10]
    cards.append(Card("copy", "basic", copy.front.upper(), "x", "", "", (), where))
    head = DeckHead("D", "d", "", False, (), None)
    deck = Deck(head, (Section(1, "01-a", "A", "", "cards/01-a.yaml", tuple(cards), where),),
                "cards")
    start = time.perf_counter()
    with deadline(60):  # a quadratic lint fails the test instead of blocking the suite
        found = lint_deck(deck)
    elapsed = time.perf_counter() - start
    assert "card 'c10'" in next(p.message for p in found if p.rule == "near-duplicate")
    assert elapsed < 5, f"lint of 10,000 cards took {elapsed:.1f} s"  # about 0.5 s measured
