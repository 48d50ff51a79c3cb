"""Speed of LandslideSynth: generating the default train split, against reading it back.

Measure with::

    python -m pytest tests/benchmarks/test_bench_synth.py --benchmark-enable

Peers in the same run: generating the split from scratch (what a user pays once), reading the
same tiles from the on-disk cache (``root=``), and reading them as PNGs through the ``Bijie``
loader after ``export_bijie_layout``. Each test records samples/s in ``extra_info`` and checks
that it read the same tiles as its peer (a digest of every sample's id, image and mask bytes).
"""

import hashlib
import warnings

import pytest
import torch

from landbench.datasets.synthetic import LandslideSynth, export_bijie_layout


def _read_all(ds) -> int:
    for i in range(len(ds)):
        ds[i]
    return len(ds)


def _digest(ds, image: bool = True) -> str:
    """SHA-256 over every sample's id, mask and (optionally) image bytes, in id order."""
    digest = hashlib.sha256()
    samples = sorted((ds[i] for i in range(len(ds))), key=lambda s: s["id"])
    for sample in samples:
        digest.update(sample["id"].encode())
        digest.update(sample["mask"].numpy().astype("uint8").tobytes())
        if image:
            digest.update(sample["image"].numpy().tobytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def generated() -> LandslideSynth:
    """The peer every reader must agree with: the default train split, generated."""
    return LandslideSynth(split="train")


def _record(benchmark, n: int) -> None:
    if benchmark.stats is not None:  # None when benchmarks are disabled (plain test run)
        benchmark.extra_info["samples_per_s"] = round(n / benchmark.stats.stats.mean, 1)


def test_generate_default_train_split(benchmark):
    # A fresh dataset per round: its in-memory cache is empty, so every tile is generated.
    n = benchmark.pedantic(
        lambda: _read_all(LandslideSynth(split="train")), rounds=3, iterations=1, warmup_rounds=0
    )
    assert n == len(LandslideSynth(split="train"))
    _record(benchmark, n)


def test_read_default_train_split_from_disk_cache(benchmark, tmp_path, generated):
    _read_all(LandslideSynth(root=tmp_path, split="train"))  # fill the cache
    n = benchmark.pedantic(
        lambda: _read_all(LandslideSynth(root=tmp_path, split="train")),
        rounds=3,
        iterations=1,
    )
    _record(benchmark, n)
    assert _digest(LandslideSynth(root=tmp_path, split="train")) == _digest(generated)


def test_read_default_train_split_as_bijie_pngs(benchmark, tmp_path, generated):
    from landbench.datasets.bijie import Bijie

    export_bijie_layout(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sample counts differ from the official release
        n = benchmark.pedantic(
            lambda: _read_all(Bijie(root=tmp_path, split="train")), rounds=3, iterations=1
        )
        exported = Bijie(root=tmp_path, split="train")
    _record(benchmark, n)
    # The PNG round trip keeps ids and masks exactly (the Bijie split may differ in membership:
    # compare the tiles the two share).
    ids = {s["id"] for s in (exported[i] for i in range(len(exported)))}
    by_id = {generated[i]["id"]: i for i in range(len(generated))}
    shared = sorted(ids & set(by_id))
    assert shared
    for i in range(len(exported)):
        sample = exported[i]
        if sample["id"] in by_id:
            peer = generated[by_id[sample["id"]]]
            assert torch.equal(sample["mask"], peer["mask"])


@pytest.mark.parametrize("preset", ["bijie", "hokkaido"])
def test_generate_one_tile_per_preset(benchmark, preset):
    from landbench.datasets.synthetic import generate_tile

    image, _ = benchmark(generate_tile, preset, 0, 1)
    assert image.shape == (4, 64, 64)
