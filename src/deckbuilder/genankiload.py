"""genanki, imported without asyncio.

genanki's one use of the cached_property package is its plain decorator, which that
package's module offers beside async variants; for those it imports asyncio, and with it
ssl, sockets and logging: 20 ms of CPU at every build, a thirtieth of a 10,000-card one.
The standard library's functools.cached_property does what genanki asks of it (compute
once, keep the value on the instance), so genanki is given that while it is imported.
"""

from __future__ import annotations

import functools
import sys
import types
from typing import Any


def load_genanki() -> Any:
    """The genanki module; imported, the first time, with the stand-in described above,
    unless cached_property is already loaded (then genanki gets it, as usual)."""
    if "genanki" in sys.modules or "cached_property" in sys.modules:
        import genanki

        return genanki
    stand_in = types.ModuleType("cached_property")
    stand_in.cached_property = functools.cached_property  # type: ignore[attr-defined]
    sys.modules["cached_property"] = stand_in
    try:
        import genanki
    except ImportError:
        # A genanki that wants more of the package than its decorator gets the package.
        for name in [name for name in sys.modules if name.partition(".")[0] == "genanki"]:
            del sys.modules[name]
        del sys.modules["cached_property"]
        import genanki
    finally:
        if sys.modules.get("cached_property") is stand_in:
            del sys.modules["cached_property"]
    return genanki
