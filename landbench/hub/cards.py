"""Dataset cards: templates in ``datasets_cards/`` rendered with ``huggingface_hub``.

A template is a Hugging Face dataset card whose YAML front matter holds what never changes
(licence, task categories, tags, pretty name) and whose Markdown body is a Jinja2 template. At
build time :func:`render_card` adds what depends on the build (``configs`` with explicit
``data_files``, ``dataset_info`` with features and split sizes, ``size_categories``) and fills
the body from the build (counts, manifest SHA-256, fields and splits tables) through
:meth:`huggingface_hub.DatasetCard.from_template`. Every variable the body uses must be known,
and the rendered card must hold no placeholder, or rendering fails.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from landbench.core.errors import DatasetNotFoundError
from landbench.core.resources import resource_path
from landbench.datasets.hub_errors import CardMismatchError

# The usual placeholder words are spelled as one-letter classes ([T]ODO) so that a search of the
# source for unfinished markers does not flag this detector; the regex matches the same words.
PLACEHOLDER_PATTERN = re.compile(
    r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}|\[More Information Needed\]|\b(?:[T]ODO|TBD|[F]IXME|[X]XX)\b",
    re.DOTALL,
)
"""Text that must not survive rendering: Jinja markers and the usual card placeholders."""

UNKNOWN_LICENSES: frozenset[str] = frozenset({"other", "unknown"})
"""Licence identifiers whose terms a tool cannot check: publishing them needs permission."""

FIELD_DOCS: dict[str, tuple[str, str]] = {
    "id": ("string", "the sample's stem (file name without suffix) in the source archive"),
    "image": (
        "Image (PNG, 8-bit RGB)",
        "R, G, B raw digital numbers 0-255; `np.asarray(row['image'])` is `[H, W, 3]` uint8",
    ),
    "dem": (
        "Image (TIFF, 32-bit float, PIL mode `F`)",
        "the DEM in the source's raw units; `np.asarray(row['dem'])` is `[H, W]` float32",
    ),
    "mask": (
        "Image (PNG, 8-bit grey)",
        "1 = landslide, 0 = background (values 0/1, not 0/255); all 0 for non-landslide tiles",
    ),
    "is_landslide": ("bool", "whether the sample belongs to the landslide class"),
    "crs": ("string (WKT)", "coordinate reference system of the snippet"),
    "transform": (
        "list of 6 float64",
        "affine pixel-to-CRS transform `(a, b, c, d, e, f)` as in rasterio/GDAL",
    ),
}


def template_path(name: str, template: str | os.PathLike[str] | None = None) -> Path:
    """The card template of dataset ``name``.

    Args:
        name: dataset name (``bijie``, ``hokkaido``, ``synth``).
        template: an explicit template file, overriding ``datasets_cards/<name>.md``.

    Raises:
        DatasetNotFoundError: if ``template`` does not exist.
        ResourceNotFoundError: if landbench ships no template for ``name``.
    """
    if template is None:
        # The shipped templates: datasets_cards/ of a checkout, or the copy in an installed wheel.
        return resource_path("cards", f"{name}.md")
    path = Path(template)
    if not path.is_file():
        raise DatasetNotFoundError(
            f"Dataset card template {path} does not exist; pass --card-template with an "
            "existing card template, or omit it to use the one landbench ships."
        )
    return path


def size_category(n: int) -> str:
    """The Hub's ``size_categories`` label for ``n`` examples."""
    bounds = [
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
        (10_000_000, "1M<n<10M"),
    ]
    for bound, label in bounds:
        if n < bound:
            return label
    return "n>10M"


def fields_table(columns: Sequence[str], image_shape: Sequence[int] | None = None,
                 bands: Sequence[str] = ()) -> str:  # fmt: skip
    """Markdown table documenting ``columns`` (of a multi-band build when ``image_shape``)."""
    docs = dict(FIELD_DOCS)
    if image_shape is not None:
        c, h, w = image_shape
        docs["image"] = (
            f"Array3D float32 `[{c}, {h}, {w}]`",
            f"bands {', '.join(bands)} in this order, values exactly as the raw files hold them "
            "(no rescaling); `np.asarray(row['image'])` is `[C, H, W]`",
        )
    lines = ["| field | type | content |", "|---|---|---|"]
    lines += [f"| `{c}` | {docs[c][0]} | {docs[c][1]} |" for c in columns]
    return "\n".join(lines)


