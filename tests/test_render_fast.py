"""render.py's own inline renderer against markdown-it, the reference, on every field we have.

Fields in the simple subset (`_inline`) skip markdown-it; these tests say that they get
exactly the HTML markdown-it gives, and that a renderer with a plausible mistake is caught.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from conftest import write_deck
from hypothesis import given, settings
from hypothesis import strategies as st

from deckbuilder import render
from deckbuilder.errors import Location, Problems
from deckbuilder.render import Renderer, _inline, _markdown

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"
# Texts at the edges of the subset: each is either rendered by both or left to markdown-it.
TRICKY = [
    "*a**b*", "**a***b*", "*a*b*c*", "a*b*c", "`a``b`", "``a``", "` a `", "`a` `b`",
    "*a `b* c`", "`*` *a*", "**a**", "***a***", "* a*", "*a *", "*_a_*", "_a_", "(*a*).",
    "*é*ü", "x \"q\" 'r' > y", "a  b", " a *b* ", "*1*", "**1 2**3", "*a*\u0301",
    "`<b>&c`", "`a\\b`", "*a\\*", "! #h | t", "*¹*", "*a*—*b*", "\u00a0*a*\u00a0",
]


def _reference(text: str, allow_html: bool = False) -> str:
    """What markdown-it makes of a one-line text, as render.py calls it."""
    return _markdown(allow_html).renderInline(text)


def _mismatches(texts: list[str], fast: Callable[[str], str | None]) -> list[tuple[str, str,
                                                                                     str]]:
    """(text, ours, markdown-it's) for every text ``fast`` renders differently."""
    out = []
    for text in texts:
        ours = fast(text)
        if ours is None:
            continue
        for allow_html in (False, True):
            expected = _reference(text, allow_html)
            if ours != expected:
                out.append((text, ours, expected))
    return out


def _yaml_texts(folder: Path) -> Iterator[str]:
    """Every string in every YAML file under ``folder`` (values and keys)."""
    def walk(value: object) -> Iterator[str]:
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            for key, item in value.items():
                yield from walk(key)
                yield from walk(item)
        elif isinstance(value, list):
            for item in value:
                yield from walk(item)

    for path in sorted(folder.rglob("*.y*ml")):
        try:
            yield from walk(yaml.safe_load(path.read_text(encoding="utf-8")))
        except Exception:  # PyYAML raises more than YAMLError on some cases
            continue  # the invalid cases hold no fields


def _benchmark_texts() -> list[str]:
    import sys

    sys.path.insert(0, str(BENCHMARKS))
    try:
        from deckgen import write_deck as generate
    finally:
        sys.path.remove(str(BENCHMARKS))
    with tempfile.TemporaryDirectory() as folder:
        generate(600, Path(folder) / "deck")
        return list(_yaml_texts(Path(folder) / "deck"))


def _corpus() -> list[str]:
    texts = [*TRICKY, *_yaml_texts(ROOT / "cards"), *_yaml_texts(ROOT / "tests" / "cases"),
             *_benchmark_texts()]
    return [t.strip() if i % 2 else t for i, t in enumerate(texts)]  # both, stripped or not


CORPUS = _corpus()


def test_the_corpus_reaches_the_fast_path() -> None:
    """Else the comparison below would prove nothing."""
    fast = [text for text in CORPUS if _inline(text) is not None and "<" in _inline(text)]
    assert len(fast) > 200
    assert any("<strong>" in _inline(t) for t in fast)  # type: ignore[operator]
    assert any("<code>" in _inline(t) for t in fast)  # type: ignore[operator]


def test_same_html_as_markdown_it_on_every_known_field() -> None:
    assert _mismatches(CORPUS, _inline) == []


# Markdown's specials, letters on both sides of a delimiter, and what must be escaped.
_ALPHABET = st.sampled_from(list("ab1é中 *`_\\<>&\"'()!#|~.-:\t\u00a0\u0301\ue000")) | \
    st.characters(blacklist_categories=("Cs",))


@settings(max_examples=400, deadline=None)
@given(text=st.text(alphabet=_ALPHABET, max_size=24))
def test_same_html_as_markdown_it_on_generated_text(text: str) -> None:
    assert _mismatches([text], _inline) == []


@settings(max_examples=300, deadline=None)
@given(words=st.lists(st.sampled_from(["a", "bc", "é", "1", " ", "*", "**", "`", "x y",
                                       "(", ")", ".", "\"", ">"]), max_size=12))
def test_same_html_as_markdown_it_on_generated_emphasis(words: list[str]) -> None:
    assert _mismatches(["".join(words)], _inline) == []


def test_a_renderer_with_a_mistake_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison can fail: without the rule that keeps runs of '*' apart, or without
    the escaping of '"', the fast renderer's HTML differs from markdown-it's."""
    styled = render._STYLED.replace(r"(?!\*)", "")
    broken = (re.compile(rf"(?:{render._PLAIN}|{styled})*"),
              re.compile(rf"(?P<plain>{render._PLAIN}+)|{styled}"))
    monkeypatch.setattr(render, "_inline_patterns", lambda: broken)
    assert ("*a**b*", "<em>a</em><em>b</em>", "<em>a**b</em>") in _mismatches(CORPUS, _inline)
    monkeypatch.undo()

    def unescaped(text: str) -> str | None:
        html = _inline(text)
        return None if html is None else html.replace("&quot;", '"')

    assert _mismatches(CORPUS, unescaped)


def test_whole_fields_match_with_and_without_the_fast_path(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Through Renderer.field, cloze and media checks included: same HTML, same problems."""
    deck = write_deck(tmp_path / "cards", {"deck.yaml": "deck: T\nid: t\n"})
    (deck / "a.png").write_bytes(b"png")
    texts = [*CORPUS, "{{c1::*a*}} `b`", "*{{c1::a}}*", "`{{c1::a}}`", "![x](a.png) *b*"]

    def fields() -> list[tuple[str, list[str]]]:
        out = []
        for text in texts:
            for cloze in (False, True):
                problems = Problems()
                html = Renderer(deck, False, problems).field(text, Location("f", 1, 1), cloze)
                out.append((html, [str(p) for p in problems.items]))
        return out

    fast = fields()
    monkeypatch.setattr(render, "_inline", lambda text: None)
    assert fast == fields()


# What render.py asked of a text before it skipped Markdown, in one expression.
_NEEDS_MARKDOWN = re.compile(r"[\\`*_\[\]<>&!#~|\n]|^\s*(?:[-+*>]|\d+[.)])|  ")


def _needs_markdown(text: str) -> bool:
    """render.py's three tests."""
    return (render._MARKDOWN_CHARACTER.search(text) is not None or "  " in text
            or render._MARKDOWN_START.match(text) is not None)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from(list(" \n\t\u00a0\u2003-+*>.)1a_`[]<&!#~|\\")),
               max_size=8))
def test_markdown_is_needed_where_one_expression_said_so(text: str) -> None:
    assert _needs_markdown(text) == (_NEEDS_MARKDOWN.search(text) is not None)


@pytest.mark.parametrize("text", [*TRICKY, "1. a", " - a", "\u2003> q", "a  ", "12) x", "a1.",
                                  "plain words", "-", "+a", "a-b"])
def test_markdown_is_needed_where_one_expression_said_so_here_too(text: str) -> None:
    assert _needs_markdown(text) == (_NEEDS_MARKDOWN.search(text) is not None)
