"""``landbench demo`` (being written)."""


def register(subparsers) -> None:  # noqa: D103
    return None
