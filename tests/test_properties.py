"""Property-based tests: random input never crashes; valid decks always reach Anki intact."""

from __future__ import annotations

import html
import shutil
import tempfile
import unicodedata
from pathlib import Path

import yaml
from conftest import DECK_YAML, AnkiImport, run, run_guarded, write_deck
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deckbuilder.anki import compile_notes, note_guid
from deckbuilder.load import load_deck
from deckbuilder.render import render_markdown

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

# Texts with Markdown specials, braces that look like cloze, HTML, MathJax and unicode.
TEXT = st.text(
    alphabet=st.sampled_from(list("abcxyz ÄßЖ中🙂*_`#[]()!<>&\"'{}:\\-+|~.\n\t")) | st.characters(
        blacklist_categories=("Cs", "Cc")),
    min_size=0, max_size=60)
YAML_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12)


@SETTINGS
@given(document=TEXT)
def test_any_text_as_a_section_file_never_crashes(document: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        deck = write_deck(Path(folder) / "cards", {"deck.yaml": DECK_YAML})
        (deck / "01-a.yaml").write_text(document, encoding="utf-8")
        result = run_guarded("validate", deck)
        assert result.exit_code in (0, 1)


@SETTINGS
@given(data=YAML_VALUE, front=TEXT, back=TEXT, cloze=TEXT)
def test_any_yaml_data_never_crashes(data: object, front: str, back: str, cloze: str) -> None:
    cards = [{"id": "a", "front": front, "back": back}, {"id": "b", "cloze": cloze}, data]
    section = {"section": "A", "cards": cards, "tags": data}
    with tempfile.TemporaryDirectory() as folder:
        deck = write_deck(Path(folder) / "cards", {"deck.yaml": DECK_YAML})
        (deck / "01-a.yaml").write_text(yaml.safe_dump(section, allow_unicode=True))
        (deck / "02-b.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
        result = run_guarded("validate", deck)
        assert result.exit_code == 1  # 02-b.yaml is never a valid section


PLAIN = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")),
                min_size=1, max_size=40).filter(lambda s: s.strip() and "{{" not in s)


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.tuples(PLAIN, PLAIN), min_size=1, max_size=5))
def test_valid_decks_build_and_reach_anki_intact(texts: list[tuple[str, str]],
                                                 tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("deck")
    cards = [{"id": f"c{i}", "front": f, "back": b} for i, (f, b) in enumerate(texts)]
    deck = write_deck(root / "cards", {"deck.yaml": DECK_YAML})
    (deck / "01-a.yaml").write_text(yaml.safe_dump({"section": "A", "cards": cards},
                                                   allow_unicode=True))
    result = run("build", deck, "--out", root / "out")
    assert result.exit_code == 0, result.output
    anki = AnkiImport(root)
    try:
        anki.load(root / "out" / "test-deck.apkg")
        for i, (front, back) in enumerate(texts):
            note = anki.note_by_guid(note_guid("test-deck", f"c{i}"))
            assert note["Front"] == render_markdown(front.strip())
            assert note["Back"] == render_markdown(back.strip())
            if not set(front) & set("\\`*_[]<>&!#~|") and "\n" not in front:
                assert html.unescape(note["Front"]) == unicodedata.normalize("NFC", front.strip())
        assert anki.check_database() == ("Database rebuilt and optimized.", True)
    finally:
        anki.col.close()
        shutil.rmtree(root)


@SETTINGS
@given(first=PLAIN, second=PLAIN, card_id=st.from_regex(r"[a-z0-9][a-z0-9-]{0,20}",
                                                        fullmatch=True))
def test_guid_depends_on_the_id_only(first: str, second: str, card_id: str) -> None:
    guids = []
    for index, text in enumerate((first, second)):
        with tempfile.TemporaryDirectory() as folder:
            name = f"0{index + 1}-s.yaml"  # moving between files changes nothing either
            deck = write_deck(Path(folder) / "cards", {"deck.yaml": DECK_YAML})
            (deck / name).write_text(yaml.safe_dump(
                # A title with ':' can be invalid (a deck level, or dropped by Anki).
                {"section": text.replace(":", "").strip() or "s",
                 "cards": [{"id": card_id, "front": text, "back": second}]},
                allow_unicode=True))
            checked = load_deck(deck)
            guids.append(compile_notes(checked.deck, checked.rendered)[0].guid)
    assert guids[0] == guids[1] == note_guid("test-deck", card_id)
    assert note_guid("test-deck", card_id) != note_guid("test-deck", card_id + "x")
