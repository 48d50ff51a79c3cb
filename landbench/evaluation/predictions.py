"""Reading and validating a set of predicted masks for one split of a dataset.

A prediction set is a folder holding one single-band 8-bit PNG per sample of the split, named
``<id>.png``, with values {0, 1} or {0, 255} (1 and 255 both mean landslide); or, in Python, a
mapping from id to a ``[H, W]`` array. Every problem is collected first and reported together,
naming the offending ids, and nothing is scored from a partial or inconsistent set.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from landbench.core.errors import InvalidDataError

if TYPE_CHECKING:
    from landbench.datasets.base import LandslideDataset

PREDICTION_SUFFIX = ".png"
"""File suffix of a predicted mask (matched case-insensitively, then checked for duplicates)."""

ALLOWED_VALUES: tuple[int, ...] = (0, 1, 255)
"""Values a predicted mask may hold; 1 and 255 both mean landslide."""

MAX_MASK_PIXELS = 1 << 25
"""Most pixels (33.5 million, e.g. 5792x5792) a mask may have when its ground truth is unknown
(else it must have its tile's size): read from the PNG header before any pixel is decoded."""

_SHOW = 20  # ids listed per problem before "... and N more"
_VALUES = "values outside {0, 1, 255}"
_WRONG_SIZE = "wrong size (HxW)"
_MODES = {
    "1": "1-bit",
    "P": "palette",
    "I;16": "16-bit",
    "I;16B": "16-bit",
    "I": "32-bit",
    "F": "float",
}


class PredictionError(InvalidDataError):
    """A prediction set does not match the split it claims to predict.

    Attributes:
        problems: problem kind (e.g. ``"missing"``, ``"wrong size"``) to the offending ids, each
            optionally followed by a detail (``"df003 (300x280, expected 300x300)"``).
    """

    def __init__(self, message: str, problems: Mapping[str, list[str]] | None = None):
        super().__init__(message)
        self.problems: dict[str, list[str]] = {k: list(v) for k, v in (problems or {}).items()}


class _MaskProblem(PredictionError):
    """One mask's problem, with its kind (the heading it is listed under)."""

    def __init__(self, kind: str, message: str):
        super().__init__(message, {kind: []})
        self.kind = kind


class _Problems:
    """Collects problems by kind, then raises them all at once."""

    def __init__(self) -> None:
        self.by_kind: dict[str, list[str]] = defaultdict(list)

    def add(self, kind: str, item: str) -> None:
        self.by_kind[kind].append(item)

    def __bool__(self) -> bool:
        return any(self.by_kind.values())

    def raise_if_any(self, what: str, dataset: LandslideDataset) -> None:
        if not self:
            return
        manifest = dataset.manifest
        lines = [
            f"{what} do not match the {dataset.split} split of {dataset.name} (split "
            f"{manifest.version}, {len(dataset.ids)} ids, manifest {manifest.sha256[:12]}); "
            "nothing was scored. Fix these and run again:"
        ]
        for kind, items in self.by_kind.items():
            items = sorted(items)
            shown = ", ".join(items[:_SHOW])
            more = f", ... and {len(items) - _SHOW} more" if len(items) > _SHOW else ""
            lines.append(f"  {kind} ({len(items)}): {shown}{more}")
        raise PredictionError("\n".join(lines), self.by_kind)


def _split_of(dataset: LandslideDataset) -> dict[str, str]:
    """Every id of the dataset's manifest to its split name."""
    return {i: s for s, ids in dataset.manifest.splits.items() for i in ids}


def _check_names(stems: Iterable[str], dataset: LandslideDataset, problems: _Problems) -> list[str]:
    """Report missing, extra and other-split ids; return the stems that belong to the split."""
    expected = set(dataset.ids)
    split_of = _split_of(dataset)
    by_fold = {i.casefold(): i for i in expected}
    stems = list(stems)
    present = set(stems)
    for stem in stems:
        if stem in expected:
            continue
        if stem in split_of:
            problems.add(
                f"named for another split (not {dataset.split})", f"{stem} ({split_of[stem]})"
            )
        elif stem.casefold() in by_fold:
            problems.add(
                "extra (not in the split)", f"{stem} (did you mean {by_fold[stem.casefold()]}?)"
            )
        else:
            problems.add("extra (not in the split)", stem)
    for sample_id in sorted(expected - present):
        problems.add("missing", sample_id)
    return [s for s in stems if s in expected]


def _index_folder(folder: Path, dataset: LandslideDataset, problems: _Problems) -> dict[str, Path]:
    """Id to file for the well-named files of the split; naming problems go to ``problems``."""
    if not folder.is_dir():
        raise PredictionError(
            f"Prediction folder {folder} does not exist or is not a folder; give the folder that "
            f"holds one <id>{PREDICTION_SUFFIX} per sample of the {dataset.split} split."
        )
    by_stem: dict[str, list[Path]] = defaultdict(list)
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue  # hidden files (.DS_Store, editor swap files) are not predictions
        if entry.is_dir():
            problems.add("not a file", entry.name)
        elif entry.suffix.lower() != PREDICTION_SUFFIX:
            problems.add(f"not a {PREDICTION_SUFFIX} file", entry.name)
        else:
            by_stem[entry.stem].append(entry)
    for stem, paths in by_stem.items():
        if len(paths) > 1:
            problems.add("duplicated", f"{stem} ({', '.join(p.name for p in paths)})")
    # Files whose names differ only in case collide on case-insensitive file systems.
    by_fold: dict[str, list[str]] = defaultdict(list)
    for stem in by_stem:
        by_fold[stem.casefold()].append(stem)
    for stems in by_fold.values():
        if len(stems) > 1:
            problems.add("duplicated", f"{' / '.join(sorted(stems))} (names differ only in case)")
    keep = _check_names(by_stem, dataset, problems)
    return {stem: by_stem[stem][0] for stem in keep if len(by_stem[stem]) == 1}


def read_mask_header(
    path: str | os.PathLike[str], expected: tuple[int, int] | None = None
) -> tuple[int, int]:
    """Check a predicted mask by its header alone, decoding no pixel.

    Args:
        path: the PNG file.
        expected: the ground truth's ``(H, W)``, if known: the mask must have this size.

    Returns:
        The mask's ``(H, W)``.

    Raises:
        PredictionError: if the file is unreadable, not a PNG, animated (more than one frame),
            not single-band 8-bit, larger than :data:`MAX_MASK_PIXELS`, or not ``expected``.
    """
    with _open_mask(Path(path), expected) as img:
        return img.size[1], img.size[0]


@contextlib.contextmanager
def _open_mask(path: Path, expected: tuple[int, int] | None) -> Iterator[Any]:
    """The opened, header-checked PNG (pixels not decoded yet); every failure a _MaskProblem."""
    from PIL import Image, UnidentifiedImageError

    errors = (
        OSError,
        SyntaxError,
        ValueError,
        UnidentifiedImageError,
        Image.DecompressionBombError,
    )
    try:
        with warnings.catch_warnings():
            # Our own pixel bound (below) is tighter than Pillow's bomb warning, and says more.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(path)
    except errors as err:
        raise _MaskProblem("unreadable", f"{path.name}: unreadable ({err}).") from err
    with img:
        _check_header(img, path.name, expected)
        try:
            yield img
        except errors as err:
            raise _MaskProblem("unreadable", f"{path.name}: unreadable ({err}).") from err


def _check_header(img: Any, name: str, expected: tuple[int, int] | None) -> None:
    """Refuse a mask from what ``Image.open`` read: format, frames, mode and size."""
    if img.format != "PNG":
        raise _MaskProblem(
            "not a PNG file", f"{name}: not a PNG file (found {img.format or 'unknown'})."
        )
    frames = getattr(img, "n_frames", 1)
    if frames != 1:
        raise _MaskProblem(
            "animated (more than one frame)",
            f"{name}: animated PNG with {frames} frames; save one still frame per mask.",
        )
    if img.mode != "L":
        kind = _MODES.get(img.mode, f"{len(img.getbands())}-band {img.mode}")
        raise _MaskProblem(
            "not single-band 8-bit",
            f"{name}: {kind} PNG; save masks as single-band 8-bit greyscale (mode L).",
        )
    width, height = img.size
    if expected is not None and (height, width) != tuple(expected):
        raise _MaskProblem(_WRONG_SIZE, f"{height}x{width}, expected {expected[0]}x{expected[1]}")
    if expected is None and width * height > MAX_MASK_PIXELS:  # else its tile bounds it
        raise _MaskProblem(
            "too large",
            f"{name}: {height}x{width} pixels, more than the bound of {MAX_MASK_PIXELS} "
            "(landbench.evaluation.predictions.MAX_MASK_PIXELS); a mask has its tile's size.",
        )


def decode_prediction(
    path: str | os.PathLike[str], expected: tuple[int, int] | None = None
) -> np.ndarray:
    """Read one predicted mask PNG as uint8 ``[H, W]`` in {0, 1}, its header checked first.

    Args:
        path: the PNG file.
        expected: the ground truth's ``(H, W)``, if known; checked before any pixel is decoded.

    Raises:
        PredictionError: if the file is unreadable, not a PNG, animated, not single-band 8-bit,
            too large or not ``expected`` (all from the header), or holds values outside
            {0, 1, 255}. The message says which.
    """
    path = Path(path)
    with _open_mask(path, expected) as img:
        img.load()
        array = np.asarray(img, dtype=np.uint8)
    return binarize(array, path.name)


class MaskFolder(Mapping[str, np.ndarray]):
    """Id to predicted mask, decoded from its file on each access: holds paths, not pixels.

    Returned by :func:`read_predictions` once every file has been checked, so that a whole
    split's masks are never in memory at once (iterate, or index one id at a time).

    Args:
        files: id to PNG file, in split order.
        shapes: id to expected ``(H, W)``, checked again from the header on each access.
    """

    def __init__(
        self, files: Mapping[str, Path], shapes: Mapping[str, tuple[int, int]] | None = None
    ) -> None:
        self.files = dict(files)
        self.shapes = dict(shapes or {})

    def __getitem__(self, sample_id: str) -> np.ndarray:
        return decode_prediction(self.files[sample_id], self.shapes.get(sample_id))

    def __contains__(self, sample_id: object) -> bool:
        # Mapping's default would decode the file (``self[key]``) only to test the key.
        return sample_id in self.files

    def __iter__(self) -> Iterator[str]:
        return iter(self.files)

    def __len__(self) -> int:
        return len(self.files)

    def subset(self, ids: Iterable[str]) -> MaskFolder:
        """The masks of ``ids`` only, in that order."""
        return MaskFolder({i: self.files[i] for i in ids}, self.shapes)


def binarize(array: Any, name: str) -> np.ndarray:
    """A predicted mask with values in {0, 1, 255} as uint8 {0, 1} ``[H, W]``.

    Leading singleton axes (``[1, H, W]``) are dropped; bool and numeric masks are accepted.

    Raises:
        PredictionError: on values outside {0, 1, 255} or a shape that is not 2-D.
    """
    if type(array).__module__.startswith("torch"):
        array = array.detach().cpu().numpy()
    array = np.asarray(array)
    while array.ndim > 2 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 2:
        raise _MaskProblem(
            "not 2-D", f"{name}: a mask must be 2-D [H, W], got shape {array.shape}."
        )
    if array.dtype == np.bool_:
        return array.astype(np.uint8)
    if array.dtype.kind not in "iuf":
        raise _MaskProblem(
            "not numeric", f"{name}: masks must be numeric, got dtype {array.dtype}."
        )
    if array.dtype != np.uint8:
        ok = (array == 0) | (array == 1) | (array == 255)
        if not ok.all():
            bad = np.unique(array[~ok])[:5].tolist()
            raise _MaskProblem(_VALUES, f"{name}: values {bad} outside {{0, 1, 255}}.")
        return (array != 0).astype(np.uint8)
    if array.max(initial=0) > 1:
        bad_mask = (array > 1) & (array != 255)
        if bad_mask.any():
            bad = np.unique(array[bad_mask])[:5].tolist()
            raise _MaskProblem(_VALUES, f"{name}: values {bad} outside {{0, 1, 255}}.")
        return (array != 0).view(np.uint8)
    return array


def _target_shapes(dataset: LandslideDataset, progress: bool) -> dict[str, tuple[int, int]]:
    """Every id's ground-truth ``(H, W)``, reading one sample at a time (only shapes are kept)."""
    from tqdm.auto import tqdm

    shapes = {}
    for i in tqdm(range(len(dataset)), desc="reading ground truth", disable=not progress):
        sample = dataset[i]
        shapes[sample["id"]] = tuple(sample["mask"].shape)
    return shapes


def check_sizes(
    predictions: Mapping[str, np.ndarray],
    shapes: Mapping[str, tuple[int, ...]],
    problems: _Problems,
) -> None:
    """Report every prediction whose ``[H, W]`` differs from its ground truth's."""
    for sample_id, shape in shapes.items():
        pred = predictions.get(sample_id)
        if pred is not None and tuple(pred.shape) != tuple(shape):
            got = "x".join(map(str, pred.shape))
            want = "x".join(map(str, shape))
            problems.add(_WRONG_SIZE, f"{sample_id} ({got}, expected {want})")


def read_predictions(
    folder: str | os.PathLike[str],
    dataset: LandslideDataset,
    *,
    check_size: bool = True,
    progress: bool = False,
) -> MaskFolder:
    """Validate a folder of predicted masks for one split, streaming over it.

    The ground truth's sizes are read first (one sample at a time), then each mask is checked by
    its PNG header (format, frames, mode, size against its ground truth) before its pixels are
    decoded, and its values are checked and dropped: memory holds one mask at a time whatever
    the split's size.

    Args:
        folder: folder with one ``<id>.png`` per sample of ``dataset``'s split.
        dataset: the dataset split the predictions are for.
        check_size: compare each mask's size with its ground truth (reads the split's samples);
            :func:`~landbench.evaluation.evaluate_predictions` checks sizes while scoring instead.
        progress: show progress bars.

    Returns:
        A :class:`MaskFolder`: id to uint8 ``[H, W]`` mask in {0, 1}, for every id of the split,
        in split order, each decoded when it is accessed.

    Raises:
        PredictionError: listing, by kind, every offending id: missing, extra, duplicated,
            named for another split, unreadable, not PNG, animated, not single-band 8-bit, too
            large, wrong size, values outside {0, 1, 255}.
    """
    problems = _Problems()
    shapes = _target_shapes(dataset, progress) if check_size else None
    predictions = collect_folder(folder, dataset, problems, progress=progress, shapes=shapes)
    problems.raise_if_any(f"Predictions in {folder}", dataset)
    return predictions


def collect_folder(
    folder: str | os.PathLike[str],
    dataset: LandslideDataset,
    problems: _Problems,
    progress: bool = False,
    shapes: Mapping[str, tuple[int, int]] | None = None,
) -> MaskFolder:
    """Check every well-named prediction of the split, adding every problem to ``problems``.

    Each file is checked by its header, then decoded to check its values, then dropped.

    Args:
        folder: the prediction folder.
        dataset: the split.
        problems: collects the problems.
        progress: show a progress bar.
        shapes: id to ground-truth ``(H, W)``; a mask of another size is never decoded.

    Returns:
        A :class:`MaskFolder` of the files that passed, in split order.

    Raises:
        PredictionError: only if ``folder`` is not a folder.
    """
    from tqdm.auto import tqdm

    files = _index_folder(Path(folder), dataset, problems)
    shapes = shapes or {}
    good: dict[str, Path] = {}
    for sample_id in tqdm(dataset.ids, desc="reading predictions", disable=not progress):
        if sample_id not in files:
            continue
        try:
            decode_prediction(files[sample_id], shapes.get(sample_id))
        except _MaskProblem as err:
            problems.add(err.kind, f"{sample_id} ({err})")
        else:
            good[sample_id] = files[sample_id]
    return MaskFolder(good, shapes)


def collect_mapping(
    predictions: Mapping[str, Any], dataset: LandslideDataset, problems: _Problems
) -> Mapping[str, np.ndarray]:
    """Binarise every well-named mask of a mapping, adding every problem to ``problems``.

    A :class:`MaskFolder` (already checked) is returned as a lazy subset, not decoded.
    """
    keep = set(_check_names([str(k) for k in predictions], dataset, problems))
    if isinstance(predictions, MaskFolder):  # checked already; stays on disk
        return predictions.subset(i for i in dataset.ids if i in keep)
    out: dict[str, np.ndarray] = {}
    for sample_id in dataset.ids:
        if sample_id not in keep:
            continue
        try:
            out[sample_id] = binarize(predictions[sample_id], sample_id)
        except _MaskProblem as err:
            problems.add(err.kind, f"{sample_id} ({err})")
    return out
