"""`deckbuilder schema`: the card format as JSON Schema, for editors."""

from __future__ import annotations

import click

from .common import Console


@click.command("schema")
@click.argument("which", type=click.Choice(["section", "deck"]), default="section")
@click.option("-q", "--quiet", is_flag=True,
              help="Print only the schema (as without it: schema prints nothing else).")
def schema_command(which: str, quiet: bool) -> None:
    """Print the JSON Schema of a section file (WHICH=section, the default) or of deck.yaml
    (WHICH=deck), generated from the declared format.

    Editors with the YAML language server validate and complete deck files against it;
    the repository keeps both in schema/ (see the README for the modeline).
    """
    del quiet  # accepted as by every command; the schema is the result
    from ..schema import json_schema

    Console().json(json_schema(which), ascii_only=False)
