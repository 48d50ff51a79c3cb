"""Leaderboard: submissions, every refusal, recomputed scoring, deterministic rendering."""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import landbench
from landbench.cli import main
from landbench.evaluation import evaluate_predictions, read_predictions
from landbench.leaderboard import (
    ArchiveError,
    SubmissionError,
    init_submission,
    predictions_sha256,
    render,
    submit,
    validate_submission,
)

REPO = Path(__file__).resolve().parents[1]
SYNTH = {"size": 32, "n": 40}


@pytest.fixture(scope="module")
def test_split():
    return landbench.load("synth", split="test", **SYNTH)


def write_masks(folder: Path, ds, kind: str = "truth", scale: int = 255) -> Path:
    """One PNG per test id: the ground truth, an empty mask, or a noisy copy."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(len(ds)):
        sample = ds[i]
        mask = sample["mask"].numpy().astype(np.uint8)
        if kind == "empty":
            mask = np.zeros_like(mask)
        elif kind == "noisy":
            flip = rng.random(mask.shape) < 0.05
            mask = np.where(flip, 1 - mask, mask).astype(np.uint8)
        Image.fromarray(mask * scale).save(folder / f"{sample['id']}.png")
    return folder


def fill(folder: Path, entry: str, model: str = "Model", team: str = "Team A", **extra) -> dict:
    """Replace every FILL ME of a scaffolded submission.json."""
    path = folder / "submission.json"
    meta = json.loads(path.read_text())
    meta.update(
        entry=entry,
        team=team,
        contact="someone@example.org",
        paper_url=None,
        license="MIT",
        code={"url": "https://example.org/code", "commit": "0123abcd"},
    )
    meta["model"].update(name=model, parameter_count=1234567)
    for spec in meta["datasets"].values():
        spec.update(
            inputs=["R", "G", "B", "DEM"],
            training_data="synth train split v1",
            external_data=False,
            pretrained_weights="none",
        )
    meta.update(extra)
    path.write_text(json.dumps(meta, indent=2))
    return meta


def make_submission(
    tmp: Path, ds, entry: str, kind: str = "truth", folder: str | None = None, **extra
) -> Path:
    folder = folder or f"sub-{entry}"
    masks = write_masks(tmp / f"masks-{folder}", ds, kind)
    out = init_submission("synth", masks, tmp / folder, dataset_kwargs=SYNTH)
    fill(out, entry, model=f"Model {entry}", **extra)
    return out


def edit_meta(folder: Path, change) -> None:
    path = folder / "submission.json"
    meta = json.loads(path.read_text())
    change(meta)
    path.write_text(json.dumps(meta))


def zip_folder(folder: Path, path: Path) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                zf.write(file, file.relative_to(folder).as_posix())
    return path


def refused(path, *needles: str, cls=SubmissionError, **kwargs) -> SubmissionError:
    with pytest.raises(cls) as info:
        validate_submission(path, **kwargs)
    message = str(info.value)
    for needle in needles:
        assert needle in message, message
    return info.value


def all_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*")) if folder.exists() else []


@pytest.fixture
def good(tmp_path, test_split) -> Path:
    return make_submission(tmp_path, test_split, "good")


# ------------------------------------------------------------------------------------- init


def test_init_scaffolds_a_submission(tmp_path, test_split):
    masks = write_masks(tmp_path / "masks", test_split, scale=1)
    out = init_submission("synth", masks, tmp_path / "sub", dataset_kwargs={"size": 32, "n": 40})
    meta = json.loads((out / "submission.json").read_text())
    spec = meta["datasets"]["synth"]
    assert spec["manifest_sha256"] == test_split.manifest.sha256
    assert spec["split_version"] == test_split.manifest.version
    # every generation parameter is recorded, defaults resolved, so the split can be rebuilt
    assert spec["dataset_kwargs"] == {"n": 40, "preset": "bijie", "seed": 0, "size": 32}
    assert meta["landbench_version"] == landbench.__version__
    copied = sorted(p.name for p in (out / "predictions" / "synth").iterdir())
    assert copied == sorted(f"{i}.png" for i in test_split.ids)
    for name in copied:  # masks are copied unchanged
        assert (out / "predictions/synth" / name).read_bytes() == (masks / name).read_bytes()
    # what landbench cannot know is marked and refused until filled
    err = refused(out, "model.name", "team", "contact", "code.url", "datasets.synth.inputs")
    assert all("not filled in yet" in p for p in err.problems), err.problems


def test_python_path_for_zoo_entries(tmp_path, test_split):
    """The lead's path: masks in memory -> folder -> complete submission -> result -> tables."""
    from landbench.leaderboard import write_prediction_folder

    masks = {s["id"]: s["mask"] for s in (test_split[i] for i in range(len(test_split)))}
    folder = write_prediction_folder(masks, tmp_path / "masks")
    known = {
        "entry": "zoo-oracle",
        "team": "landbench",
        "contact": "maintainers@example.org",
        "paper_url": None,
        "license": "MIT",
        "code": {"url": "https://example.org/landbench", "commit": "v0.1.0"},
        "model": {"name": "Oracle", "parameter_count": 1},
        "datasets": {
            "synth": {
                "inputs": ["R", "G", "B", "DEM"],
                "training_data": "none",
                "external_data": False,
                "pretrained_weights": "none",
            }
        },
    }
    sub = init_submission("synth", folder, tmp_path / "sub", dataset_kwargs=SYNTH, metadata=known)
    board = tmp_path / "board"
    path = submit(sub, board)
    assert (
        json.loads(path.read_text())["results"]["synth"]["seeds"][0]["evaluation"]["metrics"]["f1"]
        == 1.0
    )
    render(board)
    assert "Oracle (`zoo-oracle`)" in (board / "README.md").read_text()
    with pytest.raises(landbench.core.errors.LandbenchError, match="already exists"):
        write_prediction_folder(masks, folder)


