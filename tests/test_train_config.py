"""Training configs: the shipped YAML recipes, overrides, and clear errors before any training."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from landbench.cli import main
from landbench.core.errors import ConfigError
from landbench.training.config import (
    TrainConfig,
    check_resources,
    config_differences,
    load_config,
)

CONFIGS = Path(__file__).resolve().parents[1] / "baselines" / "configs"
ALL = sorted(CONFIGS.glob("*.yaml"))

TABLE1 = [
    f"{prefix}-fusionnet-{backbone}-{mix}"
    for prefix in ("bijie", "synth-bijie")
    for backbone in ("resunet", "unet", "vgg16")
    for mix in ("mixup", "nomixup")
]
TABLE2 = [
    f"{p}-{s}"
    for p in ("hokkaido", "synth-hokkaido")
    for s in ("scratch", "pretrained", "finetune")
]
BASELINES = [
    f"{p}-{m}"
    for p in ("bijie", "synth-bijie")
    for m in (
        "unet-rgb",
        "unet-rgbdem",
        "resunet-rgbdem",
        "deeplabv3plus-rgbdem",
        "all-background",
        "slope-threshold",
    )
]


def _write(tmp_path: Path, data: dict, name: str = "cfg.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


MINIMAL = {
    "data": {"dataset": "synth", "dataset_kwargs": {"size": 32, "n": 40}},
    "model": {"name": "fusionnet-resunet", "kwargs": {"size": "tiny"}},
}


def test_every_paper_cell_and_baseline_has_a_config() -> None:
    names = {p.stem for p in ALL}
    assert set(TABLE1 + TABLE2 + BASELINES) <= names


@pytest.mark.parametrize("path", ALL, ids=[p.stem for p in ALL])
def test_shipped_configs_are_valid(path: Path) -> None:
    config = load_config(path)
    assert config.name == path.stem
    if config.data.dataset == "synth":
        assert config.trainer.accelerator == "cpu"
        if config.transfer.strategy == "scratch":
            check_resources(config, str(path))  # registry names and model options exist
        else:
            assert config.transfer.weights.startswith("runs/synth-bijie-")
    else:
        assert config.data.root == "data"


def test_table_cells_differ_only_where_the_paper_says() -> None:
    with_mix = load_config(CONFIGS / "bijie-fusionnet-resunet-mixup.yaml").to_dict()
    without = load_config(CONFIGS / "bijie-fusionnet-resunet-nomixup.yaml").to_dict()
    assert with_mix["mixup"]["mode"] == "uniform" and without["mixup"]["mode"] == "off"
    for key in ("data", "model", "optim", "trainer", "loss", "transfer", "seed"):
        assert with_mix[key] == without[key]
    finetune = load_config(CONFIGS / "hokkaido-finetune.yaml")
    assert finetune.transfer.weights == "runs/bijie-fusionnet-resunet-mixup/model.safetensors"
    assert finetune.model == load_config(CONFIGS / "bijie-fusionnet-resunet-mixup.yaml").model


def test_defaults_and_name_from_file(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, MINIMAL, "my-run.yaml"))
    assert isinstance(config, TrainConfig)
    assert config.name == "my-run" and config.mixup.mode == "off"
    assert load_config(config.to_dict()) == config  # to_dict round-trips


def test_overrides_are_typed_and_reach_free_form_sections(tmp_path: Path) -> None:
    path = _write(tmp_path, MINIMAL)
    config = load_config(
        path,
        [
            "trainer.max_epochs=3",
            "mixup.mode=beta",
            "mixup.alpha=0.2",
            "data.dataset_kwargs.n=24",
            "model.kwargs.size=small",
            "optim.lr=1e-4",
            "trainer.devices=[0, 1]",
            "transfer.weights=null",
        ],
    )
    assert config.trainer.max_epochs == 3 and config.mixup.mode == "beta"
    assert config.data.dataset_kwargs == {"size": 32, "n": 24}
    assert config.model.kwargs == {"size": "small"}
    assert config.optim.lr == pytest.approx(1e-4) and isinstance(config.optim.lr, float)
    assert config.trainer.devices == [0, 1]
    assert config.mixup.p == 1.0  # every batch by default, as the paper's text
    # Typed values (what --devices and --set give) set one key, or one item of a free section.
    typed = load_config(path, {"trainer.devices": [0, 1], "data.dataset_kwargs.preset": "x"})
    assert typed.trainer.devices == [0, 1]
    assert typed.data.dataset_kwargs == {"size": 32, "n": 40, "preset": "x"}
    assert load_config(path, ["--mixup.p=0.25"]).mixup.p == 0.25  # the command-line form


@pytest.mark.parametrize(
    ("data", "overrides", "match"),
    [
        ({**MINIMAL, "epochs": 3}, [], r"unknown key 'epochs'"),
        ({**MINIMAL, "mixup": {"mdoe": "uniform"}}, [], r"'mixup.mdoe'.*did you mean 'mixup.mode'"),
        (MINIMAL, ["trainer.max_epoch=3"], r"unknown key 'trainer.max_epoch'.*max_epochs"),
        (MINIMAL, ["trainer.max_epochs=three"], r"trainer.max_epochs: expected int.*three"),
        (MINIMAL, ["trainer.max_epochs=2.5"], r"trainer.max_epochs: expected int"),
        (MINIMAL, ["data.augment=yes please"], r"data.augment: expected bool"),
        (MINIMAL, ["mixup.mode=cutmix"], r"mixup.mode: expected one of \['off', 'uniform'"),
        (MINIMAL, ["mixup.p=1.5"], r"mixup.p must be in \[0, 1\]"),
        ({**MINIMAL, "mixup": {"mode": False}}, [], r"quote the word"),
        (MINIMAL, ["optim.lr=-1"], r"optim.lr must be > 0"),
        (MINIMAL, ["data.batch_size=0"], r"data.batch_size must be > 0"),
        ({**MINIMAL, "data": 3}, [], r"data must be a mapping"),
        (MINIMAL, ["transfer.strategy=finetune"], r"needs transfer.weights"),
        (MINIMAL, ["transfer.weights=w.safetensors"], r"strategy is 'scratch'"),
        (MINIMAL, ["transfer.lr_scale=0.1"], r"apply to strategy 'finetune' only"),
        (MINIMAL, ["no_equals_sign"], r"Invalid override"),
        (MINIMAL, ["trainer..x=1"], r"Invalid override"),
    ],
)
def test_invalid_configs_name_the_key(tmp_path: Path, data: dict, overrides: list, match: str):
    path = _write(tmp_path, data)
    with pytest.raises(ConfigError, match=match) as err:
        load_config(path, overrides)
    if "override" not in match:  # override syntax errors name the override instead
        assert str(path) in str(err.value)


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    bad.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_config(bad)


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        (["model.name=fusionnet-resnet"], r"model.name: Unknown model 'fusionnet-resnet'"),
        (["model.kwargs.width=3"], r"has no option\(s\) \['width'\]"),
        (["data.dataset=imagenet"], r"data.dataset: Unknown dataset 'imagenet'"),
        (["data.dataset=bijie", "data.root=/no/such/folder"], r"data.root '/no/such/folder'"),
        (["data.dataset=hokkaido", "data.root=/no/such/folder"], r"is not a folder"),
        (
            ["transfer.strategy=finetune", "transfer.weights=runs/none/model.safetensors"],
            r"transfer.weights 'runs/none/model.safetensors' does not exist",
        ),
        (["model.name=all-background", "model.kwargs={}", "mixup.mode=uniform"], r"mixup"),
    ],
)
def test_resources_are_checked(tmp_path: Path, overrides: list, match: str) -> None:
    config = load_config(_write(tmp_path, MINIMAL), overrides)
    with pytest.raises(ConfigError, match=match):
        check_resources(config, "cfg.yaml")


def test_synth_root_is_a_cache_and_may_not_exist(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, MINIMAL), [f"data.root={tmp_path / 'cache'}"])
    check_resources(config)


def test_cli_reports_config_errors_before_writing(tmp_path: Path, capsys) -> None:
    path = _write(tmp_path, {**MINIMAL, "trainer": {"max_epochs": "many"}})
    out = tmp_path / "run"
    assert main(["train", "--config", str(path), "--out", str(out)]) == 2
    assert "trainer.max_epochs: expected int" in capsys.readouterr().err
    assert not out.exists()
    path = _write(tmp_path, MINIMAL)
    code = main(["train", "--config", str(path), "--out", str(out), "--model.name", "unet-rgbdm"])
    assert code == 2 and "Unknown model 'unet-rgbdm'" in capsys.readouterr().err
    assert not out.exists()
    code = main(["train", "--config", str(path), "--out", str(out), "--resume"])
    assert code == 2 and "Cannot resume" in capsys.readouterr().err


def test_set_means_a_dataset_option_and_recipe_keys_are_dotted_flags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--set KEY=VALUE`` is a dataset option in every command; recipe keys are dotted flags."""
    import landbench.training.runner as runner

    seen = {}

    def fake_train(config, **kwargs):
        seen["config"] = config
        seen.update(kwargs)
        return tmp_path

    monkeypatch.setattr(runner, "train", fake_train)
    path = _write(tmp_path, MINIMAL)
    argv = ["train", "--config", str(path), "--set", "n=24", "--set", "preset=hokkaido"]
    argv += ["--trainer.max_epochs", "50", "--mixup.p", "0.5", "--devices", "0,1"]
    assert main(argv) == 0
    assert seen["dataset_kwargs"] == {"n": 24, "preset": "hokkaido"}
    assert sorted(seen["overrides"]) == ["mixup.p=0.5", "trainer.max_epochs=50"]
    assert seen["devices"] == [0, 1]
    config = load_config(path, seen["overrides"])
    assert config.trainer.max_epochs == 50 and config.mixup.p == 0.5
    # The old spelling now means a dataset option, as in every command (the dataset refuses it).
    assert main(["train", "--config", str(path), "--set", "trainer.max_epochs=5"]) == 0
    assert seen["dataset_kwargs"] == {"trainer.max_epochs": 5} and seen["overrides"] == []


def test_config_differences_ignore_where_and_how_long() -> None:
    base = load_config(MINIMAL).to_dict()
    other = load_config(MINIMAL, ["trainer.max_epochs=99", "trainer.devices=2"]).to_dict()
    assert config_differences(base, other) == []
    changed = load_config(MINIMAL, ["mixup.p=0.5", "data.dataset_kwargs.n=10"]).to_dict()
    assert config_differences(base, changed) == ["data.dataset_kwargs", "mixup.p"]


def test_recipes_can_state_an_equal_budget() -> None:
    """Scratch and fine-tune can state the same optimiser steps and schedule."""
    scratch = load_config(CONFIGS / "synth-hokkaido-scratch.yaml", ["trainer.max_steps=200"])
    finetune = load_config(
        CONFIGS / "synth-hokkaido-finetune.yaml", ["trainer.max_steps=200", "transfer.lr_scale=1"]
    )
    assert scratch.trainer.max_steps == finetune.trainer.max_steps == 200
    assert scratch.optim == finetune.optim
    with pytest.raises(ConfigError, match="trainer.max_steps must be > 0"):
        load_config(MINIMAL, ["trainer.max_steps=0"])
