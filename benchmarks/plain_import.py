"""The sync baseline: what an author does by hand, File > Import of genanki's package.

``python benchmarks/plain_import.py PACKAGE.apkg COLLECTION.anki2`` imports the package
into the collection with the official library and Anki's default options ("if newer"),
as Anki's import dialog would. It needs the `anki` package (the test extra has it).
"""

from __future__ import annotations

import sys
from pathlib import Path

from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest


def main() -> None:
    package, collection = (Path(arg).resolve() for arg in sys.argv[1:3])
    col = Collection(str(collection))
    try:
        col.import_anki_package(ImportAnkiPackageRequest(
            package_path=str(package), options=ImportAnkiPackageOptions()))
    finally:
        col.close()


if __name__ == "__main__":
    main()
