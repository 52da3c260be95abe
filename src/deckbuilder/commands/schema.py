"""`deckbuilder schema`: the card format as JSON Schema, for editors."""

from __future__ import annotations

import click

from .common import Console


@click.command("schema")
@click.argument("which", type=click.Choice(["section", "deck"]), default="section")
def schema_command(which: str) -> None:
    """Print the JSON Schema of a section file (WHICH=section, the default) or of deck.yaml
    (WHICH=deck), generated from the declared format.

    Editors with the YAML language server validate and complete deck files against it;
    the repository keeps both in schema/ (see the README for the modeline).
    """
    from ..schema import json_schema

    Console().json(json_schema(which), ascii_only=False)
