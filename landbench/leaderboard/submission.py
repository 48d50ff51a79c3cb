"""Leaderboard submissions: their layout, and the complete check of one (``validate``).

A submission is a folder (or a ``.zip`` of it)::

    submission.json             metadata, following schema/submission-v<N>.json
    predictions/<dataset>/<id>.png
                                one single-band PNG per test sample, values {0, 1} or {0, 255}
                                (schema version 1: one unnamed seed)
    predictions/<dataset>/seed-<N>/<id>.png
                                schema version 2: one folder per seed listed in ``seeds``
    README.md                   optional free text

It carries predictions, never scores. :func:`validate_submission` checks everything and reports
every problem at once: the archive's safety, the metadata against its schema version (with the
``FILL ME`` placeholders left by :func:`~landbench.leaderboard.scaffold.init_submission`),
the dataset's current split version
and manifest hash, and each dataset's masks (through the evaluator's reader, so ids, sizes,
values, bands and bit depths are checked exactly as they are scored). Scoring
(:mod:`~landbench.leaderboard.scoring`) builds on this module, never the other way round.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from landbench.core.errors import LandbenchError
from landbench.leaderboard.archive import (
    MAX_FILES,
    MAX_UNCOMPRESSED_BYTES,
    METADATA_FILE,
    open_submission,
)
from landbench.leaderboard.errors import SubmissionError
from landbench.leaderboard.folders import taken_entries as entries_taken
from landbench.leaderboard.schema import (
    dataset_kwargs_problems,
    read_document,
    schema_problems,
)

if TYPE_CHECKING:
    import numpy as np

    from landbench.datasets.base import LandslideDataset

PREDICTIONS_DIR = "predictions"
"""Folder of a submission holding one sub-folder of masks per dataset."""

SEED_DIR = "seed-{seed}"
"""Sub-folder of ``predictions/<dataset>/`` holding one seed's masks (schema version 2)."""

Seed = int | None
"""A training seed; None is the single, unnamed seed of a schema-1 submission."""

ALLOWED_TOP_LEVEL = frozenset({METADATA_FILE, PREDICTIONS_DIR, "README.md"})
"""The only entries allowed at the top of a submission."""

SCORED_SPLIT = "test"
"""The only split the leaderboard scores."""

FORBIDDEN_KWARGS = frozenset(
    {"root", "split", "source", "download", "transforms", "bands", "checksum", "revision"}
)
"""Dataset keyword arguments a submission may not record: paths and options that do not
define which samples form the test split."""

_SHOW_IDS = 20  # offending ids listed per kind of problem before "... and N more"


def is_synthetic(name: str) -> bool:
    """Whether dataset ``name`` is synthetic (its class says so); False for an unknown name."""
    from landbench.datasets.registry import dataset_class

    try:
        return bool(dataset_class(name).synthetic)
    except LandbenchError:
        return False


def submission_seeds(metadata: Any) -> list[Seed]:
    """The seeds a submission declares: ``seeds`` (schema 2) in order, else ``[None]``."""
    seeds = metadata.get("seeds") if isinstance(metadata, Mapping) else None
    if metadata.get("schema_version") == 2 and isinstance(seeds, list) and seeds:
        if all(isinstance(x, int) and not isinstance(x, bool) for x in seeds):
            return sorted(set(seeds))
    return [None]


def seed_folder(folder: Path, dataset: str, seed: Seed) -> Path:
    """Where one seed's masks of one dataset lie in a submission folder."""
    base = folder / PREDICTIONS_DIR / dataset
    return base if seed is None else base / SEED_DIR.format(seed=seed)


def load_test_split(
    name: str, dataset_kwargs: Mapping[str, Any] | None = None, root: str | None = None
) -> LandslideDataset:
    """Load the scored (test) split of ``name`` as a submission describes it.

    Args:
        name: dataset name.
        dataset_kwargs: keyword arguments recorded in the submission.
        root: folder of the raw files of a real dataset (ignored for synthetic data, which is
            rebuilt from its recorded parameters only).

    Returns:
        The test split.
    """
    import landbench

    kwargs = dict(dataset_kwargs or {})
    if root is not None and not is_synthetic(name):
        kwargs["root"] = root
    return landbench.load(name, split=SCORED_SPLIT, **kwargs)


@dataclass
class Submission:
    """A checked submission, held in memory.

    Attributes:
        source: the folder or archive it was read from.
        metadata: the content of ``submission.json``.
        datasets: dataset name to its test split.
        predictions: dataset name to seed to ``{id: mask}``; masks as the evaluator reads them
            (the seed is None for a schema-1 submission).
    """

    source: Path
    metadata: dict[str, Any]
    datasets: dict[str, LandslideDataset] = field(default_factory=dict)
    predictions: dict[str, dict[Seed, dict[str, np.ndarray]]] = field(default_factory=dict)

    @property
    def seeds(self) -> list[Seed]:
        """The declared seeds (``[None]`` for schema version 1)."""
        return submission_seeds(self.metadata)

    @property
    def entry(self) -> str:
        """The entry name, which names the result file."""
        return str(self.metadata["entry"])


