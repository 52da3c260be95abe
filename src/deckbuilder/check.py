"""Check loaded YAML against the card format and build the Deck model from it."""

from __future__ import annotations

import itertools
import unicodedata
from functools import lru_cache
from pathlib import Path

from . import limits, schema
from .cloze import parse_cloze
from .errors import Location, Problems
from .limits import shown
from .model import Card, DeckHead, Section, section_tag
from .schema import TRUE_WORDS, YAML_BOOLEANS, Key
from .source import Node, SourceFile

# A plain scalar is text as written: `back: 1949` is "1949" and `back: yes` is "yes", as
# an editor reading YAML 1.2 sees it (YAML 1.1 would read a boolean).
_WRITTEN = frozenset(("str", "int", "float", "bool"))
_KINDS = {"map": "a mapping", "seq": "a list", "str": "text", "int": "a number",
          "float": "a number", "bool": "a boolean", "null": "empty", "bad": "an invalid value"}


def check_head(source: SourceFile, problems: Problems, root: Node | None) -> DeckHead:
    """Check deck.yaml's tree (None when it could not be read): the deck's name, id,
    shared tags, vocabulary and options."""
    checker = _Checker(problems)
    head = checker.mapping(source, schema.DECK_KEYS, root)
    html = head.get("html")
    lint_node = head.get("lint")
    vocabulary = checker.tags(head, "vocabulary", source) if "vocabulary" in head else None
    return DeckHead(
        name=checker.text(head, "deck") or "Deck",
        id=checker.text(head, "id") or "deck",
        description=checker.text(head, "description"),
        html=html is not None and html.value in TRUE_WORDS,
        tags=checker.tags(head, "tags", source),
        vocabulary=vocabulary,
        lint=checker.lint(lint_node, source) if lint_node else {},
        description_at=source.node_at(head["description"]) if "description" in head else None,
    )


def check_section(source: SourceFile, number: int, head: DeckHead, problems: Problems,
                  root: Node | None) -> Section | None:
    """Check one section file's tree; None when nothing usable is in it."""
    return _Checker(problems).section(source, number, head, root)


def check_across_sections(sections: list[Section], problems: Problems) -> None:
    """What no single file shows: card ids used twice, subdecks Anki would list out of order."""
    _Checker(problems).unique_ids(sections)
    by_name = sorted(sections, key=lambda s: s.label)
    for before, after in itertools.pairwise(by_name):
        if before.number > after.number:
            problems.error(Location(before.path), f"Anki lists subdecks by name, so "
                           f"'{before.label}' would come before '{after.label}': write every "
                           "section number with the same number of digits")


def _declared(keys: tuple[Key, ...]) -> dict[str, Key]:
    declared = _DECLARED.get(id(keys))
    if declared is None:
        declared = _DECLARED[id(keys)] = {key.name: key for key in keys}
    return declared


_DECLARED: dict[int, dict[str, Key]] = {}


