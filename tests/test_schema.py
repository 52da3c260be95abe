"""`deckbuilder schema`: the committed schema/ files are its output, and they accept the
real deck and reject what `validate` rejects."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from conftest import DATA, run

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("which", ["section", "deck"])
def test_committed_schema_files_are_the_command_output(which: str) -> None:
    result = run("schema", which)
    assert result.exit_code == 0
    committed = (ROOT / "schema" / f"{which}.schema.json").read_text(encoding="utf-8")
    assert result.output == committed, "run: deckbuilder schema WHICH > schema/WHICH.schema.json"


def test_section_is_the_default() -> None:
    assert run("schema").output == run("schema", "section").output


def test_unknown_schema_is_a_usage_error() -> None:
    result = run("schema", "card")
    assert result.exit_code == 2
    assert "'card' is not one of 'section', 'deck'" in result.output


def test_deck_yaml_points_editors_at_the_schema() -> None:
    first = (ROOT / "cards" / "deck.yaml").read_text(encoding="utf-8").splitlines()[0]
    target = first.removeprefix("# yaml-language-server: $schema=")
    assert (ROOT / "cards" / target).resolve() == ROOT / "schema" / "deck.schema.json"


def _validator(which: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((ROOT / "schema" / f"{which}.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("folder", [ROOT / "cards", DATA / "example"])
def test_real_decks_pass_the_schema(folder: Path) -> None:
    for path in sorted(folder.glob("*.yaml")):
        which = "deck" if path.name == "deck.yaml" else "section"
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        errors = [e.message for e in _validator(which).iter_errors(data)]
        assert errors == [], path


@pytest.mark.parametrize("which, data, word", [
    ("deck", {"deck": "D", "id": "d", "lint": {"answer-too-lng": 3}}, "answer-too-lng"),
    ("deck", {"deck": "D", "id": "d", "lint": {"near-duplicate": 2}}, "maximum"),
    ("deck", {"deck": "D", "id": "d", "lint": {"yes-no": 2}}, "is not one of"),
    ("deck", {"deck": "D", "id": "d", "lint": {"list-too-long": 2.5}}, "is not of type"),
    ("deck", {"deck": "D", "id": "D!"}, "does not match"),
    ("section", {"section": "S", "cards": []}, "should be non-empty"),
    ("section", {"section": "S", "cards": [{"id": "a", "front": "Q"}]}, "is not valid under"),
    ("section", {"section": "S", "cards": [{"id": "a", "cloze": "{{c1::x}}",
                                           "lint": ["yesno"]}]}, "is not one of"),
    ("section", {"section": "S", "cards": [{"id": "a", "cloze": "{{c1::x}}", "qestion": 1}]},
     "qestion"),
    ("deck", {"deck": "D\nid\tforged", "id": "d"}, "does not match"),
    ("deck", {"deck": "D", "id": "d\n"}, "does not match"),
    ("deck", {"deck": "D", "id": "d", "tags": ["a\u2028b"]}, "does not match"),
    ("section", {"section": "S", "cards": [{"id": "a", "front": "Q\x1fA", "back": "x"}]},
     "does not match"),
])
def test_the_schema_rejects_what_validate_rejects(which: str, data: object, word: str) -> None:
    errors = " ".join(e.message for e in _validator(which).iter_errors(data))
    assert word in errors
