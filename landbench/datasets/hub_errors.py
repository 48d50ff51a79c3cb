"""Errors of the Hub packaging: every one is a :class:`~landbench.core.errors.LandbenchError`."""

from __future__ import annotations

from landbench.core.errors import IntegrityError, InvalidDataError, LandbenchError


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


_CONNECTION_ERROR_NAMES = frozenset(
    {"OfflineModeIsEnabled", "TransportError", "NetworkError", "ConnectError", "TimeoutException"}
)


def is_connection_error(err: BaseException) -> bool:
    """Whether ``err`` means the Hub could not be reached (offline mode, DNS, refused, timeout).

    huggingface_hub raises ``OfflineModeIsEnabled`` (a ``ConnectionError``) under
    ``HF_HUB_OFFLINE=1`` and lets its HTTP client's transport errors through otherwise; the
    client library differs across versions, so those are recognised by class name.
    """
    if isinstance(err, (ConnectionError, TimeoutError)):
        return True
    return any(c.__name__ in _CONNECTION_ERROR_NAMES for c in type(err).__mro__)


__all__ = [
    "CardMismatchError",
    "HubConnectionError",
    "IncompleteDataError",
    "PermissionRequiredError",
    "RevisionNotFoundError",
    "ShardChecksumError",
    "is_connection_error",
]
