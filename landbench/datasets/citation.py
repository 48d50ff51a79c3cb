"""What to cite when using a landbench dataset: its paper, landbench, and the exact split.

``landbench cite NAME [--root DIR]`` prints BibTeX for the dataset's paper and for landbench,
followed by the split version and the SHA-256 of the split manifest of the files in ``DIR``
(the manifest is a function of the sample ids present, so two groups holding the same files
cite the same hash).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from landbench._version import __version__
from landbench.core.errors import LandbenchError
from landbench.datasets.registry import dataset_class

LANDBENCH = f"""@software{{landbench,
  author    = {{{{The landbench developers}}}},
  title     = {{landbench: a reproducible benchmark for landslide segmentation from RGB imagery
               fused with a DEM}},
  version   = {{{__version__}}},
  year      = {{2026}},
  url       = {{https://github.com/landbench/landbench}}
}}"""


def split_line(name: str, root: str | os.PathLike[str] | None = None) -> str:
    """A BibTeX comment giving the split version and manifest SHA-256 of the files in ``root``.

    Args:
        name: dataset name.
        root: dataset root; None uses the dataset's default.

    Returns:
        ``% landbench split: <name> <version>, manifest sha256 <hex> (train N, ...)``, or a
        comment saying why the manifest could not be computed.
    """
    cls = dataset_class(name)
    kwargs = {} if root is None else {"root": root}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # count warnings are for loaders, not citations
            manifest = cls(split="train", **kwargs).manifest
    except (LandbenchError, FileNotFoundError) as err:
        where = f" in {Path(root)}" if root is not None else ""
        return (
            f"% landbench split: {name} {cls.split_version}; manifest sha256 unavailable: no "
            f"dataset files{where} ({type(err).__name__}). Pass --root DIR to cite the split "
            "of your files."
        )
    counts = ", ".join(f"{s} {n}" for s, n in manifest.counts().items())
    return (
        f"% landbench split: {name} {manifest.version}, manifest sha256 {manifest.sha256} "
        f"({counts})"
    )


def cite(name: str, root: str | os.PathLike[str] | None = None) -> str:
    """BibTeX for dataset ``name``, for landbench, and the split it was used with.

    Args:
        name: a registered dataset name.
        root: the dataset root whose split manifest to cite.

    Returns:
        The text to paste into a bibliography (entries, then a ``%`` comment for the split).

    Raises:
        ConfigError: if ``name`` is not a registered dataset.
    """
    paper = dataset_class(name).citation  # also validates the name
    entries = [paper, LANDBENCH] if paper else [LANDBENCH]
    return "\n\n".join(entries) + "\n\n" + split_line(name, root) + "\n"