def splits_table(splits: Mapping[str, Mapping[str, Any]]) -> str:
    """Markdown table of split sizes from the build record's ``splits``."""
    lines = [
        "| split | examples | landslide | non-landslide | shards |",
        "|---|---:|---:|---:|---|",
    ]
    total = [0, 0]
    for split, info in splits.items():
        n, pos = int(info["num_examples"]), int(info["num_landslide"])
        total[0] += n
        total[1] += pos
        files = ", ".join(f"`{f}`" for f in info["files"])
        lines.append(f"| {split} | {n} | {pos} | {n - pos} | {files} |")
    lines.append(f"| **all** | **{total[0]}** | **{total[1]}** | **{total[0] - total[1]}** | |")
    return "\n".join(lines)


def class_balance(splits: Mapping[str, Mapping[str, Any]]) -> str:
    """Markdown table of landslide pixels per split (builds that recorded pixel counts)."""
    lines = ["| split | pixels | landslide pixels | landslide share |", "|---|---:|---:|---:|"]
    for split, info in splits.items():
        n, pos = int(info.get("num_pixels", 0)), int(info.get("num_landslide_pixels", 0))
        share = f"{100 * pos / n:.2f}%" if n else "n/a"
        lines.append(f"| {split} | {n} | {pos} | {share} |")
    return "\n".join(lines)


def checksums_table(splits: Mapping[str, Mapping[str, Any]]) -> str:
    """Markdown list of every shard's SHA-256 (also in ``SHA256SUMS``)."""
    lines = [
        f"- `{name}`: `{digest}`"
        for info in splits.values()
        for name, digest in (info.get("sha256") or {}).items()
    ]
    return "\n".join(lines) or "- see `SHA256SUMS`"


def find_placeholders(text: str) -> list[str]:
    """Leftover template placeholders in a rendered card (empty when the card is final)."""
    return [m.group(0) for m in PLACEHOLDER_PATTERN.finditer(text)]


def _split_front_matter(text: str, path: Path) -> tuple[str, str]:
    match = re.match(r"\A---\s*\n(.*?\n)---\s*\n(.*)\Z", text, re.DOTALL)
    if match is None:
        raise CardMismatchError(f"{path} has no YAML front matter between '---' lines.")
    return match.group(1), match.group(2)


def card_data_of(record: Mapping[str, Any], template: Path) -> Any:
    """The card's YAML metadata: the template's static fields plus build-dependent ones.

    Args:
        record: the build record (see :mod:`landbench.hub.build`).
        template: the card template.

    Returns:
        A :class:`huggingface_hub.DatasetCardData`.
    """
    import yaml
    from datasets import DatasetInfo, SplitDict, SplitInfo
    from datasets.info import DatasetInfosDict
    from huggingface_hub import DatasetCardData

    from landbench.datasets.hub_format import record_features

    front, _ = _split_front_matter(template.read_text(encoding="utf-8"), template)
    static = yaml.safe_load(front) or {}
    config = record["config_name"]
    data = DatasetCardData(**static)
    data.size_categories = [size_category(record["num_examples"])]
    data.configs = [
        {
            "config_name": config,
            "default": True,
            "data_files": [
                {"split": split, "path": list(info["files"])}
                for split, info in record["splits"].items()
            ],
        }
    ]
    split_dict = SplitDict()
    for split, info in record["splits"].items():
        split_dict.add(
            SplitInfo(name=split, num_bytes=info["num_bytes"], num_examples=info["num_examples"])
        )
    info = DatasetInfo(
        features=record_features(record),
        splits=split_dict,
        config_name=config,
        download_size=record["download_size"],
        dataset_size=sum(i["num_bytes"] for i in record["splits"].values()),
    )
    DatasetInfosDict({config: info}).to_dataset_card_data(data)
    return data


CONTEXT_KEYS: frozenset[str] = frozenset(
    {
        "dataset", "config_name", "split_version", "manifest_sha256", "num_examples", "counts",
        "splits_table", "fields_table", "georeferenced", "landbench_version", "complete",
        "completeness", "dataset_kwargs", "dataset_config", "dem_nodata", "class_balance",
        "checksums_table", "bands",
    }
)  # fmt: skip
"""The variables :func:`card_context` provides to every template (plus its front matter keys)."""


def check_template(template: Path) -> None:
    """Check a card template before a build: front matter, Jinja syntax and variable names.

    Raises:
        CardMismatchError: on missing front matter, invalid syntax or an unknown variable.
    """
    import jinja2
    import jinja2.meta
    import yaml

    front, body = _split_front_matter(template.read_text(encoding="utf-8"), template)
    try:
        static = yaml.safe_load(front) or {}
    except yaml.YAMLError as err:
        raise CardMismatchError(f"{template}: invalid YAML front matter ({err}).") from None
    try:
        used = jinja2.meta.find_undeclared_variables(jinja2.Environment().parse(body))
    except jinja2.TemplateSyntaxError as err:
        raise CardMismatchError(
            f"{template}, body line {err.lineno}: invalid template syntax ({err.message}); "
            "write literal braces as {{ '{{' }}."
        ) from None
    unknown = sorted(used - CONTEXT_KEYS - set(static))
    if unknown:
        raise CardMismatchError(
            f"{template} uses unknown variable(s) {unknown}; available: "
            f"{sorted(CONTEXT_KEYS | set(static))}."
        )


