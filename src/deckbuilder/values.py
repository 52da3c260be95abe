"""Check a YAML mapping's keys and values against the keys schema.py declares: the
part of `validate` that is the same for deck.yaml, section files and cards."""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path

from . import limits, schema
from .errors import Location, Problems
from .limits import YAML_BOOLEANS, leading_zero_problem, shown
from .schema import Key
from .source import Node, SourceFile

# A plain scalar is text as written: `back: 1949` is "1949" and `back: yes` is "yes", as
# an editor reading YAML 1.2 sees it (YAML 1.1 would read a boolean).
WRITTEN = frozenset(("str", "int", "float", "bool"))
_KINDS = {"map": "a mapping", "seq": "a list", "str": "text", "int": "a number",
          "float": "a number", "bool": "a boolean", "null": "empty", "bad": "an invalid value"}


def _declared(keys: tuple[Key, ...]) -> dict[str, Key]:
    """``keys`` by name; looked up by identity, as hashing the declarations costs more."""
    entry = _DECLARED.get(id(keys))
    if entry is None or entry[0] is not keys:  # kept alive, so its id is never reused
        entry = _DECLARED[id(keys)] = (keys, {key.name: key for key in keys})
    return entry[1]


_DECLARED: dict[int, tuple[tuple[Key, ...], dict[str, Key]]] = {}


