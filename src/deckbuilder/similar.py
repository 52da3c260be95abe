"""Words of a card's text, and prompts that are near-duplicates of each other.

Near-duplicates are found without comparing every pair: identical word sets are
grouped by hashing, and similar sets are found with prefix filtering (sort each set's
words rarest first; two sets at least ``t`` similar must share a word among the first
``n - ceil(t * n) + 1`` words of each), so 10,000 prompts take a fraction of a second.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict

from .render import replace_math, replace_sounds

_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_HTML = re.compile(r"<[^>]*>|&#?\w+;")
_WORD = re.compile("[^\\W_]+(?:['\u2019.-][^\\W_]+)*")

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
    text = replace_math(text, lambda math: " math ")
    text = _IMAGE.sub(" ", replace_sounds(text, lambda _: " "))
    text = _LINK.sub(r" \1 ", text)
    return _WORD.findall(_HTML.sub(" ", text))


def content_words(text: str, keep_stop_words: bool = False) -> frozenset[str]:
    """Lower-cased words without function words, plural endings folded ('Allies' = 'ally')."""
    found = (_stem(word.lower()) for word in words(text))
    return frozenset(w for w in found if keep_stop_words or w not in STOP_WORDS)


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
        related = [groups[bag]] + [groups[bags[other]] for other in near[number]]
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
    frequency = Counter(word for bag in bags for word in bag)
    index: dict[str, list[int]] = defaultdict(list)
    near: dict[int, set[int]] = defaultdict(set)
    for number, bag in enumerate(bags):
        rarest = sorted(bag, key=lambda word: (frequency[word], word))
        prefix = rarest[: len(bag) - math.ceil(threshold * len(bag) - 1e-9) + 1]
        candidates = {other for word in prefix for other in index[word]}
        for other in candidates:
            if similar(bag, bags[other], threshold):
                near[number].add(other)
                near[other].add(number)
        for word in prefix:
            index[word].append(number)
    return near