def test_init_refuses_bad_masks_and_writes_nothing(tmp_path, test_split):
    masks = write_masks(tmp_path / "masks", test_split)
    (masks / f"{test_split.ids[0]}.png").unlink()
    with pytest.raises(landbench.core.errors.LandbenchError, match="missing"):
        init_submission("synth", masks, tmp_path / "sub", dataset_kwargs=SYNTH)
    assert not (tmp_path / "sub").exists()


def test_init_refuses_existing_output_and_path_options(tmp_path, test_split):
    masks = write_masks(tmp_path / "masks", test_split)
    (tmp_path / "taken").mkdir()
    with pytest.raises(landbench.core.errors.LandbenchError, match="already exists"):
        init_submission("synth", masks, tmp_path / "taken", dataset_kwargs=SYNTH)
    with pytest.raises(SubmissionError, match="root"):
        init_submission("synth", masks, tmp_path / "sub", dataset_kwargs={**SYNTH, "root": "x"})
    assert not (tmp_path / "sub").exists()
    assert all_files(tmp_path / "taken") == []


# ------------------------------------------------------------------------ metadata refusals


def test_valid_submission_passes(good, test_split):
    sub = validate_submission(good)
    assert sub.entry == "good"
    assert sorted(sub.predictions["synth"][None]) == sorted(test_split.ids)


def test_schema_violations_are_all_listed(good):
    def change(meta):
        meta["contact"] = "not an address"
        meta["model"]["parameter_count"] = -3
        meta["datasets"]["synth"]["inputs"] = ["RGB"]
        meta["surprise"] = 1
        del meta["license"]

    edit_meta(good, change)
    err = refused(
        good, "contact", "parameter_count", "inputs[0]", "surprise", "'license' is a required"
    )
    assert len(err.problems) == 5, err.problems


