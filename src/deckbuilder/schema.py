"""The card format, declared once: it drives the checks, the docs and the JSON Schema."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

ID_PATTERN = r"^[a-z0-9][a-z0-9-]*$"


@dataclass(frozen=True)
class Key:
    """One key of a YAML mapping. ``type`` is one of text, id, flag, tags, cards, lint."""

    name: str
    type: str
    doc: str
    required: bool = False


DECK_KEYS = (
    Key("deck", "text", "The parent deck's name in Anki.", required=True),
    Key("id", "id", "Stable namespace of every Anki id; never change it after publishing.",
        required=True),
    Key("description", "text", "Shown in Anki's deck overview (Markdown)."),
    Key("tags", "tags", "Tags added to every card."),
    Key("vocabulary", "tags", "When present, every section and card tag must come from it."),
    Key("html", "flag", "Let raw HTML in card texts reach Anki as HTML (default false: shown as "
        "text). Scripts in such HTML run on the learner's device."),
    Key("lint", "lint", "Thresholds of `deckbuilder lint` rules, rule id -> number."),
)

SECTION_KEYS = (
    Key("section", "text", "The subdeck's title.", required=True),
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
    Key("lint", "tags", "Lint rule ids silenced for this card."),
)

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


def json_schema(which: str) -> dict[str, Any]:
    """JSON Schema (draft 2020-12) for a section file (``section``) or deck.yaml (``deck``)."""
    if which == "deck":
        schema = _object(DECK_KEYS)
        title = "deckbuilder deck.yaml"
    else:
        schema = _object(SECTION_KEYS)
        title = "deckbuilder section file"
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": title, **schema}


_TAG = {"type": "string", "pattern": r"^[^\s\"]+$"}
_TYPES: dict[str, dict[str, Any]] = {
    "text": {"type": ["string", "number"], "minLength": 1},
    "id": {"type": "string", "pattern": ID_PATTERN},
    "flag": {"type": "boolean"},
    "tags": {"type": "array", "items": _TAG, "uniqueItems": True},
    "lint": {"type": "object", "additionalProperties": {"type": "number"}},
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
