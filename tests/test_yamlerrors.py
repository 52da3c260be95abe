"""YAML syntax errors as a compiler shows them: one message per mistake, placed at the
character to change, with the source line and a caret under it (the golden cases in
tests/cases/yaml-* pin the exact words)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import DECK_YAML, deadline, problem_lines, run, write_deck

from deckbuilder.commands import output
from deckbuilder.commands.output import visible
from deckbuilder.errors import Location, Problem
from deckbuilder.excerpt import excerpt

HEAD = "section: A\ncards:\n  - id: a\n"
LOCATED = re.compile(r"^cards/01-a\.yaml:(\d+):(\d+): ")


def _validate(tmp_path: Path, section: str, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    write_deck(tmp_path / "cards", {"deck.yaml": DECK_YAML})
    (tmp_path / "cards" / "01-a.yaml").write_text(section, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = run("validate", "cards")
    assert result.exit_code == 1, result.output
    return problem_lines(result.output)


# Each section holds one mistake; the place is where the fix goes.
ONE_MISTAKE = {
    "mapping-then-text": (HEAD + "    cloze: {{c1::Madrid}} is the capital\n", "4:12", "'{'"),
    "list-then-text": (HEAD + "    front: Capital?\n    back: [1] see note\n", "5:11", "'['"),
    "tags-then-text": (HEAD + "    front: Q?\n    back: x\n    tags: [a, b] c\n", "6:11", "'['"),
    "anchor-then-text": (HEAD + "    front: &copy; 2024 Q?\n    back: x\n", "4:12", "'&'"),
    "tag-image": (HEAD + "    front: ![map](media/m.png)\n    back: x\n", "4:12", "'!'"),
    "comma-first": (HEAD + "    front: , or else?\n    back: x\n", "4:12", "','"),
    "alias-emphasis": (HEAD + "    front: *stress* here\n    back: x\n", "4:12", "'*'"),
    "over-indented": (HEAD + "    front: Q?\n      back: x\n", "5:7", "more than 'front'"),
    "under-indented": (HEAD + "    front: Q?\n   back: x\n", "5:4", "less than 'front'"),
    "colon-in-text": (HEAD + "    front: Article 5: what?\n    back: x\n", "4:21", "': '"),
    "tab": (HEAD + "    front: Q?\n\tback: x\n", "5:1", "tab"),
    "quote-never-closed": (HEAD + '    front: "Q?\n    back: x\n', "4:12", "never closed"),
    "quote-closed-on-a-later-line": (HEAD + '    front: "Q?\n    back: "x"\n', "4:12",
                                     "not closed on its line"),
    "no-space-after-colon": (HEAD + "    front:Q?\n    back: x\n", "4:10", "space after"),
    # `deckbuilder new` writes `cards: []`: the cards written below it, `[]` left in place
    "items-below-an-empty-list": ("section: A\ncards: []\n# below\n  - id: a\n    front: Q\n",
                                  "2:8", "write nothing after 'cards:'"),
    # a key indented under it is a sibling indented too far, as without the list
    "over-indented-after-a-list": (HEAD + "    tags: [x]\n     front: Q?\n", "5:6",
                                   "more than 'tags' on line 4"),
    "items-below-a-list": (HEAD + "    front: Q?\n    tags: [a, b, c]\n      - d\n", "5:11",
                           "has its value '[a, b, c]' on this line"),
}


@pytest.mark.parametrize("case", sorted(ONE_MISTAKE))
def test_one_mistake_is_one_message_at_the_place_to_fix(
        case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    section, place, words = ONE_MISTAKE[case]
    lines = _validate(tmp_path, section, monkeypatch)
    assert lines[-1] == "1 error in 1 file", lines
    assert lines[0].startswith(f"cards/01-a.yaml:{place}: invalid YAML: "), lines
    assert words in lines[0]


def test_a_problem_before_the_mistake_is_still_reported(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = _validate(tmp_path, HEAD + "    front: Q?\n    front: R?\n    back: x\n"
                      "  - id: b\n    cloze: {{c1::x}} y\n", monkeypatch)
    assert [LOCATED.match(line).groups() for line in lines[:-1]] == [  # type: ignore[union-attr]
        ("5", "5"), ("8", "12")]
    assert "duplicate key 'front'" in lines[0]


def test_the_suggested_line_is_valid_yaml_that_keeps_the_text(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = _validate(tmp_path, HEAD + '    front: Is "5: all for one" \\ the rule?\n'
                      "    back: x\n", monkeypatch)
    suggestion = lines[0].split("between quotes: ", 1)[1]
    fixed = HEAD + f"    {suggestion}\n    back: x\n"
    (tmp_path / "cards" / "01-a.yaml").write_text(fixed, encoding="utf-8")
    assert run("validate", "cards").exit_code == 0
    from deckbuilder.load import load_deck

    card = load_deck(tmp_path / "cards").deck.sections[0].cards[0]
    assert card.front == 'Is "5: all for one" \\ the rule?'


def test_excerpts_go_to_stderr_and_never_into_json(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    write_deck(tmp_path / "cards", {"deck.yaml": DECK_YAML, "01-a.yaml": HEAD + "   back: x\n"})
    monkeypatch.chdir(tmp_path)
    text = run("validate", "cards")
    assert text.stdout == ""
    assert text.stderr.splitlines()[1:3] == ["  4 |    back: x", "    |    ^"]
    as_json = run("validate", "cards", "--format", "json")
    assert [p["line"] for p in json.loads(as_json.stdout)] == [4]
    assert "|" not in as_json.stderr


def test_columns_count_characters_and_the_caret_counts_terminal_cells(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_text(tmp_path, HEAD + "    front: 日本語: what?\n    back: x\n", monkeypatch)
    first, source, caret = result.splitlines()[:3]
    assert first.startswith("cards/01-a.yaml:4:15: ")  # 4 spaces, 'front: ', 3 characters
    assert source == "  4 |     front: 日本語: what?"
    assert caret == "    |" + " " * 18 + "^"  # the three characters take two cells each


def run_text(tmp_path: Path, section: str, monkeypatch: pytest.MonkeyPatch) -> str:
    write_deck(tmp_path / "cards", {"deck.yaml": DECK_YAML})
    (tmp_path / "cards" / "01-a.yaml").write_bytes(section.encode())
    monkeypatch.chdir(tmp_path)
    return run("validate", "cards").stderr


def test_excerpt_of_crlf_and_unicode_line_breaks_follows_the_loaders_lines(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    section = (HEAD + "    front: Q?\u2028    back: a: b\n").replace("\n", "\r\n")
    shown = run_text(tmp_path, section, monkeypatch).splitlines()
    assert shown[0].startswith("cards/01-a.yaml:5:12: ")
    assert shown[1:3] == ["  5 |     back: a: b", "    |            ^"]


@pytest.mark.parametrize(("line", "column", "expected"), [
    ("\tfront: x", 2, ["  1 |     front: x", "    |     ^"]),  # a tab shows as 4 spaces
    ("e\u0301t\u00e9: x", 4, ["  1 | e\u0301t\u00e9: x", "    |   ^"]),  # combining accent
    ("a: \x1b[2J!", 8, ["  1 | a: \\x1b[2J!", "    |           ^"]),  # escaped, not run
    ("ab", 3, ["  1 | ab", "    |   ^"]),  # just past the end: the line's end
    ("", 1, ["  1 |", "    | ^"]),
])
def test_excerpt_places_the_caret_under_the_character(line: str, column: int,
                                                      expected: list[str]) -> None:
    assert excerpt([line], 1, column, visible) == expected


def test_a_long_line_is_cut_around_the_caret() -> None:
    line = "x: " + "a" * 300 + "!" + "b" * 300
    source, caret = excerpt([line], 1, 304, visible)
    assert source.startswith("  1 | …") and source.endswith("…")
    assert len(source) < 120
    assert source[len(caret) - 1] == "!"


def test_excerpts_of_one_huge_line_take_no_time() -> None:
    """A thousand excerpts of a line of 5 MB with an escaped character: each escapes only
    the characters it shows (the whole line each time took hours)."""
    line = "{cards: [" + "{id: x, front: \x1b\u00e9}, " * 200_000 + "]}"
    with deadline(5):
        shown = [excerpt([line], 1, column, visible) for column in range(1, 5_000_000, 5000)]
    assert len(shown) == 1000 and all(len(source) < 120 for source, _ in shown)
    source, caret = shown[1]
    assert source[len(caret) - 1] == line[5000] and "\\x1b" in source


def test_no_excerpt_where_there_is_no_such_line() -> None:
    assert excerpt(["a"], 2, 1) == [] and excerpt(["a"], 0, 0) == []


def test_past_the_excerpt_limit_problems_are_lines_only(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(output, "EXCERPTS", 1)
    write_deck(tmp_path / "cards", {"deck.yaml": DECK_YAML,
                                    "01-a.yaml": HEAD + "    front: Q?\n",
                                    "02-b.yaml": HEAD.replace("A", "B") + "    back: x\n"})
    monkeypatch.chdir(tmp_path)
    lines = run("validate", "cards").stderr.splitlines()
    assert len(problem_lines("\n".join(lines))) > 3
    assert [line for line in lines if "|" in line] == ["  3 |   - id: a", "    |     ^"]


@pytest.mark.parametrize("mistake", ["    front: Q?\n   back: x\n", "    front: Q: x\n",
                                     "    front: [1] x\n", '    front: "Q\n    back: "x"\n'])
def test_a_mistake_deep_in_a_big_file_gets_the_same_message(mistake: str) -> None:
    """Past SCAN_FROM_TOP, libyaml's tokens are read again from a few lines above the
    mistake, not from the top: the message is the one a full scan gives."""
    import yaml

    from deckbuilder import yamlerrors

    cards = "".join(f"  - id: c{i}\n    front: Q{i}?\n    back: A{i}\n" for i in range(12_000))
    text = f"section: A\ncards:\n{cards}  - id: z\n{mistake}"
    assert len(text) > yamlerrors.SCAN_FROM_TOP
    with pytest.raises(yaml.MarkedYAMLError) as error:
        list(yaml.parse(text, Loader=yaml.CSafeLoader))
    near = yamlerrors.diagnose(text, error.value)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(yamlerrors, "SCAN_FROM_TOP", len(text))
        assert yamlerrors.diagnose(text, error.value) == near
    assert near.line > 36_000 and "(while" not in near.message


def test_a_full_scan_places_only_the_tokens_it_keeps(monkeypatch: pytest.MonkeyPatch) -> None:
    """A plain text of many lines leaves no line to restart from: the scan reads the file
    from the top, and placing each of its million tokens in the text cost more than the
    scan (a 3.5 MB file loaded and diagnosed: 3.9 s -> 3.0 s)."""
    import yaml

    from deckbuilder import yamlerrors

    cards = "  - id: a\n    front: b\n" * 20_000
    more = "      more\n" * 3000
    text = f"cards:\n{cards}  - id: q\n    front: a\n{more}      x: y\n"
    with pytest.raises(yaml.MarkedYAMLError) as error:
        list(yaml.parse(text, Loader=yaml.CSafeLoader))
    moved = []
    real = yamlerrors._moved
    monkeypatch.setattr(yamlerrors, "_moved", lambda *args: moved.append(1) or real(*args))
    found = yamlerrors.diagnose(text, error.value)
    assert found.line == 43_004 and "'x' is indented 6 spaces" in found.message
    assert len(moved) <= 16


def test_a_long_run_of_spaces_above_a_misindented_line_takes_no_time() -> None:
    """The lines above a misindented one are matched as keys: a key pattern ending in
    '[^#]*?[ \\t]*:' took quadratic time on spaces without a ':' (40,000: 1 s)."""
    from deckbuilder.errors import Problems
    from deckbuilder.source import SourceFile, load_yaml

    spaces = " " * 200_000
    text = (f"section: A\ncards:\n  - id: a\n    front: b\n  - x{spaces}y\n    back: c\n"
            "   front: d\n")
    problems = Problems()
    with deadline(3):
        load_yaml(SourceFile(Path("f.yaml"), "f.yaml"), problems, text.encode())
    assert [str(p) for p in problems.items] == [
        "f.yaml:6:5: invalid YAML: 'back' is indented 4 spaces, more than 'cards' on line 2 "
        "(0 spaces); line up the keys of one mapping"]


@pytest.mark.parametrize("value", ['"a" &b: c', "! %x: y", "&b %x: y", "[@home]", "{ `x: y",
                                   "!: *x"])
def test_a_suggestion_is_given_only_where_it_quotes_the_whole_text(value: str) -> None:
    """Quotes suggested from a mark after a tag, an anchor, a quoted text or inside a
    list left that part out: 'front: [ "@home]"' or 'front: ! "%x: y"' were suggested."""
    import yaml

    from deckbuilder import yamlerrors

    text = f"section: A\ncards:\n  - id: a\n    front: {value}\n    back: b\n"
    with pytest.raises(yaml.MarkedYAMLError) as error:
        list(yaml.parse(text, Loader=yaml.CSafeLoader))
    message = yamlerrors.diagnose(text, error.value).message
    if "between quotes: " in message:  # then the suggested line reads back as the text
        line = message.split("between quotes: ", 1)[1]
        fixed = yaml.safe_load(text.replace(f"front: {value}", line))
        assert fixed["cards"][0]["front"] == value, message


def test_excerpts_hold_one_file_at_a_time(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Problems come sorted by file: the lines of the files before are let go (each
    file may hold 20 MB, and a thousand problems may each be in another file)."""
    import gc
    import weakref

    from deckbuilder import excerpt as excerpt_module

    class Lines(list[str]):
        pass

    alive: list[weakref.ref[Lines]] = []
    most = 0

    def tracked(path: str) -> Lines:
        nonlocal most
        gc.collect()
        most = max(most, sum(ref() is not None for ref in alive))
        lines = Lines(["x: 1"] * 3)
        alive.append(weakref.ref(lines))
        return lines

    monkeypatch.setattr(excerpt_module, "read_lines", tracked)
    problems = [Problem(Location(f"f{i}.yaml", 1, 1), "bad") for i in range(5)]
    output.Console().problems(problems)
    assert most <= 1


# Valid YAML that is not what the author meant: a local tag or an alias where text was meant.
MEANT_AS_TEXT = {
    "local-tag": (HEAD + "    front: !important note\n    back: x\n", "4:12", "'!'"),
    "alias-alone": (HEAD + "    front: *emphasis\n    back: x\n", "4:12", "'*'"),
}


@pytest.mark.parametrize("case", sorted(MEANT_AS_TEXT))
def test_a_tag_or_alias_meant_as_text_gets_the_advice_to_quote(
        case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    section, place, first = MEANT_AS_TEXT[case]
    lines = _validate(tmp_path, section, monkeypatch)
    assert lines[0].startswith(f"cards/01-a.yaml:{place}: "), lines
    assert f"to write text that starts with {first}, put the whole text between quotes" in lines[0]


def test_a_yaml_type_tag_gets_no_advice_to_quote(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    lines = _validate(tmp_path, HEAD + "    front: !!binary aGk=\n    back: x\n", monkeypatch)
    assert "not allowed" in lines[0] and "quotes" not in lines[0]