def _read_metadata(folder: Path) -> tuple[Any, list[str]]:
    path = folder / METADATA_FILE
    if not path.is_file():
        return None, [f"{METADATA_FILE} is missing; run `landbench leaderboard init` to make one."]
    try:  # bounded: size, nesting depth, no NaN (see landbench.leaderboard.schema)
        return read_document(path, METADATA_FILE), []
    except LandbenchError as err:
        return None, [str(err)]


def _layout_problems(folder: Path, declared: Iterable[str]) -> tuple[list[str], list[str]]:
    """Problems of the folder layout, and the dataset folders present under predictions/."""
    problems = []
    for entry in sorted(p.name for p in folder.iterdir()):
        if entry.startswith(".") or entry == "__MACOSX":
            continue  # file-manager litter (.DS_Store, zip resource forks), never read
        if entry not in ALLOWED_TOP_LEVEL:
            problems.append(
                f"unexpected {entry!r} at the top of the submission; only "
                f"{', '.join(sorted(ALLOWED_TOP_LEVEL))} are allowed."
            )
    pred_root = folder / PREDICTIONS_DIR
    present: list[str] = []
    if not pred_root.is_dir():
        problems.append(
            f"{PREDICTIONS_DIR}/ is missing; put masks in {PREDICTIONS_DIR}/<dataset>/."
        )
    else:
        for entry in sorted(pred_root.iterdir()):
            if entry.is_dir():
                present.append(entry.name)
            else:
                problems.append(
                    f"unexpected file {PREDICTIONS_DIR}/{entry.name}; masks belong in "
                    f"{PREDICTIONS_DIR}/<dataset>/<id>.png."
                )
    declared = set(declared)
    for name in present:
        if name not in declared:
            problems.append(
                f"{PREDICTIONS_DIR}/{name}/ holds masks for a dataset that {METADATA_FILE} does "
                "not declare under 'datasets'; declare it or remove the folder."
            )
    for name in sorted(declared):
        if pred_root.is_dir() and name not in present:
            problems.append(
                f"{METADATA_FILE} declares dataset {name!r} but {PREDICTIONS_DIR}/{name}/ is "
                "missing."
            )
    return problems, present


def _dataset_problems(
    folder: Path,
    name: str,
    spec: Any,
    root: str | None,
    has_masks: bool,
    submission: Submission,
) -> list[str]:
    """Check one declared dataset: its split against the current one, then its masks."""
    from landbench.datasets.registry import list_datasets
    from landbench.evaluation import PredictionError, read_predictions

    where = f"datasets.{name}"
    if name not in list_datasets():
        return [f"{where}: unknown dataset {name!r}; known: {', '.join(list_datasets())}."]
    spec = spec if isinstance(spec, Mapping) else {}
    kwargs = spec.get("dataset_kwargs", {})
    if not isinstance(kwargs, Mapping):
        kwargs = {}  # the schema check already reported it
    bad = sorted(set(kwargs) & FORBIDDEN_KWARGS)
    if bad:
        return [f"{where}.dataset_kwargs: {bad} may not be recorded; remove them."]
    unsafe = dataset_kwargs_problems(name, kwargs)
    if unsafe:  # refused before the split is built: synth n=10**30 would exhaust memory
        return [f"{METADATA_FILE}: {p}" for p in unsafe]
    try:
        dataset = load_test_split(name, kwargs, root)
    except LandbenchError as err:
        return [f"{where}: cannot load the test split to score against: {err}"]
    except TypeError as err:  # an option the dataset class does not take
        return [f"{where}.dataset_kwargs: {err}"]
    problems = []
    manifest = dataset.manifest
    if "split_version" in spec and spec["split_version"] != manifest.version:
        problems.append(
            f"{where}.split_version is {spec['split_version']!r} but the current split of "
            f"{name} is {manifest.version!r}; predict the current test split."
        )
    if "manifest_sha256" in spec and spec["manifest_sha256"] != manifest.sha256:
        problems.append(
            f"{where}.manifest_sha256 is {str(spec['manifest_sha256'])[:70]!r} but the current "
            f"test split of {name} ({manifest.version}) has manifest {manifest.sha256}; the "
            "predictions were made on another split: predict the current one."
        )
    submission.datasets[name] = dataset
    if not has_masks:
        return problems
    seeds = submission.seeds
    if seeds != [None]:
        expected = {SEED_DIR.format(seed=s) for s in seeds}
        for entry in sorted((folder / PREDICTIONS_DIR / name).iterdir()):
            if entry.name not in expected and not entry.name.startswith("."):
                problems.append(
                    f"{PREDICTIONS_DIR}/{name}/{entry.name}: unexpected; with seeds {seeds} "
                    f"the masks lie in {PREDICTIONS_DIR}/{name}/seed-<N>/<id>.png."
                )
    for seed in seeds:
        where = seed_folder(folder, name, seed)
        label = where.relative_to(folder).as_posix()
        if not where.is_dir():
            problems.append(f"{label}/ is missing; seed {seed} is declared in 'seeds'.")
            continue
        try:
            masks = read_predictions(where, dataset)
        except PredictionError as err:
            problems += [f"{label}: {p}" for p in _prediction_problems(err)]
            continue
        submission.predictions.setdefault(name, {})[seed] = masks
    return problems


