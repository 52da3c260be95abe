"""One module per command; ``register`` adds them all to the ``deckbuilder`` group.

Each command module imports only click at import time: the library and its heavy
dependencies are imported inside the command, so `deckbuilder --help` stays fast.
"""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    from . import build, export, init, lint, merge_lock, new, preview, schema, stats, sync, validate

    for command in (
        validate.validate,
        build.build,
        preview.preview,
        lint.lint,
        schema.schema_command,
        export.export,
        stats.stats,
        init.init,
        new.new,
        merge_lock.merge_lock,
        sync.sync,
    ):
        group.add_command(command)
