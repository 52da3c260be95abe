"""The benchmark's notes written in each peer's own input format (see peers.py).

Every writer takes the notes deckgen.py wrote (``NOTES.json``: texts already HTML) and a
folder, and writes there what an author of that tool would keep in their repository
(the deck files under ``decks/``, or Brain Brew's ``src/`` and recipe). The
notetypes match plain_genanki.py's where the tool lets one choose them, so every peer
stores the same fields; what a tool cannot express is listed in peers.py.

These tools make subdecks only as separate packages, and every genanki package costs its
own SQLite file and its fsyncs (about 0.3 s each on the benchmark machine), so each peer
gets the layout that builds fastest: one deck in one package, except markdown-anki-decks
(one file per subdeck, see below).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # only speeds up writing the inputs
CSS = ".card { font-family: sans-serif; font-size: 20px; }"
_AFTER = ('{{#Extra}}<div class="extra">{{Extra}}</div>{{/Extra}}'
          '<div class="source">{{Source}}</div>')
FIELDS = {"basic": ["Front", "Back", "Extra", "Source"],
          "reverse": ["Front", "Back", "Extra", "Source"],
          "cloze": ["Text", "Extra", "Source"]}
_SIDES = {"basic": [("Card 1", "{{Front}}", "{{Back}}")],
          "reverse": [("Card 1", "{{Front}}", "{{Back}}"), ("Card 2", "{{Back}}", "{{Front}}")],
          "cloze": [("Cloze", "{{cloze:Text}}", "")]}
OUT = "out"  # where each peer writes, in the folder its input is in
MODEL_NAMES = {"basic": "Basic (benchmark)", "reverse": "Basic and reversed (benchmark)",
               "cloze": "Cloze (benchmark)"}
_MARKDOWN = ((re.compile(r"<em>(.*?)</em>"), r"*\1*"), (re.compile(r"<code>(.*?)</code>"), r"`\1`"))


def load(notes_json: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(notes_json.read_text(encoding="utf-8"))
    return data


def note_count(data: dict[str, Any]) -> int:
    return sum(len(section["notes"]) for section in data["sections"])


def templates(kind: str) -> list[dict[str, str]]:
    """plain_genanki.py's card templates for one kind of note."""
    return [{"name": name, "qfmt": question,
             "afmt": f'{question}<hr id="answer">{answer}{_AFTER}'}
            for name, question, answer in _SIDES[kind]]


def _by_kind(notes: list[dict[str, Any]]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    for kind in FIELDS:
        chosen = [note for note in notes if note["kind"] == kind]
        if chosen:
            yield kind, chosen


def _stem(section: dict[str, Any]) -> str:
    """A file name from the subdeck's title, which starts with its number."""
    return re.sub(r"[^A-Za-z0-9]+", "-", section["subdeck"].split("::")[-1])


def _dump(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                              width=4096), encoding="utf-8")


def anki_librarian(data: dict[str, Any], folder: Path) -> None:
    """One deck folder: ``deck.yaml`` (id, name, models) and a file of rows per section and
    model (each file holds one model's notes)."""
    models = [{"id": 1_700_000_001 + index, "name": MODEL_NAMES[kind],
               "fields": [{"name": name} for name in FIELDS[kind]], "templates": templates(kind)}
              for index, kind in enumerate(FIELDS)]
    deck = folder / "decks" / "benchmark"
    _dump(deck / "deck.yaml", {"id": 1_800_000_000, "name": data["deck"], "models": models})
    for section in data["sections"]:
        for kind, notes in _by_kind(section["notes"]):
            _dump(deck / f"{_stem(section)}-{kind}.yaml",
                  {"cards": {"model": MODEL_NAMES[kind], "notes": [n["fields"] for n in notes]}})


def anki_yaml_tool(data: dict[str, Any], folder: Path) -> None:
    """A file per section and model (the tool takes one model per file): config and data."""
    for section in data["sections"]:
        for kind, notes in _by_kind(section["notes"]):
            config = {"name": MODEL_NAMES[kind], "deck-name": data["deck"], "css": CSS,
                      "fields": FIELDS[kind], "templates": templates(kind)}
            rows = [{**{name.lower(): text
                        for name, text in zip(FIELDS[kind], note["fields"], strict=True)},
                     "tags": note["tags"], "id": note["id"]} for note in notes]
            _dump(folder / "decks" / f"{_stem(section)}-{kind}.yaml",
                  {"config": config, "data": rows})


