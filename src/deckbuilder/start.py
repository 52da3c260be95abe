"""The program's first lines, before its modules load.

Loading click and the commands takes about 40 ms; a Ctrl-C in that time used to end in
a KeyboardInterrupt traceback. Nothing has begun then, so it ends as any interruption
does: "Aborted!" and exit status 1.
"""

from __future__ import annotations

import sys
from typing import NoReturn


def run() -> NoReturn:
    try:
        from .cli import run as program
    except KeyboardInterrupt:
        sys.stderr.write("Aborted!\n")
        raise SystemExit(1) from None
    program()
