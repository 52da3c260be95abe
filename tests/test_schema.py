"""`deckbuilder schema`: the committed schema/ files are its output, and they accept the
real deck and reject what `validate` rejects.

The JSON Schema cannot express what needs more than one file or more than a regular
expression; INEXPRESSIBLE lists those rules, and only those may give different verdicts.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import jsonschema
import pytest
import regress
import yaml
from check_jsonschema.cli.main_command import main as check_jsonschema
from click.testing import CliRunner
from conftest import DATA, run
from hypothesis import example, given, settings
from hypothesis import strategies as st

from deckbuilder import limits, schema
from deckbuilder.check import check_head, check_section
from deckbuilder.errors import Problems
from deckbuilder.source import SourceFile, find_deck_files, load_yaml, read_bytes

ROOT = Path(__file__).resolve().parents[1]
CASES = Path(__file__).parent / "cases"
MODELINE = "# yaml-language-server: $schema=../schema/{}.schema.json"
# validate's rules that JSON Schema cannot express, by their messages.
INEXPRESSIBLE = re.compile("|".join([
    r"cloze (deletion|number|text has no)|malformed cloze|a cloze may have",  # cloze syntax
    r"not in the deck's vocabulary",  # deck.yaml's vocabulary, another file
    r"Anki ignores the case of tags|differ only by case",  # case-insensitive uniqueness
    r"package name with --split",  # the deck id (deck.yaml) with the file's name
    # PyYAML (YAML 1.1) refuses '&copy;' as an anchor name; YAML 1.2 readers accept it.
    r"is read as a YAML anchor",
]))


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


@pytest.mark.parametrize("path", sorted((ROOT / "cards").glob("*.yaml")), ids=lambda p: p.name)
def test_every_deck_file_points_editors_at_its_schema(path: Path) -> None:
    which = "deck" if path.name == "deck.yaml" else "section"
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first == MODELINE.format(which)
    target = first.removeprefix("# yaml-language-server: $schema=")
    assert (path.parent / target).resolve() == ROOT / "schema" / f"{which}.schema.json"


def _validate_verdicts(deck: Path) -> dict[Path, tuple[str, list[str]]]:
    """Each file validate reads as deck.yaml or a section: which schema, and validate's
    structural errors in it (YAML and the format; media and cross-file checks come later)."""
    problems = Problems()
    files = find_deck_files(deck, problems)
    assert files is not None
    read: dict[Path, tuple[str, str]] = {}
    tree = None
    if files.deck.path.is_file():
        tree = load_yaml(files.deck, problems, read_bytes(files.deck, problems) or b"")
        read[files.deck.path] = ("deck", files.deck.display)
    head = check_head(files.deck, problems, tree)
    for number, source in files.sections:
        root = load_yaml(source, problems, read_bytes(source, problems) or b"")
        check_section(source, number, head, problems, root)
        read[source.path] = ("section", source.display)
    return {path: (which, [p.message for p in problems.errors if p.location.path == shown])
            for path, (which, shown) in read.items()}


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir() if p.is_dir()))
def test_validate_and_check_jsonschema_agree_on_every_case(case: str) -> None:
    """check-jsonschema with its default settings (ECMAScript patterns, YAML 1.2) gives each
    file the verdict validate gives it, but for the rules JSON Schema cannot express."""
    for path, (which, errors) in _validate_verdicts(CASES / case / "cards").items():
        expressible = [m for m in errors if not INEXPRESSIBLE.search(m)]
        result = CliRunner().invoke(check_jsonschema, [
            "--schemafile", str(ROOT / "schema" / f"{which}.schema.json"), str(path)])
        # Not parsed (a YAML error; check-jsonschema's parser also raises on !!int twelve)
        # or not valid: rejected either way.
        rejected = result.exit_code != 0
        assert rejected == bool(expressible), (path.name, expressible, result.output)


def test_the_committed_schemas_pass_check_jsonschema_defaults() -> None:
    for which in ("section", "deck"):
        result = CliRunner().invoke(check_jsonschema, [
            "--check-metaschema", str(ROOT / "schema" / f"{which}.schema.json")])
        assert result.exit_code == 0, result.output


# Characters the rules are about, and any other.
_TRICKY = st.sampled_from([":", " ", "\n", "\t", "\r", "-", '"', "\x1f", "\x85", "\xa0",
                           "\u2028", "\u3000", "\ufeff", "\x00", "\x7f", "a", "z", "0", "D",
                           "e", "f", "l", "u", "t", "É", "é"])
_VALUES = st.text(st.one_of(_TRICKY, st.characters(codec="utf-8")), max_size=12)
_ALL_RULES = [*schema.RULES["text"], *schema.RULES["line"], *schema.RULES["id"],
              *schema.TAG_RULES, *schema.DECK_NAME_RULES, *schema.TITLE_RULES,
              *schema.DECK_ID_RULES]


@settings(max_examples=400, deadline=None)
@given(_VALUES)
def test_every_pattern_means_the_same_in_python_and_ecmascript(value: str) -> None:
    """check.py runs the patterns with Python's re, JSON Schema validators with ECMAScript's
    (check-jsonschema's default, editors): they must decide alike."""
    for rule in _ALL_RULES:
        ecmascript = regress.Regex(rule.pattern, flags="u").find(value) is not None
        assert bool(rule.regex.search(value)) == ecmascript, (rule.pattern, value)


def _passes(rules: tuple[schema.Rule, ...], value: str) -> bool:
    return all(rule.regex.search(value) for rule in rules)


@settings(max_examples=600, deadline=None)
@given(_VALUES)
@example("default")
@example(" DeFault::Geo ")
@example("Defaults")
@example("a:::b")
@example("a::::b")
@example("geo::")
@example("Basics: ")
@example("a--b")
@example("a" * 251)
@example("Folded\n")
def test_every_pattern_means_what_its_message_says(value: str) -> None:
    """Each rule's pattern accepts exactly the values its explanation (limits.py) accepts."""
    text_rules, line_rules, id_rules = (schema.RULES[t] for t in ("text", "line", "id"))
    assert _passes(text_rules[:1], value) == bool(value.strip())
    assert _passes(text_rules[1:], value) == (not limits.character_problem(value, False))
    assert _passes(line_rules[1:], value) == (not limits.character_problem(value.strip(), True))
    assert _passes(id_rules[1:], value) == bool(re.fullmatch(r"[a-z0-9][a-z0-9-]*", value))
    assert _passes(schema.TAG_RULES, value) == (not limits.tag_problem(value))
    name = value.strip()
    assert _passes(schema.DECK_NAME_RULES, value) == (not limits.deck_name_problem(name))
    assert _passes(schema.TITLE_RULES, value) == (not limits.title_problem(name))
    if value.isascii():
        ok = "--" not in value and not limits.file_name_problem(f"{value}.apkg")
        assert _passes(schema.DECK_ID_RULES, value) == ok
    for rule in _ALL_RULES:  # and a value that fails a rule is explained
        assert rule.regex.search(value) or rule.message("key", value)


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
    ("deck", {"deck": "Default", "id": "d"}, "does not match"),
    ("deck", {"deck": "D::", "id": "d"}, "does not match"),
    ("deck", {"deck": "D", "id": "a--b"}, "does not match"),
    ("deck", {"deck": "D", "id": "a" * 251}, "does not match"),
    ("section", {"section": "A::B", "cards": [{"id": "a", "cloze": "{{c1::x}}"}]},
     "does not match"),
    ("section", {"section": "S", "cards": [{"id": "a", "cloze": "{{c1::x}}", "reverse": True}]},
     "is not valid under"),
    ("section", {"section": "S", "cards": [{"id": "a", "front": " ", "back": "x"}]},
     "does not match"),
    ("section", {"section": "S", "cards": [{"id": "a", "cloze": "x", "tags": ["a::"]}]},
     "does not match"),
    ("section", {"section": "S", "cards": [{"id": "a", "front": "Q\x1fA", "back": "x"}]},
     "does not match"),
])
def test_the_schema_rejects_what_validate_rejects(which: str, data: object, word: str) -> None:
    errors = " ".join(e.message for e in _validator(which).iter_errors(data))
    assert word in errors


