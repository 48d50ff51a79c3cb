"""``landbench train``: run a training recipe from a YAML config."""

from __future__ import annotations

import argparse


def _devices(value: str) -> int | str | list[int]:
    """``--devices`` accepts a count (``2``), ``auto``, ``-1`` or a list of indices (``0,1``)."""
    if "," in value:
        return [int(v) for v in value.split(",") if v.strip()]
    try:
        return int(value)
    except ValueError:
        return value


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``train`` command."""
    parser = subparsers.add_parser(
        "train",
        help="train a model from a YAML config (Mixup, transfer learning, any devices)",
        description=(
            "Train a zoo model from a YAML recipe (see baselines/configs/README.md) and write a "
            "run folder: config.yaml, run.json, metrics.csv, checkpoints/, model.safetensors. "
            "Model selection and early stopping use the validation split only."
        ),
    )
    parser.add_argument("--config", required=True, metavar="PATH", help="YAML config file")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set trainer.max_epochs=5 --set mixup.mode=off "
        "(repeatable; values are read as YAML)",
    )
    parser.add_argument(
        "--out", metavar="DIR", help="run folder (default: OUTPUT_DIR/NAME from the config)"
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue the run in the run folder from last.ckpt"
    )
    parser.add_argument(
        "--devices", type=_devices, help="Lightning devices: a count, 'auto', or indices '0,1'"
    )
    parser.add_argument("--accelerator", help="Lightning accelerator: auto, cpu, gpu, mps, ...")
    parser.add_argument("--strategy", help="Lightning strategy: auto, ddp, ddp_spawn, fsdp, ...")
    parser.add_argument("--num-nodes", type=int, help="machines taking part (multi-node DDP)")
    parser.add_argument(
        "--precision", help="Lightning precision: 32-true, 16-mixed, bf16-mixed, ..."
    )
    parser.set_defaults(func=_train)


def _train(args: argparse.Namespace) -> int:
    from landbench.training.runner import train

    run_dir = train(
        args.config,
        out_dir=args.out,
        overrides=args.overrides,
        resume=args.resume,
        devices=args.devices,
        accelerator=args.accelerator,
        strategy=args.strategy,
        precision=args.precision,
        num_nodes=args.num_nodes,
    )
    import json

    from landbench.training.runner import is_global_rank_zero

    if not is_global_rank_zero():  # DDP worker processes re-run the command: report once
        return 0
    info = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    best = info.get("best_metrics") or {}
    f1 = best.get("val_f1")
    summary = f"best val_f1 {f1:.4f} at epoch {info.get('best_epoch')}" if f1 is not None else ""
    print(f"run folder: {run_dir} ({info.get('status')}{', ' + summary if summary else ''})")
    return 0
