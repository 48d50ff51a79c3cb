"""Scaffolding a leaderboard submission from predicted masks (``landbench leaderboard init``).

:func:`init_submission` checks the masks with the evaluator's reader, copies them into the layout
of :mod:`~landbench.leaderboard.submission` and writes a ``submission.json`` with what landbench
knows filled in (versions, split hash, dataset options) and every other field marked ``FILL ME``.
:func:`write_prediction_folder` writes masks held in memory as a prediction folder.
"""

from __future__ import annotations

import datetime as dt
import inspect
import json
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from landbench._version import __version__
from landbench.core.errors import LandbenchError
from landbench.core.io import atomic_directory
from landbench.leaderboard.archive import METADATA_FILE
from landbench.leaderboard.errors import SubmissionError
from landbench.leaderboard.schema import PLACEHOLDER
from landbench.leaderboard.submission import (
    FORBIDDEN_KWARGS,
    SCORED_SPLIT,
    SEED_DIR,
    Seed,
    is_synthetic,
    load_test_split,
    seed_folder,
)

if TYPE_CHECKING:
    from landbench.datasets.base import LandslideDataset


def _json_value(value: Any) -> Any:
    """A dataset attribute as a JSON value: presets by name, square sizes as one int."""
    if hasattr(value, "name") and isinstance(value.name, str):
        return value.name
    if isinstance(value, tuple | list):
        items = [_json_value(v) for v in value]
        return items[0] if items and all(v == items[0] for v in items) else items
    return value


