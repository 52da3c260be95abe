"""`options:` in deck.yaml: one Anki preset ("deck options") for the deck and its subdecks.

Opt-in: without `options:` nothing here touches the package. With it, the package holds
one preset, its id derived from the deck id, and every deck of the package uses it.
What Anki does with it was measured with the official library (anki 26.9): an import
adds the preset only when "Import any deck presets" is ticked (off by default), adds
it once and never updates it; each later import with presets ticked puts the deck and
its subdecks back on it. Only `sync` updates an existing one (the author's own), which
forces no one-way sync.

Values are stored as Anki's legacy preset JSON (the package's schema 11), which the
library also reads and writes (``col.decks.get_config``).
"""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING, Any, NamedTuple

from .errors import Problems
from .limits import (
    FLAG_SCHEMA,
    TRUE_WORDS,
    YAML_BOOLEANS,
    finite_number,
    leading_zero_problem,
    shown,
)
from .source import Node, SourceFile

if TYPE_CHECKING:  # sqlite3 and json only when a package is written: not on validate's path
    import sqlite3


class Option(NamedTuple):  # made at every start: a NamedTuple, not a dataclass (0.3 ms)
    """One key of `options:`; ``kind`` is count (whole number), ratio, steps or flag."""

    name: str
    kind: str
    doc: str
    low: float = 0
    high: float = 0


OPTIONS = (
    Option("new-per-day", "count", "New cards a day (Anki: New cards/day).", 0, 9999),
    Option("reviews-per-day", "count", "Most reviews a day (Anki: Maximum reviews/day).",
           0, 9999),
    Option("learning-steps", "steps", "Learning steps, like [1m, 10m] (units s, m, h, d)."),
    Option("relearning-steps", "steps", "Steps after a lapse, like [10m] (units s, m, h, d)."),
    Option("desired-retention", "ratio", "Share of reviews you want to recall, used when "
           "FSRS is on (Anki's setting).", 0.7, 0.99),
    Option("maximum-interval", "count", "Longest interval, in days.", 1, 36500),
    Option("bury-siblings", "flag", "Bury a card's siblings (new, review and interday "
           "learning) until the next day."),
)
_BY_NAME = {option.name: option for option in OPTIONS}
# Anki's own defaults (a new preset in Anki 26.9) for what `options:` leaves out.
DEFAULTS: dict[str, Any] = {
    "new-per-day": 20, "reviews-per-day": 200, "learning-steps": (1.0, 10.0),
    "relearning-steps": (10.0,), "desired-retention": 0.9, "maximum-interval": 36500,
    "bury-siblings": False,
}
_STEP = re.compile(r"([0-9]+(?:\.[0-9]+)?)([smhd])")  # ASCII digits, as an editor's \d
_MINUTES = {"s": 1 / 60, "m": 1, "h": 60, "d": 1440}
_MAX_STEP = 365 * 1440  # minutes
_CONTAINERS = {"seq": "a list", "map": "a mapping"}
# Where each option lives in Anki's legacy preset JSON (bury-siblings sets all three).
_PATHS: dict[str, tuple[tuple[str, ...], ...]] = {
    "new-per-day": (("new", "perDay"),),
    "reviews-per-day": (("rev", "perDay"),),
    "learning-steps": (("new", "delays"),),
    "relearning-steps": (("lapse", "delays"),),
    "desired-retention": (("desiredRetention",),),
    "maximum-interval": (("rev", "maxIvl"),),
    "bury-siblings": (("new", "bury"), ("rev", "bury"), ("buryInterdayLearning",)),
}

Options = tuple[tuple[str, Any], ...]  # (option name, value), as written; steps in minutes


def json_schema() -> dict[str, Any]:
    """The JSON Schema of `options:`, with the same ranges the checks enforce."""
    # a step of 0 is refused; at most 365d is not (a pattern cannot compare numbers)
    step = f"^(?![0.]+[smhd]$){_STEP.pattern}(?!\\n)$"
    kinds: dict[str, dict[str, Any]] = {
        "count": {"type": "integer"},
        "ratio": {"type": "number"},
        "flag": FLAG_SCHEMA,
        "steps": {"type": "array", "items": {"type": "string", "pattern": step}},
    }
    properties = {}
    for option in OPTIONS:
        value = dict(kinds[option.kind], description=option.doc)
        if option.kind in ("count", "ratio"):
            value.update(minimum=option.low, maximum=option.high)
        properties[option.name] = value
    return {"type": "object", "properties": properties, "additionalProperties": False}


