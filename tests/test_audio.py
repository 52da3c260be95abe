"""`[sound:...]`: checked like an image, packaged under a flat content-addressed name, and
played by Anki (its own parser finds the tag in the imported field)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import AnkiImport, deadline, run_guarded, write_deck

from deckbuilder.anki import note_guid
from deckbuilder.errors import Location, Problems
from deckbuilder.render import Renderer, replace_sounds

MP3 = b"ID3\x03\x00\x00\x00\x00\x00\x00 a sound"
DECK = "deck: D\nid: test-deck\n"


def _deck(tmp_path: Path, card: str, deck_yaml: str = DECK) -> Path:
    deck = write_deck(tmp_path / "cards", {
        "deck.yaml": deck_yaml, "01-a.yaml": "section: A\ncards:\n" + card})
    (deck / "media").mkdir()
    (deck / "media" / "hello world.mp3").write_bytes(MP3)
    (deck / "media" / "map.png").write_bytes(b"\x89PNG map")
    return deck


def _errors(tmp_path: Path, card: str, deck_yaml: str = DECK) -> list[str]:
    _deck(tmp_path, card, deck_yaml)
    os.chdir(tmp_path)
    result = run_guarded("validate", "cards")
    assert result.exit_code == 1, result.output
    return _located(result.output)


def _located(output: str) -> list[str]:
    """The problems of a report: not its summary, nor any source excerpt under them."""
    return [line for line in output.splitlines() if line.startswith("cards/")]


def test_a_sound_reaches_anki_and_plays(tmp_path: Path) -> None:
    deck = _deck(tmp_path, (
        "  - id: a\n    front: 'Which word? [sound:media/hello world.mp3]'\n    back: hello\n"
        "  - id: c\n    cloze: '{{c1::[sound:media/hello world.mp3]}} means hello'\n"))
    result = run_guarded("build", deck, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    anki = AnkiImport(tmp_path)
    try:
        anki.load(tmp_path / "out" / "test-deck.apkg")
        note = anki.note_by_guid(note_guid("test-deck", "a"))
        name = note["Front"].split("[sound:")[1].split("]")[0]
        assert name.startswith("hello_world-") and name.endswith(".mp3")
        assert note["Front"] == f"Which word? [sound:{name}]"
        assert (Path(anki.col.media.dir()) / name).read_bytes() == MP3
        assert not anki.col.media.check().missing
        # Anki's own parser finds the tag: the question side plays this file
        tags = note.cards()[0].question_av_tags()
        assert [tag.filename for tag in tags] == [name]
        cloze = anki.note_by_guid(note_guid("test-deck", "c"))
        assert cloze["Text"] == f"{{{{c1::[sound:{name}]}}}} means hello"
        assert [t.filename for t in cloze.cards()[0].answer_av_tags()] == [name]
    finally:
        anki.col.close()


def test_html_audio_is_checked_and_renamed(tmp_path: Path) -> None:
    deck = _deck(tmp_path, "  - id: a\n    front: '<audio controls src=\"media/hello world.mp3\">"
                 "</audio>'\n    back: b\n", DECK + "html: true\n")
    assert run_guarded("build", deck, "--out", tmp_path / "out").exit_code == 0
    anki = AnkiImport(tmp_path)
    try:
        anki.load(tmp_path / "out" / "test-deck.apkg")
        front = anki.note_by_guid(note_guid("test-deck", "a"))["Front"]
        name = front.split('src="')[1].split('"')[0]
        assert name.startswith("hello_world-")
        assert (Path(anki.col.media.dir()) / name).read_bytes() == MP3
    finally:
        anki.col.close()


@pytest.mark.parametrize(("front", "message"), [
    ("'![hi](media/hello%20world.mp3)'", "4:12: 'media/hello%20world.mp3' is audio or video, "
     "which an image cannot show: write [sound:media/hello%20world.mp3] to play it"),
    ("'[sound:media/map.png]'", "4:12: [sound:media/map.png] is not audio or video that Anki "
     "plays: show an image with ![description](media/map.png)"),
    ("'[sound:notes.txt]'", "4:12: [sound:notes.txt] is not audio or video that "
     "Anki plays (3gp, aac, avi, flac, flv, m4a, mkv, mov, mp3, mp4, mpeg, mpg, oga, ogg, "
     "ogv, ogx, opus, spx, wav, webm)"),
    ("'[sound:media/gone.mp3]'", "4:12: media file not found: media/gone.mp3"),
    ("'`[sound:media/gone.mp3]`'", "4:12: media file not found: media/gone.mp3"),
    ("'[sound:media/hello%20world.mp3]'", "4:12: media file not found: media/hello%20world"
     ".mp3; Anki reads the path as written: write it with its spaces, not %20, "
     "[sound:media/hello world.mp3]"),
    ("'[sound: media/map.png]'", "4:12: media file not found:  media/map.png; Anki reads the "
     "path as written: write it without spaces around it, [sound:media/map.png]"),
    ("'[sound:../outside.mp3]'", "4:12: media '../outside.mp3' is outside the deck folder"),
    ("'[sound:https://example.com/a.mp3]'", "4:12: sound 'https://example.com/a.mp3' is not a "
     "local file; phones review offline, so put it in the deck folder"),
    ("'&#91;sound:media/hello world.mp3]'", "4:12: this text renders into a [sound:...] tag "
     "that deckbuilder cannot check (inside maths, or through an escape or an HTML entity "
     "such as &#91;), and Anki would try to play it: write [sound:...] as plain text"),
    ("'\\(x [sound:media/hello world.mp3]\\)'", "4:12: this text renders into a [sound:...] "
     "tag"),
    ("'[sound:media/{{c1::a}}.mp3]'", "4:12: [sound:media/{{c1::a}}.mp3] has a cloze deletion "
     "in its file name; put the deletion around the whole tag instead"),
])
def test_a_sound_is_checked_like_an_image(front: str, message: str, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "outside.mp3").write_bytes(MP3)
    (tmp_path / "cards").mkdir()
    (tmp_path / "cards" / "notes.txt").write_text("x")
    lines = _errors(tmp_path, f"  - id: a\n    front: {front}\n    back: b\n")
    assert len(lines) == 1 and lines[0].startswith(f"cards/01-a.yaml:{message}"), lines


def test_a_symlink_out_of_the_deck_is_refused(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "secret.mp3").write_bytes(MP3)
    deck = _deck(tmp_path, "  - id: a\n    front: '[sound:media/link.mp3]'\n    back: b\n")
    (deck / "media" / "link.mp3").symlink_to(tmp_path / "secret.mp3")
    result = run_guarded("validate", "cards")
    assert result.exit_code == 1
    assert "cards/01-a.yaml:4:12: media 'media/link.mp3' is outside the deck folder" \
        in result.output


def test_a_sound_in_the_description_is_an_error(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    lines = _errors(tmp_path, "  - id: a\n    front: f\n    back: b\n",
                    DECK + "description: 'Hear [sound:media/hello world.mp3]'\n")
    assert lines == ["cards/deck.yaml:3:14: Anki plays no sound in a deck's description; put "
                     "[sound:media/hello world.mp3] on a card"]


@pytest.mark.parametrize("text", [
    "*Say* [sound:media/a_b_c.mp3] **now**",
    "[sound:media/a_b_c.mp3]: a link definition?",
    "- [sound:media/a_b_c.mp3]\n- two",
    "[sound:media/a_b_c.mp3][sound:media/a_b_c.mp3]",
    "[x](y) [sound:media/a_b_c.mp3]",
    "Type `[sound:media/a_b_c.mp3]` to hear it",  # Anki plays a tag in <code> too
])
def test_markdown_leaves_a_sound_tag_whole(text: str, tmp_path: Path) -> None:
    """`[sound:...]` looks like a link reference, and its name may hold `_` or `*`."""
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "a_b_c.mp3").write_bytes(MP3)
    problems = Problems()
    renderer = Renderer(tmp_path, False, problems)
    html = renderer.field(text, Location("f.yaml", 1, 1))
    assert not problems.errors
    (name,) = renderer.media
    assert html.count(f"[sound:{name}]") == text.count("[sound:")


def test_lint_reads_no_words_in_a_sound_tag(tmp_path: Path) -> None:
    """The file name is no part of the prompt: 'hello' in it neither repeats the answer
    nor makes a prompt that only plays a sound too short."""
    deck = _deck(tmp_path, "  - id: a\n    front: '[sound:media/hello world.mp3]'\n"
                 "    back: hello\n")
    result = run_guarded("lint", deck)
    assert result.exit_code == 0 and "no lint warnings" in result.output, result.output


def test_many_unclosed_sound_tags_take_linear_time() -> None:
    """Anki's own pattern as a regular expression takes minutes on this (quadratic)."""
    with deadline(5):
        assert replace_sounds("[sound:" * 50_000 + "[sound:a]", lambda _: "!").endswith("!")
    assert replace_sounds("a [sound:]] b [sound:x\ny] c [sound:", lambda f: f"<{f}>") == (
        "a <]> b <x\ny> c [sound:")


