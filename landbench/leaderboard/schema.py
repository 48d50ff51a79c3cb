"""The versioned JSON Schemas of the leaderboard and the checks built on them.

Schemas live in ``landbench/leaderboard/schema/`` as ``<kind>-v<N>.json`` and are never edited
once released: a change of format is a new version, so every committed submission and result
stays checkable against the schema it was written for. The one exception is a bound that refuses
hostile values (a 400-digit parameter count, a synthetic split of 10**30 tiles): no honest
document reaches it, and every bound is stated in its field's description and in the error.

Documents are read with bounded work (:func:`read_document`): at most
:data:`MAX_DOCUMENT_BYTES`, nested at most :data:`MAX_DEPTH` levels, no ``NaN``/``Infinity``, and
every text encodable as UTF-8 (no lone surrogates) and free of control characters.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator, Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from landbench.core.errors import InvalidDataError
from landbench.evaluation.counts import COUNT_FIELDS

PLACEHOLDER = "FILL ME"
"""Marks a field of a scaffolded ``submission.json`` that the submitter must fill in."""

SCHEMA_VERSIONS: dict[str, tuple[int, ...]] = {
    "submission": (1, 2),
    "result": (1, 2),
    "reported": (1,),
}
"""Known schema versions of each kind of document."""

CURRENT_VERSION: dict[str, int] = {kind: max(v) for kind, v in SCHEMA_VERSIONS.items()}
"""The version written by this landbench for each kind of document."""

MAX_DOCUMENT_BYTES = 1 << 20
"""Most bytes (1 MiB) a JSON document (``submission.json``, a result) may hold; a submission's
metadata takes a few kB."""

MAX_DEPTH = 32
"""Most levels of nesting of a JSON document (the schemas need 6)."""

# Control characters have no place in a name, a URL or a licence and can rewrite a terminal
# line or a table; tab, newline and carriage return are kept for free text.
_CONTROL = frozenset(chr(c) for c in [*range(0x20), 0x7F]) - {"\t", "\n", "\r"}


def parse_document(data: bytes | str, name: str, max_bytes: int = MAX_DOCUMENT_BYTES) -> Any:
    """Parse JSON with bounded work, refusing what the standard does not allow.

    Args:
        data: the document's bytes (UTF-8) or text.
        name: how messages name the document (e.g. ``"submission.json"``).
        max_bytes: most bytes the document may hold.

    Returns:
        The parsed document.

    Raises:
        InvalidDataError: naming ``name``, if the document is larger than
            ``max_bytes``, not UTF-8, not JSON, nested deeper than
            :data:`MAX_DEPTH`, or holds ``NaN``, ``Infinity`` or a number out of range.
    """
    size = len(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
    _check_size(size, name, max_bytes)
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError as err:
        raise InvalidDataError(f"{name} is not UTF-8 text ({err}); save it as UTF-8.") from None
    try:
        doc = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        raise InvalidDataError(
            f"{name} is nested too deeply to read; a document may nest at most {MAX_DEPTH} "
            "levels (landbench.leaderboard.schema.MAX_DEPTH)."
        ) from None
    except ValueError as err:  # JSONDecodeError, or an integer of more than 4300 digits
        raise InvalidDataError(f"{name} is not valid JSON ({err}); fix it and retry.") from None
    depth = _depth(doc)
    if depth > MAX_DEPTH:
        raise InvalidDataError(
            f"{name} is nested {depth} levels deep, more than the bound of {MAX_DEPTH} "
            "(landbench.leaderboard.schema.MAX_DEPTH); keep only the documented fields."
        )
    return doc


def read_document(
    path: str | os.PathLike[str], name: str | None = None, max_bytes: int = MAX_DOCUMENT_BYTES
) -> Any:
    """Read and parse a JSON file with :func:`parse_document`, its size checked before reading.

    Raises:
        InvalidDataError: as :func:`parse_document`, or if the file cannot be read.
    """
    path = Path(path)
    name = name or str(path)
    try:
        _check_size(path.stat().st_size, name, max_bytes)  # before reading a byte
        data = path.read_bytes()
    except OSError as err:
        raise InvalidDataError(f"{name} cannot be read ({err.strerror or err}).") from None
    return parse_document(data, name, max_bytes)


def _check_size(size: int, name: str, max_bytes: int) -> None:
    if size > max_bytes:
        raise InvalidDataError(
            f"{name} holds {size} bytes, more than the bound of {max_bytes} "
            "(landbench.leaderboard.schema.MAX_DOCUMENT_BYTES); keep only the documented fields."
        )


def _refuse_constant(token: str) -> Any:
    raise ValueError(f"{token} is not a JSON number; write a finite number or null")


def _finite_float(token: str) -> float:
    value = float(token)
    if not math.isfinite(value):
        raise ValueError(f"{token} is out of range for a number")
    return value


def _depth(doc: Any) -> int:
    """Levels of nesting of a parsed document, without recursion."""
    deepest, stack = 0, [(doc, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, level)
            stack.extend(
                (v, level + 1) for v in (node.values() if isinstance(node, dict) else node)
            )
    return deepest


def text_problems(doc: Any, path: tuple[Any, ...] = ()) -> Iterator[str]:
    """Every key or string of ``doc`` that is not writable text, one message each.

    Text is refused if it cannot be encoded as UTF-8 (a lone surrogate such as U+D800)
    or holds a control character other than tab, newline and carriage return.

    Yields:
        ``"<location>: <what is wrong and what to do>"``.
    """
    stack = [(doc, path)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, str):
            reason = _bad_text(node)
            if reason:
                yield f"{json_path(where)}: {reason}"
        elif isinstance(node, dict):
            for key, value in node.items():
                reason = _bad_text(str(key))
                if reason:
                    yield f"{json_path(where)}: a key {reason}"
                stack.append((value, (*where, _printable(str(key)))))
        elif isinstance(node, list):
            stack.extend((v, (*where, i)) for i, v in enumerate(node))


def _bad_text(text: str) -> str | None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        return (
            f"holds {text[err.start]!r} at character {err.start}, which is not valid Unicode "
            "text (a lone surrogate); write the text as UTF-8."
        )
    bad = next((c for c in text if c in _CONTROL), None)
    if bad is not None:
        return f"holds the control character {bad!r}; remove it."
    return None


def _printable(key: str) -> str:
    return key if _bad_text(key) is None else ascii(key)


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


PER_IMAGE_ITEM: dict[str, Any] = {
    "type": "object",
    "required": ["id", *COUNT_FIELDS],
    "properties": {
        "id": {"type": "string"},
        **{k: {"type": "integer", "minimum": 0} for k in COUNT_FIELDS},
    },
}
"""The schema of one per-image count record in every result version (a test checks that each
``per_image`` of the result schemas is an array of these, with no other constraint)."""


def _plain_count(item: Any) -> bool:
    """Whether ``item`` surely meets :data:`PER_IMAGE_ITEM` (else the schema decides)."""
    return (
        type(item) is dict
        and type(item.get("id")) is str
        and all(type(item.get(k)) is int and item[k] >= 0 for k in COUNT_FIELDS)
    )


def _thin_per_image(doc: Any) -> Any:
    """``doc`` with every ``per_image`` list cut to its first record when the rest are plain.

    A result holds one count record per test image and seed (6,297 for the demo's entries), and
    jsonschema spends 0.4 s a file descending into them: a record that :func:`_plain_count`
    accepts cannot fail :data:`PER_IMAGE_ITEM`, so only the first one (the array must not be
    empty) is left to the schema. A list with any other record is validated whole, so every
    message and its location are those of the full document. Nothing is copied but the
    containers on the way to a cut list.
    """
    if isinstance(doc, dict):
        out: dict[str, Any] | None = None
        for key, value in doc.items():
            if (
                key == "per_image"
                and isinstance(value, list)
                and len(value) > 1
                and all(_plain_count(item) for item in value[1:])
            ):
                new = value[:1]
            else:
                new = _thin_per_image(value)
            if new is not value:
                out = dict(doc) if out is None else out
                out[key] = new
        return doc if out is None else out
    if isinstance(doc, list):
        items = [_thin_per_image(v) for v in doc]
        return items if any(a is not b for a, b in zip(items, doc, strict=True)) else doc
    return doc


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
    if type(version) is not int:  # 1.0 == 1 and True == 1 in Python: neither names a schema
        return [
            f"schema_version must be a whole number such as {CURRENT_VERSION[kind]}, "
            f"not {_shorten(repr(version))} ({type(version).__name__}); write "
            f'"schema_version": {CURRENT_VERSION[kind]}.'
        ]
    if version not in known:
        return [
            f"{name} has unknown schema_version {version!r}; this landbench reads versions "
            f"{', '.join(map(str, known))}. Upgrade landbench or rewrite the file for version "
            f"{CURRENT_VERSION[kind]}."
        ]
    text = sorted(text_problems(doc))
    if text:  # such text cannot even be written back; the schema check would only echo it
        return text
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
    for err in validator.iter_errors(_thin_per_image(doc)):
        where = tuple(err.absolute_path)
        if any(where[: len(h)] == h for h in holes):
            continue
        problems.append((where, f"{json_path(where)}: {_short(err)}"))
    problems.sort(key=lambda p: (json_path(p[0]), p[1]))
    return [msg for _, msg in problems]


def dataset_kwargs_problems(name: str, kwargs: Any) -> list[str]:
    """Problems of one dataset's recorded options against their documented bounds.

    Checked before the dataset is built, whatever else is wrong with the document: a synthetic
    split of 10**30 tiles must be refused, not generated. The bounds are those of
    ``submission-v1.json`` (``$defs.dataset.properties.dataset_kwargs``), and the messages are
    those of :func:`schema_problems` for the same fields.

    Args:
        name: the dataset's name (its key under ``datasets``).
        kwargs: its ``dataset_kwargs``.

    Returns:
        One line per problem, e.g. ``datasets.synth.dataset_kwargs.n: ... at most 100000 ...``.
    """
    full = load_schema("submission", 1)
    schema = {"$defs": full["$defs"], **full["$defs"]["dataset"]["properties"]["dataset_kwargs"]}
    validator = jsonschema.Draft202012Validator(schema)
    where = ("datasets", name, "dataset_kwargs")
    errors = validator.iter_errors(kwargs)
    return sorted(f"{json_path((*where, *e.absolute_path))}: {_short(e)}" for e in errors)


def _short(err: jsonschema.ValidationError) -> str:
    """The validator's message, without echoing a long instance, plus the field's description."""
    description = err.schema.get("description") if isinstance(err.schema, Mapping) else None
    if err.validator in ("oneOf", "anyOf") and err.context:
        # "not valid under any of the given schemas" says nothing: give the closest branch's
        # reason (e.g. the bound a value exceeds).
        typed = [e for e in err.context if e.validator != "type"]  # branches of the right type
        best = max(typed or err.context, key=lambda e: len(e.relative_path))
        inner = _short(best)
        if best.relative_path:
            inner = f"{json_path(best.relative_path)}: {inner}"
        return inner + (f" ({description})" if description and description not in inner else "")
    if err.validator == "pattern":
        # The raw regular expression helps nobody; say what the field must hold instead.
        message = f"{err.instance!r} is not a valid value"
        message += f" ({description})" if description else f" (must match {err.validator_value})"
        return message
    if err.validator in ("maximum", "minimum", "maxLength", "maxItems", "maxProperties"):
        # Say the bound, without echoing a 400-digit number or a megabyte of text.
        shown = _shorten(repr(err.instance))
        bound = {"maximum": "at most", "minimum": "at least"}.get(err.validator, "at most")
        unit = {"maxLength": " characters", "maxItems": " items", "maxProperties": " keys"}
        message = f"{shown} is out of bounds: must be {bound} {err.validator_value}"
        message += unit.get(err.validator, "")
        return message + (f" ({description})" if description else "")
    message = err.message
    if len(message) > 300:
        message = message[:297] + "..."
    if err.validator in ("type", "const", "enum", "format") and description:
        message += f" ({description})"
    return message


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else f"{text[: limit - 20]}... ({len(text)} characters)"
