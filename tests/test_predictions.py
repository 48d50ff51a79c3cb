"""Reading prediction folders: every kind of bad input is refused, naming the offending ids."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from landbench.core.errors import LandbenchError
from landbench.datasets.base import LandslideDataset
from landbench.datasets.splits import SplitManifest
from landbench.evaluation import PredictionError, evaluate_predictions, read_predictions

IDS = [f"t{i:02d}" for i in range(10)]


class Tiny(LandslideDataset):
    """Ten tiles of different, non-square sizes; even ids hold a landslide square."""

    name = "tiny"

    @property
    def manifest(self) -> SplitManifest:
        return SplitManifest("tiny", "v1", {"train": IDS[:3], "val": IDS[3:5], "test": IDS[5:]})

    def _load(self, sample_id: str) -> dict[str, Any]:
        k = int(sample_id[1:])
        h, w = 8 + k, 11 + 2 * k
        mask = np.zeros((h, w), dtype=np.int64)
        if k % 2 == 0:
            mask[2:6, 3:9] = 1
        image = torch.zeros(4, h, w)
        image[0] = torch.from_numpy(mask) * 200.0
        return {"image": image, "mask": torch.from_numpy(mask)}


@pytest.fixture
def test_split() -> Tiny:
    return Tiny(split="test")


def write_truth(folder: Path, dataset: Tiny, scale: int = 255) -> dict[str, np.ndarray]:
    folder.mkdir(exist_ok=True)
    out = {}
    for sample in dataset:
        mask = sample["mask"].numpy().astype(np.uint8)
        Image.fromarray(mask * scale, mode="L").save(folder / f"{sample['id']}.png")
        out[sample["id"]] = mask
    return out


def problems_of(excinfo: pytest.ExceptionInfo[PredictionError]) -> dict[str, list[str]]:
    return excinfo.value.problems


def test_reads_a_valid_folder_0_255_and_0_1(tmp_path: Path, test_split: Tiny) -> None:
    truth = write_truth(tmp_path / "a", test_split, scale=255)
    write_truth(tmp_path / "b", test_split, scale=1)
    for folder in (tmp_path / "a", tmp_path / "b"):
        preds = read_predictions(folder, test_split)
        assert list(preds) == list(test_split.ids)
        for sample_id, mask in preds.items():
            assert mask.dtype == np.uint8
            np.testing.assert_array_equal(mask, truth[sample_id])
    assert evaluate_predictions(tmp_path / "a", test_split, progress=False).metrics["f1"] == 1.0


def test_missing_and_extra_ids_are_listed(tmp_path: Path, test_split: Tiny) -> None:
    write_truth(tmp_path, test_split)
    (tmp_path / "t07.png").unlink()
    (tmp_path / "t09.png").unlink()
    Image.fromarray(np.zeros((3, 3), np.uint8)).save(tmp_path / "zz99.png")
    Image.fromarray(np.zeros((3, 3), np.uint8)).save(tmp_path / "T06.png")
    with pytest.raises(PredictionError) as excinfo:
        read_predictions(tmp_path, test_split)
    message = str(excinfo.value)
    assert "missing (2): t07, t09" in message
    assert "zz99" in message and "nothing was scored" in message
    assert "T06 (did you mean t06?)" in message
    assert isinstance(excinfo.value, LandbenchError)


def test_other_split_ids_are_named(tmp_path: Path, test_split: Tiny) -> None:
    write_truth(tmp_path, test_split)
    Image.fromarray(np.zeros((8, 11), np.uint8)).save(tmp_path / "t00.png")
    Image.fromarray(np.zeros((8, 11), np.uint8)).save(tmp_path / "t03.png")
    with pytest.raises(PredictionError) as excinfo:
        read_predictions(tmp_path, test_split)
    (kind,) = [k for k in problems_of(excinfo) if "another split" in k]
    assert problems_of(excinfo)[kind] == ["t00 (train)", "t03 (val)"]


def test_duplicates_by_suffix_case(tmp_path: Path, test_split: Tiny) -> None:
    write_truth(tmp_path, test_split)
    (tmp_path / "t05.png").rename(tmp_path / "t05.PNG")
    Image.fromarray(np.zeros((13, 21), np.uint8)).save(tmp_path / "t05.png")
    with pytest.raises(PredictionError) as excinfo:
        read_predictions(tmp_path, test_split)
    assert problems_of(excinfo)["duplicated"] == ["t05 (t05.PNG, t05.png)"]


def test_non_png_files_and_folders_are_refused(tmp_path: Path, test_split: Tiny) -> None:
    write_truth(tmp_path, test_split)
    (tmp_path / "notes.txt").write_text("hi")
    (tmp_path / "sub").mkdir()
    (tmp_path / ".DS_Store").write_bytes(b"\0")  # hidden files are ignored
    with pytest.raises(PredictionError) as excinfo:
        read_predictions(tmp_path, test_split)
    assert problems_of(excinfo) == {"not a .png file": ["notes.txt"], "not a file": ["sub"]}


def test_wrong_size_lists_ids_and_sizes(tmp_path: Path, test_split: Tiny) -> None:
    write_truth(tmp_path, test_split)
    Image.fromarray(np.zeros((12, 20), np.uint8)).save(tmp_path / "t06.png")
    with pytest.raises(PredictionError) as excinfo:
        read_predictions(tmp_path, test_split)
    assert problems_of(excinfo)["wrong size (HxW)"] == ["t06 (12x20, expected 14x23)"]
    with pytest.raises(PredictionError, match=r"t06 \(12x20, expected 14x23\)"):
        evaluate_predictions(tmp_path, test_split, progress=False)


@pytest.mark.parametrize(
    ("writer", "kind"),
    [
        (lambda p, m: Image.fromarray(m * 7, mode="L").save(p), "values outside {0, 1, 255}"),
        (
            lambda p, m: Image.fromarray(np.stack([m] * 3, -1) * 255).save(p),
            "not single-band 8-bit",
        ),
        (lambda p, m: Image.fromarray(m.astype(np.uint16) * 255).save(p), "not single-band 8-bit"),
        (lambda p, m: Image.fromarray(m * 255).convert("1").save(p), "not single-band 8-bit"),
        (lambda p, m: Image.fromarray(m * 255).save(p, format="JPEG"), "not a PNG file"),
        (lambda p, m: p.write_bytes(b"\x89PNG\r\n\x1a\n garbage"), "unreadable"),
    ],
    ids=["values", "rgb", "16bit", "1bit", "jpeg", "corrupt"],
)
def test_bad_file_content(tmp_path: Path, test_split: Tiny, writer: Any, kind: str) -> None:
    truth = write_truth(tmp_path, test_split)
    writer(tmp_path / "t08.png", truth["t08"])
    writer(tmp_path / "t06.png", truth["t06"])
    with pytest.raises(PredictionError) as excinfo:
        read_predictions(tmp_path, test_split)
    assert list(problems_of(excinfo)) == [kind]
    listed = problems_of(excinfo)[kind]
    assert [item.split(" ")[0] for item in listed] == ["t06", "t08"]
    assert "t06" in str(excinfo.value) and "t08" in str(excinfo.value)


def test_truncated_png_is_unreadable(tmp_path: Path, test_split: Tiny) -> None:
    write_truth(tmp_path, test_split)
    data = (tmp_path / "t07.png").read_bytes()
    (tmp_path / "t07.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(PredictionError) as excinfo:
        read_predictions(tmp_path, test_split)
    assert [s.split(" ")[0] for s in problems_of(excinfo)["unreadable"]] == ["t07"]


def test_all_problems_are_reported_together(tmp_path: Path, test_split: Tiny) -> None:
    write_truth(tmp_path, test_split)
    (tmp_path / "t05.png").unlink()
    Image.fromarray(np.zeros((3, 3), np.uint8)).save(tmp_path / "extra1.png")
    Image.fromarray(np.full((16, 27), 9, np.uint8)).save(tmp_path / "t08.png")  # right size
    Image.fromarray(np.zeros((3, 3), np.uint8)).save(tmp_path / "t09.png")
    expected = {
        "missing": ["t05"],
        "extra (not in the split)": ["extra1"],
        "values outside {0, 1, 255}": ["t08"],
        "wrong size (HxW)": ["t09"],
    }
    for read in (
        lambda: read_predictions(tmp_path, test_split),
        lambda: evaluate_predictions(tmp_path, test_split, progress=False),
    ):
        with pytest.raises(PredictionError) as excinfo:
            read()
        problems = problems_of(excinfo)
        assert {k: [i.split(" ")[0] for i in v] for k, v in problems.items()} == expected


def test_missing_folder(tmp_path: Path, test_split: Tiny) -> None:
    with pytest.raises(PredictionError, match="does not exist"):
        read_predictions(tmp_path / "nope", test_split)


def test_mapping_input_is_validated_like_a_folder(test_split: Tiny) -> None:
    masks = {s["id"]: s["mask"] for s in test_split}
    assert evaluate_predictions(masks, test_split, progress=False).metrics["f1"] == 1.0
    as_255 = {k: v.numpy().astype(np.uint8) * 255 for k, v in masks.items()}
    assert evaluate_predictions(as_255, test_split, progress=False).metrics["f1"] == 1.0
    bad = dict(masks)
    del bad["t05"]
    bad["t01"] = masks["t06"]
    bad["t06"] = masks["t06"] * 3
    bad["t08"] = torch.zeros(2, 2, 2)
    with pytest.raises(PredictionError) as excinfo:
        evaluate_predictions(bad, test_split, progress=False)
    problems = problems_of(excinfo)
    assert problems["missing"] == ["t05"]
    assert problems["named for another split (not test)"] == ["t01 (train)"]
    assert [s.split(" ")[0] for s in problems["values outside {0, 1, 255}"]] == ["t06"]
    assert [s.split(" ")[0] for s in problems["not 2-D"]] == ["t08"]


def test_long_lists_are_truncated_but_counted(tmp_path: Path) -> None:
    ids = [f"s{i:03d}" for i in range(50)]

    class Many(Tiny):
        @property
        def manifest(self) -> SplitManifest:
            return SplitManifest("tiny", "v1", {"test": ids})

    tmp_path.mkdir(exist_ok=True)
    with pytest.raises(PredictionError) as excinfo:
        read_predictions(tmp_path, Many(split="test"))
    assert "missing (50): s000, s001" in str(excinfo.value)
    assert "... and 30 more" in str(excinfo.value)
    assert len(problems_of(excinfo)["missing"]) == 50


def test_mask_folder_membership_reads_no_file(tmp_path):
    """``id in folder`` looks at the ids only: the scorer tests membership for every tile."""
    from landbench.evaluation.predictions import MaskFolder

    broken = tmp_path / "t00.png"
    broken.write_bytes(b"not a png")
    folder = MaskFolder({"t00": broken})
    assert "t00" in folder and "t01" not in folder
    with pytest.raises(PredictionError):
        folder["t00"]
