"""The card format, declared once: `validate`'s structural checks (check.py) and the JSON
Schema editors use (json_schema) are both read from the declarations here.

A rule on a value is a regular expression that valid values match, written in the part of
the syntax Python and ECMAScript read alike (explicit classes, no '.', no '\\s'), so that
check.py and every JSON Schema validator (check-jsonschema's default, editors) decide the
same; the messages only explain a failure.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, NamedTuple

from . import deckoptions, limits
from .limits import NOT_IN_LINE, NOT_IN_TEXT, shown

# Patterns end in (?!\n)$ where it matters because in Python '$' also matches before a
# final newline, which would let "id\n" through.
_END = r"(?!\n)$"
ID_PATTERN = r"^[a-z0-9][a-z0-9-]*" + _END
# What str.strip() removes (Python's whitespace), spelt out: '\s' differs between dialects.
WS = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"


@dataclass(frozen=True)
class Rule:
    """A condition on a value written as text: valid values match ``pattern`` (searched).
    ``advice`` is what an editor shows, ``problem(key, value)`` what `validate` says."""

    pattern: str
    advice: str
    problem: Callable[[str, str], str]

    @cached_property  # compiled on first use: a command that checks nothing never pays
    def regex(self) -> re.Pattern[str]:
        return re.compile(self.pattern)

    def message(self, key: str, value: str) -> str:
        """`validate`'s message for a ``value`` of ``key`` that does not match."""
        return self.problem(key, value) or f"'{key}' must match: {self.advice}"


def _empty(key: str, value: str) -> str:
    written = f" (YAML reads '{shown(value)}' as nothing)" if value else ""
    return f"'{key}' is empty{written}"


NOT_EMPTY = Rule(f"^[{WS}]*[^{WS}]", "must not be empty", _empty)
_TEXT = Rule(f"^[^{NOT_IN_TEXT}]*$", "no control characters but tab and newline",
             lambda k, v: f"'{k}' {limits.character_problem(v, one_line=False)}")
# A one-line value is trimmed (`deck: >` ends in a newline), so only its inside counts.
_LINE = Rule(f"^[{WS}]*[^{NOT_IN_LINE}]*[{WS}]*$", "one line, no control characters",
             lambda k, v: f"'{k}' {limits.character_problem(v.strip(), one_line=True)}")
_ID = Rule(ID_PATTERN, "only a-z, 0-9 and '-', starting with a letter or digit",
           lambda k, v: f"'{k}' must use only a-z, 0-9 and '-', starting with a letter or "
           f"digit: '{shown(v)}'")


def _tag(k: str, v: str) -> str:
    return limits.tag_problem(v)


_PART = f"[^{WS}{NOT_IN_LINE}\":]"  # what a tag holds between its colons
TAG_RULES = (
    Rule(f"^[{WS}]*[^{WS}]", "must not be empty", _tag),
    Rule(f"^[^{NOT_IN_LINE}]*{_END}", "one line, no control characters", _tag),
    Rule(f"^[^{WS}]*{_END}", "a single word: no spaces", _tag),
    Rule('^[^"]*$', "no double quotes", _tag),
    # Levels split at '::' (left to right, as Anki does) are never empty.
    Rule(f"^(?:(?::?{_PART})+::)*(?:(?::?{_PART})+:?|:){_END}", "no empty level around '::'",
         _tag),
)
# The rules of each kind of value written as text, checked in this order.
RULES = {"text": (NOT_EMPTY, _TEXT), "line": (NOT_EMPTY, _LINE), "id": (NOT_EMPTY, _ID),
         "tag": TAG_RULES}

# Rules of one key, beyond its type's; names and titles are trimmed first.
_LEVEL = f"[^{WS}:](?:(?:[^:]|:(?!:))*[^{WS}:])?"
DECK_NAME_RULES = (
    Rule(f"^[{WS}]*{_LEVEL}(?:::{_LEVEL})*[{WS}]*$",
         "no empty level, none starting or ending with a space or ':'",
         lambda k, v: limits.deck_name_problem(v.strip())),
    Rule(f"^(?![{WS}]*[Dd][Ee][Ff][Aa][Uu][Ll][Tt](?:::|[{WS}]*$))", "not Anki's 'Default'",
         lambda k, v: limits.deck_name_problem(v.strip())),
)
TITLE_RULES = (
    Rule("^(?:[^:]|:(?!:))*$", "no '::' (it would nest another subdeck level)",
         lambda k, v: limits.title_problem(v.strip())),
    Rule(f"^(?:[{WS}]*|[\\s\\S]*[^{WS}:][{WS}]*)$",
         "must not end with ':'", lambda k, v: limits.title_problem(v.strip())),
)
MAX_DECK_ID = limits.MAX_PACKAGE_NAME - len(".apkg")  # the package is <deck id>.apkg
DECK_ID_RULES = (
    Rule("^(?:[^-]|-(?!-))*$", "no '--' (it separates deck and section in --split names)",
         lambda k, v: "a deck id cannot contain '--': it separates the deck id from the "
         "section in --split package names"),
    Rule(f"^[\\s\\S]{{0,{MAX_DECK_ID}}}{_END}", f"at most {MAX_DECK_ID} characters",
         lambda k, v: f"the deck's package name '<id>.apkg' "
         f"{limits.file_name_problem(f'{v}.apkg')}: shorten the deck id"),
)


