"""Find a deck's files and load their YAML, keeping the position of every value.

The loader reads libyaml's event stream itself instead of letting PyYAML construct
objects: nothing but plain data can come out of it, duplicate keys are caught, every
value keeps its line and column, aliases stay shared (an alias bomb costs nothing) and
nesting is bounded without recursion.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import limits
from .conflicts import conflict_markers
from .errors import Location, Problems
from .stamp import is_yaml_name
from .yamlimport import yaml  # PyYAML, without compiling what it never uses here

try:  # libyaml's C parser is about ten times faster than the pure-Python one
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

DECK_FILE = "deck.yaml"
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_DEPTH = 50
# The name after the number becomes part of a tag, so it is a single word.
_SECTION_NAME = re.compile(r"^(\d+)-[A-Za-z0-9][A-Za-z0-9_-]*\.ya?ml$")
_QUOTE_IT = "to write text that starts with '{}', put the whole text between quotes"
_PLAIN_TAGS = {
    "tag:yaml.org,2002:str": "str",
    "tag:yaml.org,2002:int": "int",
    "tag:yaml.org,2002:float": "float",
    "tag:yaml.org,2002:bool": "bool",
    "tag:yaml.org,2002:null": "null",
}
_TAGGED = {"int": "a whole number", "float": "a number", "bool": "true or false",
           "null": "empty"}
_resolver = yaml.resolver.Resolver()
_IMPLICIT_FIRST = frozenset(k for k in _resolver.yaml_implicit_resolvers if k)


class Node:
    """A loaded YAML value: kind is map, seq, str, int, float, bool or null.

    A map's value is a dict of key -> Node and ``keys`` holds each key's position;
    a seq's value is a list of Node; a scalar's value is its text as written.
    """

    __slots__ = ("column", "keys", "kind", "line", "value")

    def __init__(self, kind: str, value: object, line: int, column: int) -> None:
        self.kind = kind
        self.value = value
        self.line = line
        self.column = column
        self.keys: dict[str, tuple[int, int]] = {}


@dataclass(frozen=True)
class SourceFile:
    """One YAML file of the deck, as shown to the user (``display``) and on disk."""

    path: Path
    display: str

    def at(self, line: int = 0, column: int = 0) -> Location:
        return Location(self.display, line, column)

    def node_at(self, node: Node) -> Location:
        return Location(self.display, node.line, node.column)


@dataclass(frozen=True)
class DeckFiles:
    deck: SourceFile
    sections: tuple[tuple[int, SourceFile], ...]


def find_deck_files(deck_dir: Path, problems: Problems) -> DeckFiles | None:
    """List deck.yaml and the numbered section files, in number order."""
    shown = str(deck_dir)
    if not deck_dir.is_dir():
        here = " (this folder is a deck: use '.')" if Path(DECK_FILE).is_file() else ""
        what = "is a file, not a deck folder" if deck_dir.exists() else "deck folder not found"
        problems.error(Location(shown), f"{what}{here}")
        return None
    deck = SourceFile(deck_dir / DECK_FILE, os.path.join(shown, DECK_FILE))
    inside = deck_dir.resolve()
    entries = sorted(os.listdir(deck_dir))
    # deck.yml or Deck.yaml: the deck file misnamed, not a section file misnamed
    misnamed = next((e for e in entries if e.lower() in ("deck.yaml", "deck.yml")
                     and e != DECK_FILE), None)
    if misnamed and DECK_FILE not in entries:
        problems.error(Location(os.path.join(shown, misnamed)),
                       f"the deck file is named {DECK_FILE}: rename this file to {DECK_FILE}")
    elif not deck.path.is_file():
        problems.error(deck.at(), "deck.yaml is not a regular file" if deck.path.exists()
                       else "deck.yaml is missing: every deck folder needs one")
    elif _outside(deck.path, inside):
        problems.error(deck.at(), OUTSIDE)
    sections: list[tuple[int, SourceFile]] = []
    seen: dict[int, SourceFile] = {}
    for entry in entries:
        if entry.startswith(".") or not is_yaml_name(entry) or entry == DECK_FILE:
            continue
        if entry == misnamed:
            if DECK_FILE in entries:
                problems.error(Location(os.path.join(shown, entry)),
                               f"a second deck file: the deck is read from {DECK_FILE} only")
            continue
        source = SourceFile(deck_dir / entry, os.path.join(shown, entry))
        stem, dot, extension = entry.rpartition(".")
        if extension not in ("yaml", "yml"):  # 02-verbs.YAML: never silently left out
            problems.error(source.at(), "a section file name ends in .yaml or .yml, in lower "
                           f"case: rename it to {stem}{dot}{extension.lower()}")
            continue
        match = _SECTION_NAME.match(entry)
        if not source.path.is_file():  # a folder, a pipe or a device would never end reading
            problems.error(source.at(), "not a regular file")
            continue
        if _outside(source.path, inside):
            problems.error(source.at(), OUTSIDE)
            continue
        if not match:
            problems.error(
                source.at(), "section file names are a number, '-' and a name of ASCII letters, "
                "digits, '-' or '_', like 01-basics.yaml (the name becomes a tag)"
            )
            continue
        number = int(match.group(1))
        if number in seen:
            problems.error(
                source.at(), f"section number {number} is also used by {seen[number].display}"
            )
            continue
        seen[number] = source
        sections.append((number, source))
    if not sections and deck.path.is_file():
        problems.error(Location(shown), "the deck has no section files (01-name.yaml, ...)")
    sections.sort(key=lambda item: item[0])
    return DeckFiles(deck, tuple(sections))


OUTSIDE = ("a link to a file outside the deck folder: a deck reads only its own files, so "
           "that a repository cannot pull a file of your computer into a package")


def _outside(path: Path, folder: Path) -> bool:
    return not path.resolve().is_relative_to(folder)


def read_bytes(source: SourceFile, problems: Problems) -> bytes | None:
    """The file's bytes, or None (with the reason) when it is too big or unreadable."""
    try:
        size = source.path.stat().st_size
        if size > MAX_FILE_BYTES:
            problems.error(
                source.at(),
                f"file is {size / 2**20:.1f} MiB; a deck file may hold at most "
                f"{MAX_FILE_BYTES // 2**20} MiB (split it into sections)",
            )
            return None
        return source.path.read_bytes()
    except OSError as exc:
        problems.error(source.at(), f"cannot read file: {exc.strerror or exc}")
        return None


