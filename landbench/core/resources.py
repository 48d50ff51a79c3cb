"""Package data: one function finds it in a source checkout and in an installed wheel alike.

Some data lives outside the ``landbench`` package in the repository, where people edit it
(the recipes in ``baselines/configs/``, the reported rows in ``leaderboard/reported/``, the dataset
cards in ``datasets_cards/``). Building a wheel copies these folders into ``landbench/_data/``
(``setup.py``), so an installed wheel carries them. The rest (leaderboard templates and
schemas, split id lists) already lives inside the package.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from landbench.core.errors import ConfigError, LandbenchError

PACKAGE_DIR = Path(__file__).resolve().parents[1]
"""The directory of the imported ``landbench`` package."""

DATA_DIR_NAME = "_data"
"""Folder inside the installed package that receives the repository's top-level data."""


class ResourceNotFoundError(LandbenchError, FileNotFoundError):
    """Package data is missing: a broken install, or a file name that is not shipped."""


@dataclass(frozen=True)
class ResourceKind:
    """Where one kind of package data lives.

    Attributes:
        package: path relative to the ``landbench`` package directory (in a wheel; also in a
            checkout for data that lives inside the package).
        checkout: path relative to the repository root, for data kept outside the package in a
            checkout (copied to ``package`` at build time); None when ``package`` is the only home.
        description: what the data is, for error messages.
    """

    package: str
    checkout: str | None
    description: str


KINDS: dict[str, ResourceKind] = {
    "recipes": ResourceKind(f"{DATA_DIR_NAME}/recipes", "baselines/configs", "training recipes"),
    "reported": ResourceKind(
        f"{DATA_DIR_NAME}/reported", "leaderboard/reported", "published (reported) leaderboard rows"
    ),
    "cards": ResourceKind(f"{DATA_DIR_NAME}/cards", "datasets_cards", "dataset card templates"),
    "templates": ResourceKind("leaderboard/templates", None, "leaderboard page templates"),
    "schema": ResourceKind("leaderboard/schema", None, "leaderboard JSON schemas"),
    "splits": ResourceKind("datasets/split_lists", None, "published split id lists"),
}
"""Every kind of package data: name -> where it lives."""


def _candidates(kind: ResourceKind, package_dir: Path) -> list[Path]:
    """Folders that may hold ``kind``, in order: the installed copy, then the checkout's."""
    found = [package_dir / kind.package]
    if kind.checkout is not None:
        found.append(package_dir.parent / kind.checkout)
    return found


def resource_path(kind: str, name: str | None = None, *, package_dir: Path = PACKAGE_DIR) -> Path:
    """The folder of one kind of package data, or one file in it.

    Args:
        kind: one of :data:`KINDS`: ``recipes`` (``<name>.yaml``), ``reported`` (``<paper>.json``),
            ``cards`` (``<dataset>.md``), ``templates``, ``schema``, ``splits``.
        name: a file name inside the folder (e.g. ``"synth-bijie-unet-rgb.yaml"``); None for
            the folder itself.
        package_dir: the ``landbench`` package directory (tests point it elsewhere).

    Returns:
        An existing folder (``name`` None) or file.

    Raises:
        ConfigError: ``kind`` is not a known kind.
        ResourceNotFoundError: the folder is missing (a broken install) or holds no ``name``.
    """
    if kind not in KINDS:
        raise ConfigError(f"Unknown package data kind {kind!r}; choose one of {', '.join(KINDS)}.")
    spec = KINDS[kind]
    candidates = _candidates(spec, package_dir)
    folder = next((path for path in candidates if path.is_dir()), None)
    if folder is None:
        raise ResourceNotFoundError(
            f"Cannot find landbench's {spec.description} (looked in "
            f"{', '.join(str(c) for c in candidates)}); reinstall landbench from a wheel or "
            "run it from a complete source checkout."
        )
    if name is None:
        return folder
    path = folder / name
    if not path.is_file():
        shipped = sorted(p.name for p in folder.iterdir() if p.is_file())
        raise ResourceNotFoundError(
            f"landbench ships no {spec.description} file {name!r} in {folder}; available: "
            f"{', '.join(shipped) or 'none'}."
        )
    return path
