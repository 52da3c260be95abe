"""Every command and option explains itself in --help and is documented in the README."""

from __future__ import annotations

import os
import re
from pathlib import Path

import click
import pytest

from deckbuilder.cli import cli

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
COMMANDS = sorted(cli.commands)


def readme_section(name: str) -> str:
    """The README's `### deckbuilder <name> ...` heading and its text up to the next heading."""
    match = re.search(rf"^### `deckbuilder {name}\b.*?(?=^##)", README + "\n##",
                      re.MULTILINE | re.DOTALL)
    assert match, f"README.md has no '### `deckbuilder {name} ...`' section under Commands"
    return match.group(0)


def test_there_are_commands() -> None:
    assert {"validate", "build", "lint", "schema", "export", "stats", "new"} <= set(COMMANDS)


@pytest.mark.parametrize("name", COMMANDS)
def test_command_has_help(name: str) -> None:
    command = cli.commands[name]
    assert command.help and command.help.strip(), f"`deckbuilder {name}` has no help text"
    assert command.get_short_help_str().strip()
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"`deckbuilder {name} {param.opts[0]}` has no help text"


@pytest.mark.parametrize("name", COMMANDS)
def test_command_and_its_options_are_in_the_readme(name: str) -> None:
    section = readme_section(name)
    heading = section.splitlines()[0]
    for param in cli.commands[name].params:
        if isinstance(param, click.Argument):
            spelled = ("|".join(param.type.choices) if isinstance(param.type, click.Choice)
                       else param.human_readable_name)
            assert spelled in heading, (name, param.name)
        elif isinstance(param, click.Option) and param.name != "help":
            spelled = [opt for opt in param.opts if opt.startswith("--")]
            assert any(opt in section for opt in spelled), f"{name}: {spelled} not documented"


def test_group_options_are_in_the_readme() -> None:
    for param in cli.params:
        if isinstance(param, click.Option) and param.name != "help":
            assert any(f"deckbuilder {opt}" in README for opt in param.opts), param.opts
    assert "_DECKBUILDER_COMPLETE=" in README  # shell completion


def test_readme_documents_no_command_that_does_not_exist() -> None:
    documented = re.findall(r"^### `deckbuilder (\S+)", README, re.MULTILINE)
    assert sorted(documented) == COMMANDS


@pytest.mark.parametrize("terminal, env, coloured", [
    (True, {}, True), (False, {}, False), (True, {"NO_COLOR": "1"}, False)])
def test_colour_only_on_a_terminal_and_never_with_no_color(
        example: Path, terminal: bool, env: dict[str, str], coloured: bool) -> None:
    from click.testing import CliRunner

    result = CliRunner().invoke(cli, ["validate", str(example)], color=terminal, env=env)
    assert result.exit_code == 0
    assert ("\x1b[" in result.output) == coloured


def test_validate_imports_no_writer(tmp_path: Path) -> None:
    """Checking a deck loads nothing that only writing a package needs (SQLite, genanki,
    the zip writer): each is start-up time on every validate, lint and editor save."""
    import subprocess
    import sys

    from conftest import DATA

    script = ("import sys\nfrom deckbuilder.cli import main\n"
              f"sys.argv = ['deckbuilder', 'validate', {str(DATA / 'example')!r}, '-q']\n"
              "try:\n    main()\nexcept SystemExit:\n    pass\n"
              "print(sorted(m for m in ('sqlite3', 'genanki', 'deckbuilder.zipwrite') "
              "if m in sys.modules))\n")
    found = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                           text=True, timeout=60, check=True)
    assert found.stdout.strip().splitlines()[-1] == "[]", found.stderr



def test_a_build_imports_genanki_without_asyncio(example: Path, tmp_path: Path) -> None:
    """genanki gets functools' cached_property while it is imported (genankiload.py): no
    asyncio, ssl or sockets at every build; the package is the one genanki makes with the
    package cached_property, which it gets when something loaded that first."""
    import shutil
    import subprocess
    import sys

    packages, loaded = [], []
    for first in ("", "import cached_property\n"):
        deck = tmp_path / f"deck{len(packages)}"
        shutil.copytree(example, deck)
        script = (f"{first}import sys\nfrom deckbuilder.cli import main\n"
                  f"sys.argv = ['deckbuilder', 'build', {str(deck)!r}, '-q', '--out', "
                  f"{str(deck / 'out')!r}]\ntry:\n    main()\nexcept SystemExit as exc:\n"
                  "    assert exc.code == 0, exc.code\n"
                  "print(sorted(m for m in ('asyncio', 'ssl', 'cached_property') "
                  "if m in sys.modules))\n")
        found = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                               timeout=60, check=True,
                               env={**os.environ, "SOURCE_DATE_EPOCH": "1700000000"})
        loaded.append(found.stdout.strip().splitlines()[-1])
        packages.append((deck / "out" / "example-deck.apkg").read_bytes())
    assert loaded == ["[]", "['asyncio', 'cached_property', 'ssl']"]
    assert packages[0] == packages[1]