@pytest.mark.parametrize("which, data", [
    ("section", {"section": "Folded\n", "cards": [{"id": 12, "front": 1.5, "back": True,
                                                    "reverse": "yes", "tags": [2024, "no"]}]}),
    ("section", {"section": "S", "cards": [{"id": "a", "front": "Q", "back": "yes",
                                           "reverse": "off"}]}),
    ("deck", {"deck": "Geo::Capitals", "id": "d", "html": "on"}),
])
def test_the_schema_accepts_what_validate_accepts(which: str, data: object) -> None:
    """YAML 1.2 (editors) reads `reverse: yes` as text, YAML 1.1 as true: both pass."""
    assert [e.message for e in _validator(which).iter_errors(data)] == []


_SCALARS = st.sampled_from(["Paris", "yes", "no", "1949", "1.5", "~", "''", '"  "', "a::",
                            "geo", '"{{c1::Paris}} is"', "'{{c0::x}}'", "x-1", "Bad Id", '"\\x1f"',
                            "[a, b]", "[geo, Geo]", "[]", "{a: 1}", "true", "on", "maybe"])
_CARD_KEY_NAMES = st.sampled_from(["id", "front", "back", "cloze", "reverse", "extra", "tags",
                                   "source", "lint", "qestion"])


_BASES = st.sampled_from([{"id": "a", "front": "Q", "back": "A"},
                          {"id": "a", "cloze": '"{{c1::x}}"'}, {}])


