"""Git's merge-conflict markers, found in a deck file or the lock before anything parses them.

A file with markers is half of two versions: reading it as YAML or as a lock gives errors
that hide the cause, so every reader checks for markers first and says what they are.
"""

from __future__ import annotations

import re

# git writes "<<<<<<< ours", "||||||| base" (diff3), "=======", ">>>>>>> theirs", each
# starting a line; seven characters exactly, then the end of the line or a space.
_MARKER = re.compile(r"(?:<{7}|\|{7}|={7}|>{7})(?: |\r?$)")


def conflict_markers(text: str) -> list[int]:
    """The 1-based numbers of the lines (split at "\n", as every reader here counts them)
    that are conflict markers; one pass over the text."""
    if "<<<<<<<" not in text and ">>>>>>>" not in text:
        return []
    return [number for number, line in enumerate(text.split("\n"), start=1)
            if line[:1] in "<|=>" and _MARKER.match(line)]
