"""The landbench version, the single source for packaging and for every result file."""

__version__ = "0.1.0"