def test_a_sound_over_the_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    deck = _deck(tmp_path, "  - id: a\n    front: '[sound:media/long.wav]'\n    back: b\n")
    with open(deck / "media" / "long.wav", "wb") as sparse:  # no disk used
        sparse.truncate(101 * 2**20)
    result = run_guarded("validate", "cards")
    assert _located(result.output) == [
        "cards/01-a.yaml:4:12: media 'media/long.wav' is 101 MiB; the limit is 100 MiB"]


@pytest.mark.parametrize("text", ["`[sound:media/hello world.mp3]`",
                                  "*a* `x [sound:media/hello world.mp3]`"])
def test_a_sound_inside_code_is_checked_and_packaged(tmp_path: Path, text: str) -> None:
    # Anki plays [sound:] wherever it stands in the field, <code> included; the inline
    # fast path once rendered it as plain code: the file left out of the package.
    deck = _deck(tmp_path, "")
    renderer = Renderer(deck, False, Problems())
    html = renderer.field(text, Location("x", 1, 1))
    assert "[sound:hello_world-" in html and renderer.media, html


@pytest.mark.parametrize("text", ["[x]([sound:media/hello world.mp3])",
                                  "![map]([sound:media/hello world.mp3])", "[x](\\(a\\))"])
def test_a_sound_or_maths_in_a_link_address_is_an_error(tmp_path: Path, text: str) -> None:
    # markdown-it percent-encodes the address: the sound's placeholder became the junk
    # href "%EE%80%800%EE%80%81", silently
    deck = _deck(tmp_path, "")
    problems = Problems()
    html = Renderer(deck, False, problems).field(text, Location("x", 1, 1))
    assert [str(p) for p in problems.items][:1] == [
        "x:1:1: maths or a [sound:...] tag in a link's address (or in a link definition) is "
        "lost there; put it in the text"], html


@pytest.mark.parametrize("text", ["[sound:media/cafe\u0301.mp3]", "![c](media/cafe\u0301.png)"])
def test_a_file_named_in_decomposed_unicode_is_found(tmp_path: Path, text: str) -> None:
    # The text is made NFC before rendering, so the name looked up was 'café' (composed)
    # while the file on disk (copied from a Mac) is 'cafe' + U+0301: "media file not found"
    deck = _deck(tmp_path, "")
    for suffix in (".mp3", ".png"):
        (deck / "media" / f"cafe\u0301{suffix}").write_bytes(MP3)
    problems = Problems()
    renderer = Renderer(deck, False, problems)
    html = renderer.field(text, Location("x", 1, 1))
    assert not problems.items, [str(p) for p in problems.items]
    assert "cafe_-" in html and len(renderer.media) == 1, html
