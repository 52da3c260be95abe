"""Start a deck (`init`: a folder ready for git) or a section file (`new`: the next number,
a name from the title, an example card)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import unicodedata
from pathlib import Path

import yaml

from . import __version__
from .errors import CannotCreate, InvalidDeck, Location, Problem
from .limits import character_problem, deck_name_problem, title_problem
from .package import create_new
from .source import DECK_FILE

_NUMBERED = re.compile(r"^(\d+)-.*\.ya?ml$")
_MODELINE = re.compile(r"^# yaml-language-server: \$schema=(\S*)deck\.schema\.json\s*$")
MAX_SLUG = 40


def slug(title: str, fallback: str = "section") -> str:
    """'Baltic air policing (2004-)' -> 'baltic-air-policing-2004' (``fallback`` when no
    ASCII letter or digit is left)."""
    spaced = "".join(c if c.isalnum() else " " for c in title.casefold())  # ß -> ss
    ascii_title = unicodedata.normalize("NFKD", spaced).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_title.lower())
    text = ""
    for word in words:
        if text and len(text) + 1 + len(word) > MAX_SLUG:
            break
        text = f"{text}-{word}" if text else word[:MAX_SLUG]
    return text or fallback


def new_section(deck_dir: Path, title: str, number: int | None = None) -> Path:
    """Create ``NN-<slug>.yaml`` with the next free number (or ``number``); never overwrite."""
    title = title.strip()
    if not title:
        raise CannotCreate("the section title is empty")
    # The same rules as `validate`'s, so that `new` never writes a file that fails them;
    # a title from the command line may also hold undecodable bytes (surrogates).
    if any(unicodedata.category(c) == "Cs" for c in title):
        raise CannotCreate("the section title is not valid text (bytes that are not UTF-8)")
    if problem := character_problem(title, one_line=True) or title_problem(title):
        raise CannotCreate(f"the section title {problem.removeprefix('a section title ')}")
    if not (deck_dir / DECK_FILE).is_file():
        raise CannotCreate(f"{deck_dir} is not a deck folder: it has no {DECK_FILE}")
    numbered = [(m.group(1), name) for name in os.listdir(deck_dir)
                if (m := _NUMBERED.match(name))]
    taken = {int(digits): name for digits, name in numbered}
    if number is None:
        number = max(taken, default=0) + 1
    elif number in taken:
        raise CannotCreate(f"section number {number} is taken by {deck_dir / taken[number]}")
    width = max([2, *(len(digits) for digits, _ in numbered)])
    stem = slug(title)
    path = deck_dir / f"{number:0{width}d}-{stem}.yaml"
    try:
        create_new(path, section_text(title, stem, _modeline(deck_dir)).encode())
    except FileExistsError:  # made by someone else since the numbers were read
        raise InvalidDeck([Problem(_existing(path), "already exists; it was left as it "
                                   "is")]) from None
    except OSError as exc:
        raise CannotCreate(f"cannot create {path}: {exc.strerror or exc}") from exc
    return path


def section_text(title: str, stem: str, modeline: str = "") -> str:
    """A section with no cards yet and a commented example card to start from."""
    shown = title if _plain(title) else json.dumps(title, ensure_ascii=False)  # YAML reads JSON
    return (
        f"{modeline}"
        f"section: {shown}\n"
        "# source: Where the facts of this section come from (shown small on answers)\n"
        "# tags: []                     # tags added to every card of the section\n"
        "cards: []\n"
        "# Replace `[]` above with the section's cards, for example (uncomment it):\n"
        f"#   - id: {stem}-first-card    # unique in the deck, a-z 0-9 -; never change it\n"
        "#     front: Which question does this card ask, with enough context for one answer?\n"
        "#     back: The shortest complete answer\n"
        "#     extra: Background shown with the answer (optional)\n"
        "#\n"
        f"#   - id: {stem}-first-cloze\n"
        "#     cloze: A sentence with the {{c1::fact}} to recall.\n"
    )


def _plain(title: str) -> bool:
    """Whether YAML reads ``section: <title>`` back as exactly this text."""
    try:
        loaded = yaml.safe_load(f"section: {title}\n")
    except yaml.YAMLError:
        return False
    return isinstance(loaded, dict) and loaded.get("section") == title and "#" not in title


def _modeline(deck_dir: Path) -> str:
    """deck.yaml's schema modeline, pointed at the section schema beside it."""
    try:
        with open(deck_dir / DECK_FILE, encoding="utf-8") as handle:
            first = handle.readline()
    except (OSError, UnicodeDecodeError):
        return ""
    match = _MODELINE.match(first)
    if not match:
        return ""
    return f"# yaml-language-server: $schema={match.group(1)}section.schema.json\n"


