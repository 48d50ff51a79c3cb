"""Exceptions raised by landbench.

Every error a user can cause derives from :class:`LandbenchError`, so the command line can print
it as one clear message (no traceback) and exit non-zero.
"""


class LandbenchError(Exception):
    """Base class of every error caused by user input (files, configs, arguments)."""


class InvalidDataError(LandbenchError, ValueError):
    """A data file exists but its content is unusable (corrupt, wrong size, wrong values)."""


class ConfigError(LandbenchError, ValueError):
    """A configuration, argument or option has an unknown key or an invalid value."""


class DatasetNotFoundError(LandbenchError, FileNotFoundError):
    """A dataset's files are not where they were looked for (the message says where to get them)."""


class IntegrityError(InvalidDataError):
    """A downloaded or user-supplied archive does not match its published checksum."""
