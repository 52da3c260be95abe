"""PyYAML, imported without compiling an expression deckbuilder's reading never uses.

yaml.reader compiles ``Reader.NON_PRINTABLE`` (every character outside YAML's printable
set) as it is imported: 3 ms, a third of PyYAML's import and a hundredth of a 10,000-card
build, at every command that reads YAML. Only PyYAML's pure-Python reader searches with it,
and deckbuilder reads with libyaml's where it is installed (source.py). So while yaml is
imported, that one pattern is given a stand-in that compiles it on its first use: a
pure-Python reader still checks every character, as before.
"""

from __future__ import annotations

import re
import sys
from typing import Any

# yaml.reader's pattern, character for character (another version's is compiled as usual)
_NON_PRINTABLE = ("[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD"
                  "\U00010000-\U0010ffff]")


class Deferred:
    """A compiled pattern, compiled the first time it is used."""

    def __init__(self, pattern: str) -> None:
        self.source = pattern
        self.compiled: re.Pattern[str] | None = None

    def __getattr__(self, name: str) -> Any:
        if self.compiled is None:
            self.compiled = _compile(self.source)
        return getattr(self.compiled, name)


_compile = re.compile


def _deferring(pattern: Any, flags: Any = 0) -> Any:
    if flags == 0 and pattern == _NON_PRINTABLE:
        return Deferred(pattern)
    return _compile(pattern, flags)


if "yaml" not in sys.modules:
    re.compile = _deferring
try:
    import yaml
finally:
    re.compile = _compile

__all__ = ["yaml"]
