"""`deckbuilder init`: a deck of your own that validates, builds and imports as written,
with the git and editor files around it, and never a file overwritten."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from conftest import AnkiImport, run

from deckbuilder.scaffold import MERGE_DRIVER, deck_names

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
WRITTEN = ["cards/deck.yaml", "cards/01-first-cards.yaml", "schema/deck.schema.json",
           "schema/section.schema.json", ".gitignore", ".gitattributes",
           ".pre-commit-config.yaml"]


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if not p.is_dir())


def test_init_writes_a_deck_that_validates_builds_and_imports(tmp_path: Path,
                                                               anki: AnkiImport) -> None:
    deck = tmp_path / "my-deck"
    result = run("init", deck)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"created in {deck}: {', '.join(WRITTEN)}\n"
    assert _files(deck) == sorted(WRITTEN)
    assert "next:" in result.stderr and MERGE_DRIVER in result.stderr
    cards = deck / "cards"
    assert run("validate", cards).stdout == f"{cards}: 1 section, 3 notes, 5 cards, no errors\n"
    assert run("lint", cards, "--strict").exit_code == 0  # the examples follow the advice
    assert run("build", cards, "--out", deck / "build").exit_code == 0
    anki.load(deck / "build" / "my-deck.apkg")
    assert anki.deck_names() == ["My deck", "My deck::01 First cards"]
    kinds = sorted(anki.col.get_note(nid).note_type()["name"] for nid in anki.col.find_notes(""))
    assert kinds == ["deckbuilder Basic (my-deck)", "deckbuilder Basic and reversed (my-deck)",
                     "deckbuilder Cloze (my-deck)"]
    assert anki.col.card_count() == 5
    (note,) = [anki.col.get_note(n) for n in anki.col.find_notes("tag:geography")]
    assert "Not Sydney" in note["Extra"] and note.has_tag("example")
    (cloze,) = [anki.col.get_note(n) for n in anki.col.find_notes("boils")]
    assert cloze["Source"] == "Any physics textbook"


def test_the_yaml_files_name_their_schema_and_pass_it(tmp_path: Path) -> None:
    """The editor's schema line, as `new` writes it, names the schema files init wrote,
    which are `deckbuilder schema`'s output; and the starter files pass them."""
    assert run("init", tmp_path).exit_code == 0
    for which in ("deck", "section"):
        assert (tmp_path / "schema" / f"{which}.schema.json").read_text() == run(
            "schema", which).stdout
    for path in sorted((tmp_path / "cards").glob("*.yaml")):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        target = first.removeprefix("# yaml-language-server: $schema=")
        schema = json.loads((path.parent / target).read_text(encoding="utf-8"))
        which = "deck" if path.name == "deck.yaml" else "section"
        assert (path.parent / target).resolve() == tmp_path / "schema" / f"{which}.schema.json"
        assert list(jsonschema.Draft202012Validator(schema).iter_errors(
            yaml.safe_load(path.read_text(encoding="utf-8")))) == []
    # `new` follows deck.yaml's line.
    new = Path(run("new", "Second", tmp_path / "cards", "-q").stdout.strip())
    assert new.read_text().startswith(
        "# yaml-language-server: $schema=../schema/section.schema.json\n")


def test_git_files(tmp_path: Path) -> None:
    assert run("init", tmp_path).exit_code == 0
    ignore = (tmp_path / ".gitignore").read_text().splitlines()
    assert "build/*" in ignore and "!build/*.apkg" in ignore  # the cache stays out, packages in
    attributes = (tmp_path / ".gitattributes").read_text()
    # The README's two lines: the committed one, and the per-clone one as a comment.
    assert "deck.lock merge=deckbuilder\n" in attributes and "deck.lock merge=deckbuilder" in README
    assert f"#   {MERGE_DRIVER}\n" in attributes and MERGE_DRIVER in README