# The repository deckbuilder installs from; its pre-commit hooks are pinned to this version.
REPOSITORY = "https://example.org/deckbuilder.git"
MERGE_DRIVER = 'git config merge.deckbuilder.driver "deckbuilder merge-lock %O %A %B"'
FIRST_SECTION = "01-first-cards.yaml"


def init_deck(folder: Path) -> list[Path]:
    """Start a deck repository in ``folder``: ``cards/`` with ``deck.yaml`` (named after the
    folder) and a first section, the editor schemas in ``schema/``, ``.gitignore``,
    ``.gitattributes`` and ``.pre-commit-config.yaml``; returns the files written.

    Writes nothing at all when any of them exists (each is reported), and never
    writes through a symlink."""
    name, deck_id = deck_names(os.path.basename(os.path.abspath(folder)))
    files = starter_files(name, deck_id)
    if os.path.lexists(folder) and not os.path.isdir(folder):  # (a link to nothing too)
        raise InvalidDeck([Problem(Location(str(folder)), "exists and is not a folder")])
    problems = [Problem(Location(str(folder / sub)), "is a symlink or not a folder; init never "
                        "writes through a symlink")
                for sub in ("cards", "schema")
                if os.path.lexists(folder / sub) and (os.path.islink(folder / sub)
                                                      or not os.path.isdir(folder / sub))]
    problems += [Problem(_existing(folder / relative), "already exists; nothing was written")
                 for relative in files if os.path.lexists(folder / relative)]
    if problems:
        raise InvalidDeck(problems)
    written: list[Path] = []
    made = [d for d in (folder, folder / "cards", folder / "schema") if not os.path.lexists(d)]
    path = folder
    try:
        for sub in ("cards", "schema"):
            path = folder / sub
            path.mkdir(parents=True, exist_ok=True)
        for relative, text in files.items():
            path = folder / relative
            create_new(path, text.encode())
            written.append(path)
    except FileExistsError:  # created by someone else since the check above (the error
        # names the temporary file that was to be linked there, not this one)
        _take_back(written, made)
        raise InvalidDeck([Problem(_existing(path), "already exists; it was left as it "
                                   "is")]) from None
    except OSError as exc:
        _take_back(written, made)
        raise CannotCreate(f"cannot create {path}: {exc.strerror or exc}; nothing was "
                           "written") from exc
    return written


def _take_back(written: list[Path], made: list[Path]) -> None:
    """Remove what an init that failed halfway wrote (its files, and the folders it made
    while they are empty), so that running it again finds nothing in its way."""
    for path in reversed(written):
        with contextlib.suppress(OSError):
            path.unlink()
    for folder in reversed(made):
        with contextlib.suppress(OSError):
            folder.rmdir()  # (only an empty folder: never anything of anyone else's)


def _existing(path: Path) -> Location:
    """Where a file in the way is shown: at its first line, as every located problem is
    (with the line under it), when it is a regular file; a folder, a link (never read: it
    could show a file from elsewhere) or a device only by its path."""
    if os.path.islink(path) or not path.is_file():
        return Location(str(path))
    return Location(str(path), 1, 1)