@dataclass(frozen=True)
class Key:
    """One key of a YAML mapping. ``type`` is one of text (Markdown), line (one line of
    plain text), id, flag, tags, cards, lint, rules, options, or map (a nested mapping of ``keys``).
    ``rules`` are this key's conditions beyond its type's."""

    name: str
    type: str
    doc: str
    required: bool = False
    rules: tuple[Rule, ...] = ()
    keys: tuple[Key, ...] = ()

    @cached_property
    def fast(self) -> re.Pattern[str] | None:
        """All of a text value's rules in one expression: the fast path for valid values."""
        rules = (*RULES.get(self.type, ()), *self.rules)  # each pattern starts with '^'
        return re.compile("".join(f"(?={rule.pattern})" for rule in rules)) if rules else None


CARD_KEYS = (
    Key("id", "id", "The card's permanent identity, unique in the deck: [a-z0-9-].",
        required=True),
    Key("front", "text", "The question of a basic card (Markdown)."),
    Key("back", "text", "The answer of a basic card (Markdown)."),
    Key("reverse", "flag", "With front/back: a second card asks back -> front."),
    Key("cloze", "text", "A cloze card: {{c1::answer}} or {{c1::answer::hint}}, c1, c2, ... "
        "without gaps."),
    Key("extra", "text", "Shown on the answer side of any kind of card (Markdown)."),
    Key("tags", "tags", "Tags of this card, merged with the section's and the deck's."),
    Key("source", "text", "Overrides the section's source for this card."),
    Key("lint", "rules", "Lint rule ids silenced for this card."),
)
# A card is of exactly one kind: the keys it needs and the keys it cannot have.
CARD_KINDS = {"basic": (("front", "back"), ("cloze",)),
              "cloze": (("cloze",), ("front", "back", "reverse"))}

DECK_KEYS = (
    Key("deck", "line", "The parent deck's name in Anki; '::' nests it in another deck.",
        required=True, rules=DECK_NAME_RULES),
    Key("id", "id", "Stable namespace of every Anki id; never change it after publishing.",
        required=True, rules=DECK_ID_RULES),
    Key("description", "text", "Shown in Anki's deck overview (Markdown)."),
    Key("tags", "tags", "Tags added to every card."),
    Key("vocabulary", "tags", "When present, every section and card tag must come from it."),
    Key("html", "flag", "Let raw HTML in card texts reach Anki as HTML (default false: shown as "
        "text). Scripts in such HTML run on the learner's device."),
    Key("lint", "lint", "Thresholds of `deckbuilder lint` rules, rule id -> number."),
    Key("options", "options", "Anki deck options for the deck and its subdecks (one preset); "
        "Anki applies them only if the learner imports presets."),
)

SECTION_KEYS = (
    Key("section", "line", "The subdeck's title.", required=True, rules=TITLE_RULES),
    Key("source", "text", "Where the section's facts come from; shown small on the answer side."),
    Key("tags", "tags", "Tags added to every card of the section."),
    Key("cards", "cards", "The section's cards.", required=True, keys=CARD_KEYS),
)


class LintRule(NamedTuple):  # made at every start: a NamedTuple, not a dataclass (0.3 ms)
    """A `deckbuilder lint` rule: its threshold's default and meaning; 0 turns it off.

    ``kind`` says what the threshold is: a count (a whole number), a ratio (0 to 1)
    or a switch (1 on, 0 off).
    """

    id: str
    default: float
    doc: str
    kind: str = "count"


LINT_RULES = (
    LintRule("answer-too-long", 15, "Most words an answer may have."),
    LintRule("list-too-long", 4, "Most list items an answer may have."),
    LintRule("multiple-questions", 1, "Most question marks a prompt may have."),
    LintRule("yes-no", 1, "Flag prompts phrased as yes/no questions (Is, Does, Can, ...).",
             "switch"),
    LintRule("restates-question", 0.7, "Largest share of an answer's content words that may "
             "also be in its prompt.", "ratio"),
    LintRule("cloze-too-many", 3, "Most deletions a cloze card may have."),
    LintRule("cloze-trivial", 1, "Flag deletions that hide only function words.", "switch"),
    LintRule("near-duplicate", 0.8, "Similarity (shared content words, Jaccard) from which "
             "two prompts count as near-duplicates.", "ratio"),
    LintRule("prompt-too-short", 3, "Fewest words a prompt may have (reverse cards exempt)."),
)
LINT_RULE_IDS = tuple(rule.id for rule in LINT_RULES)