class _Checker:
    def __init__(self, problems: Problems) -> None:
        self.problems = problems
        self.source: SourceFile | None = None
        # Cards repeat the same few tag lists: each list is checked once.
        self.checked_tags: dict[tuple[str, bool, tuple[object, ...]], tuple[str, ...]] = {}
        self.merged: dict[tuple[str, ...], tuple[str, ...]] = {}

    def at(self, node: Node, source: SourceFile | None = None) -> Location:
        return (source or self.source or SourceFile(Path(), "?")).node_at(node)

    def mapping(self, source: SourceFile, keys: tuple[Key, ...],
                root: Node | None) -> dict[str, Node]:
        """A file's top level: a mapping with the given keys (None: the file was unreadable,
        already reported)."""
        self.source = source
        if root is None:
            return {}
        return self.fields(root, keys, what="this file")

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
        for name, value in node.value.items():  # type: ignore[attr-defined]
            key = declared.get(name)
            if key is not None and key.fast is not None and value.kind in _WRITTEN and \
                    key.fast.match(value.value):
                values[name] = value  # a valid text: the common case, one match
            elif key is None:
                where = (self.source or SourceFile(Path(), "?")).at(*node.keys[name])
                hint = schema.suggest(name, keys)
                also = f"; did you mean '{hint}'?" if hint else ""
                allowed = ", ".join(declared)
                self.problems.error(where, f"unknown key '{shown(name)}'{also} "
                                    f"(allowed: {allowed})")
            elif self.value_ok(key, value):
                values[name] = value
        for key in keys:
            if key.required and key.name not in node.value:  # type: ignore[operator]
                self.problems.error(self.at(node), f"missing required key '{key.name}'")
        return values

    def value_ok(self, key: Key, node: Node) -> bool:
        """Whether ``node`` is a value of ``key``'s type, by the rules schema.py declares."""
        kind = node.kind
        if kind == "bad":  # already reported by the loader
            return False
        rules = schema.RULES.get(key.type)
        if rules is not None:  # a value written as text
            if kind not in _WRITTEN:
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
        if key.type == "lint" and node.kind != "map":
            self.problems.error(self.at(node), f"'{key.name}' must be a mapping, found "
                                f"{_KINDS[node.kind]}")
            return False
        return True

    @staticmethod
    def text(values: dict[str, Node], name: str) -> str:
        return _text(values.get(name))

    def tags(self, values: dict[str, Node], name: str, source: SourceFile,
             vocabulary: tuple[str, ...] | None = None) -> tuple[str, ...]:
        node = values.get(name)
        if node is None:
            return ()
        items: list[Node] = node.value  # type: ignore[assignment]
        # None stands for a value that is not text: a list with one is never stored.
        seen = (name, vocabulary is None,
                tuple([item.value if item.kind in _WRITTEN else None for item in items]))
        done = self.checked_tags.get(seen)
        if done is not None:
            return done
        count = len(self.problems.items)
        tags: list[str] = []
        folded: set[str] = set()
        for item in items:
            tag = unicodedata.normalize("NFC", str(item.value))  # as Anki stores it
            problem = (_tag_problem(item.value) if item.kind in _WRITTEN
                       else f"a tag must be text, found {_KINDS[item.kind]}")
            if problem:
                self.problems.error(source.node_at(item), problem)
            elif tag.casefold() in folded:  # Anki's tags ignore case
                twice = "" if tag in tags else " (Anki ignores the case of tags)"
                self.problems.error(source.node_at(item),
                                    f"tag '{shown(tag)}' is listed twice{twice}")
            elif vocabulary is not None and tag not in vocabulary:
                hint = _closest(tag, vocabulary)
                self.problems.error(source.node_at(item),
                                    f"tag '{shown(tag)}' is not in the deck's vocabulary{hint}")
            else:
                tags.append(tag)
                folded.add(tag.casefold())
        if len(self.problems.items) == count:
            self.checked_tags[seen] = tuple(tags)
        return tuple(tags)

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
                problem = schema.threshold_problem(name, number)
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

    def section(self, source: SourceFile, number: int, deck: DeckHead,
                root: Node | None) -> Section | None:
        head = self.mapping(source, schema.SECTION_KEYS, root)
        if not head:
            return None
        vocab = deck.vocabulary
        section_tags = self.tags(head, "tags", source, vocab)
        stem = source.path.stem
        auto = section_tag(deck.id, stem)
        cards = []
        for item in head["cards"].value if "cards" in head else ():  # type: ignore[attr-defined]
            card = self.card(item, source, (*deck.tags, *section_tags, auto), vocab,
                             self.text(head, "source"))
            if card is not None:
                cards.append(card)
        if "cards" in head and not head["cards"].value:
            self.problems.error(self.at(head["cards"]), "the section has no cards yet")
        if problem := limits.file_name_problem(f"{deck.id}--{stem}.apkg"):
            self.problems.error(source.at(), f"this section's package name with --split "
                                f"'<id>--{stem}.apkg' {problem}: shorten the file name or the "
                                "deck id")
        return Section(number, stem, self.text(head, "section"), self.text(head, "source"),
                       source.display, tuple(cards), source.at(1, 1))

    def card(self, node: Node, source: SourceFile, inherited: tuple[str, ...],
             vocabulary: tuple[str, ...] | None, section_source: str) -> Card | None:
        values = _plain_card(node)
        if values is None:  # something is wrong: the full check finds and reports it
            return self.checked_card(node, source, inherited, vocabulary, section_source)
        kind = "basic"
        numbers: tuple[int, ...] = ()
        if "cloze" in values:
            kind, numbers = "cloze", self.cloze_numbers(values["cloze"])
        elif (reverse := values.get("reverse")) is not None and reverse.value in TRUE_WORDS:
            kind = "reverse"
        own = self.tags(values, "tags", source, vocabulary)
        return self.make_card(values, source, (*inherited, *own), section_source, kind, numbers)

    def checked_card(self, node: Node, source: SourceFile, inherited: tuple[str, ...],
                     vocabulary: tuple[str, ...] | None, section_source: str) -> Card | None:
        values = self.fields(node, schema.CARD_KEYS, what="a card")
        if node.kind != "map":
            return None
        has = {name for name in ("front", "back", "cloze") if name in node.value}  # type: ignore[operator]
        kind = ""
        numbers: tuple[int, ...] = ()
        if "cloze" in has and has & {"front", "back"}:
            self.problems.error(self.at(node), "a card is either front/back or cloze, not both")
        elif not has:
            self.problems.error(self.at(node), "a card needs front and back, or cloze")
        elif "cloze" in has:
            kind = "cloze"
            if "reverse" in node.value:  # type: ignore[operator]
                self.problems.error(self.at(node.value["reverse"]),  # type: ignore[index]
                                    "'reverse' applies to front/back cards, not cloze")
            if "cloze" in values:
                numbers = self.cloze_numbers(values["cloze"])
        else:
            if len(has) == 1:
                given = next(iter(has))
                needed = "back" if given == "front" else "front"
                self.problems.error(self.at(node), f"a card with '{given}' also needs '{needed}'")
            reverse = values.get("reverse")
            kind = "reverse" if reverse is not None and reverse.value in TRUE_WORDS else "basic"
        own = self.tags(values, "tags", source, vocabulary)
        if not kind or "id" not in values:
            return None
        return self.make_card(values, source, (*inherited, *own), section_source, kind, numbers)

    def cloze_numbers(self, cloze: Node) -> tuple[int, ...]:
        """A cloze text's deletion numbers; what Anki would get wrong is reported."""
        deletions, messages = parse_cloze(cloze.value)  # type: ignore[arg-type]
        for message in messages:
            self.problems.error(self.at(cloze), message)
        return tuple(sorted({d.number for d in deletions}))

    def make_card(self, values: dict[str, Node], source: SourceFile, tags: tuple[str, ...],
                  section_source: str, kind: str, numbers: tuple[int, ...]) -> Card:
        identity = values["id"]
        get = values.get
        return Card(
            id=identity.value,  # type: ignore[arg-type]
            kind=kind,
            front=_text(get("cloze" if kind == "cloze" else "front")),
            back=_text(get("back")),
            extra=_text(get("extra")),
            source=_text(get("source")) or section_source,
            tags=self.merged_tags(tags, get("tags") or identity),
            location=Location(source.display, identity.line, identity.column),
            positions={name: (value.line, value.column) for name, value in values.items()},
            lint_off=self.rule_ids(values, source),
            cloze_numbers=numbers,
        )

    def unique_ids(self, sections: list[Section]) -> None:
        first: dict[str, Location] = {}
        for card in (card for section in sections for card in section.cards):
            if card.id in first and first[card.id] == card.location:
                self.problems.error(card.location, f"card '{card.id}' is repeated through an "
                                    "alias")
            elif card.id in first:
                self.problems.error(card.location, f"duplicate card id '{card.id}' (also at "
                                    f"{first[card.id]})")
                self.problems.error(first[card.id], f"duplicate card id '{card.id}' (also at "
                                    f"{card.location})")
            else:
                first[card.id] = card.location


