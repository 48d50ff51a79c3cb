"""Training end to end on tiny synthetic data: run folders, learning, determinism, transfer,
resume and interruption, and the Lightning task with outside (smp) models."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import lightning as L
import pytest
import torch
from safetensors.torch import load_file

from landbench.cli import main
from landbench.core.errors import ConfigError
from landbench.models import load_weights, read_metadata
from landbench.training import LandslideSegmentationTask, read_metrics, train
from landbench.training.recording import METRICS_COLUMNS

BASE = {
    "name": "tiny",
    "seed": 0,
    "data": {
        "dataset": "synth",
        "batch_size": 4,
        "eval_batch_size": 4,
        "patch_size": 32,
        "dataset_kwargs": {"preset": "bijie", "size": 32, "n": 40},
    },
    "model": {"name": "fusionnet-resunet", "kwargs": {"size": "tiny"}},
    "mixup": {"mode": "uniform"},
    "optim": {"lr": 0.003},
    "trainer": {
        "max_epochs": 3,
        "accelerator": "cpu",
        "devices": 1,
        "progress_bar": False,
        "early_stopping_patience": None,
        "limit_train_batches": 4,
    },
}
# Lightning 2.6 builds torch's LeafSpec, deprecated in torch 2.14; tests that drive a Trainer
# directly (train() silences it itself) see that third-party FutureWarning.
pytestmark = pytest.mark.filterwarnings("ignore:`isinstance\\(treespec, LeafSpec\\)`:FutureWarning")
HOKKAIDO = ["data.dataset_kwargs.preset=hokkaido", "data.dataset_kwargs.n=40"]
BIJIE_FIXTURE = Path(__file__).resolve().parent / "data" / "bijie"


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """One intra-op thread: on a shared 2-core machine, two threads contend and run slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _config(**sections: dict) -> dict:
    config = copy.deepcopy(BASE)
    for key, value in sections.items():
        config[key] = {**config.get(key, {}), **value} if isinstance(value, dict) else value
    return config