def test_unknown_schema_version_is_refused(good):
    edit_meta(good, lambda m: m.update(schema_version=3))
    refused(good, "unknown schema_version 3", "Upgrade landbench")
    edit_meta(good, lambda m: m.pop("schema_version"))
    refused(good, "no schema_version")


def test_invalid_json_is_refused(good):
    (good / "submission.json").write_text("{not json")
    refused(good, "submission.json is not valid JSON")


def test_stale_split_hash_is_refused(good):
    edit_meta(good, lambda m: m["datasets"]["synth"].update(manifest_sha256="0" * 64))
    refused(good, "manifest_sha256", "predictions were made on another split")
    edit_meta(good, lambda m: m["datasets"]["synth"].update(split_version="v9"))
    refused(good, "split_version is 'v9'")


def test_split_rebuilt_from_recorded_synth_parameters(good):
    # other generation parameters give another test split: the hash no longer matches
    edit_meta(good, lambda m: m["datasets"]["synth"]["dataset_kwargs"].update(seed=1))
    refused(good, "manifest_sha256", "missing")


def test_unknown_dataset_and_stray_files_are_refused(good):
    edit_meta(good, lambda m: m["datasets"].update(nope=m["datasets"]["synth"]))
    (good / "notes.txt").write_text("hi")
    (good / "predictions" / "hokkaido").mkdir()
    refused(good, "unknown dataset 'nope'", "'notes.txt'", "predictions/hokkaido/")


def test_real_dataset_without_its_files_is_refused_clearly(good, tmp_path):
    def change(meta):
        meta["datasets"]["bijie"] = dict(meta["datasets"]["synth"], dataset_kwargs={})

    edit_meta(good, change)
    (good / "predictions" / "bijie").mkdir()
    refused(good, "datasets.bijie: cannot load the test split", root=str(tmp_path / "no-data"))


def test_path_options_cannot_be_recorded(good):
    edit_meta(good, lambda m: m["datasets"]["synth"]["dataset_kwargs"].update(root="/data"))
    refused(good, "['root'] may not be recorded")


# --------------------------------------------------------------------------- mask refusals


def _mask_path(folder: Path, ds, index: int = 0) -> Path:
    return folder / "predictions" / "synth" / f"{ds.ids[index]}.png"


def test_missing_extra_and_duplicate_ids_are_refused(good, test_split):
    _mask_path(good, test_split, 0).unlink()
    shutil.copy(_mask_path(good, test_split, 1), good / "predictions/synth/not-an-id.png")
    dup = _mask_path(good, test_split, 2)
    shutil.copy(dup, dup.with_suffix(".PNG"))
    err = refused(good, "missing (1)", test_split.ids[0], "not-an-id", "duplicated", dup.stem)
    assert len(err.problems) == 3, err.problems


def test_wrong_size_and_non_binary_masks_are_refused(good, test_split):
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(_mask_path(good, test_split, 0))
    bad = np.zeros((32, 32), np.uint8)
    bad[0, 0] = 7
    Image.fromarray(bad).save(_mask_path(good, test_split, 1))
    refused(good, "values outside {0, 1, 255} (1)", test_split.ids[1])
    _mask_path(good, test_split, 1).unlink()
    shutil.copy(_mask_path(good, test_split, 2), _mask_path(good, test_split, 1))
    refused(good, "wrong size", "8x8, expected 32x32")


def test_other_bands_bit_depths_and_unreadable_files_are_refused(good, test_split):
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(_mask_path(good, test_split, 0))
    Image.fromarray(np.zeros((32, 32), np.uint16)).save(_mask_path(good, test_split, 1))
    _mask_path(good, test_split, 2).write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    err = refused(good, "3-band RGB", "16-bit", "unreadable", test_split.ids[2])
    assert len(err.problems) == 2, err.problems  # "not single-band 8-bit" (2 ids), "unreadable"


# ------------------------------------------------------------------------ archive refusals