# Names people reach for, mapped to the key they mean.
SYNONYMS = {
    "question": "front", "q": "front", "prompt": "front",
    "answer": "back", "a": "back",
    "text": "cloze", "note": "extra", "notes": "extra", "hint": "extra", "explanation": "extra",
    "tag": "tags", "title": "section", "name": "deck", "reversed": "reverse",
    "card": "cards", "sources": "source", "vocab": "vocabulary",
}


def suggest(key: str, keys: tuple[Key, ...]) -> str | None:
    """The key a misspelt ``key`` most likely means, or None."""
    names = [k.name for k in keys]
    lowered = key.lower()
    if lowered in names:
        return lowered
    if lowered in SYNONYMS and SYNONYMS[lowered] in names:
        return SYNONYMS[lowered]
    candidates = names + [s for s, target in SYNONYMS.items() if target in names and len(s) > 2]
    import difflib  # only for a misspelt key: not at every start

    close = difflib.get_close_matches(lowered, candidates, n=1, cutoff=0.7)
    if not close:
        return None
    return SYNONYMS.get(close[0], close[0])


def unknown_rule(name: str) -> str:
    """The message for a lint rule id that does not exist."""
    import difflib

    close = difflib.get_close_matches(name, LINT_RULE_IDS, n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'?" if close else f"rules: {', '.join(LINT_RULE_IDS)}"
    return f"unknown lint rule '{shown(name)}'; {hint}"


def threshold_problem(name: str, value: float) -> str:
    """What is wrong with ``value`` as the threshold of rule ``name``, or ''."""
    kind = next(rule.kind for rule in LINT_RULES if rule.id == name)
    if kind == "count" and (value < 0 or value != int(value)):
        return f"lint threshold '{name}' must be a whole number, 0 or more (0 turns it off)"
    if kind == "ratio" and not 0 <= value <= 1:
        return f"lint threshold '{name}' must be between 0 and 1 (0 turns it off)"
    if kind == "switch" and value not in (0, 1):
        return f"lint threshold '{name}' must be 1 (on) or 0 (off)"
    return ""


def _pattern(rule: Rule) -> dict[str, str]:
    # patternErrorMessage: what editors with the YAML language server show on a mismatch.
    return {"pattern": rule.pattern, "patternErrorMessage": rule.advice}


def json_schema(which: str) -> dict[str, Any]:
    """JSON Schema (draft 2020-12) for a section file (``section``) or deck.yaml (``deck``)."""
    keys, title = (DECK_KEYS, "deck.yaml") if which == "deck" else (SECTION_KEYS, "section file")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": f"deckbuilder {title}", **_object(keys)}


# Numbers and booleans are text as written (`back: 1949`, `back: yes`), and YAML 1.1 reads
# yes/no/on/off as booleans where YAML 1.2 reads text: both are taken as both.
_WRITTEN = ["string", "number", "boolean"]
_THRESHOLDS: dict[str, dict[str, Any]] = {
    "count": {"type": "integer", "minimum": 0},
    "ratio": {"type": "number", "minimum": 0, "maximum": 1},
    "switch": {"enum": [0, 1]},
}
_TYPES: dict[str, dict[str, Any]] = {
    "text": {"type": _WRITTEN},
    "line": {"type": _WRITTEN},
    # An id written as a number (`id: 12`) is its digits; an editor sees only the number.
    "id": {"type": ["string", "integer"], "minimum": 0},
    "flag": limits.FLAG_SCHEMA,
    "tags": {"type": "array", "uniqueItems": True,
             "items": {"type": _WRITTEN, "allOf": [_pattern(r) for r in TAG_RULES]}},
    "lint": {
        "type": "object",
        "properties": {
            rule.id: {**_THRESHOLDS[rule.kind], "default": rule.default, "description": rule.doc}
            for rule in LINT_RULES
        },
        "additionalProperties": False,
    },
    "rules": {"type": "array", "items": {"enum": list(LINT_RULE_IDS)}, "uniqueItems": True},
    "options": deckoptions.json_schema(),
}


def _object(keys: tuple[Key, ...]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for key in keys:
        if key.type == "cards":
            card = _object(key.keys)
            card["anyOf"] = [
                {"required": list(needs), "properties": dict.fromkeys(cannot, False)}
                for needs, cannot in CARD_KINDS.values()
            ]
            prop: dict[str, Any] = {"type": "array", "minItems": 1, "items": card}
        elif key.type == "map":
            prop = _object(key.keys)
        else:
            prop = dict(_TYPES[key.type])
        rules = (*RULES.get(key.type, ()), *key.rules)
        if rules:
            prop["allOf"] = [_pattern(rule) for rule in rules]
        properties[key.name] = {**prop, "description": key.doc}
    return {
        "type": "object",
        "properties": properties,
        "required": [k.name for k in keys if k.required],
        "additionalProperties": False,
    }
