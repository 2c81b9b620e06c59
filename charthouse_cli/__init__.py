"""charthouse: the command-line client of the Charthouse API (``charthouse --help``)."""

__version__ = "0.1.0"
