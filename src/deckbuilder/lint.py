"""Card-quality lint: warnings from SuperMemo's "20 rules of formulating knowledge".

Each rule reads the checked model, never the files, and reports where the card's text
is, with a one-line fix. Thresholds come from ``deck.yaml`` (``lint:``, declared in
``schema.LINT_RULES``); 0 turns a rule off, and a card's ``lint: [rule-id]`` silences
a rule for that card. Finding near-duplicate prompts lives in ``similar.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from . import progress
from .cloze import Deletion
from .errors import Location, Problem, in_order
from .model import Card, Deck
from .render import replace_math
from .schema import LINT_RULES
from .similar import content_words, fold, near_duplicates, words

_LIST_ITEM = re.compile(r"^\s*(?:[-+*]|\d+[.)])\s+\S", re.MULTILINE)
_HTML_ITEM = re.compile(r"<li\b", re.IGNORECASE)
# Code, link targets and URLs may hold "?" that asks nothing; lengths are bounded so that
# many unclosed openers cannot make the scan quadratic.
_NOT_QUESTION = re.compile(r"`[^`]{0,500}`|\]\([^)]{0,500}\)|https?://\S+")
_OPENING = "[\\s*_\"'\u201c\u2018(\\[]*"  # emphasis, quotes and brackets before the first word
_YES_NO_START = re.compile(
    _OPENING + r"(?:is|are|does|do|did|can|could|was|were|has|have|should|will|would)"
    "(?:n[o'\u2019]t)?\\b", re.IGNORECASE)
_YES_NO_ANSWER = re.compile(_OPENING + r"(?:yes|no)\b", re.IGNORECASE)
_OR = re.compile(r"\bor\b", re.IGNORECASE)
# A prompt that shows an image or plays a sound needs no words of its own.
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)|<img\b|\[sound:", re.IGNORECASE)
_DELETION = re.compile(r"\{\{c\d+::(.*?)(?:::[^}]*)?\}\}", re.DOTALL)
_DELETION_PARTS = re.compile(r"\{\{c(\d+)::(.*?)\}\}", re.DOTALL)


def lint_deck(deck: Deck) -> list[Problem]:
    """Every lint warning of the deck, sorted by place."""
    limits = {rule.id: deck.lint.get(rule.id, rule.default) for rule in LINT_RULES}
    found: list[Problem] = []
    entries: list[tuple[Card, str, frozenset[str]]] = []  # every prompt's words
    progress.phase("linting cards")
    cards = deck.cards  # a new list at each call
    for number, card in enumerate(cards):
        if number % 1024 == 0:
            progress.advance(number, len(cards))
        known = _Texts()
        for rule, field, message in _card_findings(card, limits, known):
            if rule not in card.lint_off and limits[rule]:
                found.append(Problem(_where(card, field), message, "warning", rule))
        entries += _prompt_words(card, known)
    if limits["near-duplicate"]:
        progress.phase("looking for near-duplicate prompts")
        found.extend(_duplicates(entries, limits["near-duplicate"]))
    return in_order(found)


def prompts(card: Card) -> list[tuple[str, str]]:
    """(field, text) of each side a learner is asked: the cloze's full sentence for cloze."""
    if card.kind == "cloze":
        return [("cloze", cloze_sentence(card.front))]
    sides = [("front", card.front)]
    return [*sides, ("back", card.back)] if card.kind == "reverse" else sides


def cloze_sentence(text: str) -> str:
    """The cloze text with every deletion replaced by its answer."""
    return _DELETION.sub(r"\1", text)


def _card_findings(card: Card, limits: dict[str, float], known: _Texts
                   ) -> Iterator[tuple[str, str, str]]:
    """(rule, field, message) for every rule the card breaks, before silencing."""
    if card.kind == "cloze":
        yield from _cloze_findings(card, limits)
        return
    for field, answer in _answers(card):
        yield from _answer_findings(answer, field, limits, known)
    if card.kind == "basic" and not _IMAGE.search(card.front):
        count = len(known.words(card.front))
        if count < limits["prompt-too-short"]:
            yield ("prompt-too-short", "front",
                   f"the prompt has {_n(count, 'word')} (fewer than "
                   f"{limits['prompt-too-short']:g}): give enough context that only one answer "
                   "fits, or make it a term card with reverse: true")
    for field, text in prompts(card):
        if text.count("?") <= limits["multiple-questions"]:
            continue  # the passes below only remove question marks
        asked = _NOT_QUESTION.sub(" ", replace_math(text, lambda math: " ")).count("?")
        if asked > limits["multiple-questions"]:
            yield ("multiple-questions", field,
                   f"the prompt has {asked} question marks: ask one question per card")
    if _YES_NO_START.match(card.front) and (not _OR.search(card.front)
                                            or _YES_NO_ANSWER.match(card.back)):
        yield ("yes-no", "front",
               "a yes/no question is answered by guessing half the time: ask for the fact "
               "itself (what, which, who, when, why)")
    prompt_words = known.content(card.front)
    answer_words = known.content(card.back)
    if answer_words:
        shared = len(answer_words & prompt_words)
        if shared / len(answer_words) > limits["restates-question"]:
            yield ("restates-question", "back",
                   f"the answer repeats the prompt ({shared}/{len(answer_words)} content "
                   "words): ask for what the learner must recall, not for a choice or an echo "
                   "of the question")


