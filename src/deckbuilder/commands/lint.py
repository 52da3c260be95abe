"""`deckbuilder lint`: card-quality warnings (SuperMemo's rules of formulating knowledge)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import click

from .common import DECK_DIR, FORMAT, QUIET, Console


@click.command()
@DECK_DIR
@click.option("--strict", is_flag=True, help="Exit 1 when there is any warning (for CI).")
@FORMAT
@QUIET
@click.option("-v", "--verbose", is_flag=True,
              help="Also list every rule with its threshold and how many warnings it gave.")
def lint(deck_dir: Path, strict: bool, fmt: str, quiet: bool, verbose: bool) -> None:
    """Warn about cards that are hard to learn: long answers, lists, yes/no questions,
    prompts that give the answer away, overloaded or trivial clozes, near-duplicates.

    Each warning is path:line:column, the rule id and a one-line fix. Set thresholds
    in deck.yaml under `lint:` (0 turns a rule off); silence a rule for one card
    with `lint: [rule-id]`. Exits 0 with warnings, 1 with --strict; 1 when the deck
    has errors.
    """
    from .. import progress
    from ..errors import in_order
    from ..lint import lint_deck
    from ..load import CACHE_DIR, load_deck
    from ..schema import LINT_RULES

    console = Console()
    with console.progress("lint", quiet):
        progress.phase("checking the deck")
        with console.reporting(fmt):
            checked = load_deck(deck_dir, Path("build") / CACHE_DIR)
        warnings = in_order([*checked.warnings, *lint_deck(checked.deck)])
    if fmt == "json" or warnings:
        console.problems(warnings, fmt)
    elif not quiet:
        console.out(f"{deck_dir}: {len(checked.deck.cards)} cards, no lint warnings", fg="green")
    if verbose and fmt == "text":
        counts = Counter(problem.rule for problem in warnings)
        for rule in LINT_RULES:
            limit = checked.deck.lint.get(rule.id, rule.default)
            state = f"{limit:g}" if limit else "off"
            console.err(f"  {rule.id:<20} {state:>5}  {counts[rule.id]:>4} warnings")
    console.exit(1 if strict and warnings else 0)
