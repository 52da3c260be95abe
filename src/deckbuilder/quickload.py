"""The quick rebuild's load (quick.py): only the section files that changed are read,
checked, rendered and compiled, exactly as a full load and compile do them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .anki import Note, compile_notes, note_keys
from .cache import SectionCache
from .check import check_across_sections, check_head
from .errors import Problems
from .load import load_section
from .model import Deck, DeckHead
from .quickstate import SectionState, State, card_ids, section_states
from .source import find_deck_files, load_yaml, read_bytes
from .stamp import digest


def load_changed(deck_dir: Path, cache_dir: Path, state: State, now: tuple[Any, ...],
                 changed: list[str]
                 ) -> tuple[DeckHead, list[SectionState], list[Note], list[int]] | None:
    """deck.yaml's head, the changed sections' new states and notes (in deck order); None
    when anything is wrong (any problem at all: the full build reports it) or when the
    change is one this path leaves to the full build (titles, media, ids across files)."""
    problems = Problems()
    files = find_deck_files(deck_dir, problems)
    digests = {name: hashed for name, _, hashed in now[1]}
    if files is None or problems.items:
        return None
    deck_yaml = read_bytes(files.deck, problems)
    if deck_yaml is None or digest(deck_yaml) != digests.get(files.deck.path.name):
        return None
    head = check_head(files.deck, problems, load_yaml(files.deck, problems, deck_yaml))
    if problems.items or head.id != state.deck_id:
        return None
    cache = SectionCache(cache_dir, deck_dir, deck_yaml, True)
    sources = {source.path.name: (number, source) for number, source in files.sections}
    sections, rendered, media = [], [], []
    for name in changed:
        number, source = sources[name]
        data = read_bytes(source, problems)
        if data is None or digest(data) != digests[name]:
            return None  # changed again since the snapshot: the full build reads it
        hit = cache.get(name, data, source.display)
        if hit is None:
            section, cards, used, found = load_section(deck_dir, head, number, source, data)
            if found or section is None:
                return None
            cache.put(name, data, section, cards, used)
        else:
            section, cards, used = hit
        sections.append(section)
        rendered += cards
        media.append(used)
    check_across_sections(sections, problems)
    if problems.items:
        return None
    deck = Deck(head, tuple(sections), str(deck_dir))
    # The ids the notes want, made once: the caller checks each got its own (quick.py).
    guids, wanted, note_digests = note_keys(head.id, rendered)
    notes = compile_notes(deck, rendered, zip(guids, wanted, note_digests, strict=True))
    old = {s.name: s for s in state.sections}
    elsewhere = {card_id for s in state.sections if s.name not in changed
                 for card_id in card_ids(s.cards)}
    states = section_states(deck, sections, media, notes, cache.entries)
    for name, new in zip(changed, states, strict=True):
        # A renamed subdeck, other media, a section emptied or filled, a card id of an
        # unchanged section: the full build (renames, media and errors are its work).
        if (new.name != name or new.subdeck != old[name].subdeck
                or new.media != old[name].media or not new.cards or not old[name].cards
                or any(card[0] in elsewhere for card in new.cards)):
            return None
    # The cache keeps one deck's worth, as after a full load: the unchanged sections'
    # entries and the new ones.
    cache.used.update(s.entry for s in state.sections if s.name not in changed)
    cache.prune()
    return head, states, notes, wanted