def _answers(card: Card) -> list[tuple[str, str]]:
    """(field, text) of each side a learner must recall; a reverse card asks both ways."""
    sides = [("back", card.back)]
    return [*sides, ("front", card.front)] if card.kind == "reverse" else sides


def _answer_findings(answer: str, field: str, limits: dict[str, float],
                     known: _Texts) -> Iterator[tuple[str, str, str]]:
    count = len(known.words(answer))
    if count > limits["answer-too-long"]:
        yield ("answer-too-long", field,
               f"the answer has {count} words (more than {limits['answer-too-long']:g}): keep "
               "the answer minimal and move the explanation to `extra`")
    items = len(_LIST_ITEM.findall(answer))
    if "<" in answer:  # most answers have no HTML
        items += len(_HTML_ITEM.findall(answer))
    if items > limits["list-too-long"]:
        yield ("list-too-long", field,
               f"the answer lists {items} items (more than {limits['list-too-long']:g}): keep "
               "one card for the enumeration and ask each item in its own card or cloze")


def _cloze_findings(card: Card, limits: dict[str, float]) -> Iterator[tuple[str, str, str]]:
    # The deck passed its checks, so each deletion runs from its opener to the first "}}"
    # with no opener inside: one regular expression finds what parse_cloze would, in a
    # third of the time.
    deletions = [Deletion(int(number), *body.partition("::")[::2])
                 for number, body in _DELETION_PARTS.findall(card.front)]
    if len(deletions) > limits["cloze-too-many"]:
        yield ("cloze-too-many", "cloze",
               f"the cloze has {len(deletions)} deletions (more than "
               f"{limits['cloze-too-many']:g}): split it into shorter sentences, one fact each")
    for deletion in deletions:
        count = len(words(deletion.answer))
        if count > limits["answer-too-long"]:
            yield ("answer-too-long", "cloze",
                   f"deletion c{deletion.number} hides {count} words (more than "
                   f"{limits['answer-too-long']:g}): delete only the key term")
        if not content_words(deletion.answer):
            yield ("cloze-trivial", "cloze",
                   f"deletion c{deletion.number} '{deletion.answer.strip()}' hides only "
                   "function words: delete the fact itself (a name, number or term)")


def prompt_words(deck: Deck) -> list[tuple[Card, str, frozenset[str]]]:
    """(card, field, words) of every prompt, in deck order: what near-duplicates compare."""
    return [entry for card in deck.cards for entry in _prompt_words(card, _Texts())]


def _prompt_words(card: Card, known: _Texts
                  ) -> list[tuple[Card, str, frozenset[str]]]:
    return [(card, field, known.content(text) or fold(known.words(text), True))
            for field, text in prompts(card)]


class _Texts:
    """The words and content words of one card's texts, each found once: several rules
    read the same side."""

    def __init__(self) -> None:
        self._words: dict[str, list[str]] = {}
        self._content: dict[str, frozenset[str]] = {}

    def words(self, text: str) -> list[str]:
        found = self._words.get(text)
        if found is None:
            found = self._words[text] = words(text)
        return found

    def content(self, text: str) -> frozenset[str]:
        found = self._content.get(text)
        if found is None:
            found = self._content[text] = fold(self.words(text))
        return found


def _duplicates(entries: list[tuple[Card, str, frozenset[str]]], threshold: float
                ) -> list[Problem]:
    found = []
    for later, earlier in near_duplicates([(card.id, bag) for card, _, bag in entries],
                                          threshold):
        card, field, _ = entries[later]
        other, other_field, _ = entries[earlier]
        if "near-duplicate" in card.lint_off or "near-duplicate" in other.lint_off:
            continue
        found.append(Problem(
            _where(card, field),
            f"the prompt nearly repeats card '{other.id}' ({_where(other, other_field)}): "
            "merge the two cards, or make the difference explicit in both prompts",
            "warning", "near-duplicate"))
    return found


def _where(card: Card, field: str) -> Location:
    return card.at(field)


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