def _prediction_problems(err: Exception) -> list[str]:
    """One line per kind of problem of the evaluator's reader (ids listed, the tail counted)."""
    by_kind = getattr(err, "problems", None)
    if not isinstance(by_kind, Mapping) or not any(by_kind.values()):
        return [" ".join(str(err).split())]
    lines = []
    for kind, items in by_kind.items():
        items = sorted(items)
        shown = ", ".join(items[:_SHOW_IDS])
        more = f", ... and {len(items) - _SHOW_IDS} more" if len(items) > _SHOW_IDS else ""
        lines.append(f"{kind} ({len(items)}): {shown}{more}")
    return lines


def _relative(message: str, folder: Path, source: Path) -> str:
    """Name files inside ``source``, not inside a temporary unpacking folder."""
    return message if folder == source else message.replace(str(folder), str(source))


def check_submission_folder(
    folder: Path,
    source: Path | None = None,
    root: str | None = None,
    taken_entries: Iterable[str] = (),
) -> Submission:
    """Check an unpacked submission folder completely.

    Args:
        folder: the folder holding ``submission.json``.
        source: how messages name the submission (defaults to ``folder``).
        root: raw-data folder of real datasets.
        taken_entries: entry names already on the leaderboard.

    Returns:
        The checked submission, predictions loaded.

    Raises:
        SubmissionError: listing every problem found.
    """
    source = Path(source or folder)
    metadata, problems = _read_metadata(folder)
    if metadata is not None:
        problems += [
            f"{METADATA_FILE}: {p}" for p in schema_problems(metadata, "submission", METADATA_FILE)
        ]
    valid_dict = isinstance(metadata, Mapping)
    declared = metadata.get("datasets") if valid_dict else None
    declared = declared if isinstance(declared, Mapping) else {}
    layout, present = _layout_problems(folder, declared)
    problems += layout
    submission = Submission(source=source, metadata=dict(metadata) if valid_dict else {})
    # Without metadata, still check the masks against each dataset's default test split, so
    # the submitter sees every problem in one go.
    specs = dict(declared) if declared else {name: {} for name in present}
    for name in sorted(specs):
        problems += _dataset_problems(
            folder, str(name), specs[name], root, name in present, submission
        )
    entry = submission.metadata.get("entry")
    if isinstance(entry, str) and entry in set(taken_entries):
        problems.append(
            f"{METADATA_FILE}: entry {entry!r} is already on the leaderboard; choose another "
            "entry name (entries are never replaced)."
        )
    if problems:
        problems = list(dict.fromkeys(problems))  # bounds are checked twice; list them once
        raise SubmissionError(source, [_relative(p, folder, source) for p in problems])
    return submission


def validate_submission(
    path: str | os.PathLike[str],
    root: str | None = None,
    leaderboard_dir: str | os.PathLike[str] | None = None,
    max_files: int = MAX_FILES,
    max_bytes: int = MAX_UNCOMPRESSED_BYTES,
) -> Submission:
    """Check a submission folder or ``.zip`` completely, reporting every problem at once.

    Args:
        path: the submission folder or archive.
        root: raw-data folder of real datasets (None: each dataset's default).
        leaderboard_dir: if given, also refuse an entry name already used there.
        max_files: most files the submission may hold.
        max_bytes: most bytes the submission may hold once unpacked.

    Returns:
        The checked submission, with its masks decoded in memory.

    Raises:
        SubmissionError: listing every problem (an :class:`ArchiveError` for unsafe archives).
    """
    taken = entries_taken(leaderboard_dir) if leaderboard_dir is not None else ()
    with open_submission(path, max_files, max_bytes) as folder:
        return check_submission_folder(folder, Path(path), root=root, taken_entries=taken)
