"""The program's first lines, before its modules load.

Loading click and the commands takes about 40 ms; a Ctrl-C in that time used to end in
a KeyboardInterrupt traceback. Nothing has begun then, so it ends as any interruption
does: "Aborted!" and exit status 1.
"""

from __future__ import annotations

import sys

# Not typing itself: importing it takes 15 ms, all of this module's time before the try
# below, and a Ctrl-C then was a traceback. (mypy takes this name for typing's.)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn


def run() -> NoReturn:
    try:
        from .cli import run as program
    except KeyboardInterrupt:
        sys.stderr.write("Aborted!\n")
        raise SystemExit(1) from None
    program()
