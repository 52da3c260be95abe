"""source.py's loader against PyYAML, the reference for what YAML is and what it means.

The loader's event loop handles common events itself and leaves the rest to one method per
event. On every file we have and on generated YAML: PyYAML composes a document exactly when
the loader reads it without a YAML error, and then both give the same tree (kinds as
PyYAML's YAML 1.1 resolver says, text as written, lines and columns); the loader also gives
exactly the problems it gives with every event going through the methods.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import SHARED
from hypothesis import given, settings
from hypothesis import strategies as st

from deckbuilder import source
from deckbuilder.errors import Problems
from deckbuilder.source import Node, SourceFile, load_yaml

ROOT = Path(__file__).resolve().parents[1]
PLAIN_KINDS = {"tag:yaml.org,2002:str": "str", "tag:yaml.org,2002:int": "int",
               "tag:yaml.org,2002:float": "float", "tag:yaml.org,2002:bool": "bool",
               "tag:yaml.org,2002:null": "null"}


class _EveryEvent(source._Builder):
    """The loader with its fast path left out: every event through its method."""

    def run(self, text: str) -> Node | None:
        loader = source._Loader(text)
        handlers = {yaml.ScalarEvent: self.scalar, yaml.MappingStartEvent: self.start,
                    yaml.SequenceStartEvent: self.start, yaml.MappingEndEvent: self.end,
                    yaml.SequenceEndEvent: self.end, yaml.AliasEvent: self.alias,
                    yaml.DocumentStartEvent: self.document}
        try:
            while True:
                event = loader.get_event()
                handler = handlers.get(type(event))
                if handler is not None:
                    handler(event)
                elif isinstance(event, yaml.StreamEndEvent):
                    return self.root
        finally:
            loader.dispose()


def _ours(text: str, builder: type[source._Builder] = source._Builder) -> tuple[Any, list[str]]:
    """The loader's tree (as plain tuples) and problems."""
    problems = Problems()
    saved, source._Builder = source._Builder, builder  # type: ignore[misc]
    try:
        root = load_yaml(SourceFile(Path("f.yaml"), "f.yaml"), problems, text.encode())
    finally:
        source._Builder = saved  # type: ignore[misc]
    return (_tree(root) if root is not None else None), [str(p) for p in problems.items]


def _tree(node: Node) -> Any:
    where = (node.line, node.column)
    if node.kind == "map":
        items = node.value.items()  # type: ignore[attr-defined]
        return ("map", where, [((key, node.keys[key]), _tree(value)) for key, value in items])
    if node.kind == "seq":
        return ("seq", where, [_tree(item) for item in node.value])  # type: ignore[attr-defined]
    return (node.kind, where, node.value)


def _reference(text: str) -> Any:
    """PyYAML's composed tree, in the same shape; raises on what is not YAML."""
    def tree(node: yaml.Node) -> Any:
        where = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            return ("map", where, [((key.value, (key.start_mark.line + 1,
                                                 key.start_mark.column + 1)), tree(value))
                                   for key, value in node.value])
        if isinstance(node, yaml.SequenceNode):
            return ("seq", where, [tree(item) for item in node.value])
        return (PLAIN_KINDS.get(node.tag, "str"), where, node.value)

    node = yaml.compose(text, Loader=yaml.CSafeLoader)
    return None if node is None else tree(node)


def _differences(text: str) -> list[str]:
    """What differs between the loader and PyYAML, and between the loader's two paths."""
    ours, problems = _ours(text)
    out = []
    if _ours(text, _EveryEvent)[1] != problems:
        out.append("the problems differ from those of the per-event path")
    try:
        expected = _reference(text)
    except (yaml.YAMLError, RecursionError):
        if not problems:
            out.append("PyYAML refuses what the loader accepts")
        return out
    if any(": invalid YAML: " in p for p in problems):
        out.append("the loader refuses YAML that PyYAML composes")
    elif not problems and text.strip() and ours != expected:
        out.append(f"trees differ: {ours} != {expected}")
    return out


