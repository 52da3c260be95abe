"""Arbitrary Unicode, every category, in deck names, section titles, tags and texts:
`validate`, `build`, Anki and a second build must agree.

Either `validate` reports located errors and `build` refuses too, or both pass, a fresh
Anki collection holds exactly the notes, fields, tags and subdecks that were built, and
a rebuild finds every card unchanged (so the lock read back what it wrote).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import yaml
from conftest import AnkiImport, problem_lines, run_guarded, write_deck
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from deckbuilder.anki import compile_notes, subdecks
from deckbuilder.load import load_deck

LOCATED = re.compile(r"^cards/[^:]+(:\d+:\d+)?: \S")
ANY = st.text(max_size=24)  # every category but surrogates, which UTF-8 cannot hold
MARKUP = st.sampled_from(["<", ">", "</b>", "<b>", "<img src=", "'", '"', "&", "&#31;", "*", "`",
                          "[x](", ")", "{{c1::", "}}", "\\(", "\\)", "\n\n", "<!--", "-->"])
# Printable text, so that about half the decks are valid and go all the way into Anki.
PRINTABLE = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1,
                    max_size=24).filter(str.strip)
TAG = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp", "Zs"),
                            blacklist_characters='"'), min_size=1, max_size=12).filter(
    lambda tag: all(tag.split("::")))
IDS = st.lists(st.from_regex(r"[a-z0-9][a-z0-9-]{0,12}", fullmatch=True), min_size=1,
               max_size=3, unique=True)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(hostile=st.booleans(), html=st.booleans(), data=st.data(), ids=IDS)
def test_validate_build_anki_and_rebuild_agree(hostile: bool, html: bool, data: st.DataObject,
                                               ids: list[str],
                                               tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    text, tag = (ANY, ANY) if hostile else (PRINTABLE, TAG)
    if data.draw(st.booleans()):  # Markdown and HTML between the words
        text = st.lists(text | MARKUP, min_size=1, max_size=6).map("".join)
    name, title, cloze = (data.draw(text) for _ in range(3))
    tags = data.draw(st.lists(tag, max_size=3, unique=True))
    texts = data.draw(st.lists(st.tuples(text, text), min_size=3, max_size=3))
    root = tmp_path_factory.mktemp("unicode")
    cards: list[dict[str, object]] = [
        {"id": card_id, "front": front, "back": back, "tags": tags}
        for card_id, (front, back) in zip(ids, texts, strict=False)]
    cards.append({"id": "cloze-card", "cloze": f"{cloze} {{{{c1::{texts[0][1]}}}}}"})
    section = {"section": title, "tags": tags[:1], "cards": cards}
    deck = write_deck(root / "cards", {})
    for file, content in (("deck.yaml", {"deck": name, "id": "test-deck", "html": html}),
                       ("01-a.yaml", section)):
        (deck / file).write_text(yaml.safe_dump(content, allow_unicode=True), encoding="utf-8")
    try:
        _check(root, deck)
    finally:
        shutil.rmtree(root)


def _check(root: Path, deck: Path) -> None:
    out = root / "out"
    validated = run_guarded("validate", deck)
    built = run_guarded("build", deck, "--out", out)
    event(f"validate exits {validated.exit_code}")
    if validated.exit_code == 1:
        assert built.exit_code == 1, built.output
        lines = problem_lines(validated.output.replace(f"{deck}/", "cards/"))
        assert lines[:-1] and all(LOCATED.match(line) for line in lines[:-1]), lines
        assert not list(out.glob("*.apkg")) and not (deck / "deck.lock").exists()
        return
    assert (validated.exit_code, built.exit_code) == (0, 0), validated.output + built.output
    checked = load_deck(deck)
    notes = compile_notes(checked.deck, checked.rendered)
    anki = AnkiImport(root)
    try:
        anki.load(out / "test-deck.apkg")
        assert anki.col.note_count() == len(notes)
        levels = [name.split("::") for name in subdecks(checked.deck)]  # parents too
        assert sorted(anki.deck_names()) == sorted(
            {"::".join(parts[:n]) for parts in levels for n in range(1, len(parts) + 1)})
        for note in notes:
            stored = anki.note_by_guid(note.guid)
            assert tuple(stored.fields) == note.fields
            assert sorted(stored.tags) == sorted(note.tags)
            assert len(stored.cards()) == len(note.ords)
    finally:
        anki.col.close()
    rebuilt = run_guarded("build", deck, "--out", out)
    assert rebuilt.exit_code == 0, rebuilt.output
    assert f"0 added, 0 changed, {len(notes)} unchanged, 0 removed, 0 moved" in rebuilt.output
