"""Options shared by several ``landbench`` commands."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from landbench.core.errors import ConfigError


def parse_set_options(items: Sequence[str] | None) -> dict[str, Any]:
    """Parse repeated ``--set key=value`` dataset options shared by several commands.

    Values are read as YAML scalars, so ``n=40`` is an int, ``preset=hokkaido`` a string and
    ``size=[32,48]`` a list.

    Raises:
        ConfigError: on an item without ``=``, an empty key, a key given twice or an unreadable
            value.
    """
    import yaml

    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(
                f"--set expects key=value (e.g. --set preset=hokkaido), got {item!r}."
            )
        if key in out:
            raise ConfigError(f"--set {key} is given twice.")
        try:
            out[key] = yaml.safe_load(value) if value else ""
        except yaml.YAMLError as err:
            raise ConfigError(f"--set {item!r}: cannot read the value ({err}).") from None
    return out
