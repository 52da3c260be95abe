"""Git's merge-conflict markers, found in a deck file or the lock before anything parses them.

A file with markers is half of two versions: reading it as YAML or as a lock gives errors
that hide the cause, so every reader checks for markers first and says what they are.
"""

from __future__ import annotations

import re

# git writes "<<<<<<< ours", "||||||| base" (diff3), "=======", ">>>>>>> theirs", each
# starting a line; seven characters exactly, then the end of the line or a space.
_MARKER = re.compile(r"^(?:<{7}|\|{7}|={7}|>{7})(?: |$)", re.MULTILINE)


def conflict_markers(text: str) -> list[int]:
    """The 1-based numbers of the lines that are conflict markers."""
    if "<<<<<<<" not in text and ">>>>>>>" not in text:
        return []
    return [text.count("\n", 0, match.start()) + 1 for match in _MARKER.finditer(text)]