def recorded_kwargs(
    dataset: LandslideDataset, dataset_kwargs: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The dataset keyword arguments a submission records to rebuild the same test split.

    For a synthetic dataset every generation parameter is recorded with its effective value
    (e.g. ``preset``, ``size``, ``n``, ``seed``, defaults resolved), so a later change of
    default cannot change which samples are scored. For a real dataset only the given
    arguments are recorded.

    Args:
        dataset: the loaded test split.
        dataset_kwargs: the keyword arguments it was loaded with (paths excluded).

    Returns:
        JSON-ready keyword arguments, sorted by name.

    Raises:
        SubmissionError: if an argument is a path or option that must not be recorded.
    """
    given = dict(dataset_kwargs or {})
    bad = sorted(set(given) & FORBIDDEN_KWARGS)
    if bad:
        raise SubmissionError(
            dataset.name,
            [f"dataset option(s) {bad} cannot be recorded in a submission; drop them."],
        )
    out: dict[str, Any] = {}
    if is_synthetic(dataset.name):
        for p in inspect.signature(type(dataset).__init__).parameters.values():
            if p.name == "self" or p.name in FORBIDDEN_KWARGS:
                continue
            if p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL) or not hasattr(dataset, p.name):
                continue
            value = _json_value(getattr(dataset, p.name))
            if value is None or isinstance(value, bool | int | float | str | list):
                out[p.name] = value
    out.update(given)
    return dict(sorted(out.items()))


def template(
    dataset: str,
    dataset_kwargs: Mapping[str, Any],
    manifest_version: str,
    manifest_sha256: str,
    entry: str | None = None,
    seeds: Sequence[int] | None = None,
) -> dict[str, Any]:
    """A ``submission.json`` with what landbench knows filled in and the rest marked.

    Fields the submitter must fill hold a string starting with :data:`PLACEHOLDER`, which
    :func:`validate_submission` refuses. Without ``seeds`` the document is schema version 1
    (one unnamed seed), with them version 2.
    """
    fill = f"{PLACEHOLDER}: "
    head: dict[str, Any] = {"schema_version": 1}
    if seeds:
        head = {"schema_version": 2, "seeds": sorted(set(seeds))}
    return {
        **head,
        "entry": entry or fill + "unique entry name: lowercase letters, digits, '.', '_', '-'",
        "model": {
            "name": fill + "model name as it should appear in the table",
            "description": "",
            "parameter_count": fill + "number of parameters of the model (an integer)",
        },
        "team": fill + "team or author names",
        "contact": fill + "an e-mail address",
        "date": dt.datetime.now(dt.UTC).date().isoformat(),
        "paper_url": fill + "https://... link to the paper, or null if there is none",
        "code": {
            "url": fill + "https://... link to the code",
            "commit": fill + "the commit hash of the code that made the predictions",
        },
        "license": fill + "licence of code and weights (an SPDX id such as MIT)",
        "landbench_version": __version__,
        "datasets": {
            dataset: {
                "split": SCORED_SPLIT,
                "split_version": manifest_version,
                "manifest_sha256": manifest_sha256,
                "dataset_kwargs": dict(dataset_kwargs),
                "inputs": fill + 'bands the model reads, e.g. ["R", "G", "B", "DEM"]',
                "training_data": fill + f"what the model was trained on, e.g. '{dataset} "
                f"train split {manifest_version}'",
                "external_data": fill + "true if any data beyond the train/val splits was used",
                "pretrained_weights": fill + "pretrained weights used, or 'none'",
            }
        },
    }


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` updated by ``extra``, nested dicts merged key by key."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


def write_prediction_folder(masks: Mapping[str, Any], folder: str | os.PathLike[str]) -> Path:
    """Write predicted masks as a prediction folder: one 8-bit PNG per id, values {0, 255}.

    Useful to submit a model's predictions from Python (e.g. the zoo's own entries).

    Args:
        masks: id to binary mask ``[H, W]`` (numpy or torch; non-zero = landslide).
        folder: the folder to create (must not exist); written atomically.

    Returns:
        The folder.
    """
    import numpy as np
    from PIL import Image

    with atomic_directory(folder) as tmp:
        for sample_id, mask in masks.items():
            if hasattr(mask, "detach"):
                mask = mask.detach().cpu().numpy()
            array = np.asarray(mask)
            if array.ndim != 2:
                raise SubmissionError(
                    folder, [f"mask {sample_id!r} has shape {array.shape}; expected [H, W]."]
                )
            Image.fromarray(np.where(array != 0, 255, 0).astype(np.uint8)).save(
                tmp / f"{sample_id}.png"
            )
    return Path(folder)


def init_submission(
    dataset: str,
    predictions: str | os.PathLike[str],
    out: str | os.PathLike[str],
    root: str | None = None,
    dataset_kwargs: Mapping[str, Any] | None = None,
    entry: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    seeds: Sequence[int] | None = None,
) -> Path:
    """Scaffold a submission folder from a folder of predicted masks.

    The masks are checked with the evaluator's reader first (so a broken mask is refused before
    anything is written), then copied unchanged to ``out/predictions/<dataset>/``, and
    ``out/submission.json`` is written with the versions, the split hash and the dataset
    options filled in and every other field marked ``FILL ME``.

    Args:
        dataset: dataset name, e.g. ``"bijie"``.
        predictions: folder of ``<id>.png`` masks for the dataset's test split.
        out: the submission folder to create (must not exist).
        root: raw-data folder of a real dataset.
        dataset_kwargs: options of :func:`landbench.load` (e.g. ``{"size": 32}`` for synth).
        entry: the entry name, if already chosen.
        metadata: fields already known, merged into the scaffold (nested dicts key by key),
            e.g. ``{"team": "landbench", "model": {"name": "FusionNet", "parameter_count":
            n}, "datasets": {"synth": {"inputs": ["R", "G", "B", "DEM"]}}}``. Fields not given
            stay marked ``FILL ME``.
        seeds: training seeds whose masks lie in ``predictions/seed-<N>/`` (schema version 2);
            None: ``predictions`` holds the masks of one unnamed seed (schema version 1).

    Returns:
        The created folder.

    Raises:
        SubmissionError: on a recorded option that is not allowed.
        PredictionError: listing every bad mask.
        LandbenchError: if ``out`` exists.
    """
    from landbench.evaluation import PredictionError, read_predictions

    out = Path(out)
    if out.exists():
        raise LandbenchError(f"{out} already exists; choose a new folder for the submission.")
    given = dict(dataset_kwargs or {})
    bad = sorted(set(given) & FORBIDDEN_KWARGS)
    if bad:
        raise SubmissionError(
            out, [f"dataset option(s) {bad} cannot be recorded in a submission; drop them."]
        )
    split = load_test_split(dataset, given, root)
    kwargs = recorded_kwargs(split, given)
    if load_test_split(dataset, kwargs, root).manifest.sha256 != split.manifest.sha256:
        raise SubmissionError(  # a dataset whose attributes do not mirror its arguments
            out, [f"cannot record options that rebuild this split of {dataset}; got {kwargs}."]
        )
    chosen: list[Seed] = sorted(set(seeds)) if seeds else [None]
    sources = {
        s: Path(predictions) / ("" if s is None else SEED_DIR.format(seed=s)) for s in chosen
    }
    for source in sources.values():
        try:  # before anything is written
            read_predictions(source, split)
        except PredictionError as err:
            if not (is_synthetic(dataset) and err.problems.get("missing")):
                raise
            raise PredictionError(
                f"{err}\nThe test split of {dataset} depends on its parameters, here {kwargs}; "
                "give the ones the predictions were made with (e.g. --set size=32 --set n=40).",
                err.problems,
            ) from None
    document = template(
        dataset, kwargs, split.manifest.version, split.manifest.sha256, entry, seeds
    )
    document = _merge(document, metadata or {})
    with atomic_directory(out) as tmp:
        for seed, source in sources.items():
            dest = seed_folder(tmp, dataset, seed)
            dest.mkdir(parents=True)
            for sample_id in split.ids:
                shutil.copyfile(source / f"{sample_id}.png", dest / f"{sample_id}.png")
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        (tmp / METADATA_FILE).write_text(text, encoding="utf-8")
    return out