def decode(source: SourceFile, data: bytes, problems: Problems) -> str | None:
    """The file's text: UTF-8, an optional byte-order mark dropped."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        from . import yamlerrors

        # the lines libyaml and the excerpt count (a file may end its lines with '\r' alone)
        *above, last = yamlerrors.BREAK.split(data[: exc.start].decode("utf-8"))
        line, column = len(above) + 1, len(last) + 1
        problems.error(
            source.at(line, column),
            f"file is not UTF-8: byte 0x{data[exc.start]:02x} cannot be decoded",
        )
        return None


def load_yaml(source: SourceFile, problems: Problems, data: bytes) -> Node | None:
    """Load one file's bytes into Nodes, or None when it cannot be read at all."""
    text = decode(source, data, problems)
    if text is None:
        return None
    if markers := conflict_markers(text):
        for line in markers:
            problems.error(source.at(line, 1), "merge conflict: this file still holds git's "
                           "conflict markers; keep the lines you want and delete the markers")
        return None
    try:
        root = _Builder(source, problems).run(text)
    except yaml.MarkedYAMLError as exc:
        from . import yamlerrors  # only for a file with a mistake (its import costs 4 ms)

        found = yamlerrors.diagnose(text, exc)
        # What the loader reported from the misread text on is about that same mistake.
        problems.items[:] = [p for p in problems.items if p.location.path != source.display
                             or (p.location.line, p.location.column) < found.since]
        problems.error(source.at(found.line, found.column), found.message)
        return None
    except yaml.reader.ReaderError as exc:
        from . import yamlerrors

        # libyaml's C reader counts bytes of UTF-8, the pure-Python one characters
        before = (text.encode("utf-8", "surrogatepass")[: exc.position].decode("utf-8", "replace")
                  if _Loader.__name__ == "CSafeLoader" else text[: exc.position])
        *above, last = yamlerrors.BREAK.split(before)
        line, column = len(above) + 1, len(last) + 1
        character = exc.character if isinstance(exc.character, str) else chr(exc.character)
        problems.error(source.at(line, column), f"invalid YAML: character U+{ord(character):04X} "
                       "is not allowed in YAML (a control character)")
        return None
    except yaml.YAMLError as exc:  # pragma: no cover - libyaml marks every other error
        problems.error(source.at(), f"invalid YAML: {exc}")
        return None
    except _Abort:
        return None
    if root is None:
        problems.error(source.at(1, 1), "file is empty")
    return root