def markdown_anki_decks(data: dict[str, Any], folder: Path) -> None:
    """One Markdown file per subdeck: ``# title``, then per note ``## question`` and its
    answer (the tool makes one deck and package per file, and slows down more than linearly
    with the notes in one file: 10k notes in one file took 2.7 times as long as in 20).

    The texts go back to Markdown (deckgen's only markup is ``*em*`` and `` `code` ``);
    the answer is the back, then the extra as a second paragraph; the source has no place.
    """
    (folder / "decks").mkdir(parents=True, exist_ok=True)
    for section in data["sections"]:
        lines = [f"# {section['subdeck'].split('::', 1)[1]}", ""]
        for note in section["notes"]:
            texts = [_markdown(text) for text in note["fields"][:-1]]
            lines += [f"## {texts[0]}", "", *(f"{text}\n" for text in texts[1:] if text)]
        (folder / "decks" / f"{_stem(section)}.md").write_text("\n".join(lines),
                                                               encoding="utf-8")


def _markdown(html: str) -> str:
    for pattern, replacement in _MARKDOWN:
        html = pattern.sub(replacement, html)
    return html


def brain_brew(data: dict[str, Any], folder: Path) -> None:
    """Brain Brew's usual source layout: a CSV per section and notetype, notetypes as YAML
    with an HTML file per template, deck headers, and the recipe that turns them into a
    CrowdAnki folder (``out/``)."""
    src = folder / "src"
    _brain_brew_models(src, folder)
    _dump(src / "headers.yaml", {"name": data["deck"],
                                 "crowdanki_uuid": "00000000-0000-4000-8000-000000000000",
                                 "desc": "A generated deck, the same on every run."})
    names = list(MODEL_NAMES.values())
    _dump(folder / "recipe.yaml", [
        {"build_parts": [
            *({"note_models_from_yaml_part": {"part_id": MODEL_NAMES[kind],
                                              "file": f"src/models/{kind}.yaml"}}
              for kind in FIELDS),
            {"headers_from_yaml_part": {"part_id": "headers", "file": "src/headers.yaml"}},
            {"notes_from_csvs": {"part_id": "notes",
                                 "note_model_mappings": [{"note_models": names}],
                                 "file_mappings": _brain_brew_csvs(data, src, folder)}}]},
        {"generate_crowd_anki": {"folder": OUT, "headers": "headers",
                                 "notes": {"part_id": "notes"},
                                 "note_models": {"parts": [{"part_id": name} for name in names]}}},
    ])


def _brain_brew_models(src: Path, folder: Path) -> None:
    """Each notetype as YAML, with one HTML file per template (question, ``--``, answer)."""
    (src / "models").mkdir(parents=True, exist_ok=True)
    (src / "models" / "style.css").write_text(CSS, encoding="utf-8")
    for number, kind in enumerate(FIELDS, start=1):
        html = []
        for template in templates(kind):
            path = src / "models" / f"{kind}-{template['name'].replace(' ', '-')}.html"
            path.write_text(f"{template['qfmt']}\n\n--\n\n{template['afmt']}\n",
                            encoding="utf-8")
            html.append({"name": template["name"], "html_file": str(path.relative_to(folder))})
        _dump(src / "models" / f"{kind}.yaml", {
            "name": MODEL_NAMES[kind], "id": f"00000000-0000-4000-8000-00000000000{number}",
            "css_file": "src/models/style.css", "fields": [{"name": n} for n in FIELDS[kind]],
            "templates": html, **({"is_cloze": True} if kind == "cloze" else {})})


def _brain_brew_csvs(data: dict[str, Any], src: Path, folder: Path) -> list[dict[str, str]]:
    """A CSV per section and notetype (guid, the fields, tags); the recipe's file mappings."""
    (src / "data").mkdir(parents=True, exist_ok=True)
    files = []
    for section in data["sections"]:
        for kind, notes in _by_kind(section["notes"]):
            path = src / "data" / f"{_stem(section)}-{kind}.csv"
            with path.open("w", encoding="utf-8", newline="") as stream:
                writer = csv.writer(stream)
                writer.writerow(["guid", *(n.lower() for n in FIELDS[kind]), "tags"])
                writer.writerows([note["id"], *note["fields"], " ".join(note["tags"])]
                                 for note in notes)
            files.append({"file": str(path.relative_to(folder)), "note_model": MODEL_NAMES[kind]})
    return files
