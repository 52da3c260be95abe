"""deckbuilder: flashcards written as YAML, compiled into Anki packages."""

__version__ = "0.2.0"