class _Abort(Exception):
    """Stops loading one file after an error that makes the rest meaningless."""


class _Frame:
    __slots__ = ("anchor", "items", "key", "mark", "node", "skip", "values")

    def __init__(self, node: Node, anchor: str | None, mark: Any) -> None:
        self.node = node
        # The container itself, by kind: the loop's fast path reads these directly.
        self.items: list[Node] | None = node.value if node.kind == "seq" else None  # type: ignore[assignment]
        self.values: dict[str, Node] | None = node.value if node.kind == "map" else None  # type: ignore[assignment]
        self.anchor = anchor
        self.mark = mark
        self.key: str | None = None
        self.skip = False  # the value of a rejected key is read and dropped


class _Builder:
    """Turns libyaml events into Nodes, one file at a time."""

    def __init__(self, source: SourceFile, problems: Problems) -> None:
        self.source = source
        self.problems = problems
        self.anchors: dict[str, Node] = {}
        self.open_anchors: set[str] = set()
        self.restarted: set[int] = set()  # mappings whose first key came again (see add_key)
        self.stack: list[_Frame] = []
        self.root: Node | None = None
        self.documents = 0

    def error(self, mark: Any, message: str) -> None:
        self.problems.error(self.source.at(mark.line + 1, mark.column + 1), message)

    def run(self, text: str) -> Node | None:
        """Build the tree. The loop handles the common events itself (a scalar without tag
        or anchor, a new key kept as text and position only, the start and end of an
        untagged container without anchor): each Python call per event costs about as much
        as libyaml's parsing. Anything else goes through the methods below, which hold every
        rule (tests/test_yaml_differential.py holds the two paths together)."""
        loader = _Loader(text)
        get_event: Any = loader.get_event
        stack = self.stack
        resolved, implicit_first, node_type = _RESOLVED, _IMPLICIT_FIRST, Node
        scalar_event, map_start, seq_start = (yaml.ScalarEvent, yaml.MappingStartEvent,
                                              yaml.SequenceStartEvent)
        map_end, seq_end = yaml.MappingEndEvent, yaml.SequenceEndEvent
        slow = {
            yaml.ScalarEvent: self.scalar,
            yaml.MappingStartEvent: self.start,
            yaml.SequenceStartEvent: self.start,
            yaml.MappingEndEvent: self.end,
            yaml.SequenceEndEvent: self.end,
            yaml.AliasEvent: self.alias,
            yaml.DocumentStartEvent: self.document,
        }
        try:
            while True:
                event: Any = get_event()
                cls = type(event)
                if cls is scalar_event and event.tag is None and event.anchor is None and stack:
                    value, mark, frame = event.value, event.start_mark, stack[-1]
                    if frame.items is None and frame.key is None and not frame.skip and \
                            value != "<<" and value not in frame.values:  # type: ignore[operator]
                        frame.key = value  # a new key: its text and position are all we keep
                        frame.node.keys[value] = (mark.line + 1, mark.column + 1)
                        continue
                    if event.style or not event.implicit[0]:
                        kind = "str"  # quoted or block text is always text
                    elif value and value[0] not in implicit_first:
                        kind = "str"  # no implicit type starts with this character
                    else:
                        kind = resolved.get(value) or _implicit_kind(value)
                    node = node_type(kind, value, mark.line + 1, mark.column + 1)
                    if frame.items is not None:  # a list
                        frame.items.append(node)
                    elif frame.key is not None:  # a mapping's value
                        frame.values[frame.key] = node  # type: ignore[index]
                        frame.key = None
                    else:
                        self.add(node, None)  # a rejected key, or the value after one
                elif cls is map_end or cls is seq_end:
                    frame = stack.pop()
                    if frame.anchor or not stack:
                        self.pop(frame)
                    else:  # as a scalar above: the finished container is added to its parent
                        node, parent = frame.node, stack[-1]
                        if parent.items is not None:
                            parent.items.append(node)
                        elif parent.key is not None:
                            parent.values[parent.key] = node  # type: ignore[index]
                            parent.key = None
                        else:
                            self.add(node, None)  # a container as a key, or a skipped value
                elif (cls is map_start or cls is seq_start) and \
                        event.tag is None and event.anchor is None and len(stack) < MAX_DEPTH:
                    mark = event.start_mark
                    is_map = cls is map_start
                    node = node_type("map" if is_map else "seq", {} if is_map else [],
                                     mark.line + 1, mark.column + 1)
                    stack.append(_Frame(node, None, mark))
                elif (handler := slow.get(cls)) is not None:
                    handler(event)
                elif cls is yaml.StreamEndEvent:
                    return self.root
        finally:
            loader.dispose()

    def document(self, event: Any) -> None:
        self.documents += 1
        if self.documents > 1:
            self.error(event.start_mark, "a deck file holds one YAML document; remove the "
                       "second '---'")
            raise _Abort

    def start(self, event: Any) -> None:
        mark = event.start_mark
        if len(self.stack) >= MAX_DEPTH:
            self.error(mark, f"nesting is deeper than {MAX_DEPTH} levels")
            raise _Abort
        if event.tag is not None:
            self.check_tag(event.tag, mark, container=True)
        is_map = type(event) is yaml.MappingStartEvent
        node = Node("map" if is_map else "seq", {} if is_map else [], mark.line + 1,
                    mark.column + 1)
        if event.anchor:
            self.open_anchors.add(event.anchor)
        self.stack.append(_Frame(node, event.anchor, mark))

    def end(self, event: Any) -> None:
        self.pop(self.stack.pop())

    def pop(self, frame: _Frame) -> None:
        if frame.anchor:
            self.open_anchors.discard(frame.anchor)
        self.add(frame.node, frame.anchor, frame.mark)

    def alias(self, event: Any) -> None:
        name = event.anchor or ""
        node = self.anchors.get(name)
        if name in self.open_anchors:
            self.error(event.start_mark, f"alias *{name} refers to the node that contains it")
            node = None
        elif node is None:
            self.error(event.start_mark, f"alias *{name} has no anchor &{name} before it; "
                       f"{_QUOTE_IT.format('*')}")
        mark = event.start_mark
        self.add(node or Node("bad", None, mark.line + 1, mark.column + 1), None)

    def scalar(self, event: Any) -> None:
        value, tag, mark = event.value, event.tag, event.start_mark
        if tag is not None and tag != "!":
            self.check_tag(tag, mark, container=False)
            kind = _PLAIN_TAGS.get(tag, "str")
            # Only what YAML would read as that type is one: !!bool maybe is not false.
            if kind != "str" and (kind, _implicit_kind(value)) not in ((kind, kind),
                                                                       ("float", "int")):
                shown = tag.replace("tag:yaml.org,2002:", "!!")
                self.error(mark, f"'{limits.shown(value)}' is not {_TAGGED[kind]} (YAML tag "
                           f"{shown})")
                kind = "bad"
        elif event.style or not event.implicit[0]:
            kind = "str"  # quoted or block text is always text
        elif value and value[0] not in _IMPLICIT_FIRST:
            kind = "str"  # no implicit type starts with this character
        else:
            kind = _implicit_kind(value)
        self.add(Node(kind, value, mark.line + 1, mark.column + 1), event.anchor, mark)

    def check_tag(self, tag: str | None, mark: Any, *, container: bool) -> None:
        allowed = (None, "!") if container else (None, "!", *_PLAIN_TAGS)
        if tag not in allowed and tag not in ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"):
            shown = str(tag).replace("tag:yaml.org,2002:", "!!")
            # a local tag (`front: !important note`) is most likely text meant as text
            advice = f"; {_QUOTE_IT.format('!')}" if shown[:1] == "!" and shown[:2] != "!!" else ""
            self.error(mark, f"YAML tag {shown} is not allowed: deck files hold plain data"
                       f"{advice}")

    def add(self, node: Node, anchor: str | None, mark: Any = None) -> None:
        if anchor:
            if anchor in self.anchors and mark is not None:
                first = self.anchors[anchor].line
                self.error(mark, f"anchor &{anchor} is defined twice (first at line {first})")
            self.anchors[anchor] = node
        if not self.stack:
            self.root = node
            return
        frame = self.stack[-1]
        parent = frame.node
        if parent.kind == "seq":
            parent.value.append(node)  # type: ignore[attr-defined]
        elif frame.key is None and not frame.skip:
            self.add_key(frame, node)
        else:
            if not frame.skip:
                parent.value[frame.key] = node  # type: ignore[index]
            frame.key = None
            frame.skip = False

    def add_key(self, frame: _Frame, key: Node) -> None:
        parent = frame.node
        where = (key.line, key.column)
        if key.kind in ("map", "seq"):
            self.problems.error(self.source.at(*where), "a key must be plain text, not a list or "
                                "mapping (text that starts with '{' or '[' must be quoted)")
            frame.skip = True
        elif key.value == "<<" and key.kind == "str":
            self.problems.error(self.source.at(*where), "merge keys (<<) are not supported")
            frame.skip = True
        elif key.value in parent.value:  # type: ignore[operator]
            first = parent.keys[str(key.value)][0]
            if id(parent) not in self.restarted:  # its other keys are the same mistake
                self.problems.error(self.source.at(*where), f"duplicate key "
                                    f"'{limits.shown(str(key.value))}' (first at line {first})"
                                    + self.restart_advice(parent, str(key.value)))
            frame.skip = True
        else:
            frame.key = str(key.value)
            parent.keys[frame.key] = where

    def restart_advice(self, mapping: Node, key: str) -> str:
        """The key that began a list item, again after others: a new item whose '- ' was left
        out (an author's second card), so every key of it would be a duplicate; said once."""
        inside_list = len(self.stack) > 1 and self.stack[-2].items is not None
        if not inside_list or len(mapping.keys) < 2 or key != next(iter(mapping.keys)):
            return ""
        self.restarted.add(id(mapping))
        return (f"; to start another item of the list, write '- ' before '{limits.shown(key)}',"
                f" lined up with the '-' on line {self.stack[-2].node.line}")


def _implicit_kind(value: str) -> str:
    """The kind YAML gives ``value`` written plain, without a tag."""
    resolved = _resolver.resolve(yaml.ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
    kind = _PLAIN_TAGS.get(resolved, "str")
    if len(value) <= 32 and len(_RESOLVED) < 4096:  # keys and tags come back again and again
        _RESOLVED[value] = kind
    return kind


_RESOLVED: dict[str, str] = {}  # short plain scalars -> their kind, as PyYAML resolves them