def deck_names(folder_name: str) -> tuple[str, str]:
    """'my-deck' -> ('My deck', 'my-deck'): the deck's name in Anki and its id, both valid
    by `validate`'s rules (a folder name that would not make a valid deck name gives
    'My deck')."""
    words = " ".join(re.split(r"[-_\s]+", folder_name)).strip()
    name = unicodedata.normalize("NFC", words[:1].upper() + words[1:])
    if (not name or ":" in name or any(unicodedata.category(c) == "Cs" for c in name)
            or character_problem(name, one_line=True) or deck_name_problem(name)):
        name = "My deck"
    return name, slug(folder_name, "my-deck")


def starter_files(name: str, deck_id: str) -> dict[str, str]:
    """What `init` writes, by path relative to the folder."""
    from .schema import json_schema

    shown = name if _plain(name) else json.dumps(name, ensure_ascii=False)
    return {
        "cards/deck.yaml": DECK_TEMPLATE.format(name=shown, id=deck_id if _plain(deck_id)
                                                else json.dumps(deck_id)),
        f"cards/{FIRST_SECTION}": SECTION_TEMPLATE,
        # As `deckbuilder schema` prints them, so regenerating them changes nothing.
        "schema/deck.schema.json": _json(json_schema("deck")),
        "schema/section.schema.json": _json(json_schema("section")),
        ".gitignore": GITIGNORE,
        ".gitattributes": GITATTRIBUTES.format(driver=MERGE_DRIVER),
        ".pre-commit-config.yaml": precommit_config(),
    }


def precommit_config() -> str:
    """The pre-commit configuration of a deck repository (the README shows the same)."""
    return PRECOMMIT.format(repository=REPOSITORY, version=__version__)


def _json(data: object) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


DECK_TEMPLATE = """\
# yaml-language-server: $schema=../schema/deck.schema.json
# The deck's name in Anki ('Languages::Spanish' puts it inside a deck 'Languages').
deck: {name}
# The namespace of every card's Anki id: never change it once learners have the deck.
id: {id}
# Shown in Anki's deck overview (Markdown).
description: What this deck teaches, and for whom.
# Optional: tags added to every card.
# tags: [my-tag]
"""

SECTION_TEMPLATE = """\
# yaml-language-server: $schema=../schema/section.schema.json
# A section is a subdeck. `deckbuilder new "Title"` starts the next one.
section: First cards
# Shown small under every answer of the section (a card can override it).
source: Where the facts come from, e.g. a book and its chapter
# Added to every card of the section.
tags: [example]
cards:
  # A basic card: a question and its answer. The id is the card's identity in Anki:
  # unique in the deck, a-z 0-9 and -, and never changed (the card keeps its reviews).
  - id: capital-of-australia
    front: Which city is the capital of Australia?
    back: Canberra
    extra: Not Sydney, the largest city. (Shown with the answer.)
    tags: [geography]

  # reverse: true also asks the other way round (back -> front).
  - id: german-das-haus
    front: das Haus
    back: the house
    reverse: true

  # A cloze card: every {{c1::...}}, {{c2::...}} is a card of its own.
  - id: boiling-point-of-water
    cloze: At sea level, water boils at {{c1::100 °C}}, which is {{c2::212 °F}}.
    source: Any physics textbook
"""

GITIGNORE = """\
# Rebuilt by deckbuilder: its cache (build/.deckbuilder-cache), the preview, exports.
# The packages are committed, so that learners can download them and the pre-commit
# hook can check that they are up to date.
build/*
!build/*.apkg
# Left only by a build that was killed; the next build finishes it and removes it.
.deckbuilder-journal
"""

GITATTRIBUTES = """\
# deck.lock is merged card by card by `deckbuilder merge-lock`. git never runs a driver
# that a repository names by itself: enable it once in each clone with
#   {driver}
deck.lock merge=deckbuilder
"""

PRECOMMIT = """\
# Checks every commit: run `pre-commit install` once in each clone (https://pre-commit.com).
repos:
  - repo: {repository}   # deckbuilder's repository
    rev: v{version}
    hooks:
      # Validates the deck in cards/, then checks that build/ and deck.lock are what a
      # build writes now. Without committed packages use deckbuilder-validate instead.
      - id: deckbuilder-build-check
"""
