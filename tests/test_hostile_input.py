"""Hostile deck content that `validate` must catch, made on the fly (a `.git` folder or a
600 KB cloze cannot be committed as a case folder), and hostile text that must reach
Anki unchanged. The readable cases are folders in tests/cases.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import AnkiImport, Hang, deadline, problem_lines, run, run_guarded, write_deck

from deckbuilder.anki import note_guid

CARD = "section: A\ncards:\n  - id: a\n    front: Capital of France?\n    back: Paris\n"


def _validate(tmp_path: Path, files: dict[str, str]) -> list[str]:
    """The lines `validate` prints for a deck of ``files``, after checking it failed."""
    write_deck(tmp_path / "cards", files)
    os.chdir(tmp_path)
    result = run_guarded("validate", "cards")
    assert result.exit_code == 1, result.output
    return problem_lines(result.output)


@pytest.mark.parametrize("name", ["A::", "::A", "A::::B", "A :: B", "A::\u3000::B", "A:::B",
                                  "A:", "A::B: :"])
def test_a_deck_name_anki_would_rename_is_an_error(name: str, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    lines = _validate(tmp_path, {"deck.yaml": f'deck: "{name}"\nid: test-deck\n',
                                 "01-a.yaml": CARD})
    assert lines == [f"cards/deck.yaml:1:7: deck name '{name}' has an empty level, or one that "
                     "starts or ends with a space or ':'; Anki would trim it and create a deck "
                     "of another name", "1 error in 1 file"]


def test_a_section_title_ending_in_a_colon(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    lines = _validate(tmp_path, {"deck.yaml": "deck: D\nid: test-deck\n",
                                 "01-a.yaml": CARD.replace("section: A", "section: 'A :'")})
    assert lines == ["cards/01-a.yaml:1:10: a section title cannot end with ':' (Anki would "
                     "drop it from the subdeck's name)", "1 error in 1 file"]


def test_a_deck_id_too_long_for_a_file_name(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    lines = _validate(tmp_path, {"deck.yaml": f"deck: D\nid: {'a' * 251}\n", "01-a.yaml": CARD})
    longer = ("a package name holds at most 233 (a file name holds 255, and the package is "
              "written first under a name 22 bytes longer)")
    assert lines == [
        f"cards/01-a.yaml: this section's package name with --split '<id>--01-a.apkg' is 262 "
        f"bytes; {longer}: shorten the file name or the deck id",
        f"cards/deck.yaml:2:5: the deck's package name '<id>.apkg' is 256 bytes; {longer}: "
        "shorten the deck id",
        "2 errors in 2 files"]


@pytest.mark.parametrize("length", [222, 229])
def test_the_longest_names_validate_accepts_build(tmp_path: Path, length: int) -> None:
    """Ids of 229 to 250 characters passed validate but every build failed with 'File name
    too long': the package's temporary name is 22 bytes longer than the package's."""
    deck = write_deck(tmp_path / "cards", {"deck.yaml": f"deck: D\nid: {'a' * length}\n",
                                           "01-a.yaml": CARD})
    validated = run_guarded("validate", deck)
    built = run_guarded("build", deck, "--out", tmp_path / "out")
    if length == 222:  # <id>--01-a.apkg: 233 bytes
        assert (validated.exit_code, built.exit_code) == (0, 0), built.output
        assert (tmp_path / "out" / f"{'a' * length}.apkg").is_file()
    else:
        assert (validated.exit_code, built.exit_code) == (1, 1)
        assert "'<id>.apkg' is 234 bytes; a package name holds at most 233" in built.output
        assert "too long" not in built.output