def check(node: Node, source: SourceFile, problems: Problems) -> Options:
    """The options of a mapping node (a mapping already), every problem reported."""
    found: list[tuple[str, Any]] = []
    for name, value in node.value.items():  # type: ignore[attr-defined]
        option = _BY_NAME.get(name)
        if option is None:
            import difflib  # only for a misspelt option: not at every start

            close = difflib.get_close_matches(name, list(_BY_NAME), n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'?" if close else f"options: {', '.join(_BY_NAME)}"
            problems.error(source.at(*node.keys[name]), f"unknown option '{shown(name)}'; {hint}")
        elif value.kind != "bad":  # a bad value is already reported by the loader
            checked = _value(option, value, source, problems)
            if checked is not None:
                found.append((name, checked))
    return tuple(found)


def _value(option: Option, node: Node, source: SourceFile, problems: Problems) -> Any:
    if option.kind == "flag":
        if node.kind == "bool" or (node.kind == "str" and node.value in YAML_BOOLEANS):
            return node.value in TRUE_WORDS  # as written: `reverse` and `html` read alike
        problems.error(source.node_at(node), f"'{option.name}' must be true or false")
        return None
    if option.kind == "steps":
        return _steps(option, node, source, problems)
    number = finite_number(str(node.value)) if node.kind in ("int", "float") else None
    if number is not None and (ambiguous := leading_zero_problem(option.name, str(node.value))):
        problems.error(source.node_at(node), ambiguous)
        return None
    whole = option.kind == "count"
    if number is None or not option.low <= number <= option.high or (
            whole and number != int(number)):
        low, high = (int(option.low), int(option.high)) if whole else (option.low, option.high)
        what = "a whole number" if whole else "a number"
        problems.error(source.node_at(node), f"'{option.name}' must be {what} from {low} to "
                       f"{high}")
        return None
    return int(number) if whole else number


def _steps(option: Option, node: Node, source: SourceFile, problems: Problems) -> Any:
    if node.kind != "seq":
        problems.error(source.node_at(node), f"'{option.name}' must be a list, like [1m, 10m]")
        return None
    minutes = []
    for item in node.value:  # type: ignore[attr-defined]
        if item.kind == "bad":  # already reported by the loader
            return None
        match = _STEP.fullmatch(str(item.value)) if item.kind == "str" else None
        # rounded as stored: a step of 0.001s would be stored as 0
        value = round(float(match.group(1)) * _MINUTES[match.group(2)], 4) if match else 0
        if not 0 < value <= _MAX_STEP:
            written = shown(str(item.value)) if item.kind != "null" else ""
            found = _CONTAINERS.get(item.kind, f"'{written}'")
            problems.error(source.node_at(item), f"'{option.name}': a step is a number and a "
                           f"unit (s, m, h or d), more than 0 and at most 365d, like 10m or "
                           f"1d; found {found}")
            return None
        minutes.append(value)
    return tuple(minutes)


def value(preset: dict[str, Any], name: str) -> Any:
    """Option ``name``'s value in a legacy preset dict (None when it has none)."""
    found: Any = preset
    for part in _PATHS[name][0]:
        found = found.get(part) if isinstance(found, dict) else None
    return found


def apply(preset: dict[str, Any], options: Options) -> list[str]:
    """Set ``options`` in a legacy preset dict; the names of those that changed."""
    changed = []
    for name, wanted in options:
        stored = list(wanted) if isinstance(wanted, tuple) else wanted
        if _same(value(preset, name), stored):
            continue
        changed.append(name)
        for *parents, last in _PATHS[name]:
            target = preset
            for part in parents:
                target = target.setdefault(part, {})
            target[last] = stored
    return changed


def _same(old: Any, new: Any) -> bool:
    """Equal, but for the float rounding of Anki's storage (0.85 reads back 0.8500000238)."""
    if isinstance(new, list) and isinstance(old, list):
        return len(old) == len(new) and all(map(_same, old, new))
    if isinstance(new, bool) or isinstance(old, bool):
        return old is new
    if isinstance(new, (int, float)) and isinstance(old, (int, float)):
        return abs(old - new) < 1e-6
    return bool(old == new)


def new_preset(base: dict[str, Any], preset_id: int, name: str,
               options: Options) -> dict[str, Any]:
    """The deck's preset: ``base`` (a preset to copy the other settings from) with the
    preset's id (``anki.preset_id``) and name, Anki's defaults, then ``options``."""
    preset: dict[str, Any] = copy.deepcopy(base)
    preset.update(id=preset_id, name=name, mod=0, usn=0)
    apply(preset, tuple(DEFAULTS.items()))
    apply(preset, options)
    return preset


def write(connection: sqlite3.Connection, preset_id: int, name: str,
          options: Options | None) -> None:
    """Add the preset to a package's collection and put every deck but Anki's Default on
    it; without options, nothing (the package stays byte for byte as before)."""
    if options is None:
        return
    import json

    (dconf_json, decks_json) = connection.execute("SELECT dconf, decks FROM col").fetchone()
    dconf, decks = json.loads(dconf_json), json.loads(decks_json)
    preset = new_preset(dconf["1"], preset_id, name, options)
    dconf[str(preset["id"])] = preset
    for deck in decks.values():
        if deck["id"] != 1:
            deck["conf"] = preset["id"]
    connection.execute("UPDATE col SET dconf = ?, decks = ?",
                       (json.dumps(dconf), json.dumps(decks)))
    connection.commit()
