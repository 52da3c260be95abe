"""Words and near-duplicate prompts: the fast search finds exactly what comparing every
pair finds, and what the previous search (single-word prefix filtering, kept below as
the reference) found, and stays fast on a deck of 10,000 cards."""

from __future__ import annotations

import math
import random
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from conftest import deadline
from hypothesis import given, settings
from hypothesis import strategies as st

from deckbuilder.errors import Location
from deckbuilder.lint import lint_deck, prompt_words
from deckbuilder.load import load_deck
from deckbuilder.model import Card, Deck, DeckHead, Section
from deckbuilder.similar import content_words, near_duplicates, similar, words

ROOT = Path(__file__).resolve().parents[1]
THRESHOLDS = [0.3, 0.5, 0.6, 2 / 3, 0.75, 0.8, 0.85, 0.9, 1.0]


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


def _reference(entries: list[tuple[str, frozenset[str]]], threshold: float
               ) -> list[tuple[int, int]]:
    """The search lint used until the pair index (quadratic on big decks): prefix filtering
    on single words, then the earliest entry of another owner among similar sets."""
    groups: dict[frozenset[str], list[int]] = {}
    for position, (_, bag) in enumerate(entries):
        if bag:
            groups.setdefault(bag, []).append(position)
    bags = list(groups)
    frequency = Counter(word for bag in bags for word in bag)
    index: dict[str, list[int]] = defaultdict(list)
    near: dict[int, set[int]] = defaultdict(set)
    for number, bag in enumerate(bags):
        rarest = sorted(bag, key=lambda word: (frequency[word], word))
        prefix = rarest[: len(bag) - math.ceil(threshold * len(bag) - 1e-9) + 1]
        for other in {other for word in prefix for other in index[word]}:
            if similar(bag, bags[other], threshold):
                near[number].add(other)
                near[other].add(number)
        for word in prefix:
            index[word].append(number)
    pairs = []
    for number, bag in enumerate(bags):
        related = [groups[bag]] + [groups[bags[other]] for other in near[number]]
        for position in groups[bag]:
            owner = entries[position][0]
            found = [first for members in related
                     if (first := _first_other(members, position, owner, entries)) is not None]
            if found:
                pairs.append((position, min(found)))
    return pairs


def _first_other(members: list[int], before: int, owner: str,
                 entries: list[tuple[str, frozenset[str]]]) -> int | None:
    for position in members:
        if position >= before:
            return None
        if entries[position][0] != owner:
            return position
    return None


def _deck_entries(deck: Path) -> list[tuple[str, frozenset[str]]]:
    return [(card.id, bag) for card, _, bag in prompt_words(load_deck(deck).deck)]


@pytest.mark.parametrize("threshold", THRESHOLDS)
def test_the_nato_deck_gets_what_the_previous_search_found(threshold: float) -> None:
    entries = _deck_entries(ROOT / "cards")
    found = near_duplicates(entries, threshold)
    assert found == _reference(entries, threshold)
    assert found or threshold > 0.5  # the comparison is about something


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, frozenset[str]]]:
    """The benchmark's generated deck of 4,000 cards, with prompts copied and reworded
    (a word dropped, added or swapped) so that every threshold finds near-duplicates."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import deckgen
    finally:
        sys.path.pop(0)
    deck = tmp_path_factory.mktemp("generated") / "cards"
    deckgen.write_deck(4000, deck)
    entries = _deck_entries(deck)
    rng = random.Random(15)
    vocabulary = sorted({word for _, bag in entries for word in bag})
    for number in range(1500):
        owner, bag = rng.choice(entries)
        words_ = set(bag)
        for _ in range(rng.randint(0, 3)):
            change = rng.random()
            if change < 0.4 and len(words_) > 1:
                words_.discard(rng.choice(sorted(words_)))
            elif change < 0.8:
                words_.add(rng.choice(vocabulary))
            else:
                words_.discard(rng.choice(sorted(words_)))
                words_.add(rng.choice(vocabulary))
        same_card = rng.random() < 0.1  # a reverse card's two sides have one owner
        entries.insert(rng.randrange(len(entries) + 1),
                       (owner if same_card else f"copy-{number}", frozenset(words_)))
    return entries


@pytest.mark.parametrize("threshold", THRESHOLDS)
def test_generated_decks_get_what_the_previous_search_found(
        generated: list[tuple[str, frozenset[str]]], threshold: float) -> None:
    found = near_duplicates(generated, threshold)
    assert found == _reference(generated, threshold)
    assert len(found) > 100


entry = st.tuples(st.sampled_from("abcd"),
                  st.frozensets(st.sampled_from("pqrstuvwxyz"), max_size=6))


@settings(max_examples=300, deadline=None)
@given(st.lists(entry, max_size=25), st.sampled_from([0.3, 0.5, 0.6, 0.8, 0.9, 1.0]))
def test_prefix_filtering_finds_what_every_pair_finds(
        entries: list[tuple[str, frozenset[str]]], threshold: float) -> None:
    assert sorted(near_duplicates(entries, threshold)) == _brute_force(entries, threshold)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abc"),
                          st.frozensets(st.integers(0, 30).map(str), max_size=16)), max_size=30),
       st.sampled_from(THRESHOLDS))
def test_larger_sets_against_every_pair(entries: list[tuple[str, frozenset[str]]],
                                        threshold: float) -> None:
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


def test_near_duplicates_of_100000_prompts_take_seconds_not_minutes() -> None:
    """Prompts of 6-16 words from a 3,000-word vocabulary, like the benchmark's deck: every
    word is in hundreds of prompts, where filtering on single words compared 56 million
    pairs (77 s for lint at 100,000 cards)."""
    rng = random.Random(16)
    vocabulary = [f"w{i}" for i in range(3000)]
    entries = [(f"c{i}", frozenset(rng.choices(vocabulary, k=rng.randint(6, 16))))
               for i in range(100_000)]
    entries += [("copy", entries[10][1] | {"extra"})]
    start = time.perf_counter()
    with deadline(60):
        found = near_duplicates(entries, 0.8)
    elapsed = time.perf_counter() - start
    assert (100_000, 10) in found
    assert elapsed < 10, f"took {elapsed:.1f} s"  # about 1 s measured
