"""Run many training runs at once: a plan of :class:`RunSpec` executed by a pool of processes.

The drivers (``reproduce``, ``transfer``, ``demo``) first *plan* their runs, each a recipe, a
run folder and overrides, with the run folders whose weights it reads, then :func:`execute`
trains and scores them, ``jobs`` at a time, dependencies first, and finally read the results.

Every run is single-threaded (``torch.set_num_threads(1)``) whatever ``jobs`` is: on a CPU the
reduction order of a convolution depends on the thread count, so a result must not depend on
how many runs share the machine. Two single-threaded processes also train tiny models faster
than one process with two threads (measured on 2 cores: 0.33 s vs 0.24 s per step for the
synthetic fusion network, i.e. 1.4x more steps per second from two processes).

Workers are started with ``spawn`` (no fork of a process that already holds torch threads)
and live for the whole plan, so each generates a synthetic preset's tiles at most once.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from landbench.core.errors import ConfigError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunSpec:
    """One training run of a plan, and where its test-split evaluation goes.

    Attributes:
        config: the recipe (YAML path).
        run_dir: the run folder (reused when complete, resumed when interrupted).
        overrides: ``key=value`` recipe overrides, the seed included.
        after: run folders this run needs first (their ``model.safetensors``).
        result: path of the test-split evaluation JSON (none: not scored here).
        masks: folder for the test-split masks of the same pass (``<id>.png``; none: not kept).
        device: torch device of the evaluation.
    """

    config: Path
    run_dir: Path
    overrides: tuple[str, ...]
    after: tuple[Path, ...] = ()
    result: Path | None = None
    masks: Path | None = None
    device: str = "cpu"


def _run_status(run_dir: Path) -> str | None:
    path = run_dir / "run.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("status")
    except (OSError, ValueError):
        return None


def run_or_reuse(
    config_path: Path,
    run_dir: Path,
    overrides: Sequence[str],
    train_fn: Callable[..., Path] | None = None,
) -> Path:
    """Train ``config_path`` into ``run_dir``, reuse it if complete, resume it if interrupted.

    Raises:
        ConfigError: if ``run_dir`` holds a run of another config (it is never overwritten).
    """
    import yaml

    from landbench.training.config import config_differences, load_config

    if train_fn is None:
        from landbench.training import train as train_fn
    if not run_dir.exists():
        return Path(train_fn(config_path, out_dir=run_dir, overrides=list(overrides)))
    wanted = load_config(config_path, overrides).to_dict()
    try:
        existing = yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        existing = None
    differ = config_differences(existing, wanted) if isinstance(existing, dict) else []
    if not isinstance(existing, dict) or differ:
        detail = f" (differs in {', '.join(differ[:6])})" if differ else ""
        raise ConfigError(
            f"{run_dir} holds a run of another config than {config_path.name} with overrides "
            f"{list(overrides)}{detail}; remove it or choose another output folder."
        )
    if _run_status(run_dir) == "completed" and (run_dir / "model.safetensors").is_file():
        _check_loadable(run_dir / "model.safetensors")
        logger.debug("reusing completed run %s", run_dir)
        return run_dir
    logger.info("resuming run %s", run_dir)
    return Path(train_fn(config_path, out_dir=run_dir, overrides=list(overrides), resume=True))


def _check_loadable(weights: Path) -> None:
    """Refuse to reuse weights that the installed model code no longer loads."""
    from landbench.core.errors import LandbenchError
    from landbench.models import load_weights

    try:
        load_weights(weights)
    except LandbenchError as err:
        raise ConfigError(
            f"Cannot reuse {weights.parent}: its weights do not load with this landbench (the "
            f"model definition changed?). Remove the folder to retrain it. Details: {err}"
        ) from err


def run_test_split(run_dir: Path) -> Any:
    """The test split the run's config trained for (same dataset, root and options)."""
    import landbench
    from landbench.training.config import load_config

    cfg = load_config(run_dir / "config.yaml")
    return landbench.load(
        cfg.data.dataset, split="test", root=cfg.data.root, **cfg.data.dataset_kwargs
    )


