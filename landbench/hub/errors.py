"""Errors of the Hub packaging: every one is a :class:`~landbench.exceptions.LandbenchError`."""

from __future__ import annotations

from landbench.exceptions import ConfigError, IntegrityError, InvalidDataError, LandbenchError


class IncompleteDataError(InvalidDataError):
    """A raw dataset folder lacks samples or files that a complete copy has."""


class CardMismatchError(InvalidDataError):
    """A dataset card disagrees with the shards it describes, or still holds placeholders."""


class ShardChecksumError(IntegrityError):
    """A Parquet shard (or the build record) does not match its recorded SHA-256."""


class RevisionNotFoundError(LandbenchError, LookupError):
    """A requested revision (tag, branch or commit) is not present in the local snapshot."""


class PermissionRequiredError(LandbenchError, PermissionError):
    """Publishing data whose licence is unknown needs the user's statement of permission."""


class HubConnectionError(LandbenchError, ConnectionError):
    """The Hugging Face Hub could not be reached (offline mode, no network, or refused login)."""


__all__ = [
    "CardMismatchError",
    "ConfigError",
    "HubConnectionError",
    "IncompleteDataError",
    "PermissionRequiredError",
    "RevisionNotFoundError",
    "ShardChecksumError",
]
