"""Hostile and broken input: a located error, exit 1 (2 for usage), never a traceback or a hang.

Each case is a deck made on the fly (some are too big or too odd to commit as files)
with the exact report it must produce.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import DECK_YAML, problem_lines, run, run_guarded, write_deck

CARD = "section: A\ncards:\n  - id: a\n    front: Capital of France?\n    back: Paris\n"


def _alias_bomb(deck: Path) -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 30):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    (deck / "01-a.yaml").write_text("\n".join(lines) + "\nsection: A\ncards: *a29\n")


def _deep(deck: Path) -> None:
    (deck / "01-a.yaml").write_text("section: A\ncards: " + "[" * 20000 + "]" * 20000 + "\n")


def _deep_block(deck: Path) -> None:
    lines = ["section: A", "cards:"] + [" " * (2 * i + 2) + f"k{i}:" for i in range(60)]
    (deck / "01-a.yaml").write_text("\n".join(lines) + " x\n")


def _huge(deck: Path) -> None:
    with (deck / "01-a.yaml").open("w") as handle:
        handle.write("section: A\ncards:\n")
        chunk = "  - id: x\n    front: " + "word " * 2000 + "\n    back: y\n"
        for _ in range(50 * 2**20 // len(chunk) + 1):
            handle.write(chunk)


def _symlink_out(deck: Path) -> None:
    (deck.parent / "secret.png").write_bytes(b"\x89PNG secret")
    (deck / "media").mkdir()
    (deck / "media" / "leak.png").symlink_to(deck.parent / "secret.png")
    (deck / "01-a.yaml").write_text(
        "section: A\ncards:\n  - id: a\n    front: \"Flag? ![f](media/leak.png)\"\n    back: x\n")


def _symlink_loop(deck: Path) -> None:
    (deck / "media").mkdir()
    (deck / "media" / "loop.png").symlink_to(deck / "media" / "loop.png")
    (deck / "01-a.yaml").write_text(
        "section: A\ncards:\n  - id: a\n    front: \"Flag? ![f](media/loop.png)\"\n    back: x\n"
        "  - id: b\n    front: \"Again? ![f](media/loop.png)\"\n    back: y\n")


def _huge_media(deck: Path) -> None:
    (deck / "media").mkdir()
    with (deck / "media" / "big.png").open("wb") as handle:
        handle.truncate(101 * 2**20)  # sparse: costs no disk
    (deck / "01-a.yaml").write_text(
        "section: A\ncards:\n  - id: a\n    front: \"Flag? ![f](media/big.png)\"\n    back: x\n")


def _files(**files: str | bytes) -> Callable[[Path], None]:
    def make(deck: Path) -> None:
        for name, content in files.items():
            path = deck / name.replace("__", ".").replace("_", "-")
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
    return make


def _special(deck: Path) -> None:
    os.mkfifo(deck / "02-pipe.yaml")
    (deck / "03-zero.yaml").symlink_to("/dev/zero")
    (deck / "04-folder.yaml").mkdir()


UNCLOSED_MATHS = ("section: A\ncards:\n  - id: a\n    front: \"What " + "\\\\(" * 20000
                  + "?\"\n    back: x\n")

CASES: dict[str, tuple[Callable[[Path], None], list[str]]] = {
    "pipes-devices-and-folders": (_special, [
        "cards/02-pipe.yaml: not a regular file", "cards/03-zero.yaml: not a regular file",
        "cards/04-folder.yaml: not a regular file"]),
    "deck-yaml-is-a-folder": (
        lambda deck: ((deck / "deck.yaml").unlink(), (deck / "deck.yaml").mkdir()),
        ["cards/deck.yaml: deck.yaml is not a regular file"]),
    "many-unclosed-maths": (
        _files(**{"01_a__yaml": UNCLOSED_MATHS + "  - id: a\n    front: Q?\n    back: y\n"}),
        ["cards/01-a.yaml:3:9: duplicate card id 'a' (also at cards/01-a.yaml:6:9)",
         "cards/01-a.yaml:6:9: duplicate card id 'a' (also at cards/01-a.yaml:3:9)"]),
    "alias-bomb": (_alias_bomb, [
        *(f"cards/01-a.yaml:{i + 1}:1: unknown key 'a{i}' (allowed: section, source, tags, cards)"
          for i in range(30)),
        "cards/01-a.yaml:29:6: expected a mapping for a card, found a list"]),
    "nesting-20000-levels": (_deep, [
        "cards/01-a.yaml:2:1007: invalid YAML: exceeded maximum nesting depth (while increasing "
        "flow level)"]),
    "block-nesting-60-levels": (_deep_block, [
        "cards/01-a.yaml:52:101: nesting is deeper than 50 levels"]),
    "file-of-50-mb": (_huge, [
        "cards/01-a.yaml: file is 50.0 MiB; a deck file may hold at most 20 MiB (split it "
        "into sections)"]),
    "tab-indentation": (_files(**{"01_a__yaml": "section: A\ncards:\n\t- id: a\n"}), [
        "cards/01-a.yaml:3:1: invalid YAML: a tab in the indentation; YAML indents with spaces "
        "only: replace the tab with spaces"]),
    "non-utf8-bytes": (_files(**{"01_a__yaml": b"section: caf\xe9\ncards: []\n"}), [
        "cards/01-a.yaml:1:13: file is not UTF-8: byte 0xe9 cannot be decoded"]),
    "utf16-file": (_files(**{"01_a__yaml": CARD.encode("utf-16")}), [
        "cards/01-a.yaml:1:1: file is not UTF-8: byte 0xff cannot be decoded"]),
    "duplicate-keys-at-every-level": (_files(
        deck__yaml="deck: A\ndeck: B\nid: test-deck\n",
        **{"01_a__yaml": "section: A\nsection: B\ncards:\n  - id: a\n    id: b\n"
                         "    front: Q one?\n    back: A\n    tags: [x]\n    tags: [y]\n"}), [
        "cards/01-a.yaml:2:1: duplicate key 'section' (first at line 1)",
        "cards/01-a.yaml:5:5: duplicate key 'id' (first at line 4)",
        "cards/01-a.yaml:9:5: duplicate key 'tags' (first at line 8)",
        "cards/deck.yaml:2:1: duplicate key 'deck' (first at line 1)"]),
    "mapping-where-list-belongs": (_files(**{"01_a__yaml": "section: A\ncards:\n  a: b\n"}), [
        "cards/01-a.yaml:3:3: 'cards' must be a list, found a mapping"]),
    "list-where-text-belongs": (_files(**{"01_a__yaml": "section: [A, B]\ncards:\n  - id: a\n"
                                                         "    front: {q: x}\n    back: y\n"}), [
        "cards/01-a.yaml:1:10: 'section' must be text, found a list",
        "cards/01-a.yaml:4:12: 'front' must be text, found a mapping"]),
    "unicode-and-colon-tags": (_files(**{"01_a__yaml": CARD + "    tags: [größe, 'a::b::c', "
                                         "'::lead', 'trail::', 'a::::b']\n"}), [
        "cards/01-a.yaml:6:30: tag '::lead' has an empty level around '::'",
        "cards/01-a.yaml:6:40: tag 'trail::' has an empty level around '::'",
        "cards/01-a.yaml:6:51: tag 'a::::b' has an empty level around '::'"]),
    "symlink-leaving-the-deck": (_symlink_out, [
        "cards/01-a.yaml:4:12: media 'media/leak.png' is outside the deck folder"]),
    "symlink-loop-used-twice": (_symlink_loop, [
        f"cards/01-a.yaml:{line}:12: media 'media/loop.png' cannot be read: Symlink loop "
        "from 'MEDIA/loop.png'" for line in (4, 7)]),
    "huge-media": (_huge_media, [
        "cards/01-a.yaml:4:12: media 'media/big.png' is 101 MiB; the limit is 100 MiB"]),
    "key-that-is-a-list": (_files(**{"01_a__yaml": "section: A\n? [a, b]\n: c\ncards: []\n"}), [
        "cards/01-a.yaml:2:3: a key must be plain text, not a list or mapping (text that "
        "starts with '{' or '[' must be quoted)",
        "cards/01-a.yaml:4:8: the section has no cards yet"]),
    "two-documents": (_files(**{"01_a__yaml": CARD + "---\n" + CARD}), [
        "cards/01-a.yaml:6:1: a deck file holds one YAML document; remove the second '---'"]),
    "recursive-alias": (_files(**{"01_a__yaml": "section: A\ncards: &c\n  - *c\n"}), [
        "cards/01-a.yaml:3:5: alias *c refers to the node that contains it"]),
    "only-a-comment": (_files(**{"01_a__yaml": "# nothing yet\n"}), [
        "cards/01-a.yaml:1:1: file is empty"]),
    "binary-garbage": (_files(**{"01_a__yaml": bytes(range(256))}), [
        # lines end at '\n' and at '\r', as libyaml and the excerpt count them
        "cards/01-a.yaml:3:115: file is not UTF-8: byte 0x80 cannot be decoded"]),
    "cr-line-ends-and-a-latin1-byte": (_files(**{"01_a__yaml": b"section: A\rcards:\r  - x\xe9"}),
                                       ["cards/01-a.yaml:3:6: file is not UTF-8: byte 0xe9 "
                                        "cannot be decoded"]),
    "cr-line-ends-and-a-control-character": (_files(**{"01_a__yaml": "section: A\rcards:\x01"}),
                                             ["cards/01-a.yaml:2:7: invalid YAML: character "
                                              "U+0001 is not allowed in YAML (a control "
                                              "character)"]),
    "control-character": (_files(**{"01_a__yaml": "section: A\x00\ncards: []\n"}), [
        "cards/01-a.yaml:1:11: invalid YAML: character U+0000 is not allowed in YAML (a control "
        "character)"]),
    # libyaml gives a byte offset: the column counts characters, as every other one does
    "control-character-after-non-ascii": (
        _files(**{"01_a__yaml": "section: \"\u00e9\u202e\x07\"\n"}),
        ["cards/01-a.yaml:1:13: invalid YAML: character U+0007 is not allowed in YAML (a "
         "control character)"]),
    "deck-yaml-is-a-list": (_files(deck__yaml="- deck: A\n", **{"01_a__yaml": CARD}), [
        "cards/deck.yaml:1:1: expected a mapping for this file, found a list"]),
    "python-object-tag": (_files(**{"01_a__yaml": "section: !!python/object/apply:os.system "
                                                  "[echo hi]\ncards: []\n"}), [
        "cards/01-a.yaml:1:10: YAML tag !!python/object/apply:os.system is not allowed: deck "
        "files hold plain data",
        "cards/01-a.yaml:1:10: 'section' must be text, found a list",
        "cards/01-a.yaml:2:8: the section has no cards yet"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_deck(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make, expected = CASES[case]
    deck = write_deck(tmp_path / "cards", {"deck.yaml": DECK_YAML, "01-a.yaml": CARD})
    make(deck)
    monkeypatch.chdir(tmp_path)
    result = run_guarded("validate", "cards")  # a traceback or a hang fails the case
    lines = problem_lines(result.output.replace(str((deck / "media").resolve()), "MEDIA"))
    assert result.exit_code == 1, result.output
    assert sorted(lines[:-1]) == sorted(expected), result.output
    assert lines[-1] == f"{len(expected)} error{'s' if len(expected) > 1 else ''} in " \
                        f"{len({line.split(':')[0] for line in expected})} file" + \
                        ("s" if len({line.split(':')[0] for line in expected}) > 1 else "")


def test_bom_is_accepted(tmp_path: Path) -> None:
    deck = write_deck(tmp_path / "cards", {"deck.yaml": DECK_YAML})
    (deck / "01-a.yaml").write_bytes(b"\xef\xbb\xbf" + CARD.encode())
    result = run("validate", deck)
    assert result.exit_code == 0, result.output


def test_missing_deck_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run("validate", "nowhere")
    assert (result.exit_code, result.output) == (1, "nowhere: deck folder not found\n"
                                                    "1 error in 1 file\n")
    assert run("build", "nowhere").exit_code == 1


def test_unknown_option_is_usage_error() -> None:
    result = run("validate", "--no-such-option")
    assert result.exit_code == 2
    assert "No such option '--no-such-option'" in result.output


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_unwritable_output_folder_as_user(example: Path, tmp_path: Path) -> None:
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o500)
    result = run("build", example, "--out", out)
    assert result.exit_code == 1
    assert f"error: cannot write {out}/example-deck.apkg: Permission denied" in result.output


def test_output_that_cannot_be_a_folder(example: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("I am a file")
    result = run("build", example, "--out", blocker / "out")
    assert result.exit_code == 1
    assert result.output == f"error: cannot write {blocker}/out/example-deck.apkg: Not a " \
                            "directory\n"
    assert blocker.read_text() == "I am a file"
    assert not (example / "deck.lock").exists()


def test_validate_inside_a_deck_folder_says_to_use_dot(example: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(example)
    result = run("validate")
    assert result.output == "cards: deck folder not found (this folder is a deck: use '.')\n" \
                            "1 error in 1 file\n"
    assert run("validate", ".").exit_code == 0


def test_lint_is_not_quadratic_in_unclosed_maths(tmp_path: Path) -> None:
    deck = write_deck(tmp_path / "cards", {"deck.yaml": DECK_YAML, "01-a.yaml": UNCLOSED_MATHS})
    result = run_guarded("lint", deck)  # it took 29 s before the one-pass scan
    assert result.exit_code == 0
    assert problem_lines(result.output)[-2:][0].endswith("[prompt-too-short]")


def test_a_deck_file_that_is_a_folder_or_pipe_is_an_error_not_a_hang(tmp_path: Path) -> None:
    deck = write_deck(tmp_path / "cards", {"deck.yaml": DECK_YAML, "01-a.yaml": CARD})
    os.mkfifo(deck / "deck.lock")
    result = run("build", deck, "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert result.output == f"{deck}/deck.lock: cannot read the lock: not a regular file\n" \
                            "1 error in 1 file\n"


@pytest.mark.parametrize("epoch", ["abc", "²", "-1", "99999999999999999999"])
def test_a_bad_source_date_epoch_is_an_error(example: Path, tmp_path: Path, epoch: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
    result = run("build", example, "--out", tmp_path / "out")
    assert (result.exit_code, result.output) == (
        1, f"error: SOURCE_DATE_EPOCH must be a whole number of seconds since 1970, not "
           f"'{epoch}'\n")


@pytest.mark.parametrize("mod", ["-5", "\u0661\u0662", "99999999999999999999999",
                                 str(2**53 - 1), "253402300800"])
def test_impossible_numbers_in_the_lock_are_damage(example: Path, tmp_path: Path,
                                                    mod: str) -> None:
    assert run("build", example, "--out", tmp_path / "out").exit_code == 0
    lock = example / "deck.lock"
    lines = lock.read_text().splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if line.startswith("card\t"))
    fields = lines[index].split("\t")
    fields[6] = mod
    lines[index] = "\t".join(fields)
    lock.write_text("".join(lines))
    for command in (["validate"], ["build", "--out", tmp_path / "out"]):
        result = run(*command, example)
        assert result.exit_code == 1
        assert result.output.startswith(f"{example}/deck.lock:{index + 1}:1: damaged lock line")
