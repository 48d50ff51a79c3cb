"""Hostile weights files: architectures too large to allocate, file paths, pickles (issue 16)."""

from __future__ import annotations

import json

import pytest
import torch

from landbench.core.errors import InvalidDataError
from landbench.models import create_model, load_weights, save_weights
from landbench.models.registry import MAX_PARAMETERS


def _rewrite_metadata(path, **changes) -> None:
    """Edit a safetensors header's metadata in place (what an attacker would do)."""
    raw = path.read_bytes()
    length = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + length])
    for key, value in changes.items():
        header["__metadata__"][key] = value if isinstance(value, str) else json.dumps(value)
    new = json.dumps(header).encode()
    new += b" " * (-len(new) % 8)
    path.write_bytes(len(new).to_bytes(8, "little") + new + raw[8 + length :])


@pytest.fixture
def weights(tmp_path):
    model = create_model("fusionnet-resunet", size="tiny")
    return save_weights(model, tmp_path / "w.safetensors", {})


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"base_channels": 1_000_000}, r"base_channels=1000000 is outside its bound \[1, 512\]"),
        ({"depth": 40}, r"depth=40 is outside its bound \[1, 6\]"),
        ({"base_channels": 10**30}, r"outside its bound \[1, 512\]"),
        ({"base_channels": 512, "depth": 6}, rf"above the bound of {MAX_PARAMETERS:,}"),
        ({"base_channels": 3.5}, "must be an integer"),
    ],
)
def test_huge_architectures_are_refused_before_allocation(weights, config, message) -> None:
    _rewrite_metadata(weights, model_config={"size": "tiny", **config})
    # The check runs on the config and the meta device: far below the memory of a real build.
    import tracemalloc

    tracemalloc.start()
    with pytest.raises(InvalidDataError, match=rf"w.safetensors: .*{message}"):
        load_weights(weights)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 50 * 2**20


@pytest.mark.parametrize(
    ("name", "config", "message"),
    [
        ("unet-rgbdem", {"decoder_channels": [10**6] * 5}, "decoder_channels=1000000"),
        ("slope-threshold", {"bins": 10**12}, r"bins=1000000000000 is outside its bound"),
        ("hgb-pixel", {"max_iter": 10**9}, r"max_iter=1000000000 is outside its bound"),
        ("hgb-pixel", {"max_leaf_nodes": 10**7}, r"max_leaf_nodes=10000000 is outside"),
    ],
)
def test_every_model_bounds_its_widths(weights, name, config, message) -> None:
    _rewrite_metadata(weights, model=name, model_config=config)
    with pytest.raises(InvalidDataError, match=message):
        load_weights(weights)


def test_band_lists_are_bounded_and_checked(weights) -> None:
    _rewrite_metadata(weights, bands=[f"b{i}" for i in range(10**4)])
    with pytest.raises(InvalidDataError, match="at most 64 bands"):
        load_weights(weights)
    _rewrite_metadata(weights, bands={"R": 1})
    with pytest.raises(InvalidDataError, match="non-empty list of band names"):
        load_weights(weights)
    _rewrite_metadata(weights, bands=["R", "G", "B", "DEM"], model_config={"bands": ["DEM"]})
    with pytest.raises(InvalidDataError, match="differ from model_config bands"):
        load_weights(weights)


def test_weights_never_name_files(weights, tmp_path) -> None:
    secret = tmp_path / "secret.pth"
    torch.save({"x": torch.zeros(1)}, secret)
    _rewrite_metadata(
        weights,
        model="fusionnet-vgg16",
        model_config={"pretrained": True, "weights_path": str(secret)},
    )
    with pytest.raises(
        InvalidDataError, match=r"model_config sets \['pretrained', 'weights_path'\]"
    ):
        load_weights(weights)


def test_an_honest_file_still_loads(weights) -> None:
    model, meta = load_weights(weights)
    assert meta["bands"] == ["R", "G", "B", "DEM"] and model.config["base_channels"] == 8
