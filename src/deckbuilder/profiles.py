"""Which Anki collection `sync` writes to: a path, or a profile under Anki's base folder.

Profiles are found by listing folders that hold a ``collection.anki2``; Anki's own
``prefs21.db`` is a pickle and is never read.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .errors import SyncUsage

COLLECTION_NAME = "collection.anki2"


def default_base() -> Path:
    """Anki's own default base folder for this OS (what `anki -b` overrides)."""
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "Anki2"
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming")) / "Anki2"
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "Anki2"


def list_profiles(base: Path) -> list[str]:
    try:
        return sorted(entry.name for entry in base.iterdir()
                      if (entry / COLLECTION_NAME).is_file())
    except OSError:
        return []


def find_collection(collection: Path | None, profile: str | None, base: Path | None) -> Path:
    """The collection file to sync; SyncUsage when it cannot be told or does not exist.

    Opening a missing path with Anki's library would create an empty collection, so a
    missing file is refused here rather than synced into.
    """
    if collection is not None:
        if profile is not None or base is not None:
            raise SyncUsage("give either --collection or --profile/--base, not both")
        if not collection.is_file():
            raise SyncUsage(f"no Anki collection at {collection}")
        return collection
    base = base if base is not None else default_base()
    profiles = list_profiles(base)
    if profile is not None:
        if profile in ("", ".", "..") or "/" in profile or os.sep in profile:
            raise SyncUsage(f"'{profile}' is not a profile name (a folder name in {base})")
        path = base / profile / COLLECTION_NAME
        if not path.is_file():
            found = ", ".join(profiles) or "none"
            raise SyncUsage(f"no profile '{profile}' in {base} (profiles: {found})")
        return path
    if not profiles:
        if not base.is_dir():
            raise SyncUsage(f"{base} does not exist: is Anki installed, or its base folder "
                            "elsewhere? Pass --base DIR or --collection PATH")
        raise SyncUsage(f"no Anki profile in {base}; pass --collection PATH or --base DIR")
    if len(profiles) > 1:
        raise SyncUsage(f"{base} has several profiles: {', '.join(profiles)}; "
                        "choose one with --profile NAME")
    return base / profiles[0] / COLLECTION_NAME