def test_init_defaults_to_the_current_folder(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "Spanish_verbs"
    folder.mkdir()
    monkeypatch.chdir(folder)
    result = run("init")
    assert result.exit_code == 0
    assert result.stdout.startswith("created in .: cards/deck.yaml")
    assert "cd " not in result.stderr
    assert yaml.safe_load((folder / "cards/deck.yaml").read_text()) == {
        "deck": "Spanish verbs", "id": "spanish-verbs",
        "description": "What this deck teaches, and for whom."}
    assert run("init", "-q", folder / "other").output == ""


@pytest.mark.parametrize("folder, name, deck_id", [
    ("my-deck", "My deck", "my-deck"),
    ("Größe_und Maß", "Größe und Maß", "grosse-und-mass"),
    ("日本語", "日本語", "my-deck"),
    ("default", "My deck", "default"),  # Anki's own deck
    ("a::b", "My deck", "a-b"),
    (" x ", "X", "x"),
    ("#1 'deck'", "#1 'deck'", "1-deck"),
    ("caf\udce9", "My deck", "caf"),  # a name that is not UTF-8
    # ids YAML would read as nothing, true or a number are quoted
    ("null", "Null", "null"), ("yes", "Yes", "yes"), ("123", "123", "123"),
])
def test_deck_names_from_the_folder_are_valid(tmp_path: Path, folder: str, name: str,
                                              deck_id: str) -> None:
    assert deck_names(folder) == (name, deck_id)
    target = Path(os.fsdecode(os.fsencode(tmp_path)) + "/" + folder)
    assert run("init", target).exit_code == 0
    data = yaml.safe_load((target / "cards/deck.yaml").read_text(encoding="utf-8"))
    assert (data["deck"], data["id"]) == (name, deck_id)
    check = run("validate", target / "cards")
    assert check.exit_code == 0, check.output


def test_never_overwrites_and_writes_nothing_then(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("mine\n")
    (tmp_path / "cards").mkdir()
    (tmp_path / "cards" / "deck.yaml").write_text("deck: Mine\nid: mine\n")
    result = run("init", tmp_path)
    assert (result.exit_code, result.stdout) == (1, "")
    # located as every problem is, with the line in the way under it
    assert result.stderr == (f"{tmp_path}/.gitignore:1:1: already exists; nothing was "
                             "written\n  1 | mine\n    | ^\n"
                             f"{tmp_path}/cards/deck.yaml:1:1: already exists; nothing was "
                             "written\n  1 | deck: Mine\n    | ^\n"
                             "2 errors in 2 files\n")
    assert _files(tmp_path) == [".gitignore", "cards/deck.yaml"]
    assert (tmp_path / ".gitignore").read_text() == "mine\n"


def test_never_follows_a_symlink(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "secret").write_text("keep\n")
    deck = tmp_path / "deck"
    deck.mkdir()
    (deck / "schema").symlink_to(elsewhere)
    (deck / ".gitattributes").symlink_to(elsewhere / "secret")  # a dangling one too:
    (deck / ".gitignore").symlink_to(elsewhere / "missing")
    result = run("init", deck)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{deck}/.gitattributes: already exists; nothing was written",
        f"{deck}/.gitignore: already exists; nothing was written",
        f"{deck}/schema: is a symlink or not a folder; init never writes through a symlink",
        "3 errors in 3 files"]
    assert _files(elsewhere) == ["secret"] and (elsewhere / "secret").read_text() == "keep\n"
    assert sorted(os.listdir(deck)) == [".gitattributes", ".gitignore", "schema"]


def test_a_file_in_the_way_of_the_folder(tmp_path: Path) -> None:
    (tmp_path / "deck").write_text("")
    result = run("init", tmp_path / "deck")
    assert result.exit_code == 2  # click's own check: a usage error
    assert result.stderr.endswith(f"Directory '{tmp_path}/deck' is a file.\n")


def test_the_readme_steps_work_as_written(tmp_path: Path) -> None:
    """The README's "Your own deck" commands after the install, run by a shell with this
    deckbuilder on PATH and no editor: a valid deck, built and committed."""
    section = README[README.index("## Your own deck"):]
    block = section[section.index("```sh\n") + 6:section.index("```\n", section.index("```sh"))]
    steps = [line for line in block.splitlines()
             if not line.startswith(("pipx ", "#", "$EDITOR "))]
    assert steps[0] == "deckbuilder init my-deck && cd my-deck"
    bin_dir = os.path.dirname(sys.executable)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@example.org",
           "GIT_COMMITTER_NAME": "A", "GIT_COMMITTER_EMAIL": "a@example.org",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", "\n".join(steps)], cwd=tmp_path,
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    deck = tmp_path / "my-deck"
    committed = subprocess.run(["git", "ls-files"], cwd=deck, capture_output=True, text=True,
                               env=env).stdout.split()
    assert sorted(committed) == sorted([*WRITTEN, "cards/deck.lock", "build/my-deck.apkg"])
    driver = subprocess.run(["git", "config", "merge.deckbuilder.driver"], cwd=deck,
                            capture_output=True, text=True, env=env).stdout.strip()
    assert f'git config merge.deckbuilder.driver "{driver}"' == MERGE_DRIVER


def test_a_file_made_meanwhile_is_located_too(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Another program writes .gitignore between init's check and its write: reported
    like the files found at the check, not as a bare error."""
    import deckbuilder.scaffold as scaffold

    real = scaffold.create_new

    def someone_else_first(path: Path, data: bytes) -> None:
        if path.name == ".gitignore":
            path.write_text("theirs\n")
        real(path, data)

    monkeypatch.setattr(scaffold, "create_new", someone_else_first)
    result = run("init", tmp_path / "deck")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{tmp_path}/deck/.gitignore:1:1: already exists; it was "
                                    "left as it is\n  1 | theirs\n"), result.stderr
    assert (tmp_path / "deck" / ".gitignore").read_text() == "theirs\n"


@pytest.mark.skipif(sys.platform != "linux", reason="Linux's PATH_MAX: 4,096 bytes")
def test_an_init_that_fails_halfway_takes_back_what_it_wrote(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A write that fails after others (here: the path of section.schema.json's temporary
    reaches the system's limit; a full disk or a read-only schema/ alike) left cards/ and
    deck.schema.json behind, and running init again said they were in the way. The error
    named the temporary file, not the one init was writing."""
    monkeypatch.chdir(tmp_path)
    temporary = len("/schema/.section.schema.json.0123456789abcdef.tmp")
    size = 4096 - temporary  # one byte more than a path may have, with that temporary
    folder = "/".join(["d" * 200] * (size // 201))
    folder += "/" + "d" * (size - len(folder) - 1)
    assert len(folder) == size
    result = run("init", folder)
    assert result.exit_code == 1, result.output
    assert result.stderr == (f"error: cannot create {folder}/schema/section.schema.json: "
                             "File name too long; nothing was written\n")
    assert _files(tmp_path) == [] and not os.path.lexists(folder)  # (its parents stay)
    result = run("init", folder)
    assert "already exists" not in result.stderr


def test_a_link_to_nothing_is_not_a_folder(tmp_path: Path) -> None:
    """init into a symlink whose folder does not exist said 'link/cards: already exists'."""
    (tmp_path / "link").symlink_to(tmp_path / "nowhere")
    result = run("init", tmp_path / "link")
    assert (result.exit_code, result.stderr) == (
        1, f"{tmp_path}/link: exists and is not a folder\n1 error in 1 file\n")
    assert sorted(os.listdir(tmp_path)) == ["link"]
