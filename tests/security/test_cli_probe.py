"""The probe table of issue 16 as a test: every hostile input through ``landbench``'s CLI.

One row per probe (see /work/team/probe_table.md): each must end with exit status 2, one
``landbench: error:`` message naming the field or file, no traceback, and nothing written. The
theme modules (test_schema_inputs, test_masks, test_archives, test_weights, test_io) pin the
details; this table makes sure no probe comes back as a traceback or a silent pass.
"""

from __future__ import annotations

import json
import pickle
import stat
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from landbench.cli import main
from tests.security.conftest import assert_refused
from tests.security.test_masks import apng, huge_png


def _meta(text_old: str, text_new: str) -> Callable[[Path, Path, list[str]], list[str]]:
    def build(sub: Path, tmp: Path, ids: list[str]) -> list[str]:
        path = sub / "submission.json"
        text = path.read_text()
        assert text_old in text
        path.write_text(text.replace(text_old, text_new, 1))
        return ["leaderboard", "validate", str(sub)]

    return build


def _field(path: list[str], value) -> Callable[[Path, Path, list[str]], list[str]]:
    def build(sub: Path, tmp: Path, ids: list[str]) -> list[str]:
        meta = json.loads((sub / "submission.json").read_text())
        obj = meta
        for part in path[:-1]:
            obj = obj[part]
        obj[path[-1]] = value
        (sub / "submission.json").write_text(json.dumps(meta))
        return ["leaderboard", "validate", str(sub)]

    return build


def _mask(write: Callable[[Path, str], None]) -> Callable[[Path, Path, list[str]], list[str]]:
    def build(sub: Path, tmp: Path, ids: list[str]) -> list[str]:
        write(sub / "predictions" / "synth", ids[0])
        return ["leaderboard", "validate", str(sub)]

    return build


def _zip(*extra) -> Callable[[Path, Path, list[str]], list[str]]:
    def build(sub: Path, tmp: Path, ids: list[str]) -> list[str]:
        archive = tmp / "probe.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            for f in sorted(sub.rglob("*")):
                if f.is_file():
                    zf.write(f, f.relative_to(sub).as_posix())
            for info, data in extra:
                zf.writestr(info, data)
        return ["leaderboard", "validate", str(archive)]

    return build


def _huge(folder: Path, first: str) -> None:
    ids = sorted(p.stem for p in folder.glob("*.png"))[:6]
    for sample_id in ids:
        huge_png(folder / f"{sample_id}.png", 13000)


def _pickled_weights(sub: Path, tmp: Path, ids: list[str]) -> list[str]:
    (tmp / "w.safetensors").write_bytes(pickle.dumps({"a": 1}))
    return ["evaluate", "--model", str(tmp / "w.safetensors"), "--dataset", "synth",
            "--set", "n=20", "--set", "size=32", "--out", str(tmp / "r.json")]  # fmt: skip


def _weights(kind: str) -> Callable[[Path, Path, list[str]], list[str]]:
    def build(sub: Path, tmp: Path, ids: list[str]) -> list[str]:
        import torch
        from safetensors import safe_open
        from safetensors.torch import load_file, save_file

        from landbench.models import create_model, save_weights

        good = save_weights(create_model("fusionnet-resunet", size="tiny"), tmp / "ok.safetensors")
        if kind == "pt":
            path = tmp / "w.pt"
            torch.save(load_file(str(good)), path)
        else:
            with safe_open(str(good), "pt") as f:
                metadata = dict(f.metadata())
            config = json.loads(metadata["model_config"])
            config["base_channels"] = 1_000_000
            metadata["model_config"] = json.dumps(config)
            path = tmp / "huge.safetensors"
            save_file(load_file(str(good)), str(path), metadata=metadata)
        return ["evaluate", "--model", str(path), "--dataset", "synth", "--set", "n=20",
                "--set", "size=32", "--out", str(tmp / "r.json")]  # fmt: skip

    return build


def _symlink() -> zipfile.ZipInfo:
    info = zipfile.ZipInfo("predictions/synth/link.png")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