def test_zip_submission_round_trips(good, tmp_path):
    archive = zip_folder(good, tmp_path / "good.zip")
    assert validate_submission(archive).entry == "good"
    # a zip of the folder itself (one top-level folder) is accepted too
    wrapped = tmp_path / "wrapped.zip"
    with zipfile.ZipFile(wrapped, "w") as zf:
        for file in sorted(good.rglob("*")):
            if file.is_file():
                zf.write(file, f"good/{file.relative_to(good).as_posix()}")
    assert validate_submission(wrapped).entry == "good"


@pytest.mark.parametrize(
    ("member", "needle"),
    [
        ("/etc/evil.png", "absolute path"),
        ("predictions/../../evil.png", "contains '..'"),
        ("C:/evil.png", "absolute path"),
        ("predictions\\synth\\evil.png", "backslash"),
    ],
)
def test_unsafe_member_paths_are_refused(good, tmp_path, member, needle):
    archive = zip_folder(good, tmp_path / "bad.zip")
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr(member, b"x")
    refused(archive, needle, cls=ArchiveError)
    assert not (tmp_path.parent / "evil.png").exists()


def test_symlinks_are_refused_in_archives_and_folders(good, tmp_path):
    archive = zip_folder(good, tmp_path / "bad.zip")
    link = zipfile.ZipInfo("predictions/synth/link.png")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr(link, "/etc/passwd")
    refused(archive, "symbolic link", cls=ArchiveError)
    os.symlink("/etc/passwd", good / "predictions" / "synth" / "link.png")
    refused(good, "symbolic link", cls=ArchiveError)


def test_duplicate_archive_members_are_refused(good, tmp_path, test_split):
    archive = zip_folder(good, tmp_path / "dup.zip")
    name = f"predictions/synth/{test_split.ids[0]}.png"
    with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(archive, "a") as zf:
        zf.writestr(name, (good / name).read_bytes())
    refused(archive, "appears more than once", cls=ArchiveError)


def test_archive_limits_are_enforced(good, tmp_path):
    archive = zip_folder(good, tmp_path / "good.zip")
    n_files = sum(1 for p in good.rglob("*") if p.is_file())
    n_bytes = sum(p.stat().st_size for p in good.rglob("*") if p.is_file())
    refused(archive, "MAX_FILES", cls=ArchiveError, max_files=n_files - 1)
    refused(archive, "MAX_UNCOMPRESSED_BYTES", cls=ArchiveError, max_bytes=n_bytes - 1)
    refused(good, "MAX_FILES", cls=ArchiveError, max_files=n_files - 1)
    assert validate_submission(archive, max_files=n_files, max_bytes=n_bytes).entry == "good"


def test_zip_bomb_is_refused_before_unpacking(tmp_path, monkeypatch):
    from landbench.leaderboard import archive as archive_module

    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("submission.json", b"\0" * 4_000_000)  # compresses ~1000x
    assert bomb.stat().st_size < 50_000
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where archives are unpacked
    refused(bomb, "4000000 bytes uncompressed", cls=ArchiveError, max_bytes=1_000_000)
    assert all_files(scratch) == []  # nothing unpacked, nothing left behind
    assert archive_module.MAX_UNCOMPRESSED_BYTES == 1 << 30  # the documented default


def test_not_an_archive_is_refused(tmp_path):
    (tmp_path / "x.zip").write_text("no zip")
    refused(tmp_path / "x.zip", "neither a folder nor a zip", cls=ArchiveError)
    refused(tmp_path / "nothing", "does not exist", cls=ArchiveError)


# ---------------------------------------------------------------------------- submit, score


