"""``landbench datasets ...`` and ``landbench cite`` through the command line entry point."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from landbench.cli import main
from landbench.datasets import Bijie, Hokkaido
from landbench.datasets import download as dl

DATA = Path(__file__).parent / "data"
BIJIE = DATA / "bijie"
HOKKAIDO = DATA / "hokkaido"

pytestmark = pytest.mark.filterwarnings("ignore::landbench.datasets.base.DatasetCountWarning")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    from landbench.datasets import DATASETS

    code, out, _ = run(capsys, "datasets", "list")
    assert code == 0 and out.split() == sorted(DATASETS)
    assert {"bijie", "hokkaido", "synth"} <= set(out.split())


def test_list_as_a_subprocess() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "landbench", "datasets", "list"], capture_output=True, text=True
    )
    assert proc.returncode == 0 and "bijie" in proc.stdout.split()


@pytest.mark.parametrize(
    ("name", "needles"),
    [
        ("bijie", ["landslide 770, non-landslide 2003", "per-id hash", "70/10/20", "gpcv.whu"]),
        ("hokkaido", ["train 39, val 14, test 15", "authors' partition", "import hokkaido"]),
        ("synth", ["synth:", "split version: v2", "bands: R, G, B, DEM"]),
    ],
)
def test_info(capsys: pytest.CaptureFixture[str], name: str, needles: list[str]) -> None:
    code, out, _ = run(capsys, "datasets", "info", name)
    assert code == 0
    for needle in needles:
        assert needle in out


def test_unknown_dataset(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "datasets", "info", "alps")
    assert code == 2 and "Unknown dataset 'alps'" in err and "bijie" in err


def test_verify_fake_bijie_fails_with_counts(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "datasets", "verify", "bijie", "--root", str(BIJIE))
    assert code == 1
    assert "landslide: 7 samples, 763 fewer than the official 770" in out
    assert "DEM dtype: uint16 x9, uint8 x8" in out and "DEM raw value range: 0 .. " in out
    assert f"manifest sha256: {Bijie(BIJIE).manifest.sha256}" in out


def test_verify_ok(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(Bijie, "official_counts", {"landslide": 7, "non-landslide": 10})
    code, out, _ = run(capsys, "datasets", "verify", "bijie", "--root", str(BIJIE))
    assert code == 0 and out.rstrip().endswith("OK")
    shutil.copytree(BIJIE / Bijie.directory, tmp_path / Bijie.directory)
    (tmp_path / Bijie.directory / "landslide" / "dem" / "js075.png").unlink()
    code, out, _ = run(capsys, "datasets", "verify", "bijie", "--root", str(tmp_path))
    assert code == 1 and "js075.png has no DEM" in out


def test_verify_hokkaido_and_missing_root(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = run(capsys, "datasets", "verify", "hokkaido", "--root", str(HOKKAIDO))
    assert code == 1 and "train: 3 snippets, 36 fewer than the official 39" in out
    code, _, err = run(capsys, "datasets", "verify", "hokkaido", "--root", str(tmp_path))
    assert code == 2 and f"{tmp_path / 'Hokkaido'} does not exist" in err
    code, _, err = run(capsys, "datasets", "verify", "synth", "--root", str(tmp_path))
    assert code == 2 and "no files to verify" in err


@pytest.mark.parametrize(("name", "where"), [("bijie", "gpcv.whu.edu.cn"),
                                              ("hokkaido", "karstCand")])  # fmt: skip
def test_download_without_url(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str, where: str
) -> None:
    code, out, err = run(capsys, "datasets", "download", name, "--root", str(tmp_path))
    assert code == 2 and where in err and "cannot be downloaded automatically" in err
    assert "Traceback" not in err and list(tmp_path.iterdir()) == []


def test_download_with_url(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(Bijie, "url", "https://example.org/bijie.zip")
    monkeypatch.setattr(Bijie, "md5", dl.md5sum(BIJIE / Bijie.filename))
    monkeypatch.setattr(
        dl, "transfer", lambda url, path: shutil.copyfile(BIJIE / Bijie.filename, path)
    )
    code, out, _ = run(capsys, "datasets", "download", "bijie", "--root", str(tmp_path))
    assert code == 0 and f"bijie is ready in {tmp_path / Bijie.directory}" in out
    assert Bijie(BIJIE).manifest.sha256 in out


def test_import_hokkaido(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    argv = ["datasets", "import", "hokkaido", "--from", str(HOKKAIDO / "upstream")]
    code, out, _ = run(capsys, *argv, "--root", str(tmp_path))
    assert code == 0 and str(tmp_path / "Hokkaido") in out
    assert Hokkaido(tmp_path).manifest == Hokkaido(HOKKAIDO).manifest
    code, _, err = run(capsys, *argv, "--root", str(tmp_path))  # never overwrites
    assert code == 2 and "already exists" in err
    bad = tmp_path / "bad"
    shutil.copytree(HOKKAIDO / "upstream", bad)
    (bad / "stray.bin").write_bytes(b"\0")
    code, _, err = run(capsys, "datasets", "import", "hokkaido", "--from", str(bad), "--root",
                       str(tmp_path / "out"))  # fmt: skip
    assert code == 2 and f"Cannot place {bad / 'stray.bin'}" in err
    assert not (tmp_path / "out" / "Hokkaido").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["datasets", "import", "bijie", "--from", "x", "--root", "y"], "bijie needs no import"),
        (["datasets", "import", "synth", "--from", "x", "--root", "y"], "generated in memory"),
        (["datasets", "export", "bijie", "--to", "x"], "read from files"),
        (["datasets", "verify", "synth", "--root", "x"], "no files to verify"),
    ],
)
def test_actions_a_dataset_does_not_have(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 2 and message in err and "Traceback" not in err


def test_export_synth_then_load_as_bijie(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    argv = ["datasets", "export", "synth", "--to", str(tmp_path), "--n", "10", "--size", "24"]
    code, out, _ = run(capsys, *argv, "--seed", "3")
    assert code == 0 and "Bijie" in out
    splits = [Bijie(tmp_path, split=s) for s in ("train", "val", "test")]
    assert sum(len(d) for d in splits) == 10
    sample = splits[0][0]
    assert sample["image"].shape == (4, 24, 24) and sample["mask"].shape == (24, 24)
    code, _, err = run(capsys, *argv)  # the folder exists: refused, nothing replaced
    assert code == 2 and "already exists" in err


def test_export_bad_size(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        main(["datasets", "export", "synth", "--to", str(tmp_path), "--size", "big"])
    assert "size must be N or HxW" in capsys.readouterr().err


def test_cite(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "cite", "bijie", "--root", str(BIJIE))
    assert code == 0
    assert "@article{ji2020bijie" in out and "10.1007/s10346-020-01353-2" in out
    assert "@software{landbench" in out
    sha = Bijie(BIJIE).manifest.sha256
    assert f"% landbench split: bijie v2, manifest sha256 {sha} (train 9, val 4, test 4)" in out
    code, out, _ = run(capsys, "cite", "hokkaido", "--root", str(HOKKAIDO))
    assert "@inproceedings{lissak2024hokkaido" in out and "10641385" in out
    assert Hokkaido(HOKKAIDO).manifest.sha256 in out


def test_cite_without_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, "cite", "bijie", "--root", str(tmp_path))
    assert code == 0 and "@article{ji2020bijie" in out
    assert "manifest sha256 unavailable" in out and "--root" in out
    code, _, err = run(capsys, "cite", "nope")
    assert code == 2 and "Unknown dataset 'nope'" in err


def test_citation_cff_is_valid_yaml() -> None:
    import yaml

    cff = yaml.safe_load((Path(__file__).parents[1] / "CITATION.cff").read_text())
    assert cff["cff-version"].startswith("1.2")
    from landbench import __version__

    assert cff["version"] == __version__
    assert {r["doi"] for r in cff["references"]} >= {
        "10.1007/s10346-020-01353-2",
        "10.1109/IGARSS53475.2024.10641385",
    }
