"""Words of a card's text, and prompts that are near-duplicates of each other.

Near-duplicates are found without comparing every pair (100,000 prompts: about a
second instead of a minute). Identical word sets are grouped by hashing; similar sets
by prefix filtering on word *pairs*. Sort each set's words rarest first. Sets at least
``t`` similar share ``s >= t * max(n, m)`` words, so the first two words they share are
among the first ``n - s + 2`` words of each: each set is filed under the pairs of its
first few words and looks up the pairs of its own. The classic filter uses single
words, but a single word is shared by a number of prompts that grows with the deck,
while a pair of rare words is shared only by prompts that really are alike. Sets are
visited smallest first, so the smaller of two sets is the one filed, with the shorter
prefix its size allows (``s >= 2t/(1+t) * m`` when ``m <= n``). Sets too small to need
two shared words (one word at the default 0.8) are also filed under each word.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from functools import cache
from itertools import chain, combinations

from .render import replace_math, replace_sounds

_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_HTML = re.compile(r"<[^>]*>|&#?\w+;")
_WORD = re.compile("[^\\W_]+(?:['\u2019.-][^\\W_]+)*")
# The same words in ASCII text, found twice as fast by an ASCII-only pattern.
_ASCII_WORD = re.compile(r"[^\W_]+(?:['.-][^\W_]+)*", re.ASCII)

STOP_WORDS = frozenset((
    "a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any", "are",
    "as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but",
    "by", "can", "could", "did", "do", "does", "doing", "down", "during", "each", "few", "for",
    "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers", "herself",
    "him", "himself", "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself", "just",
    "me", "more", "most", "my", "myself", "no", "nor", "not", "of", "off", "on", "once", "only",
    "or", "other", "our", "ours", "ourselves", "out", "over", "own", "same", "she", "should", "so",
    "some", "such", "than", "that", "the", "their", "theirs", "them", "themselves", "then",
    "there", "these", "they", "this", "those", "through", "to", "too", "under", "until", "up",
    "very", "was", "we", "were", "what", "when", "where", "which", "while", "who", "whom", "why",
    "will", "with", "would", "you", "your", "yours", "yourself", "yourselves", "s", "t", "don",
    "isn", "aren", "wasn", "weren", "doesn", "didn", "hasn", "haven", "can't", "won't", "it's",
    "also", "may", "might", "must", "shall", "upon"
))


def words(text: str) -> list[str]:
    """The words a reader sees: Markdown, HTML, image and sound syntax dropped, math as one
    word."""
    # Each pass only where its syntax can be: most texts are plain (a third of lint's time).
    if "\\" in text:
        text = replace_math(text, lambda math: " math ")
    if "[sound:" in text:
        text = replace_sounds(text, lambda _: " ")
    if "](" in text:
        text = _LINK.sub(r" \1 ", _IMAGE.sub(" ", text))
    if "<" in text or "&" in text:
        text = _HTML.sub(" ", text)
    return (_ASCII_WORD if text.isascii() else _WORD).findall(text)


def content_words(text: str, keep_stop_words: bool = False) -> frozenset[str]:
    """Lower-cased words without function words, plural endings folded ('Allies' = 'ally')."""
    return fold(words(text), keep_stop_words)


def fold(found: list[str], keep_stop_words: bool = False) -> frozenset[str]:
    """``content_words`` of a text whose ``words`` are ``found``."""
    folded = frozenset(map(_fold, found))
    return folded if keep_stop_words else folded - STOP_WORDS


@cache  # a deck repeats its words: fold each once (a vocabulary's worth of memory)
def _fold(word: str) -> str:
    return _stem(word.lower())


def _stem(word: str) -> str:
    if word.endswith(("'s", "\u2019s")):
        word = word[:-2]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def similar(a: frozenset[str], b: frozenset[str], threshold: float) -> bool:
    """Whether the Jaccard similarity of ``a`` and ``b`` is at least ``threshold``."""
    shared = len(a & b)
    return shared >= threshold * (len(a) + len(b) - shared) - 1e-9


def near_duplicates(entries: list[tuple[str, frozenset[str]]], threshold: float
                    ) -> list[tuple[int, int]]:
    """(later, earlier) index pairs: each entry with the earliest entry of another owner
    whose word set is at least ``threshold`` similar to its own. Empty sets never match."""
    groups: dict[frozenset[str], list[int]] = {}
    for position, (_, bag) in enumerate(entries):
        if bag:
            groups.setdefault(bag, []).append(position)
    bags = list(groups)  # in order of first appearance
    near = _similar_groups(bags, threshold)
    pairs = []
    for number, bag in enumerate(bags):
        if len(groups[bag]) == 1 and number not in near:
            continue  # alone: most prompts
        related = [groups[bag]] + [groups[bags[other]] for other in near.get(number, ())]
        for position in groups[bag]:
            owner = entries[position][0]
            earlier = [_first_other(members, position, owner, entries) for members in related]
            found = [e for e in earlier if e is not None]
            if found:
                pairs.append((position, min(found)))
    return pairs


def _first_other(members: list[int], before: int, owner: str,
                 entries: list[tuple[str, frozenset[str]]]) -> int | None:
    """The first of ``members`` before ``before`` that another owner holds."""
    for position in members:
        if position >= before:
            return None
        if entries[position][0] != owner:
            return position
    return None


def _similar_groups(bags: list[frozenset[str]], threshold: float) -> dict[int, set[int]]:
    """For each distinct set, the other distinct sets at least ``threshold`` similar."""
    frequency = Counter(chain.from_iterable(bags))
    order = sorted(frequency, key=lambda word: (frequency[word], word))
    rank = {word: number for number, word in enumerate(order)}  # rarest first
    width = len(order)  # a pair of ranks (a, b) is the key a * width + b
    by_pair: defaultdict[int, list[int]] = defaultdict(list)
    by_word: defaultdict[int, list[int]] = defaultdict(list)  # sets that can match on one word
    near: dict[int, set[int]] = {}
    # Smallest first: every set already filed is no larger than the one looking.
    for number in sorted(range(len(bags)), key=lambda number: len(bags[number])):
        bag = bags[number]
        size = len(bag)
        # Fewest words shared with any similar set; rounding down only costs lookups.
        need = math.ceil(threshold * size - 1e-6)
        rarest = sorted(map(rank.__getitem__, bag))
        if need <= 1:  # every set filed so far is this small, and filed by word
            candidates = set(chain.from_iterable(filter(None, map(by_word.get, rarest))))
            for word in rarest:
                by_word[word].append(number)
        else:
            keys = [a * width + b for a, b in combinations(rarest[: size - need + 2], 2)]
            candidates = set(chain.from_iterable(filter(None, map(by_pair.get, keys))))
        # Words shared with any similar set at least as large as this one.
        filed = math.ceil(2 * threshold * size / (1 + threshold) - 1e-6)
        for a, b in combinations(rarest[: size - filed + 2], 2):
            by_pair[a * width + b].append(number)
        for other in candidates:
            found = bags[other]
            if threshold * size - 1e-9 > len(found):
                continue  # too small to share enough words
            shared = len(bag & found)
            if shared >= threshold * (size + len(found) - shared) - 1e-9:  # similar(), inline
                near.setdefault(number, set()).add(other)
                near.setdefault(other, set()).add(number)
    return near