def test_honest_submission_round_trips_to_the_evaluator(good, tmp_path, test_split):
    board = tmp_path / "board"
    noisy = make_submission(tmp_path, test_split, "noisy", kind="noisy")
    path = submit(zip_folder(noisy, tmp_path / "noisy.zip"), board)
    assert path == board / "results" / "noisy.json"
    record = json.loads(path.read_text())
    result = record["results"]["synth"]
    direct = evaluate_predictions(
        read_predictions(noisy / "predictions" / "synth", test_split), test_split, progress=False
    ).to_dict()
    for key in ("counts", "metrics", "intervals", "per_image", "evaluator_version"):
        assert result["seeds"][0]["evaluation"][key] == direct[key], key
    assert 0 < result["seeds"][0]["evaluation"]["metrics"]["f1"] < 1
    assert result["seeds"][0]["seed"] is None  # a schema-1 submission: one unnamed seed
    f1 = result["seeds"][0]["evaluation"]["metrics"]["f1"]
    assert result["summary"] == {"n_seeds": 1, "f1_mean": f1, "f1_std": None, "f1_per_seed": [f1]}
    assert record["schema_version"] == 2 and record["provenance"]["versions"]["numpy"]
    assert result["manifest_sha256"] == test_split.manifest.sha256
    assert result["synthetic"] is True
    assert result["dataset_kwargs"] == {"n": 40, "preset": "bijie", "seed": 0, "size": 32}
    assert record["submission"]["entry"] == "noisy"
    assert record["submitted_at"].endswith("Z")
    masks = read_predictions(noisy / "predictions" / "synth", test_split)
    assert result["seeds"][0]["predictions_sha256"] == predictions_sha256(masks)


def test_predictions_hash_ignores_png_encoding(tmp_path, test_split):
    a = read_predictions(write_masks(tmp_path / "a", test_split, scale=1), test_split)
    b = read_predictions(write_masks(tmp_path / "b", test_split, scale=255), test_split)
    c = read_predictions(write_masks(tmp_path / "c", test_split, kind="empty"), test_split)
    assert predictions_sha256(a) == predictions_sha256(b) != predictions_sha256(c)


def test_reused_entry_name_is_refused_and_kept(good, tmp_path, test_split):
    board = tmp_path / "board"
    first = submit(good, board)
    before = first.read_bytes()
    other = make_submission(tmp_path, test_split, "good", kind="empty", folder="other")
    with pytest.raises(SubmissionError, match="already on the leaderboard"):
        submit(other, board)
    assert first.read_bytes() == before
    refused(other, "already on the leaderboard", leaderboard_dir=board)


def test_refused_submission_writes_nothing(good, tmp_path, test_split):
    board = tmp_path / "board"
    _mask_path(good, test_split).unlink()
    with pytest.raises(SubmissionError):
        submit(good, board)
    assert all_files(board) == []


def test_result_is_written_atomically(good, tmp_path, monkeypatch):
    board = tmp_path / "board"
    (board / "results").mkdir(parents=True)

    def crash(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        submit(good, board)
    assert all_files(board / "results") == []  # no partial file, no temporary left behind


# ------------------------------------------------------------------------------------- CLI


def test_cli_init_validate_submit(tmp_path, test_split, capsys):
    masks = write_masks(tmp_path / "masks", test_split)
    out = tmp_path / "sub"
    args = ["leaderboard", "init", "--dataset", "synth", "--predictions", str(masks)]
    assert main([*args, "--out", str(out), "--set", "size=32", "--set", "n=40"]) == 0
    assert main(["leaderboard", "validate", str(out)]) == 2
    err = capsys.readouterr().err
    assert "refused" in err and "model.name" in err and "Traceback" not in err
    fill(out, "cli")
    assert main(["leaderboard", "validate", str(out)]) == 0
    board = tmp_path / "board"
    assert main(["leaderboard", "submit", str(out), "--leaderboard-dir", str(board), "-q"]) == 0
    assert "pooled F1 1.0000" in capsys.readouterr().out
    assert (board / "results" / "cli.json").is_file()
    assert main([*args, "--out", str(tmp_path / "other"), "--set", "oops"]) == 2
    assert "--set expects key=value" in capsys.readouterr().err
    assert not (tmp_path / "other").exists()
