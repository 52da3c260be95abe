"""Check loaded YAML against the card format and build the Deck model from it."""

from __future__ import annotations

import itertools

from . import deckoptions, limits, schema
from .cloze import parse_cloze, simple_numbers
from .errors import Location, Problems
from .limits import TRUE_WORDS, YAML_BOOLEANS
from .model import Card, DeckHead, Section, section_tag
from .schema import Key
from .source import Node, SourceFile
from .values import WRITTEN, ValueChecker, stored_text


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
        options=deckoptions.check(head["options"], source, problems) if "options" in head
        else None,
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


class _Checker(ValueChecker):
    def __init__(self, problems: Problems) -> None:
        super().__init__(problems)
        # Each layout of a card's keys once: most cards of a section share a few.
        self.layouts: dict[tuple[tuple[str, int, int], ...],
                           tuple[tuple[str, int, int], ...]] = {}
        # A card's own tags as written -> its merged tags, for the section being checked
        self.card_tags: dict[tuple[object, ...], tuple[str, ...]] = {}

    def mapping(self, source: SourceFile, keys: tuple[Key, ...],
                root: Node | None) -> dict[str, Node]:
        """A file's top level: a mapping with the given keys (None: the file was unreadable,
        already reported)."""
        self.source = source
        if root is None:
            return {}
        return self.fields(root, keys, what="this file")

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
        inherited, section_source = (*deck.tags, *section_tags, auto), self.text(head, "source")
        self.card_tags = {}  # for this section's inherited tags
        for item in head["cards"].value if "cards" in head else ():  # type: ignore[attr-defined]
            card = self.card(item, source, inherited, vocab, section_source)
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
        # Cards repeat a few lists of tags: each list's merged tags are made once.
        listed = values.get("tags")
        written = () if listed is None else tuple([  # None: not text, never stored
            item.value if item.kind in WRITTEN else None for item in listed.value])  # type: ignore[attr-defined]
        tags = self.card_tags.get(written)
        if tags is None:
            count = len(self.problems.items)
            own = self.tags(values, "tags", source, vocabulary)
            tags = self.merged_tags((*inherited, *own), listed or values["id"])
            if len(self.problems.items) == count:
                self.card_tags[written] = tags
        return self.make_card(values, source, tags, section_source, kind, numbers)

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
            if not self.misspelled & {"front", "back", "cloze"}:
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
                if needed not in self.misspelled:
                    self.problems.error(self.at(node),
                                        f"a card with '{given}' also needs '{needed}'")
            reverse = values.get("reverse")
            kind = "reverse" if reverse is not None and reverse.value in TRUE_WORDS else "basic"
        own = self.tags(values, "tags", source, vocabulary)
        if not kind or "id" not in values:
            return None
        tags = self.merged_tags((*inherited, *own), values.get("tags") or values["id"])
        return self.make_card(values, source, tags, section_source, kind, numbers)

    def cloze_numbers(self, cloze: Node) -> tuple[int, ...]:
        """A cloze text's deletion numbers; what Anki would get wrong is reported."""
        if (numbers := simple_numbers(cloze.value)) is not None:  # type: ignore[arg-type]
            return numbers
        deletions, messages = parse_cloze(cloze.value)  # type: ignore[arg-type]
        for message in messages:
            self.problems.error(self.at(cloze), message)
        return tuple(sorted({d.number for d in deletions}))

    def make_card(self, values: dict[str, Node], source: SourceFile, tags: tuple[str, ...],
                  section_source: str, kind: str, numbers: tuple[int, ...]) -> Card:
        identity = values["id"]
        get = values.get
        line = identity.line
        layout = tuple([(name, value.line - line, value.column) for name, value in values.items()])
        # Card's fields, every one in order (id, kind, front, back, extra, source, tags,
        # location, positions, lint_off, cloze_numbers), made as tuple.__new__ makes them:
        # without the NamedTuples' __new__ calls, 0.15 us a card less.
        return tuple.__new__(Card, (
            identity.value,
            kind,
            stored_text(get("cloze" if kind == "cloze" else "front")),
            stored_text(get("back")),
            stored_text(get("extra")),
            stored_text(get("source")) or section_source,
            tags,
            tuple.__new__(Location, (source.display, identity.line, identity.column)),
            self.layouts.setdefault(layout, layout),
            self.rule_ids(values, source),
            numbers,
        ))

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


_CARD_KEYS = {key.name: key for key in schema.CARD_KEYS}
_REQUIRED = frozenset(key.name for key in schema.CARD_KEYS if key.required)
_CARD_KINDS = tuple((frozenset(needs), frozenset(cannot))
                    for needs, cannot in schema.CARD_KINDS.values())
# What _plain_card does with a value, by key: a flag, a list, or a text matched by the
# key's expression. A "text" key's rules (not empty, no control characters but tab and
# newline) hold for every non-blank line of printable ASCII, most texts: those skip the
# expression (tests/test_check_fast.py holds this).
_FLAG, _LIST = "flag", "list"
_SHORTCUT = frozenset(key.name for key in schema.CARD_KEYS if key.type == "text" and not key.rules)
# The per-value tests of each order of declared keys that makes a card of one kind.
_PLANS: dict[tuple[str, ...], tuple[tuple[object, bool], ...] | None] = {}


def _plan(names: tuple[str, ...]) -> tuple[tuple[object, bool], ...] | None:
    """``_plain_card``'s test of each value of a card with these keys, in their order;
    None when a key is not declared, or the keys make no card of one kind."""
    keys = [_CARD_KEYS.get(name) for name in names]
    present = frozenset(names)
    if None in keys or not present >= _REQUIRED or not any(
            needs <= present and present.isdisjoint(cannot) for needs, cannot in _CARD_KINDS):
        return None
    return tuple((key.fast or (_FLAG if key.type == "flag" else _LIST), key.name in _SHORTCUT)
                 for key in keys if key is not None)


def _plain_card(node: Node) -> dict[str, Node] | None:
    """A card's values when every key is declared, every value valid and the card of one
    declared kind, else None; reports nothing: the fast path for a deck that is fine."""
    if node.kind != "map":
        return None
    values: dict[str, Node] = node.value  # type: ignore[assignment]
    names = tuple(values)
    plan = _PLANS.get(names)
    if plan is None:
        if names in _PLANS or len(_PLANS) >= 4096:  # a few orders per deck; hostile ones
            return None
        plan = _PLANS[names] = _plan(names)
        if plan is None:
            return None
    for (test, shortcut), value in zip(plan, values.values()):  # noqa: B905 (same length)
        if test is _FLAG:
            if value.kind != "bool" and value.value not in YAML_BOOLEANS:
                return None
        elif test is _LIST:  # tags, lint: checked with the card
            if value.kind != "seq":
                return None
        elif value.kind not in WRITTEN:
            return None
        else:
            text: str = value.value  # type: ignore[assignment]
            if not (shortcut and text.isascii() and text.isprintable() and text
                    and not text.isspace()) and not test.match(text):  # type: ignore[attr-defined]
                return None
    return values
