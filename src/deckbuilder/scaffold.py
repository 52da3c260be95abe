"""Start a new section file: the next number, a name from the title, an example card."""

from __future__ import annotations

import json
import os
import re
import unicodedata
from pathlib import Path

import yaml

from .errors import CannotCreate
from .limits import character_problem, title_problem
from .package import create_new
from .source import DECK_FILE

_NUMBERED = re.compile(r"^(\d+)-.*\.ya?ml$")
_MODELINE = re.compile(r"^# yaml-language-server: \$schema=(\S*)deck\.schema\.json\s*$")
MAX_SLUG = 40


def slug(title: str) -> str:
    """'Baltic air policing (2004-)' -> 'baltic-air-policing-2004'."""
    spaced = "".join(c if c.isalnum() else " " for c in title.casefold())  # ß -> ss
    ascii_title = unicodedata.normalize("NFKD", spaced).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_title.lower())
    text = ""
    for word in words:
        if text and len(text) + 1 + len(word) > MAX_SLUG:
            break
        text = f"{text}-{word}" if text else word[:MAX_SLUG]
    return text or "section"


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
    except FileExistsError:
        raise CannotCreate(f"{path} already exists; it was left as it is") from None
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
