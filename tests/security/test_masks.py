"""Hostile prediction masks: checked by header before any pixel is decoded, read as a stream.

Issue 16 items 2 and 11: animated PNGs, wrong sizes, wrong modes and decompression bombs are
refused from the PNG header alone; validation holds one mask at a time, whatever the split.
"""

from __future__ import annotations

import io
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFile

from landbench.datasets.base import LandslideDataset
from landbench.datasets.splits import SplitManifest
from landbench.evaluation import PredictionError, evaluate_predictions, read_predictions
from landbench.evaluation.predictions import (
    MAX_MASK_PIXELS,
    MaskFolder,
    decode_prediction,
    read_mask_header,
)
from tests.security.conftest import assert_refused

SIDE = 256
IDS = [f"s{i:03d}" for i in range(40)]


class Squares(LandslideDataset):
    """40 test tiles of 256x256 with a landslide square each."""

    name = "squares"

    @property
    def manifest(self) -> SplitManifest:
        return SplitManifest("squares", "v1", {"train": [], "val": [], "test": IDS})

    def _load(self, sample_id: str) -> dict[str, Any]:
        mask = np.zeros((SIDE, SIDE), dtype=np.int64)
        mask[10:50, 20:90] = 1
        return {"image": torch.zeros(4, SIDE, SIDE), "mask": torch.from_numpy(mask)}


@pytest.fixture
def squares() -> Squares:
    return Squares(split="test")


