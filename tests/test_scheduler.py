"""The run scheduler: plans trained by a pool of single-threaded processes, dependencies first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from safetensors.torch import load_file

from landbench.core.errors import ConfigError
from landbench.experiments.reproduce import QUICK_OVERRIDES, QUICK_SYNTH_OVERRIDES
from landbench.experiments.scheduler import RunSpec, execute

CONFIGS = Path(__file__).resolve().parents[1] / "baselines" / "configs"
TINY = (
    *QUICK_OVERRIDES,
    *QUICK_SYNTH_OVERRIDES,
    "data.dataset_kwargs.n=40",
    "trainer.progress_bar=false",
)


def plan(out: Path) -> list[RunSpec]:
    """A source run and a fine-tune that reads its weights, each scored with its masks kept.

    The fine-tune is listed first: the scheduler must still wait for its source.
    """
    source = out / "runs" / "source"
    target = out / "runs" / "finetune"
    weights = f"transfer.weights={(source / 'model.safetensors').resolve()}"
    return [
        RunSpec(
            CONFIGS / "synth-hokkaido-finetune.yaml",
            target,
            (*TINY, "seed=1", weights),
            after=(source,),
            result=out / "results" / "finetune.json",
            masks=out / "masks" / "finetune",
        ),
        RunSpec(
            CONFIGS / "synth-bijie-fusionnet-resunet-mixup.yaml",
            source,
            (*TINY, "seed=1"),
            result=out / "results" / "source.json",
        ),
    ]


def test_parallel_runs_equal_serial_runs(tmp_path: Path) -> None:
    """Two processes give the bits one process gives: every run is single-threaded."""
    serial = execute(plan(tmp_path / "serial"), jobs=1)
    parallel = execute(plan(tmp_path / "parallel"), jobs=2)
    assert len(serial) == len(parallel) == 2
    for name in ("source", "finetune"):
        a = load_file(tmp_path / "serial" / "runs" / name / "model.safetensors")
        b = load_file(tmp_path / "parallel" / "runs" / name / "model.safetensors")
        assert a.keys() == b.keys()
        assert all(bool((a[k] == b[k]).all()) for k in a)
        scores = [
            json.loads((tmp_path / kind / "results" / f"{name}.json").read_text())["metrics"]
            for kind in ("serial", "parallel")
        ]
        assert scores[0] == scores[1]
    masks = sorted(p.name for p in (tmp_path / "parallel" / "masks" / "finetune").iterdir())
    assert masks and all(m.endswith(".png") for m in masks)
    # The fine-tune read the source's weights, trained before it.
    info = json.loads((tmp_path / "parallel" / "runs" / "finetune" / "run.json").read_text())
    assert "source" in json.dumps(info.get("source_weights"))
    assert (tmp_path / "parallel" / "runs" / "finetune.log").is_file()


def test_rerun_of_a_finished_plan_reuses_every_run(tmp_path: Path) -> None:
    execute(plan(tmp_path), jobs=1)
    files = [tmp_path / "runs" / n / "model.safetensors" for n in ("source", "finetune")]
    files += [tmp_path / "results" / f"{n}.json" for n in ("source", "finetune")]
    stamps = [f.stat().st_mtime_ns for f in files]
    assert len(execute(plan(tmp_path), jobs=1)) == 2
    assert [f.stat().st_mtime_ns for f in files] == stamps  # nothing retrained or rescored


def test_plan_errors_before_training(tmp_path: Path) -> None:
    specs = plan(tmp_path)
    with pytest.raises(ConfigError, match="same run folder twice"):
        execute([*specs, specs[0]], jobs=1)
    with pytest.raises(ConfigError, match="no run of the plan makes"):
        execute(specs[:1], jobs=1)
    looped = RunSpec(
        specs[1].config, specs[1].run_dir, specs[1].overrides, after=(specs[0].run_dir,)
    )
    with pytest.raises(ConfigError, match="need each other"):
        execute([specs[0], looped], jobs=2)
    with pytest.raises(ConfigError, match="jobs must be a positive integer"):
        execute(specs, jobs=0)
    assert not (tmp_path / "runs").exists()
