"""The versioned JSON Schemas of the leaderboard and the checks built on them.

Schemas live in ``landbench/leaderboard/schema/`` as ``<kind>-v<N>.json`` and are never edited
once released: a change of format is a new version, so every committed submission and result
stays checkable against the schema it was written for.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from functools import cache
from importlib import resources
from typing import Any

import jsonschema

PLACEHOLDER = "FILL ME"
"""Marks a field of a scaffolded ``submission.json`` that the submitter must fill in."""

SCHEMA_VERSIONS: dict[str, tuple[int, ...]] = {
    "submission": (1,),
    "result": (1,),
    "reported": (1,),
}
"""Known schema versions of each kind of document."""

CURRENT_VERSION: dict[str, int] = {kind: max(v) for kind, v in SCHEMA_VERSIONS.items()}
"""The version written by this landbench for each kind of document."""


@cache
def load_schema(kind: str, version: int) -> dict[str, Any]:
    """The JSON Schema of one kind of document at one version.

    Args:
        kind: ``"submission"``, ``"result"`` or ``"reported"``.
        version: a version from :data:`SCHEMA_VERSIONS`.

    Returns:
        The schema as a dict (shared; do not modify).
    """
    if version not in SCHEMA_VERSIONS.get(kind, ()):
        raise KeyError(f"no {kind} schema version {version}")
    text = resources.files(__package__).joinpath("schema", f"{kind}-v{version}.json").read_text()
    return json.loads(text)


def json_path(parts: Iterator[Any] | Any) -> str:
    """A readable location such as ``datasets.synth.inputs[1]`` (``<root>`` for the top)."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<root>"


def find_placeholders(doc: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Yield the paths of every string holding :data:`PLACEHOLDER`."""
    if isinstance(doc, str):
        if PLACEHOLDER in doc:
            yield path
    elif isinstance(doc, Mapping):
        for key in sorted(doc, key=str):
            yield from find_placeholders(doc[key], (*path, key))
    elif isinstance(doc, list):
        for i, item in enumerate(doc):
            yield from find_placeholders(item, (*path, i))


def schema_problems(doc: Any, kind: str, name: str = "document") -> list[str]:
    """Every problem of ``doc`` against its declared schema version, one line each.

    Unfilled placeholders are reported once each (their type errors are not repeated); an
    unknown or missing ``schema_version`` is reported alone, since no schema applies then.

    Args:
        doc: the parsed JSON document.
        kind: ``"submission"``, ``"result"`` or ``"reported"``.
        name: how messages name the document (e.g. ``"submission.json"``).

    Returns:
        The problems, sorted by location; empty if ``doc`` is valid.
    """
    if not isinstance(doc, Mapping):
        return [f"{name} must hold a JSON object, not {type(doc).__name__}."]
    known = SCHEMA_VERSIONS[kind]
    version = doc.get("schema_version")
    if "schema_version" not in doc:
        return [f'{name} has no schema_version; add "schema_version": {CURRENT_VERSION[kind]}.']
    if isinstance(version, bool) or version not in known:
        return [
            f"{name} has unknown schema_version {version!r}; this landbench reads versions "
            f"{', '.join(map(str, known))}. Upgrade landbench or rewrite the file for version "
            f"{CURRENT_VERSION[kind]}."
        ]
    problems = []
    holes = list(find_placeholders(doc))
    for hole in holes:
        value = doc
        for part in hole:
            value = value[part]
        hint = value if len(value) <= 120 else value[:117] + "..."
        problems.append((hole, f"{json_path(hole)}: not filled in yet ({hint!r}); replace it."))
    validator_cls = jsonschema.validators.validator_for(load_schema(kind, version))
    validator = validator_cls(
        load_schema(kind, version), format_checker=validator_cls.FORMAT_CHECKER
    )
    for err in validator.iter_errors(doc):
        where = tuple(err.absolute_path)
        if any(where[: len(h)] == h for h in holes):
            continue
        problems.append((where, f"{json_path(where)}: {_short(err)}"))
    problems.sort(key=lambda p: (json_path(p[0]), p[1]))
    return [msg for _, msg in problems]


def _short(err: jsonschema.ValidationError) -> str:
    """The validator's message, without echoing a long instance, plus the field's description."""
    description = err.schema.get("description") if isinstance(err.schema, Mapping) else None
    if err.validator == "pattern":
        # The raw regular expression helps nobody; say what the field must hold instead.
        message = f"{err.instance!r} is not a valid value"
        message += f" ({description})" if description else f" (must match {err.validator_value})"
        return message
    message = err.message
    if len(message) > 300:
        message = message[:297] + "..."
    if err.validator in ("type", "const", "enum", "format") and description:
        message += f" ({description})"
    return message
