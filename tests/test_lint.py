"""`deckbuilder lint` and `validate --strict`: each rule, thresholds, silencing, formats."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from conftest import DECK_YAML, problem_lines, run, without_excerpts, write_deck

GOOD = """
  - id: good
    front: Which city is the capital of France?
    back: Paris
"""


def deck_with(tmp_path: Path, cards: str, deck_yaml: str = DECK_YAML, **more: str) -> Path:
    files = {"deck.yaml": deck_yaml,
             "01-a.yaml": "section: A\ncards:" + textwrap.dedent(cards).replace("\n", "\n  ")}
    files.update(more)
    return write_deck(tmp_path / "cards", files)


def warnings_of(deck: Path, *args: str) -> list[str]:
    result = run("lint", deck, *args)
    assert result.exit_code == 0, result.output
    return [line for line in result.output.splitlines() if ": warning: " in line]


def test_clean_deck(tmp_path: Path) -> None:
    result = run("lint", deck_with(tmp_path, GOOD), "--strict")
    assert result.exit_code == 0
    assert result.output == f"{tmp_path / 'cards'}: 1 cards, no lint warnings\n"


def test_the_real_deck_passes_lint_strict() -> None:
    deck = Path(__file__).resolve().parents[1] / "cards"
    result = run("lint", deck, "--strict")
    assert result.exit_code == 0, result.output


def test_every_rule_located_with_its_fix(tmp_path: Path) -> None:
    deck = deck_with(tmp_path, """
        - id: long
          front: What does the North Atlantic Treaty oblige the Allies to do?
          back: To consult together whenever any of them considers that its territory or its
            security is threatened
        - id: list
          front: Which states founded NATO with the United States besides Canada?
          back: |
            - Belgium
            - Denmark
            - France
            - Iceland
            - Italy
        - id: two-questions
          front: Who signed the treaty? And where was it signed?
          back: Twelve states, in Washington
        - id: yes-no
          front: Is Article 5 the treaty's collective defence clause?
          back: "Yes"
        - id: echo
          front: Was the founding treaty signed in Washington or in London?
          back: In Washington
        - id: crowded
          cloze: "{{c1::Twelve}} states signed in {{c2::Washington}} on {{c3::4 April}}
            {{c4::1949}}."
        - id: trivial
          cloze: "An attack on one Ally is {{c1::not}} an attack on {{c2::every Ally}}."
        - id: short
          front: Article 5?
          back: Collective defence
        - id: twin
          front: Which city was the North Atlantic Treaty signed in?
          back: Washington
        - id: twin-again
          front: In which city was the North Atlantic Treaty signed?
          back: Washington, D.C.
        """)
    result = run("lint", deck)
    assert result.exit_code == 0  # warnings alone never fail without --strict
    path = deck / "01-a.yaml"
    assert problem_lines(result.output) == [
        f"{path}:5:11: warning: the answer has 16 words (more than 15): keep the answer minimal "
        "and move the explanation to `extra` [answer-too-long]",
        f"{path}:9:11: warning: the answer lists 5 items (more than 4): keep one card for the "
        "enumeration and ask each item in its own card or cloze [list-too-long]",
        f"{path}:16:12: warning: the prompt has 2 question marks: ask one question per card "
        "[multiple-questions]",
        f"{path}:19:12: warning: a yes/no question is answered by guessing half the time: ask "
        "for the fact itself (what, which, who, when, why) [yes-no]",
        f"{path}:23:11: warning: the answer repeats the prompt (1/1 content words): ask for "
        "what the learner must recall, not for a choice or an echo of the question "
        "[restates-question]",
        f"{path}:25:12: warning: the cloze has 4 deletions (more than 3): split it into shorter "
        "sentences, one fact each [cloze-too-many]",
        f"{path}:28:12: warning: deletion c1 'not' hides only function words: delete the fact "
        "itself (a name, number or term) [cloze-trivial]",
        f"{path}:30:12: warning: the prompt has 2 words (fewer than 3): give enough context that "
        "only one answer fits, or make it a term card with reverse: true [prompt-too-short]",
        f"{path}:36:12: warning: the prompt nearly repeats card 'twin' ({path}:33:12): merge the "
        "two cards, or make the difference explicit in both prompts [near-duplicate]",
        "9 warnings in 1 file",
    ]
    strict = run("lint", deck, "--strict")
    assert strict.exit_code == 1
    assert strict.output == result.output


@pytest.mark.parametrize("front, back, rule", [
    ("Does NATO have a charter or a treaty?", "A treaty", "restates-question"),  # not yes/no
    ("Does NATO have a charter or a treaty?", "No, a treaty", "yes-no restates-question"),
    ("**Can** an Ally refuse to send troops under Article 5?", "Yes", "yes-no"),
    ("Isolationism in the US was strongest in which decade?", "The 1930s", None),
    ("What does `a?b` print in the example?", "An error", None),  # a ? in code is no question
    ("Which alliance does [this page](https://x.org/?a=1) describe?", "NATO", None),
    ("Which treaty founded NATO in 1949?", "The North Atlantic Treaty", None),
    ("Which council of NATO takes decisions?", "NATO's Councils", "restates-question"),
    ("Which body takes NATO's decisions?", "The North Atlantic Council", None),
    ("Who?", "Nobody", "prompt-too-short"),
    ("![map](media/m.png)", "Chile", None),  # an image is context enough
])
def test_single_rules(tmp_path: Path, front: str, back: str, rule: str | None) -> None:
    card = f"\n- id: c\n  front: {json.dumps(front)}\n  back: {json.dumps(back)}\n"
    deck = deck_with(tmp_path, card)
    (deck / "media").mkdir()
    (deck / "media" / "m.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    result = run("lint", deck, "--format", "json")
    assert result.exit_code == 0, result.output
    assert " ".join(w["rule"] for w in json.loads(result.output)) == (rule or "")


def test_reverse_cards_are_asked_both_ways(tmp_path: Path) -> None:
    deck = deck_with(tmp_path, """
        - id: term
          front: Haus
          back: house? home?
          reverse: true
        - id: other
          front: Which English word translates the German noun Haus?
          back: house
        """)
    assert warnings_of(deck) == [
        f"{deck / '01-a.yaml'}:5:11: warning: the prompt has 2 question marks: ask one question "
        "per card [multiple-questions]"]  # the short front of a term card is fine


def test_near_duplicates_across_files_and_kinds(tmp_path: Path) -> None:
    deck = deck_with(tmp_path, """
        - id: first
          cloze: "The {{c1::North Atlantic Council}} is NATO's principal political body."
        - id: unrelated
          front: Which Ally hosts NATO's headquarters?
          back: Belgium
        """, **{"02-b.yaml": """
        section: B
        cards:
          - id: second
            cloze: "NATO's principal political body is the {{c1::North Atlantic Council}}."
          - id: third
            front: Which Allies host NATO headquarters?
            back: Belgium
            lint: [near-duplicate]
        """})
    assert warnings_of(deck) == [
        f"{deck / '02-b.yaml'}:4:12: warning: the prompt nearly repeats card 'first' "
        f"({deck / '01-a.yaml'}:4:12): merge the two cards, or make the difference explicit "
        "in both prompts [near-duplicate]"]


def test_thresholds_from_deck_yaml(tmp_path: Path) -> None:
    cards = """
        - id: a
          front: What does Article 5 oblige each Ally to do?
          back: Assist the attacked Ally with the action it deems necessary
        - id: b
          front: Is NATO a military alliance of North American and European states?
          back: "Yes"
        """
    default = warnings_of(deck_with(tmp_path / "default", cards))
    assert [w.rsplit(" ", 1)[1] for w in default] == ["[yes-no]"]
    tight = deck_with(tmp_path / "tight", cards, DECK_YAML + "lint:\n  answer-too-long: 5\n"
                      "  yes-no: 0\n")
    assert [w.split(": warning: ")[1] for w in warnings_of(tight)] == [
        "the answer has 10 words (more than 5): keep the answer minimal and move the "
        "explanation to `extra` [answer-too-long]"]


def test_a_card_silences_a_rule(tmp_path: Path) -> None:
    deck = deck_with(tmp_path, """
        - id: a
          front: Is NATO a military alliance of North American and European states?
          back: "Yes"
          lint: [yes-no]
        """)
    assert warnings_of(deck) == []


@pytest.mark.parametrize("lint_yaml, message", [
    ("  answer-too-lng: 20\n",
     "4:3: unknown lint rule 'answer-too-lng'; did you mean 'answer-too-long'?"),
    ("  spelling: 1\n", "4:3: unknown lint rule 'spelling'; rules: answer-too-long, "
     "list-too-long, multiple-questions, yes-no, restates-question, cloze-too-many, "
     "cloze-trivial, near-duplicate, prompt-too-short"),
    ("  answer-too-long: -1\n", "4:20: lint threshold 'answer-too-long' must be a whole "
     "number, 0 or more (0 turns it off)"),
    ("  list-too-long: 2.5\n", "4:18: lint threshold 'list-too-long' must be a whole number, "
     "0 or more (0 turns it off)"),
    ("  near-duplicate: 80\n", "4:19: lint threshold 'near-duplicate' must be between 0 and 1 "
     "(0 turns it off)"),
    ("  yes-no: 2\n", "4:11: lint threshold 'yes-no' must be 1 (on) or 0 (off)"),
    ("  yes-no: .inf\n", "4:11: lint threshold 'yes-no' must be a plain number, like 3 or 0.5"),
    ("  yes-no: off\n", "4:11: lint threshold 'yes-no' must be a plain number, like 3 or 0.5"),
    ("  answer-too-long: 040\n", "4:20: 'answer-too-long' is written 040, with a leading "
     "zero: YAML 1.1 (PyYAML) reads it as the octal 32, YAML 1.2 (editors) as 40; write 40"),
    ("  answer-too-long: 4_0\n", "4:20: 'answer-too-long' is written 4_0: YAML 1.1 "
     "(PyYAML) reads it as 40, YAML 1.2 (editors) as text; write 40"),
])
def test_bad_lint_settings_are_located_errors(tmp_path: Path, lint_yaml: str,
                                              message: str) -> None:
    deck = deck_with(tmp_path, GOOD, DECK_YAML + "lint:\n" + lint_yaml)
    for command in ("validate", "lint"):
        result = run(command, deck)
        assert result.exit_code == 1
        assert without_excerpts(result.output) == \
            f"{deck / 'deck.yaml'}:{message}\n1 error in 1 file\n"


def test_unknown_rule_on_a_card_is_a_located_error(tmp_path: Path) -> None:
    deck = deck_with(tmp_path, GOOD + "    lint: [yes-no, yesno]\n")
    result = run("validate", deck)
    assert result.exit_code == 1
    assert without_excerpts(result.output) == (
        f"{deck / '01-a.yaml'}:6:20: unknown lint rule 'yesno'; did you mean 'yes-no'?\n"
        "1 error in 1 file\n")


def test_lint_json_format(tmp_path: Path) -> None:
    deck = deck_with(tmp_path, "\n- id: s\n  front: Article 5?\n  back: Collective defence\n")
    result = run("lint", deck, "--format", "json", "--strict")
    assert result.exit_code == 1
    assert json.loads(result.output) == [{
        "path": str(deck / "01-a.yaml"), "line": 4, "column": 12, "severity": "warning",
        "rule": "prompt-too-short", "message": "the prompt has 2 words (fewer than 3): give "
        "enough context that only one answer fits, or make it a term card with reverse: true"}]
    clean = run("lint", deck_with(tmp_path / "clean", GOOD), "--format", "json")
    assert (clean.exit_code, clean.output) == (0, "[]\n")


def test_lint_on_a_broken_deck_reports_the_errors(tmp_path: Path) -> None:
    deck = deck_with(tmp_path, "\n- id: a\n  front: Only a front?\n")
    result = run("lint", deck)
    assert result.exit_code == 1
    assert without_excerpts(result.output) == (
        f"{deck / '01-a.yaml'}:3:5: a card with 'front' also needs 'back'\n1 error in 1 file\n")


def test_lint_quiet_and_verbose(tmp_path: Path) -> None:
    clean = deck_with(tmp_path / "clean", GOOD, DECK_YAML + "lint:\n  yes-no: 0\n")
    assert run("lint", clean, "-q").output == ""
    verbose = run("lint", clean, "-v").output.splitlines()
    assert "  yes-no                 off     0 warnings" in verbose
    assert "  answer-too-long         15     0 warnings" in verbose


def test_validate_strict_includes_lint(tmp_path: Path) -> None:
    deck = deck_with(tmp_path, "\n- id: s\n  front: Article 5?\n  back: Collective defence\n")
    plain = run("validate", deck)
    assert plain.exit_code == 0
    assert plain.output == f"{deck}: 1 section, 1 note, 1 card, no errors\n"
    strict = run("validate", deck, "--strict")
    assert strict.exit_code == 1
    assert problem_lines(strict.output) == [
        f"{deck / '01-a.yaml'}:4:12: warning: the prompt has 2 words (fewer than 3): give "
        "enough context that only one answer fits, or make it a term card with reverse: true "
        "[prompt-too-short]", "1 warning in 1 file"]
    as_json = run("validate", deck, "--strict", "--format", "json")
    assert as_json.exit_code == 1
    assert [w["rule"] for w in json.loads(as_json.output)] == ["prompt-too-short"]
    assert run("validate", deck, "--format", "json").output == "[]\n"
    clean = run("validate", deck_with(tmp_path / "clean", GOOD), "--strict")
    assert clean.exit_code == 0


@pytest.mark.parametrize("text", [
    "{{c1::Paris}} is on the {{c2::Seine::river}}; {{c1::France}} too.",
    "{{c01::a::b::c}} and {{c2::x}y}} {{c3::\\(e^{x} \\)}}",
    "multi\nline {{c1::an\nswer::hi\nnt}} end",
    "{{c1::}}}} {{c2::b}}",
])
def test_lint_reads_deletions_as_the_checker_does(text: str) -> None:
    from deckbuilder.cloze import parse_cloze
    from deckbuilder.lint import _DELETION_PARTS

    found = [(int(number), *body.partition("::")[::2])
             for number, body in _DELETION_PARTS.findall(text)]
    assert found == [(d.number, d.answer, d.hint) for d in parse_cloze(text)[0]]


def test_lint_reads_every_cloze_of_the_real_deck_as_the_checker_does() -> None:
    from deckbuilder.cloze import parse_cloze
    from deckbuilder.lint import _DELETION_PARTS
    from deckbuilder.load import load_deck

    deck = load_deck(Path(__file__).resolve().parents[1] / "cards").deck
    clozes = [card.front for card in deck.cards if card.kind == "cloze"]
    assert len(clozes) > 20
    for text in clozes:
        found = [(int(number), *body.partition("::")[::2])
                 for number, body in _DELETION_PARTS.findall(text)]
        assert found == [(d.number, d.answer, d.hint) for d in parse_cloze(text)[0]], text