def test_git_files_are_never_media(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    deck = tmp_path / "cards"
    (deck / ".git").mkdir(parents=True)
    (deck / ".git" / "config").write_text("[remote]\n\turl = https://token@example.org\n")
    (deck / "media").mkdir()
    (deck / "media" / "innocent.png").symlink_to(deck / ".git" / "config")
    lines = _validate(tmp_path, {
        "deck.yaml": "deck: D\nid: test-deck\n",
        "01-a.yaml": "section: A\ncards:\n  - id: a\n    front: 'Flag? ![x](.git/config)'\n"
                     "    back: x\n  - id: b\n    front: 'Flag? ![x](media/innocent.png)'\n"
                     "    back: x\n"})
    assert lines == [
        "cards/01-a.yaml:4:12: media '.git/config' is a hidden file or in a hidden folder (like "
        ".git); deckbuilder does not package those",
        "cards/01-a.yaml:7:12: media 'media/innocent.png' is a hidden file or in a hidden "
        "folder (like .git); deckbuilder does not package those",
        "2 errors in 1 file"]


def test_more_cloze_deletions_than_the_bound(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    cloze = " ".join(["{{c1::x}}"] * 65_537)
    lines = _validate(tmp_path, {"deck.yaml": "deck: D\nid: test-deck\n",
                                 "01-a.yaml": f"section: A\ncards:\n  - id: a\n    cloze: "
                                              f"'{cloze}'\n"})
    assert lines == ["cards/01-a.yaml:4:12: a cloze may have at most 65,536 deletions",
                     "1 error in 1 file"]


def test_the_largest_cloze_number_anki_makes_a_card_for(tmp_path: Path) -> None:
    cloze = " ".join(f"{{{{c{n}::w{n}}}}}" for n in range(1, 501))
    deck = write_deck(tmp_path / "cards", {"deck.yaml": "deck: D\nid: test-deck\n",
                                           "01-a.yaml": f"section: A\ncards:\n  - id: a\n"
                                                        f"    cloze: '{cloze}'\n"})
    assert run_guarded("build", deck, "--out", tmp_path / "out").exit_code == 0
    anki = AnkiImport(tmp_path)
    try:
        anki.load(tmp_path / "out" / "test-deck.apkg")
        cards = anki.note_by_guid(note_guid("test-deck", "a")).cards()
        assert sorted(card.ord for card in cards) == list(range(500))
        assert "w500" in max(cards, key=lambda card: card.ord).answer()
    finally:
        anki.col.close()


PLACEHOLDERS = "\ue000 \ue0010\ue001 \ue0009\ue001 &#xE000;0&#xE001; &#57344;"


def test_placeholder_characters_are_plain_text(tmp_path: Path) -> None:
    """The renderer keeps maths out of Markdown's way behind U+E000/U+E001 placeholders;
    a text holding those characters (or references to them) must neither crash it nor
    forge a placeholder."""
    deck = write_deck(tmp_path / "cards", {
        "deck.yaml": "deck: D\nid: test-deck\n",
        "01-a.yaml": f"section: A\ncards:\n  - id: a\n    front: '*Sum* \\(a_1\\) {PLACEHOLDERS}'"
                     f"\n    back: '{PLACEHOLDERS}'\n"})
    result = run_guarded("build", deck, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    anki = AnkiImport(tmp_path)
    try:
        anki.load(tmp_path / "out" / "test-deck.apkg")
        note = anki.note_by_guid(note_guid("test-deck", "a"))
        assert note["Front"] == f"<em>Sum</em> \\(a_1\\) {PLACEHOLDERS}"
        assert note["Back"] == PLACEHOLDERS
    finally:
        anki.col.close()
    assert "1 unchanged" in run("build", deck, "--out", tmp_path / "out").output


@pytest.mark.parametrize("package", ["test-deck.apkg", "test-deck--01-a.apkg"])
def test_a_description_image_reaches_anki(package: str, tmp_path: Path) -> None:
    """The description is rendered like a card's text: its image is checked, renamed flat
    and packaged under a name starting with '_', which Anki imports though no note uses it;
    every section package carries it too, as each carries the parent deck."""
    deck = write_deck(tmp_path / "cards", {
        "deck.yaml": "deck: D\nid: test-deck\ndescription: 'A map: ![map](media/map.png)'\n",
        "01-a.yaml": CARD})
    (deck / "media").mkdir()
    (deck / "media" / "map.png").write_bytes(b"\x89PNG map")
    assert run_guarded("build", deck, "--out", tmp_path / "out", "--split").exit_code == 0
    anki = AnkiImport(tmp_path)
    try:
        anki.load(tmp_path / "out" / package)
        description = anki.col.decks.by_name("D")["desc"]
        name = description.split('src="')[1].split('"')[0]
        assert name.startswith("_map-") and name.endswith(".png")
        assert (Path(anki.col.media.dir()) / name).read_bytes() == b"\x89PNG map"
    finally:
        anki.col.close()


@pytest.mark.parametrize(("front", "message"), [
    ("x\n\n<div " + "<a " * 20_000, "unfinished HTML '<div <a <a <a <a <a <a <a <a <'"),
    ("x\n\n<div>" + "<![" * 2_000 + ">", "this HTML cannot be read"),
])
def test_html_that_python_parses_slowly_or_not_at_all(front: str, message: str,
                                                      tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """html.parser retries every '<' of an unfinished tail (20 s for these 60 KB) and, before
    Python 3.13, raises AssertionError on '<![' that names nothing."""
    monkeypatch.chdir(tmp_path)
    write_deck(tmp_path / "cards", {"deck.yaml": "deck: D\nid: test-deck\nhtml: true\n"})
    (tmp_path / "cards" / "01-a.yaml").write_text(
        f"section: A\ncards:\n  - id: a\n    front: {json.dumps(front)}\n    back: b\n")
    result = run_guarded("validate", "cards", seconds=5)
    assert result.exit_code == 1
    assert result.output.startswith(f"cards/01-a.yaml:4:12: {message}"), result.output[:300]


def test_the_guard_fails_a_hang_and_a_traceback(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """run_guarded is what makes a hostile case fail rather than block the suite or pass
    with a traceback printed; it must be able to fail."""
    with pytest.raises(Hang), deadline(0.2):
        while True:
            pass

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("deckbuilder.load.load_deck", crash)
    with pytest.raises(pytest.fail.Exception, match="RuntimeError: a bug"):
        run_guarded("validate", tmp_path)


@pytest.mark.parametrize("name", ["deck.yaml", "02-b.yaml"])
def test_deck_files_linked_from_outside_the_deck_are_refused(name: str, tmp_path: Path) -> None:
    """A hostile repository could link a section to a YAML file of the user's machine, and
    the build would put its text into a package the user then shares."""
    deck = write_deck(tmp_path / "cards", {"deck.yaml": "deck: D\nid: test-deck\n",
                                           "01-a.yaml": CARD})
    secret = write_deck(tmp_path / "home", {"secret.yaml": "deck: Secret\nid: secret\n"
                                            if name == "deck.yaml" else CARD.replace(
                                                "id: a", "id: secret-token")})
    target = deck / name
    target.unlink(missing_ok=True)
    target.symlink_to(secret / "secret.yaml")
    result = run_guarded("validate", deck)
    assert result.exit_code == 1
    assert f"{target}: a link to a file outside the deck folder" in result.output
    assert run_guarded("build", deck, "--out", tmp_path / "out").exit_code == 1
    assert not (tmp_path / "out" / "test-deck.apkg").exists()


@pytest.mark.parametrize("cloze", [
    "{{c1::a}} and &#123;&#123;c2::b}}",
    "{{c1::a}} and {{c2&#58;:b}}",
    "{{c1::a}} and {&#123;c2::b}}",
])
def test_a_deletion_made_by_an_escape_or_entity_is_an_error(cloze: str, tmp_path: Path) -> None:
    """Markdown decodes the entity into a brace, and Anki then makes a card of c2 that the
    deck never wrote, which a later `sync` would remove as an empty card, with its reviews."""
    deck = write_deck(tmp_path / "cards", {
        "deck.yaml": "deck: D\nid: test-deck\n",
        "01-a.yaml": f"section: A\ncards:\n  - id: esc\n    cloze: \"{cloze}\"\n"})
    result = run_guarded("validate", deck)
    assert result.exit_code == 1
    assert "renders into cloze deletion c2" in result.output


@pytest.mark.parametrize(("section_tags", "card_tags"), [
    ("[Foo]", "[foo]"),  # inherited and own
    ("[]", "[test-deck::01-A]"),  # the automatic section tag
    ("[]", "[bar, BAR]"),
])
def test_tags_that_differ_only_by_case_are_an_error(section_tags: str, card_tags: str,
                                                    tmp_path: Path) -> None:
    """Anki keeps one spelling of a tag for every case: the note then never matches the
    deck again, and every `sync` fails."""
    deck = write_deck(tmp_path / "cards", {
        "deck.yaml": "deck: D\nid: test-deck\n",
        "01-a.yaml": f"section: A\ntags: {section_tags}\ncards:\n"
                     f"  - id: a1\n    front: q\n    back: a\n    tags: {card_tags}\n"})
    result = run_guarded("validate", deck)
    assert result.exit_code == 1
    assert "differ only by case" in result.output or "(Anki ignores the case of tags)" \
        in result.output


@pytest.mark.parametrize("name", ["default", "DEFAULT::Mine"])
def test_a_deck_named_like_ankis_default_deck_is_an_error(name: str, tmp_path: Path) -> None:
    deck = write_deck(tmp_path / "cards", {"deck.yaml": f"deck: '{name}'\nid: test-deck\n",
                                           "01-a.yaml": CARD})
    result = run_guarded("validate", deck)
    assert result.exit_code == 1
    assert "is Anki's own 'Default' deck" in result.output


def test_a_deck_folder_under_a_path_that_is_not_utf8(tmp_path: Path) -> None:
    folder = Path(os.fsdecode(bytes(tmp_path) + b"/\xff-deck"))
    deck = write_deck(folder, {"deck.yaml": "deck: D\nid: test-deck\n", "01-a.yaml": CARD})
    for command in (["validate"], ["build", "--out", tmp_path / "out"]):
        assert run_guarded(*command, deck).exit_code == 0


@pytest.mark.parametrize("title", ["a\u2028b", "\udcff\udcfe", "tab\there"])
def test_new_refuses_a_title_validate_would_refuse(title: str, tmp_path: Path) -> None:
    deck = write_deck(tmp_path / "cards", {"deck.yaml": "deck: D\nid: test-deck\n"})
    result = run_guarded("new", title, deck)
    assert result.exit_code == 1
    assert "the section title" in result.output
    assert sorted(p.name for p in deck.iterdir()) == ["deck.yaml"]


@pytest.mark.parametrize("front", [
    '<svg><image href="media/x.png"><set attributeName="href" to="https://e.example/p.png"/>'
    '</image></svg>',
    "<svg><image><animate attributeName='XLINK:HREF' values='https://e.example/q.png'/>"
    "</image></svg>",
])
def test_svg_animation_of_a_link_is_refused(front: str, tmp_path: Path) -> None:
    """With html: true, SVG can set an image's link to a remote file (a tracking pixel)."""
    deck = write_deck(tmp_path / "cards", {
        "deck.yaml": "deck: D\nid: test-deck\nhtml: true\n",
        "01-a.yaml": f"section: A\ncards:\n  - id: a\n    front: |\n      {front}\n"
                     "    back: b\n"})
    (deck / "media").mkdir()
    (deck / "media" / "x.png").write_bytes(b"\x89PNG")
    result = run_guarded("validate", deck)
    assert result.exit_code == 1
    assert "animates a link, which can load a file deckbuilder cannot check" in result.output