def evaluate_or_reuse(
    run_dir: Path, result_path: Path, masks_dir: Path | None = None, device: str = "cpu"
) -> Any:
    """Score ``run_dir`` on its test split, or reuse its result written after its weights.

    Args:
        run_dir: a completed run folder.
        result_path: the evaluation JSON to write (or reuse).
        masks_dir: also write the predicted masks there (one ``<id>.png`` per tile, values
            {0, 255}), from the same prediction pass.
        device: torch device of the evaluation.

    Returns:
        The :class:`~landbench.evaluation.result.EvaluationResult`.
    """
    from landbench.evaluation.evaluate import evaluate_model
    from landbench.evaluation.result import EvaluationResult

    weights = run_dir / "model.safetensors"
    fresh = result_path.is_file() and result_path.stat().st_mtime >= weights.stat().st_mtime
    if fresh and (masks_dir is None or masks_dir.is_dir()):
        try:
            result = EvaluationResult.read_json(result_path)
        except Exception:  # noqa: BLE001 - an unreadable result is simply recomputed
            result = None
        if result is not None:
            logger.debug("reusing result %s", result_path)
            return result
    masks: dict[str, Any] | None = {} if masks_dir is not None else None
    result = evaluate_model(
        run_dir, run_test_split(run_dir), device=device, progress=False, masks=masks
    )
    if masks_dir is not None and masks is not None:
        import shutil

        from landbench.leaderboard.scaffold import write_prediction_folder

        if masks_dir.exists():
            shutil.rmtree(masks_dir)  # masks of older weights, this plan's own output
        write_prediction_folder(masks, masks_dir)
    result.write_json(result_path)
    return result


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run torch and OpenMP/BLAS (scikit-learn's gradient boosting) on one thread inside.

    Every run of a plan, and every rerun of a recorded result, trains this way, so that its
    numbers do not depend on the machine's core count or on how many runs share it.
    """
    import torch
    from threadpoolctl import threadpool_limits

    threads = torch.get_num_threads()
    with threadpool_limits(limits=1):
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(threads)


def run_spec(spec: RunSpec, log: bool = False) -> tuple[Path, float]:
    """Train (or reuse) one run and score it, single-threaded; the work of one pool task.

    Args:
        spec: the run.
        log: send what the run prints to ``<run folder>.log`` beside the run folder (runs in
            parallel would interleave their lines on one terminal).

    Returns:
        ``(run folder, seconds)``.
    """
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        stack.enter_context(one_thread())
        if log:
            spec.run_dir.parent.mkdir(parents=True, exist_ok=True)
            stream = stack.enter_context(
                spec.run_dir.with_name(f"{spec.run_dir.name}.log").open("a", encoding="utf-8")
            )
            stack.enter_context(contextlib.redirect_stdout(stream))
            stack.enter_context(contextlib.redirect_stderr(stream))
        run_dir = run_or_reuse(spec.config, spec.run_dir, list(spec.overrides))
        if spec.result is not None:
            evaluate_or_reuse(run_dir, spec.result, spec.masks, spec.device)
    return run_dir, time.perf_counter() - started


def _worker_init() -> None:
    os.environ["OMP_NUM_THREADS"] = "1"  # before torch and OpenMP start in this process
    import torch

    torch.set_num_threads(1)


def default_jobs() -> int:
    """Processes to use: the CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def execute(specs: Sequence[RunSpec], jobs: int | None = None) -> dict[Path, float]:
    """Train and score every run of a plan, ``jobs`` processes at a time, dependencies first.

    A run starts once every folder in its ``after`` is trained (by this plan or before it).
    Runs are started in plan order among those ready, so put the longest chains first. With
    ``jobs=1`` everything runs in this process, one run after the other.

    Args:
        specs: the plan; run folders must be distinct.
        jobs: worker processes (default :func:`default_jobs`).

    Returns:
        Seconds each run took (training and scoring; near zero for a reused run), by run folder.

    Raises:
        ConfigError: for a plan with duplicate run folders or a dependency that no run of the
            plan makes and that is not already trained; any error of a run, once the runs
            already started have finished.
    """
    jobs = default_jobs() if jobs is None else int(jobs)
    if jobs < 1:
        raise ConfigError(f"jobs must be a positive integer, got {jobs!r}.")
    folders = [s.run_dir for s in specs]
    if len(set(folders)) != len(folders):
        raise ConfigError("A plan names the same run folder twice.")
    planned = set(folders)
    _in_order(specs)  # refuses a cycle before anything runs
    for spec in specs:
        for need in spec.after:
            if need not in planned and not (need / "model.safetensors").is_file():
                raise ConfigError(f"{spec.run_dir} needs {need}, which no run of the plan makes.")
    if jobs == 1:
        return {s.run_dir: run_spec(s)[1] for s in _in_order(specs)}
    return _execute_pool(specs, jobs)


def _ready(pending: Sequence[RunSpec], running: Sequence[RunSpec] = ()) -> list[RunSpec]:
    """The pending runs none of whose needed folders is still to be trained, in plan order."""
    unfinished = {s.run_dir for s in (*pending, *running)}
    return [s for s in pending if not unfinished.intersection(s.after)]


def _in_order(specs: Sequence[RunSpec]) -> list[RunSpec]:
    """The plan in an order that trains every needed folder first (stable otherwise).

    Raises:
        ConfigError: for runs that need each other (a cycle).
    """
    pending, ordered = list(specs), []
    while pending:
        ready = _ready(pending)
        if not ready:
            cycle = ", ".join(str(s.run_dir) for s in pending)
            raise ConfigError(f"These runs need each other's weights: {cycle}.")
        ordered.append(ready[0])
        pending.remove(ready[0])
    return ordered


def _execute_pool(specs: Sequence[RunSpec], jobs: int) -> dict[Path, float]:
    pending = list(specs)
    seconds: dict[Path, float] = {}
    running: dict[Future[tuple[Path, float]], RunSpec] = {}
    error: BaseException | None = None
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_worker_init) as pool:
        while pending or running:
            ready = _ready(pending, list(running.values()))
            for spec in ready[: jobs - len(running)] if error is None else []:
                pending.remove(spec)
                running[pool.submit(run_spec, spec, True)] = spec
            if error is not None:
                pending.clear()
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                spec = running.pop(future)
                try:
                    seconds[spec.run_dir] = future.result()[1]
                except BaseException as err:  # noqa: BLE001 - re-raised once the pool drains
                    error = error or err
                    print(f"  failed: {spec.run_dir} (see {spec.run_dir}.log)", flush=True)
                    continue
                print(
                    f"  [{len(seconds)}/{len(specs)}] {spec.run_dir} "
                    f"({seconds[spec.run_dir]:.0f} s)",
                    flush=True,
                )
    if error is not None:
        raise error
    return seconds


__all__ = [
    "RunSpec",
    "default_jobs",
    "evaluate_or_reuse",
    "execute",
    "one_thread",
    "run_or_reuse",
    "run_spec",
    "run_test_split",
]
