"""``landbench train``: run a training recipe from a YAML config.

Recipe keys are overridden with jsonargparse-style dotted flags, as in LightningCLI
(``--trainer.max_epochs 50``, ``--mixup.mode off``, ``--model.kwargs '{size: small}'``);
``--set KEY=VALUE`` sets a dataset option (``data.dataset_kwargs.KEY``), as in every command.
"""

from __future__ import annotations

import argparse

RECIPE_DEST = "recipe:"
"""Prefix of the argparse destinations of the dotted recipe flags."""


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
    from landbench.training.config import recipe_keys  # dataclasses only: no parser imported

    parser = subparsers.add_parser(
        "train",
        usage="landbench train --config PATH [--set KEY=VALUE] [--out DIR] [--resume] "
        "[--SECTION.KEY VALUE ...] [--devices ...]",
        help="train a model from a YAML config (Mixup, transfer learning, any devices)",
        description=(
            "Train a zoo model from a YAML recipe (see baselines/configs/README.md) and write a "
            "run folder: config.yaml, run.json, metrics.csv, checkpoints/, model.safetensors. "
            "Model selection and early stopping use the validation split only. Any recipe key "
            "can be overridden with its dotted flag, e.g. --trainer.max_epochs 50."
        ),
    )
    parser.add_argument("--config", required=True, metavar="PATH", help="YAML config file")
    parser.add_argument(
        "--set",
        dest="dataset_options",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="dataset option (data.dataset_kwargs.KEY), e.g. --set preset=hokkaido --set n=40 "
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
    recipe = parser.add_argument_group(
        "recipe keys",
        "override one key of the recipe, e.g. --trainer.max_epochs 50, --mixup.mode off, "
        "--model.kwargs '{size: small}'; values are parsed for the key's type (schema: "
        "baselines/configs/README.md)",
    )
    for key in recipe_keys():
        recipe.add_argument(
            f"--{key}", dest=f"{RECIPE_DEST}{key}", metavar="VALUE", default=argparse.SUPPRESS
        )
    parser.set_defaults(func=_train)


def recipe_overrides(args: argparse.Namespace) -> list[str]:
    """The dotted recipe flags given on the command line, as ``KEY=VALUE`` for the parser."""
    return [
        f"{dest[len(RECIPE_DEST) :]}={value}"
        for dest, value in vars(args).items()
        if dest.startswith(RECIPE_DEST)
    ]


def _train(args: argparse.Namespace) -> int:
    from landbench.cli.options import parse_set_options
    from landbench.training.runner import train

    train(
        args.config,
        out_dir=args.out,
        overrides=recipe_overrides(args),
        dataset_kwargs=parse_set_options(args.dataset_options),
        resume=args.resume,
        devices=args.devices,
        accelerator=args.accelerator,
        strategy=args.strategy,
        precision=args.precision,
        num_nodes=args.num_nodes,
        verbose=bool(getattr(args, "verbose", False)),
    )
    return 0