def _files() -> list[Path]:
    found = [*sorted((ROOT / "cards").glob("*.yaml")),
             *sorted((ROOT / "tests" / "cases").rglob("*.y*ml")),
             *sorted((SHARED / "testdata" / "pyyaml-loader-errors").glob("*.yaml"))]
    return found


@pytest.mark.parametrize("path", _files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_known_file(path: Path) -> None:
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        pytest.skip("not UTF-8: refused before YAML")
    assert _differences(text) == []


def test_a_generated_benchmark_deck() -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from deckgen import write_deck as generate
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    with tempfile.TemporaryDirectory() as folder:
        generate(1000, Path(folder) / "deck")
        for path in sorted((Path(folder) / "deck").glob("*.yaml")):
            assert _differences(path.read_text(encoding="utf-8")) == []


# Scalars where YAML 1.1 and 1.2 or plain and quoted disagree, and YAML's own syntax.
TRICKY = ["yes", "No", "on", "OFF", "y", "~", "null", "", "0o17", "017", "0x1F", "0b101",
          "1_000", "1:20", "190:20:30.15", "-.inf", ".NaN", "1e3", "1.0e+3", "+1", "2001-12-14",
          "2001-12-14t21:59:43.10-05:00", "<<", "=", "&a x", "*a", "!!str 1", "!!int 1",
          "!!bool maybe", "!!float 1", "! 1", "!t x", "'yes'", '"on"', "'q''r'", '"\\t"',
          "{a: 1}", "[1, 2]", "|", ">-", "a: b", "#c", "? k", "- x", "--- ", "...", "%YAML 1.1",
          "front", "t", "True", "tRUE", "1.", ".5", "-", "-0", "0.1_0", "Ünï", "a #b", "\t"]


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(st.tuples(st.integers(0, 6), st.sampled_from(["", "- ", "k: ", "- k: ",
                                                                     "? ", ": "]),
                                st.sampled_from(TRICKY)), max_size=8))
def test_generated_yaml_soup(lines: list[tuple[int, str, str]]) -> None:
    text = "".join(f"{' ' * indent}{lead}{value}\n" for indent, lead, value in lines)
    assert _differences(text) == []


DATA = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.sampled_from(TRICKY) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(TRICKY) | st.text(max_size=6), inner, max_size=4),
    max_leaves=16)


@settings(max_examples=300, deadline=None)
@given(data=DATA, flow=st.sampled_from([None, True, False]),
       style=st.sampled_from([None, "'", '"', "|"]), width=st.sampled_from([8, 80]))
def test_generated_yaml_documents(data: object, flow: bool | None, style: str | None,
                                  width: int) -> None:
    text = yaml.safe_dump(data, default_flow_style=flow, default_style=style, width=width,
                          allow_unicode=True)
    assert _differences(text) == []


def test_a_loader_with_a_mistake_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison can fail: a wrong kind remembered for 'yes' (YAML 1.2's reading),
    or a fast path that takes a second key's value as new, is found."""
    monkeypatch.setattr(source, "_RESOLVED", {"yes": "str"})
    assert _differences("a: yes\n")
    monkeypatch.undo()
    real = source._Builder.add

    def forgets_duplicates(self: source._Builder, node: Node, anchor: str | None,
                           mark: Any = None) -> None:
        frame = self.stack[-1] if self.stack else None
        if frame is not None and frame.values is not None and frame.key is None and \
                node.value in frame.values:
            frame.key = str(node.value)  # the bug: a duplicate key overwrites the first
            return
        real(self, node, anchor, mark)

    monkeypatch.setattr(source._Builder, "add", forgets_duplicates)
    monkeypatch.setattr(_EveryEvent, "add", real)
    assert _differences("a: 1\na: 2\n")