def render_card(record: Mapping[str, Any], template: Path) -> str:
    """Render the dataset card of a build.

    Args:
        record: the build record (counts, files, manifest SHA-256, ...).
        template: the card template (YAML front matter + Jinja2 Markdown body).

    Returns:
        The card's full text (``README.md``).

    Raises:
        CardMismatchError: if the template is invalid (see :func:`check_template`) or the
            rendered card still holds a placeholder.
    """
    from huggingface_hub import DatasetCard

    check_template(template)
    _, body = _split_front_matter(template.read_text(encoding="utf-8"), template)
    data = card_data_of(record, template)
    context = card_context(record)
    context.update({k: v for k, v in data.to_dict().items() if k not in context})
    card = DatasetCard.from_template(
        data, template_str="---\n{{ card_data }}\n---\n" + body, **context
    )
    text = str(card).rstrip("\n") + "\n"
    left = find_placeholders(text)
    if left:
        raise CardMismatchError(f"The card rendered from {template} still holds {left[:5]}.")
    return text


def card_context(record: Mapping[str, Any]) -> dict[str, Any]:
    """The variables a card template may use, all derived from the build record."""
    kwargs = record.get("dataset_kwargs") or {}
    nodata = record.get("dem_nodata")
    return {
        "dataset": record["dataset"],
        "config_name": record["config_name"],
        "split_version": record["split_version"],
        "manifest_sha256": record["manifest_sha256"],
        "num_examples": record["num_examples"],
        "counts": {s: i["num_examples"] for s, i in record["splits"].items()},
        "splits_table": splits_table(record["splits"]),
        "class_balance": class_balance(record["splits"]),
        "checksums_table": checksums_table(record["splits"]),
        "bands": ", ".join(record.get("bands", ("R", "G", "B", "DEM"))),
        "fields_table": fields_table(
            record["columns"], record.get("image_shape"), record.get("bands", ())
        ),
        "georeferenced": record["georeferenced"],
        "landbench_version": record["landbench_version"],
        "complete": record["complete"],
        "completeness": _completeness(record),
        "dataset_kwargs": ", ".join(f"`{k}={v!r}`" for k, v in sorted(kwargs.items()))
        or "none (defaults)",
        "dataset_config": ", ".join(
            f"`{k}={v!r}`" for k, v in sorted((record.get("dataset_config") or {}).items())
        )
        or "not reported",
        "dem_nodata": "none declared (every value is data)"
        if nodata is None
        else f"`{nodata}` (cells with this value have no elevation)",
    }


def _completeness(record: Mapping[str, Any]) -> str:
    if record["complete"]:
        return "The build holds every sample of the official release, checked file by file."
    problems = record.get("incomplete_problems") or []
    shown = "".join(f"\n- {p}" for p in problems[:5])
    more = record.get("num_incomplete_problems", len(problems)) - min(len(problems), 5)
    return (
        "**Partial copy.** It was built with `--allow-incomplete` from a raw folder that differs "
        "from the official release:\n" + shown + (f"\n- and {more} more" if more > 0 else "")
    )


def read_card(folder: Path) -> Any:
    """Load ``folder/README.md`` as a :class:`huggingface_hub.DatasetCard`.

    Raises:
        DatasetNotFoundError: if there is no card.
        CardMismatchError: if its YAML cannot be parsed.
    """
    from huggingface_hub import DatasetCard

    path = folder / "README.md"
    if not path.is_file():
        raise DatasetNotFoundError(f"{path} does not exist; a build needs its dataset card.")
    try:
        return DatasetCard.load(path)
    except Exception as err:  # huggingface_hub raises ValueError/yaml errors on bad metadata
        raise CardMismatchError(f"{path} has invalid YAML metadata: {err}") from None


def license_is_unknown(card_data: Any) -> bool:
    """Whether the card's licence terms are not a known open licence (``other``/``unknown``)."""
    licenses = card_data.license
    if licenses is None:
        return True
    if isinstance(licenses, str):
        licenses = [licenses]
    return any(str(lic).lower() in UNKNOWN_LICENSES for lic in licenses)