@settings(max_examples=400, deadline=None)
@given(_BASES, st.dictionaries(_CARD_KEY_NAMES, _SCALARS, max_size=3))
def test_the_fast_path_for_valid_cards_decides_as_the_full_check(
        base: dict[str, str], changes: dict[str, str]) -> None:
    """check.py takes a short way through cards whose keys are all fine: it must give the
    same card and the same problems as the full check (which would find any problem)."""
    from deckbuilder.check import _Checker
    from deckbuilder.model import DeckHead

    card = {**base, **changes}
    text = "".join(f"  {key}: {value}\n" for key, value in card.items()).replace("  ", "- ", 1)
    source = SourceFile(Path("01-a.yaml"), "01-a.yaml")
    problems = Problems()
    root = load_yaml(source, problems, f"section: A\ncards:\n{text or '- {}'}\n".encode())
    if root is None:
        return
    node = root.value["cards"].value[0]  # type: ignore[index]
    head = DeckHead(name="D", id="d", description="", html=False, tags=(), vocabulary=None,
                    lint={}, description_at=None)
    results = []
    for way in ("card", "checked_card"):
        checker = _Checker(Problems())
        checker.source = source
        made = getattr(checker, way)(node, source, ("t",), head.vocabulary, "")
        results.append((made, sorted(checker.problems.items)))
    assert results[0] == results[1]


def test_new_writes_the_schema_line_the_repository_sections_carry(tmp_path: Path) -> None:
    deck = tmp_path / "cards"
    deck.mkdir()
    (deck / "deck.yaml").write_bytes((ROOT / "cards" / "deck.yaml").read_bytes())
    assert run("new", "Baltic air policing", deck).exit_code == 0
    written = (deck / "01-baltic-air-policing.yaml").read_text(encoding="utf-8")
    assert written.splitlines()[0] == MODELINE.format("section")


_TITLES = st.sampled_from(["A", "yes", "1949", "'A::B'", "'A: '", "~", "[x]", "'  '",
                           ">\n  Folded", '"Two\\nlines"', "'Default'"])


@settings(max_examples=120, deadline=None)
@given(_TITLES, _BASES, st.dictionaries(_CARD_KEY_NAMES, _SCALARS, max_size=3))
def test_generated_section_files_get_one_verdict(title: str, base: dict[str, str],
                                                 changes: dict[str, str]) -> None:
    """Beyond the golden cases: validate and check-jsonschema (defaults) accept and
    refuse the same generated section files, but for the rules JSON Schema cannot say."""
    card = {**base, **changes}
    if card.get("id") == "true":  # `id: true`: an editor sees a boolean (README)
        card.pop("id")
    cards = "".join(f"  {key}: {value}\n" for key, value in card.items()).replace("  ", "- ", 1)
    text = f"section: {title}\ncards:\n{cards or '- {}'}\n"
    _assert_one_verdict("deck: D\nid: d\n", text, "01-a.yaml")


def _assert_one_verdict(deck_yaml: str, section: str, name: str) -> None:
    """validate and check-jsonschema give file ``name`` of this deck the same verdict."""
    with tempfile.TemporaryDirectory() as folder:
        deck = Path(folder)
        (deck / "deck.yaml").write_text(deck_yaml, encoding="utf-8")
        (deck / "01-a.yaml").write_text(section, encoding="utf-8")
        which, errors = _validate_verdicts(deck)[deck / name]
        result = CliRunner().invoke(check_jsonschema, [
            "--schemafile", str(ROOT / "schema" / f"{which}.schema.json"), str(deck / name)])
    expressible = [m for m in errors if not INEXPRESSIBLE.search(m)]
    assert (result.exit_code != 0) == bool(expressible), (deck_yaml, section, expressible,
                                                         result.output)


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(["D", "'Default::x'", "'D::'", "'D :: E'", "yes", "1949", "~", "[D]",
                        "'D::E'", "'a\\tb'"]),
       st.sampled_from(["d", "'a--b'", "D", "12", "on", "'" + "a" * 251 + "'", "~", "1.5"]),
       st.sampled_from(["", "html: yes\n", "html: 'no'\n", "html: 1\n", "html: maybe\n"]),
       st.sampled_from(["", "lint: {yes-no: 2}\n", "lint: {near-duplicate: 0.5}\n",
                        "lint: {answer-too-long: 2.5}\n", "lint: {answer-too-lng: 1}\n",
                        "tags: [a, 'b::']\n", "tags: [2024, yes]\n", "tags: [a, a]\n"]))
def test_generated_deck_files_get_one_verdict(name: str, deck_id: str, html: str,
                                              more: str) -> None:
    _assert_one_verdict(f"deck: {name}\nid: {deck_id}\n{html}{more}",
                        "section: A\ncards: [{id: a, front: Q, back: A}]\n", "deck.yaml")


@pytest.mark.parametrize("written", ["yes", "'yes'", "on", "'off'", "True", "1", "maybe"])
def test_an_option_flag_gets_one_verdict(written: str) -> None:
    """`bury-siblings` takes what `reverse` and `html` take, in the schema as in validate."""
    _assert_one_verdict(f"deck: D\nid: d\noptions: {{bury-siblings: {written}}}\n",
                        "section: A\ncards: [{id: a, front: Q, back: A}]\n", "deck.yaml")