def _text(node: Node | None) -> str:
    """The value as Anki will store it: trimmed, and in Unicode NFC as Anki normalises
    names and texts (so the subdeck in the lock is the one Anki creates)."""
    if node is None:
        return ""
    text: str = node.value.strip()  # type: ignore[attr-defined]
    return text if text.isascii() else unicodedata.normalize("NFC", text)


_CARD_KEYS = {key.name: key for key in schema.CARD_KEYS}
_FRONT_BACK = frozenset(("front", "back"))


def _plain_card(node: Node) -> dict[str, Node] | None:
    """A card's values when every key is declared, every value valid and the kind plain
    (front and back, or cloze without reverse), else None; reports nothing: the fast path
    for the cards of a deck that is fine."""
    if node.kind != "map":
        return None
    values: dict[str, Node] = node.value  # type: ignore[assignment]
    for name, value in values.items():
        key = _CARD_KEYS.get(name)
        if key is None:
            return None
        if key.fast is not None:
            if value.kind not in _WRITTEN or not key.fast.match(value.value):  # type: ignore[call-overload]
                return None
        elif name == "reverse":
            if value.kind != "bool" and value.value not in YAML_BOOLEANS:
                return None
        elif value.kind != "seq":  # tags, lint
            return None
    if "id" not in values:
        return None
    if "cloze" in values:
        return None if "front" in values or "back" in values or "reverse" in values else values
    return values if _FRONT_BACK.issubset(values) else None


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