PROBES = {
    "schema_version 1.0": (_field(["schema_version"], 1.0), ["schema_version", "1.0"]),
    'schema_version "1"': (_field(["schema_version"], "1"), ["schema_version"]),
    "schema_version true": (_field(["schema_version"], True), ["schema_version"]),
    "schema_version 1e400": (
        _meta('"schema_version": 1', '"schema_version": 1e400'),
        ["submission.json", "out of range"],
    ),
    "nested JSON 100000 levels": (
        _meta('"team": "Team"', '"team": ' + "[" * 100_000 + "]" * 100_000),
        ["submission.json", "nested too deeply"],
    ),
    "submission.json over 1 MiB": (
        _meta('"team": "Team"', '"team": "' + "x" * (1 << 20) + '"'),
        ["submission.json", "bound of 1048576"],
    ),
    "NaN parameter_count": (
        _meta('"parameter_count": 1234', '"parameter_count": NaN'),
        ["submission.json", "NaN"],
    ),
    "lone surrogate in team": (_meta('"team": "Team"', '"team": "\\ud800"'), ["team"]),
    "lone surrogate in a key": (
        _meta('"team": "Team"', '"team": "T", "\\udfff": 1'),
        ["a key", "surrogate"],
    ),
    "parameter_count with 400 digits": (
        _field(["model", "parameter_count"], 10**400),
        ["model.parameter_count", "10000000000000"],
    ),
    "synth n = 10**30": (
        _field(["datasets", "synth", "dataset_kwargs", "n"], 10**30),
        ["dataset_kwargs.n", "100000"],
    ),
    "synth size = 10**6": (
        _field(["datasets", "synth", "dataset_kwargs", "size"], 10**6),
        ["dataset_kwargs.size", "2048"],
    ),
    'paper_url with "><script> and |': (
        _field(["paper_url"], 'https://x.org/"><script>alert(1)</script>|a'),
        ["paper_url"],
    ),
    "animated PNG mask": (_mask(lambda f, i: apng(f / f"{i}.png", 32, 32)), ["animated"]),
    "6 masks of 13000x13000 px": (_mask(_huge), ["13000x13000, expected 32x32"]),
    "RGB mask": (
        _mask(lambda f, i: Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(f / f"{i}.png")),
        ["not single-band 8-bit"],
    ),
    "mask of the wrong size": (
        _mask(lambda f, i: Image.fromarray(np.zeros((7, 9), np.uint8)).save(f / f"{i}.png")),
        ["7x9, expected 32x32"],
    ),
    "truncated PNG mask": (
        _mask(lambda f, i: (f / f"{i}.png").write_bytes((f / f"{i}.png").read_bytes()[:40])),
        ["unreadable"],
    ),
    "zip slip (../evil.png)": (_zip(("../evil.png", b"x")), ["contains '..'"]),
    "absolute path member": (_zip(("/tmp/evil.png", b"x")), ["absolute path"]),
    "symlink member": (_zip((_symlink(), "/etc/passwd")), ["symbolic link"]),
    "zip bomb (1.1 GB of zeros)": (
        _zip(("README.md", b"\0" * 1_100_000_000)),
        ["MAX_UNCOMPRESSED_BYTES"],
    ),
    "weights: pickle named .safetensors": (_pickled_weights, ["safetensors"]),
    "weights: torch.save .pt file": (_weights("pt"), ["safetensors"]),
    "weights: base_channels 1000000": (_weights("huge"), ["base_channels", "1000000", "512"]),
}


@pytest.mark.parametrize("probe", list(PROBES))
def test_probe_is_refused_clearly(probe, capsys, submission, tmp_path, synth_test):
    build, needles = PROBES[probe]
    argv = build(submission, tmp_path, list(synth_test.ids))
    assert_refused(capsys, argv, *needles, watch=[tmp_path])


def test_the_honest_submission_passes(capsys, submission):
    assert main(["leaderboard", "validate", str(submission)]) == 0, capsys.readouterr().err
