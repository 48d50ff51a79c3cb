"""Band names: canonical names, aliases, selection and the optical / terrain groups."""

from __future__ import annotations

import pytest

from landbench.core.bands import (
    TERRAIN_BANDS,
    band_indices,
    canonical_band,
    same_bands,
    split_groups,
)
from landbench.core.errors import ConfigError

L4S = ("B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B9", "B10", "B11", "B12", "slope", "DEM")


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("B4", "R"), ("B04", "R"), ("b3", "G"), ("B2", "B"), ("red", "R"), ("R", "R"),
        ("elevation", "DEM"), ("dem", "DEM"), ("Slope", "slope"), ("B8A", "B8A"),
        ("b12", "B12"), ("NIR", "B8"), ("my_band", "my_band"),
    ],
)  # fmt: skip
def test_canonical_band(name: str, canonical: str) -> None:
    assert canonical_band(name) == canonical


def test_canonical_band_rejects_non_names() -> None:
    for bad in ("", "  ", None, 3):
        with pytest.raises(ConfigError, match="non-empty string"):
            canonical_band(bad)  # type: ignore[arg-type]


def test_split_groups() -> None:
    assert TERRAIN_BANDS == ("DEM", "slope")
    assert split_groups(("R", "G", "B", "DEM")) == ([0, 1, 2], [3])
    assert split_groups(L4S) == (list(range(12)), [12, 13])
    assert split_groups(("elevation", "B4")) == ([1], [0])


def test_band_indices_selects_and_orders_through_aliases() -> None:
    assert band_indices(("R", "G", "B", "DEM"), L4S) == [3, 2, 1, 13]
    assert band_indices(("B4", "elevation"), ("R", "G", "B", "DEM")) == [0, 3]
    assert band_indices(("DEM", "R"), ("R", "G", "B", "DEM")) == [3, 0]
    with pytest.raises(ConfigError, match=r"Unknown band\(s\) \['NIR'\]"):
        band_indices(("R", "NIR"), ("R", "G", "B", "DEM"))
    with pytest.raises(ConfigError, match="repeats a band"):
        band_indices(("R", "B4"), L4S)
    with pytest.raises(ConfigError, match="non-empty sequence"):
        band_indices("RGB", L4S)
    with pytest.raises(ConfigError, match="non-empty sequence"):
        band_indices((), L4S)


def test_same_bands() -> None:
    assert same_bands(("B4", "B3", "B2", "elevation"), ("R", "G", "B", "DEM"))
    assert not same_bands(("R", "G"), ("G", "R"))
