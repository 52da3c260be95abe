"""The card format, declared once: it drives the checks, the docs and the JSON Schema."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from . import deckoptions
from .limits import NOT_IN_LINE, NOT_IN_TEXT, shown

# Patterns end in (?!\n)$ because in Python (and so in Python JSON Schema validators) '$'
# also matches before a final newline, which would let "id\n" or a two-line title through.
_END = r"(?!\n)$"
ID_PATTERN = r"^[a-z0-9][a-z0-9-]*" + _END


@dataclass(frozen=True)
class Key:
    """One key of a YAML mapping. ``type`` is one of text (Markdown), line (one line of
    plain text), id, flag, tags, cards, lint, rules, options."""

    name: str
    type: str
    doc: str
    required: bool = False


DECK_KEYS = (
    Key("deck", "line", "The parent deck's name in Anki; '::' nests it in another deck.",
        required=True),
    Key("id", "id", "Stable namespace of every Anki id; never change it after publishing.",
        required=True),
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
    Key("section", "line", "The subdeck's title.", required=True),
    Key("source", "text", "Where the section's facts come from; shown small on the answer side."),
    Key("tags", "tags", "Tags added to every card of the section."),
    Key("cards", "cards", "The section's cards.", required=True),
)

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


@dataclass(frozen=True)
class LintRule:
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
    close = difflib.get_close_matches(lowered, candidates, n=1, cutoff=0.7)
    if not close:
        return None
    return SYNONYMS.get(close[0], close[0])


def unknown_rule(name: str) -> str:
    """The message for a lint rule id that does not exist."""
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


def json_schema(which: str) -> dict[str, Any]:
    """JSON Schema (draft 2020-12) for a section file (``section``) or deck.yaml (``deck``)."""
    if which == "deck":
        schema = _object(DECK_KEYS)
        title = "deckbuilder deck.yaml"
    else:
        schema = _object(SECTION_KEYS)
        title = "deckbuilder section file"
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": title, **schema}


_TAG = {"type": "string", "pattern": f"^[^\\s\"{NOT_IN_LINE}]+{_END}"}
_THRESHOLDS: dict[str, dict[str, Any]] = {
    "count": {"type": "integer", "minimum": 0},
    "ratio": {"type": "number", "minimum": 0, "maximum": 1},
    "switch": {"enum": [0, 1]},
}
_TYPES: dict[str, dict[str, Any]] = {
    "text": {"type": ["string", "number"], "minLength": 1, "pattern": f"^[^{NOT_IN_TEXT}]*$"},
    "line": {"type": ["string", "number"], "minLength": 1, "pattern": f"^[^{NOT_IN_LINE}]*{_END}"},
    "id": {"type": "string", "pattern": ID_PATTERN},
    "flag": {"type": "boolean"},
    "tags": {"type": "array", "items": _TAG, "uniqueItems": True},
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
            card = _object(CARD_KEYS)
            card["oneOf"] = [{"required": ["front", "back"]}, {"required": ["cloze"]}]
            properties[key.name] = {"type": "array", "minItems": 1, "items": card}
        else:
            properties[key.name] = dict(_TYPES[key.type])
        properties[key.name]["description"] = key.doc
    return {
        "type": "object",
        "properties": properties,
        "required": [k.name for k in keys if k.required],
        "additionalProperties": False,
    }
