"""A field that render.py returns as written (no Markdown in it) must be what the full
path (markdown-it) gives for it; most of all a text that starts like a list or a quote."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deckbuilder import render
from deckbuilder.render import render_markdown

STARTS = ["1. a", "1) a", "12. a b", "\u0663. a", "\u0663) a", "- a", "+ a", "* a", "> a",
          " 1. a", "\u00a0- a", "\u2003> a", "a. b", "x1. a", "1x a", "Bonn", "-", "1."]


def _full(text: str, monkeypatch: pytest.MonkeyPatch) -> str:
    with monkeypatch.context() as patch:  # every text takes the full path
        patch.setattr(render, "_MARKDOWN_CHARACTER", re.compile(r"[\s\S]"))
        return render_markdown(text)


@pytest.mark.parametrize("text", STARTS)
def test_a_text_that_starts_like_markdown_is_rendered(text: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    assert render_markdown(text) == _full(text, monkeypatch)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="-+*>1\u0663.) a\u00a0\u2003", min_size=1, max_size=6))
def test_any_start_is_rendered_as_the_full_path_renders_it(text: str) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        assert render_markdown(text) == _full(text, monkeypatch)