def write_truth(folder: Path, ids=IDS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    mask = np.zeros((SIDE, SIDE), np.uint8)
    mask[10:50, 20:90] = 255
    for sample_id in ids:
        Image.fromarray(mask).save(folder / f"{sample_id}.png")
    return folder


@pytest.fixture
def decoded(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the files whose pixels Pillow decodes."""
    names: list[str] = []
    real = ImageFile.ImageFile.load

    def load(self):
        names.append(Path(getattr(self, "filename", "") or "").name)
        return real(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    return names


def apng(path: Path, h: int, w: int) -> None:
    a = Image.fromarray(np.zeros((h, w), np.uint8))
    b = Image.fromarray(np.full((h, w), 255, np.uint8))
    a.save(path, save_all=True, append_images=[b])


def test_animated_png_is_refused_from_its_header(tmp_path, squares, decoded):
    folder = write_truth(tmp_path / "p")
    apng(folder / "s003.png", SIDE, SIDE)
    with pytest.raises(PredictionError) as info:
        read_predictions(folder, squares)
    assert list(info.value.problems) == ["animated (more than one frame)"]
    assert info.value.problems["animated (more than one frame)"][0].startswith("s003 ")
    assert "s003.png" not in decoded


def test_wrong_size_is_refused_before_decoding(tmp_path, squares, decoded):
    folder = write_truth(tmp_path / "p")
    Image.fromarray(np.zeros((SIDE, SIDE + 1), np.uint8)).save(folder / "s007.png")
    with pytest.raises(PredictionError) as info:
        read_predictions(folder, squares)
    assert info.value.problems == {"wrong size (HxW)": ["s007 (256x257, expected 256x256)"]}
    assert "s007.png" not in decoded and "s008.png" in decoded


def test_wrong_mode_is_refused_before_decoding(tmp_path, squares, decoded):
    folder = write_truth(tmp_path / "p")
    Image.fromarray(np.zeros((SIDE, SIDE, 3), np.uint8)).save(folder / "s001.png")
    Image.fromarray(np.zeros((SIDE, SIDE), np.uint16)).save(folder / "s002.png")
    with pytest.raises(PredictionError) as info:
        read_predictions(folder, squares)
    assert [p.split()[0] for p in info.value.problems["not single-band 8-bit"]] == ["s001", "s002"]
    assert "s001.png" not in decoded and "s002.png" not in decoded


def huge_png(path: Path, side: int) -> None:
    """A greyscale PNG of ``side`` x ``side`` zeros, written row by row (a few hundred kB)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    comp = zlib.compressobj(9)
    row = b"\0" * (side + 1)
    data = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


def test_decompression_bomb_is_refused_from_the_header(tmp_path, squares, decoded):
    folder = write_truth(tmp_path / "p")
    for sample_id in IDS[:6]:
        huge_png(folder / f"{sample_id}.png", 13000)
    assert (folder / "s000.png").stat().st_size < 400_000
    tracemalloc.start()
    with pytest.raises(PredictionError) as info:
        read_predictions(folder, squares)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(info.value.problems["wrong size (HxW)"]) == 6
    assert not {f"s00{i}.png" for i in range(6)} & set(decoded)
    assert peak < 20 * 2**20  # 13000x13000 is 161 MiB per mask once decoded


def test_pixel_bound_without_ground_truth(tmp_path):
    side = int(MAX_MASK_PIXELS**0.5) + 1
    huge_png(tmp_path / "big.png", side)
    with pytest.raises(PredictionError, match=f"bound of {MAX_MASK_PIXELS}"):
        read_mask_header(tmp_path / "big.png")
    with pytest.raises(PredictionError, match="MAX_MASK_PIXELS"):
        decode_prediction(tmp_path / "big.png")


def test_validation_streams_over_the_split(tmp_path, squares):
    """Peak memory of validating 40 masks stays that of a few masks, not of the split."""
    folder = write_truth(tmp_path / "p")
    tracemalloc.start()
    masks = read_predictions(folder, squares)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    one_mask = SIDE * SIDE * 8  # the ground truth's int64 mask, the largest array in play
    assert peak < 6 * one_mask, peak  # holding the split would take 40 masks or more
    assert isinstance(masks, MaskFolder) and len(masks) == len(IDS)
    assert masks["s005"].sum() == 40 * 70  # decoded on access, values {0, 1}
    assert evaluate_predictions(masks, squares, progress=False).metrics["f1"] == 1.0


def test_animated_mask_through_the_cli(capsys, submission, synth_test):
    first = synth_test.ids[0]
    apng(submission / "predictions" / "synth" / f"{first}.png", 32, 32)
    assert_refused(
        capsys,
        ["leaderboard", "validate", str(submission)],
        "animated",
        first,
        watch=[submission],
    )


def test_huge_masks_through_the_cli(capsys, submission, synth_test):
    for sample_id in synth_test.ids[:6]:
        huge_png(submission / "predictions" / "synth" / f"{sample_id}.png", 13000)
    assert_refused(
        capsys,
        ["leaderboard", "validate", str(submission)],
        "wrong size (HxW) (6)",
        "13000x13000, expected 32x32",
        watch=[submission],
    )


def png_bytes(h: int, w: int, mode: str) -> bytes:
    buffer = io.BytesIO()
    channels = {"L": (h, w), "RGB": (h, w, 3), "LA": (h, w, 2)}[mode]
    Image.fromarray(np.zeros(channels, np.uint8), mode).save(buffer, format="PNG")
    return buffer.getvalue()


@settings(max_examples=50, deadline=None)
@given(
    h=st.integers(1, 40),
    w=st.integers(1, 40),
    mode=st.sampled_from(["L", "RGB", "LA"]),
    cut=st.integers(0, 400),
    flips=st.lists(st.tuples(st.integers(0, 400), st.integers(1, 255)), max_size=3),
)
def test_any_mangled_png_gives_a_mask_or_a_prediction_error(
    tmp_path_factory, h, w, mode, cut, flips
):
    data = bytearray(png_bytes(h, w, mode))
    for pos, xor in flips:
        if pos < len(data):
            data[pos] ^= xor
    if cut:
        data = data[: max(len(data) - cut, 0)]
    path = tmp_path_factory.mktemp("fuzz") / "m.png"
    path.write_bytes(bytes(data))
    try:
        mask = decode_prediction(path, expected=(h, w))
    except PredictionError as err:
        assert "m.png" in str(err) or "expected" in str(err)
    else:
        assert mask.shape == (h, w) and mask.dtype == np.uint8 and mask.max(initial=0) <= 1