class ValueChecker:
    """Reports what is wrong with values, and keeps what is valid."""

    def __init__(self, problems: Problems) -> None:
        self.problems = problems
        self.source: SourceFile | None = None
        # The keys the last mapping's unknown keys were taken for (`frnt` for 'front'): a
        # misspelled key is one problem, not also a missing one.
        self.misspelled: set[str] = set()
        # Cards repeat the same few tag lists: each list is checked once.
        self.checked_tags: dict[tuple[str, int, tuple[object, ...]], tuple[str, ...]] = {}
        self.merged: dict[tuple[str, ...], tuple[str, ...]] = {}
        self.vocabulary: tuple[tuple[str, ...], frozenset[str]] | None = None

    def at(self, node: Node, source: SourceFile | None = None) -> Location:
        return (source or self.source or SourceFile(Path(), "?")).node_at(node)

    def fields(self, node: Node, keys: tuple[Key, ...], what: str) -> dict[str, Node]:
        """Check a mapping's keys and each value's type; return the valid values by key."""
        if node.kind == "bad":  # already reported by the loader
            return {}
        if node.kind != "map":
            self.problems.error(self.at(node), f"expected a mapping for {what}, found "
                                f"{_KINDS[node.kind]}")
            return {}
        declared = _declared(keys)
        values: dict[str, Node] = {}
        misspelled = self.misspelled = set()
        for name, value in node.value.items():  # type: ignore[attr-defined]
            key = declared.get(name)
            if key is not None and key.fast is not None and value.kind in WRITTEN and \
                    key.fast.match(value.value):
                values[name] = value  # a valid text: the common case, one match
            elif key is None:
                where = (self.source or SourceFile(Path(), "?")).at(*node.keys[name])
                hint = schema.suggest(name, keys)
                also = f"; did you mean '{hint}'?" if hint else ""
                if hint:
                    misspelled.add(hint)
                allowed = ", ".join(declared)
                self.problems.error(where, f"unknown key '{shown(name)}'{also} "
                                    f"(allowed: {allowed})")
            elif self.value_ok(key, value):
                values[name] = value
        for key in keys:
            missing = key.required and key.name not in node.value  # type: ignore[operator]
            if missing and key.name not in misspelled:
                self.problems.error(self.at(node), f"missing required key '{key.name}'")
        return values

    def value_ok(self, key: Key, node: Node) -> bool:
        """Whether ``node`` is a value of ``key``'s type, by the rules schema.py declares."""
        kind = node.kind
        if kind == "bad":  # already reported by the loader
            return False
        rules = schema.RULES.get(key.type)
        if rules is not None:  # a value written as text
            if kind not in WRITTEN:
                self.problems.error(self.at(node), schema.NOT_EMPTY.message(key.name, str(
                    node.value)) if kind == "null" else f"'{key.name}' must be text, found "
                    f"{_KINDS[kind]}")
                return False
            value: str = node.value  # type: ignore[assignment]
            for rule in rules:
                if not rule.regex.search(value):
                    self.problems.error(self.at(node), rule.message(key.name, value))
                    return False
            for rule in key.rules:  # the value stays usable: these only report
                if not rule.regex.search(value):
                    self.problems.error(self.at(node), rule.message(key.name, value))
            return True
        if key.type == "flag":
            if kind == "bool" or (kind == "str" and node.value in YAML_BOOLEANS):
                return True
            self.problems.error(self.at(node), f"'{key.name}' must be true or false, found "
                                f"{_KINDS[kind]}")
            return False
        if key.type in ("tags", "cards", "rules") and node.kind != "seq":
            self.problems.error(self.at(node), f"'{key.name}' must be a list, found "
                                f"{_KINDS[node.kind]}")
            return False
        if key.type in ("lint", "options", "map") and node.kind != "map":
            self.problems.error(self.at(node), f"'{key.name}' must be a mapping, found "
                                f"{_KINDS[node.kind]}")
            return False
        return True

    @staticmethod
    def text(values: dict[str, Node], name: str) -> str:
        return stored_text(values.get(name))

    def tags(self, values: dict[str, Node], name: str, source: SourceFile,
             vocabulary: tuple[str, ...] | None = None) -> tuple[str, ...]:
        node = values.get(name)
        if node is None:
            return ()
        items: list[Node] = node.value  # type: ignore[assignment]
        # None stands for a value that is not text: a list with one is never stored.
        seen = (name, id(vocabulary),
                tuple([item.value if item.kind in WRITTEN else None for item in items]))
        done = self.checked_tags.get(seen)
        if done is not None:
            return done
        count = len(self.problems.items)
        tags: list[str] = []
        folded: set[str] = set()
        allowed = None if vocabulary is None else self.allowed(vocabulary)
        for item in items:
            if item.kind not in WRITTEN:
                self.problems.error(source.node_at(item),
                                    f"a tag must be text, found {_KINDS[item.kind]}")
                continue
            value: str = item.value  # type: ignore[assignment]
            # as Anki stores it (ASCII is NFC)
            tag = value if value.isascii() else unicodedata.normalize("NFC", value)
            if problem := _tag_problem(value):
                self.problems.error(source.node_at(item), problem)
            elif (caseless := tag.casefold()) in folded:  # Anki's tags ignore case
                twice = "" if tag in tags else " (Anki ignores the case of tags)"
                self.problems.error(source.node_at(item),
                                    f"tag '{shown(tag)}' is listed twice{twice}")
            elif allowed is not None and tag not in allowed:
                hint = _closest(tag, vocabulary)  # type: ignore[arg-type]
                self.problems.error(source.node_at(item),
                                    f"tag '{shown(tag)}' is not in the deck's vocabulary{hint}")
            else:
                tags.append(tag)
                folded.add(caseless)
        if len(self.problems.items) == count:
            self.checked_tags[seen] = tuple(tags)
        return tuple(tags)

    def allowed(self, vocabulary: tuple[str, ...]) -> frozenset[str]:
        """The vocabulary as a set, made once (a tuple is searched tag by tag)."""
        if self.vocabulary is None or self.vocabulary[0] is not vocabulary:
            self.vocabulary = (vocabulary, frozenset(vocabulary))
        return self.vocabulary[1]

    def merged_tags(self, tags: tuple[str, ...], where: Node) -> tuple[str, ...]:
        """A card's tags, inherited and its own, each once; two spellings of one tag (Anki
        keeps one for both) are an error."""
        done = self.merged.get(tags)
        if done is not None:
            return done
        spelled: dict[str, str] = {}
        clean = True
        for tag in tags:
            other = spelled.setdefault(tag.casefold(), tag)
            if other != tag:
                clean = False
                self.problems.error(self.at(where), f"tags '{shown(other)}' and '{shown(tag)}' "
                                    "differ only by case, and Anki keeps one spelling for "
                                    "both: write them alike")
        merged = tuple(dict.fromkeys(tags))
        if clean:
            self.merged[tags] = merged
        return merged

    def lint(self, node: Node, source: SourceFile) -> dict[str, float]:
        limits: dict[str, float] = {}
        for name, value in node.value.items():  # type: ignore[attr-defined]
            if name not in schema.LINT_RULE_IDS:
                self.problems.error(source.at(*node.keys[name]), schema.unknown_rule(name))
            elif value.kind == "bad":  # already reported by the loader
                continue
            elif (number := _number(value)) is not None:
                problem = (leading_zero_problem(name, str(value.value))
                           or schema.threshold_problem(name, number))
                if problem:
                    self.problems.error(source.node_at(value), problem)
                else:
                    limits[name] = number
            else:
                self.problems.error(source.node_at(value), f"lint threshold '{name}' must be a "
                                    "plain number, like 3 or 0.5")
        return limits

    def rule_ids(self, values: dict[str, Node], source: SourceFile) -> tuple[str, ...]:
        """A card's `lint` list: rule ids to silence, each one a rule that exists."""
        if "lint" not in values:
            return ()
        rules = self.tags(values, "lint", source)
        for item in values["lint"].value if rules else ():  # type: ignore[attr-defined]
            if str(item.value) not in schema.LINT_RULE_IDS:
                self.problems.error(source.node_at(item), schema.unknown_rule(str(item.value)))
        return tuple(rule for rule in rules if rule in schema.LINT_RULE_IDS)


def stored_text(node: Node | None) -> str:
    """The value as Anki will store it: trimmed, and in Unicode NFC as Anki normalises
    names and texts (so the subdeck in the lock is the one Anki creates)."""
    if node is None:
        return ""
    text: str = node.value.strip()  # type: ignore[attr-defined]
    return text if text.isascii() else unicodedata.normalize("NFC", text)


@lru_cache(maxsize=4096)  # a deck uses few tags, on many cards
def _tag_problem(tag: str) -> str:
    return next((rule.message("tag", tag) for rule in schema.TAG_RULES
                 if not rule.regex.search(tag)), "")


def _number(node: Node) -> float | None:
    # YAML also has 0x1f, 0o17, .inf and 1.0e+400: not thresholds anyone means
    return limits.finite_number(str(node.value)) if node.kind in ("int", "float") else None


def _closest(tag: str, vocabulary: tuple[str, ...]) -> str:
    import difflib

    close = difflib.get_close_matches(tag, vocabulary, n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else " (add it to vocabulary in deck.yaml)"