@pytest.fixture(scope="module")
def source_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3-epoch Mixup run on the synthetic 'bijie' preset (the source of transfer tests)."""
    return train(BASE, out_dir=tmp_path_factory.mktemp("runs") / "source")


def test_run_folder_layout_and_learning(source_run: Path) -> None:
    for name in ("config.yaml", "run.json", "metrics.csv", "model.safetensors"):
        assert (source_run / name).is_file(), name
    assert (source_run / "checkpoints" / "last.ckpt").is_file()
    assert (source_run / "checkpoints" / "best.ckpt").is_file()
    assert not [p for p in source_run.rglob("*") if p.name.endswith(".tmp")]

    rows = read_metrics(source_run / "metrics.csv")
    assert [r["epoch"] for r in rows] == [0, 1, 2]
    assert list(rows[0]) == list(METRICS_COLUMNS)
    # The loss measurably goes down (Mixup on, 4 batches of 4 tiles per epoch).
    assert rows[-1]["train_loss"] < 0.9 * rows[0]["train_loss"]
    assert all(0 <= r["val_f1"] <= 1 and r["lr"] > 0 for r in rows)

    info = json.loads((source_run / "run.json").read_text())
    assert info["status"] == "completed" and info["seed"] == 0
    assert info["dataset"] == "synth" and info["dataset_kwargs"]["preset"] == "bijie"
    import landbench

    manifest = landbench.load("synth", split="train", **BASE["data"]["dataset_kwargs"]).manifest
    assert info["split_version"] == manifest.version
    assert info["manifest_sha256"] == manifest.sha256 and len(manifest.sha256) == 64
    assert info["model"] == "fusionnet-resunet" and info["strategy"] == "scratch"
    best = max(rows, key=lambda r: (r["val_f1"], -r["epoch"]))
    assert info["best_epoch"] == best["epoch"]
    assert info["best_metrics"]["val_f1"] == pytest.approx(best["val_f1"])
    assert info["wall_time_s"] > 0 and info["optimizer_steps"] == 3 * 4
    # Provenance, the full resolved config, seed, statistics, split: what a result rests on.
    prov = info["provenance"]
    assert {"commit", "dirty", "versions", "device"} <= set(prov) and prov["device"] == "cpu"
    assert prov["commit"] is None or len(prov["commit"]) == 40
    assert info["config"]["mixup"] == {
        "mode": "uniform",
        "alpha": 0.4,
        "p": 1.0,
        "per_sample": True,
    }
    assert info["config"]["trainer"]["max_epochs"] == 3 and info["mixup"]["p"] == 1.0
    assert len(info["normalization"]["mean"]) == 4 and len(info["normalization"]["std"]) == 4
    assert (source_run / "config.yaml").read_text().count("p: 1.0") == 1

    meta = read_metadata(source_run / "model.safetensors")
    assert meta["model"] == "fusionnet-resunet" and meta["model_config"]["size"] == "tiny"
    assert meta["manifest_sha256"] == info["manifest_sha256"]
    assert meta["metrics"]["val_f1"] == pytest.approx(best["val_f1"])
    assert meta["normalization"]["bands"] == ["R", "G", "B", "DEM"]
    assert len(meta["normalization"]["mean"]) == 4 and meta["seed"] == 0
    assert meta["training_config"]["mixup"]["mode"] == "uniform"
    # The saved weights are the validation-selected checkpoint's.
    state = torch.load(source_run / "checkpoints" / "best.ckpt", weights_only=True)
    weights = load_file(str(source_run / "model.safetensors"))
    for key, value in weights.items():
        assert torch.equal(value, state["state_dict"][f"model.{key}"]), key
    model, _ = load_weights(source_run / "model.safetensors")
    assert model(torch.zeros(1, 4, 32, 32)).shape == (1, 1, 32, 32)
    # A zoo model's checkpoint rebuilds the task by itself (TorchGeo-style).
    task = LandslideSegmentationTask.load_from_checkpoint(
        source_run / "checkpoints" / "best.ckpt", weights_only=True
    )
    assert task.hparams.model == "fusionnet-resunet" and task.hparams.mixup == "uniform"
    for key, value in weights.items():
        assert torch.equal(task.model.state_dict()[key], value), key


def test_same_seed_same_weights_on_cpu(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from landbench.datasets.synthetic import LandslideSynth

    splits: list[str] = []
    original = LandslideSynth.__init__

    def spy(self, *args, **kwargs) -> None:
        splits.append(kwargs.get("split", "train"))
        original(self, *args, **kwargs)

    monkeypatch.setattr(LandslideSynth, "__init__", spy)
    quick = _config(trainer={"max_epochs": 1, "limit_train_batches": 2})
    first = train(quick, out_dir=tmp_path / "a")
    assert "test" not in splits and {"train", "val"} <= set(splits)  # test is never read
    monkeypatch.undo()
    # The same recipe through the command line, from a YAML file.
    path = tmp_path / "quick.yaml"
    path.write_text(json.dumps(quick))  # JSON is YAML
    assert main(["train", "--config", str(path), "--out", str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    assert "epoch 0: train_loss" in out and "val_f1" in out and "run folder:" in out
    other = train(quick, out_dir=tmp_path / "c", overrides=["seed=1"])
    a, b, c = (load_file(str(run / "model.safetensors")) for run in (first, tmp_path / "b", other))
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)
    assert (first / "metrics.csv").read_text().split("\n")[1].split(",")[:8] == (
        (tmp_path / "b" / "metrics.csv").read_text().split("\n")[1].split(",")[:8]
    )


class _InterruptAt(L.Callback):
    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.current_epoch == self.epoch:
            raise KeyboardInterrupt


def test_interrupted_run_keeps_its_checkpoint_and_resumes(tmp_path: Path) -> None:
    config = _config(trainer={"max_epochs": 2, "limit_train_batches": 2})
    run = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        train(config, out_dir=run, callbacks=[_InterruptAt(1)])
    assert json.loads((run / "run.json").read_text())["status"] == "interrupted"
    last = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["epoch"] == 0
    assert [r["epoch"] for r in read_metrics(run / "metrics.csv")] == [0]
    assert not (run / "model.safetensors").exists()

    with pytest.raises(ConfigError, match="already exists; pass --resume"):
        train(config, out_dir=run)
    with pytest.raises(ConfigError, match=r"mixup.mode: 'uniform' -> 'off'"):
        train(config, out_dir=run, overrides=["mixup.mode=off"], resume=True)
    with pytest.raises(ConfigError, match="model.kwargs"):
        train(config, out_dir=run, overrides=["model.kwargs.size=small"], resume=True)

    train(config, out_dir=run, resume=True)
    info = json.loads((run / "run.json").read_text())
    assert info["status"] == "completed" and info["resumed"] == 1
    assert [r["epoch"] for r in read_metrics(run / "metrics.csv")] == [0, 1]
    assert (run / "model.safetensors").is_file()

    # Interrupted + resumed ends exactly where an uninterrupted run ends (same draws, same
    # optimiser and schedule state), bit for bit on CPU.
    straight = train(config, out_dir=tmp_path / "straight")
    resumed = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    reference = torch.load(straight / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    assert all(torch.equal(resumed[k], reference[k]) for k in reference)
    columns = ["train_loss", "val_loss", "val_f1", "lr"]
    rows = [[r[c] for c in columns] for r in read_metrics(run / "metrics.csv")]
    assert rows == [[r[c] for c in columns] for r in read_metrics(straight / "metrics.csv")]


def test_resume_refuses_a_checkpoint_of_another_model(tmp_path: Path, source_run: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(source_run, run)
    other = _config(model={"name": "unet-rgbdem", "kwargs": {"size": "tiny"}})
    (run / "config.yaml").write_text(
        __import__("landbench.training.config", fromlist=["x"]).load_config(other).to_yaml()
    )
    before = (run / "checkpoints" / "last.ckpt").read_bytes()
    with pytest.raises(ConfigError, match="holds model 'fusionnet-resunet'"):
        train(other, out_dir=run, resume=True)
    assert (run / "checkpoints" / "last.ckpt").read_bytes() == before


def test_finetune_loads_weights_and_freezes_encoders(tmp_path: Path, source_run: Path) -> None:
    weights = source_run / "model.safetensors"
    config = _config(
        transfer={
            "strategy": "finetune",
            "weights": str(weights),
            "freeze_encoders_epochs": 1,
            "lr_scale": 0.5,
        },
        trainer={"max_epochs": 1, "limit_train_batches": 2},
    )
    run = train(config, out_dir=tmp_path / "ft", overrides=HOKKAIDO)
    source = load_file(str(weights))
    tuned = load_file(
        str(run / "checkpoints" / "last.ckpt").replace("last.ckpt", "../model.safetensors")
    )
    encoder_keys = [k for k in source if k.startswith(("image_encoder.", "dem_encoder."))]
    other_keys = [k for k in source if k not in encoder_keys and source[k].is_floating_point()]
    assert encoder_keys and other_keys
    # Frozen: encoder weights and batch-norm statistics are exactly the pretrained ones.
    assert all(torch.equal(source[k], tuned[k]) for k in encoder_keys)
    assert any(not torch.equal(source[k], tuned[k]) for k in other_keys)
    rows = read_metrics(run / "metrics.csv")
    assert rows[0]["lr"] == pytest.approx(0.003 * 0.5)
    info = json.loads((run / "run.json").read_text())
    assert info["strategy"] == "finetune" and info["dataset_kwargs"]["preset"] == "hokkaido"
    assert info["source_weights"]["manifest_sha256"] == read_metadata(weights)["manifest_sha256"]


def test_pretrained_evaluates_without_training(tmp_path: Path, source_run: Path) -> None:
    weights = source_run / "model.safetensors"
    config = _config(transfer={"strategy": "pretrained", "weights": str(weights)})
    run = train(config, out_dir=tmp_path / "pre", overrides=HOKKAIDO)
    rows = read_metrics(run / "metrics.csv")
    assert len(rows) == 1 and rows[0]["epoch"] == 0 and rows[0]["train_loss"] is None
    assert rows[0]["val_f1"] is not None
    source, applied = load_file(str(weights)), load_file(str(run / "model.safetensors"))
    assert all(torch.equal(source[k], applied[k]) for k in source)
    assert not (run / "checkpoints").exists()
    meta = read_metadata(run / "model.safetensors")
    assert meta["dataset_kwargs"]["preset"] == "hokkaido" and meta["strategy"] == "pretrained"


def test_incompatible_pretrained_weights_are_refused(tmp_path: Path, source_run: Path) -> None:
    config = _config(
        transfer={"strategy": "finetune", "weights": str(source_run / "model.safetensors")}
    )
    with pytest.raises(ConfigError, match="options"):
        train(config, out_dir=tmp_path / "x", overrides=["model.kwargs.size=small"])
    with pytest.raises(ConfigError, match="holds weights of model 'fusionnet-resunet'"):
        train(
            config,
            out_dir=tmp_path / "x",
            overrides=["model.name=fusionnet-unet"],
        )
    assert not (tmp_path / "x").exists()


def test_fitted_reference_model(tmp_path: Path) -> None:
    config = _config(model={"name": "all-background", "kwargs": {}}, mixup={"mode": "off"})
    run = train(config, out_dir=tmp_path / "bg")
    (row,) = read_metrics(run / "metrics.csv")
    assert row["val_f1"] == 0.0 and row["val_recall"] == 0.0
    assert json.loads((run / "run.json").read_text())["status"] == "completed"
    assert read_metadata(run / "model.safetensors")["model"] == "all-background"


class _Constant(torch.nn.Module):
    """Predicts landslide everywhere (a large positive logit), padding included."""

    def __init__(self) -> None:
        super().__init__()
        self.bias = torch.nn.Parameter(torch.tensor(10.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bias.expand(x.shape[0], 1, *x.shape[-2:])


def test_validation_metrics_ignore_padding() -> None:
    from landbench.datamodules import LandslideDataModule

    dm = LandslideDataModule("synth", eval_batch_size=3, pad_multiple=32, size=20, n=40)
    trainer = L.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False)
    (metrics,) = trainer.validate(LandslideSegmentationTask(_Constant()), dm, verbose=False)
    val = dm.val_dataset
    positives = sum(int(val[i]["mask"].sum()) for i in range(len(val)))
    pixels = len(val) * 20 * 20  # tiles are padded to 32 x 32; padding must not count
    assert metrics["val_precision"] == pytest.approx(positives / pixels)
    assert metrics["val_recall"] == pytest.approx(1.0)
    assert metrics["val_f1"] == pytest.approx(2 * positives / (positives + pixels))


def test_task_trains_an_outside_smp_model() -> None:
    import segmentation_models_pytorch as smp

    from landbench.datamodules import LandslideDataModule

    L.seed_everything(0)
    net = smp.Unet(
        "resnet18",
        encoder_weights=None,
        encoder_depth=3,
        decoder_channels=(16, 8, 4),
        in_channels=4,
        classes=1,
    )
    task = LandslideSegmentationTask(net, mixup="beta", scheduler="plateau", monitor="val_loss")
    dm = LandslideDataModule("synth", batch_size=4, patch_size=32, eval_batch_size=4, size=32, n=40)
    trainer = L.Trainer(
        accelerator="cpu",
        max_epochs=1,
        limit_train_batches=2,
        logger=False,
        enable_progress_bar=False,
        enable_checkpointing=False,
    )
    trainer.fit(task, datamodule=dm)
    names = set(trainer.callback_metrics)
    assert {"train_loss", "val_loss", "val_f1", "val_iou", "val_precision", "val_recall"} <= names
    with pytest.raises(ConfigError, match="encoders"):
        LandslideSegmentationTask(torch.nn.Conv2d(4, 1, 1), freeze_encoders_epochs=1)


@pytest.mark.parametrize(
    "override", ["trainer.precision=bogus", "trainer.accelerator=gpu", "trainer.devices=-3"]
)
def test_trainer_errors_come_before_the_run_folder(tmp_path: Path, override: str) -> None:
    deterministic = torch.are_deterministic_algorithms_enabled()
    with pytest.raises(ConfigError, match="trainer"):
        train(BASE, out_dir=tmp_path / "x", overrides=[override])
    assert not (tmp_path / "x").exists()
    assert torch.are_deterministic_algorithms_enabled() == deterministic


def test_freezing_schedule_freezes_then_releases_the_encoders() -> None:
    task = LandslideSegmentationTask(
        "fusionnet-resunet", {"size": "tiny"}, freeze_encoders_epochs=2
    )
    task.train()
    encoder_params = {id(p) for e in task.encoders() for p in e.parameters()}
    assert len(task.encoders()) == 2 and encoder_params
    task.set_encoders_frozen(True)
    for name, p in task.named_parameters():
        assert p.requires_grad == (id(p) not in encoder_params), name
    assert not any(e.training for e in task.encoders()) and task.model.decoder.training
    task.set_encoders_frozen(False)
    assert all(p.requires_grad for p in task.parameters())
    assert all(e.training for e in task.encoders())


def test_dem_relative_travels_with_the_weights(tmp_path: Path) -> None:
    """A run with data.dem_relative records it; the Predictor then prepares inputs the same way."""
    from landbench.inference.predictor import Predictor

    run = train(
        _config(trainer={"max_epochs": 1, "limit_train_batches": 1}),
        out_dir=tmp_path / "rel",
        overrides=["data.dem_relative=true"],
    )
    predictor = Predictor.from_weights(run / "model.safetensors")
    assert predictor.dem_relative is True
    assert predictor.metadata["normalization"]["dem_relative"] is True
    assert abs(predictor.mean[0, 3].item()) < 1e-4  # statistics of relative elevation


@pytest.mark.filterwarnings("ignore:You are trying to `self.log\\(\\)`")
def test_training_loss_leaves_padding_out() -> None:
    """Whatever padded pixels hold, the training loss is the same (``valid`` false there)."""
    torch.manual_seed(0)
    task = LandslideSegmentationTask(torch.nn.Conv2d(4, 1, 3, padding=1), dice_weight=1.0)
    image = torch.randn(2, 4, 16, 16)
    mask = (torch.rand(2, 16, 16) > 0.7).long()
    valid = torch.ones(2, 16, 16, dtype=torch.bool)
    valid[1, 10:, :] = False
    valid[1, :, 12:] = False
    other_image, other_mask = image.clone(), mask.clone()
    other_mask[~valid] = 1 - other_mask[~valid]
    losses = [
        task.training_step({"image": im, "mask": m, "valid": valid}, 0)
        for im, m in ((image, mask), (other_image, other_mask))
    ]
    assert torch.equal(losses[0], losses[1])
    unmasked = task.training_step({"image": image, "mask": other_mask}, 0)
    assert not torch.equal(losses[0], unmasked)  # the mask decides, so it must be used


@pytest.mark.filterwarnings("ignore::landbench.datasets.base.DatasetCountWarning")
def test_validation_metrics_equal_evaluate_on_variable_size_tiles(tmp_path: Path) -> None:
    """Checkpoint selection sees the number ``landbench evaluate`` reports for the same weights.

    The Bijie fixture's tiles range from 14 to 40 px: training patches pad the small ones and
    validation batches pad every tile to the batch's largest, so any padding that leaks into
    predictions or counts shows as a difference.
    """
    import landbench
    from landbench.evaluation.evaluate import evaluate_model

    config = _config(
        data={
            "dataset": "bijie",
            "root": str(BIJIE_FIXTURE),
            "eval_batch_size": 4,
            "dataset_kwargs": {},
        },
        mixup={"mode": "off"},
        loss={"pos_weight": 5.0},
        trainer={"max_epochs": 2, "limit_train_batches": None},
    )
    run = train(config, out_dir=tmp_path / "bijie")
    info = json.loads((run / "run.json").read_text())
    (row,) = [r for r in read_metrics(run / "metrics.csv") if r["epoch"] == info["best_epoch"]]
    val = landbench.load("bijie", split="val", root=BIJIE_FIXTURE)
    result = evaluate_model(run, val, progress=False, n_resamples=10)
    assert 0 < row["val_f1"] < 1 and 0 < row["val_precision"] < 1  # a real, mixed prediction
    for key in ("f1", "iou", "precision", "recall"):
        assert abs(row[f"val_{key}"] - result.metrics[key]) <= 1e-6, key


def test_source_weights_with_another_dem_transform_are_refused(
    tmp_path: Path, source_run: Path
) -> None:
    config = _config(
        transfer={"strategy": "finetune", "weights": str(source_run / "model.safetensors")}
    )
    with pytest.raises(ConfigError, match=r"data.dem_relative: false.*data.dem_relative: true"):
        train(config, out_dir=tmp_path / "x", overrides=["data.dem_relative=true"])
    assert not (tmp_path / "x").exists()


def test_a_log_shows_a_few_epoch_lines_per_run() -> None:
    from landbench.training.progress import logged_epoch

    assert [e for e in range(20) if logged_epoch(e, 20)] == [0, 4, 9, 14, 19]
    assert all(logged_epoch(e, 3) for e in range(3))
    assert all(logged_epoch(e, None) for e in range(7))
