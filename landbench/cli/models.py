"""``landbench models list|info``: the zoo, straight from the registry.

``landbench models list --markdown`` prints the zoo table of the README (name, family, bands read,
how the bands are routed, parameters of the default config, reference), so the README never
drifts from the code. Every model is created for a band set (default R, G, B, DEM); "all" means
it reads every band of that set.
"""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(subparsers: Any) -> None:
    """Add the ``models`` command group to the ``landbench`` parser."""
    parser = subparsers.add_parser(
        "models", help="list the model zoo or describe a model", description=__doc__
    )
    sub = parser.add_subparsers(dest="models_command", metavar="SUBCOMMAND")

    def usage(args: argparse.Namespace) -> int:
        parser.print_help()
        return 2

    parser.set_defaults(func=usage)

    list_parser = sub.add_parser("list", help="list registered models")
    list_parser.add_argument(
        "--markdown", action="store_true", help="print the README's Markdown table"
    )
    list_parser.set_defaults(func=_list)

    info_parser = sub.add_parser("info", help="describe one model: options, presets, parameters")
    info_parser.add_argument("name", help="a model name from `landbench models list`")
    info_parser.add_argument("--json", action="store_true", help="print JSON")
    info_parser.set_defaults(func=_info)


def _format_count(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1e6:.1f} M"
    if n >= 1_000:
        return f"{n / 1e3:.0f} k"
    return str(n)


def _inputs(bands: tuple[str, ...] | None) -> str:
    if bands is None:
        return "all"
    return ", ".join(bands) if bands else "none"


def zoo_table() -> str:
    """The Markdown table of the zoo: name, family, bands read and how, parameters, reference."""
    from landbench.models.registry import count_parameters, list_models, model_info

    lines = [
        "| model | family | bands read | band groups | parameters (default config, R, G, B, DEM) "
        "| trained by | reference |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in list_models():
        info = model_info(name)
        trained = "gradient descent" if info.trainable else "`fit` on train"
        params = _format_count(count_parameters(name))
        lines.append(
            f"| `{name}` | {info.family} | {_inputs(info.bands_used)} | {info.band_groups} | "
            f"{params} | {trained} | {info.reference} |"
        )
    return "\n".join(lines)


def _list(args: argparse.Namespace) -> int:
    from landbench.models.registry import list_models, model_info

    if args.markdown:
        print(zoo_table())
        return 0
    for name in list_models():
        info = model_info(name)
        print(f"{name:24s} {info.family:10s} {_inputs(info.bands_used):10s} {info.summary}")
    return 0


def describe(name: str) -> dict[str, Any]:
    """Everything ``landbench models info`` prints, as a JSON-serialisable dict."""
    import torch

    from landbench.models.registry import create_model, model_info
    from landbench.models.weights import list_published_weights

    info = model_info(name)
    with torch.device("meta"):
        model = create_model(name)
    options = dict(info.kwargs)
    return {
        "name": name,
        "summary": info.summary,
        "family": info.family,
        "inputs_used": None if info.bands_used is None else list(info.bands_used),
        "band_groups": info.band_groups,
        "trainable": info.trainable,
        "reference": info.reference,
        "options": json.loads(json.dumps(options, default=str)),
        "default_config": model.config,
        "parameters": sum(p.numel() for p in model.parameters()),
        "published_weights": [f"{type(w).__name__}.{w.name}" for w in list_published_weights(name)],
    }


def _info(args: argparse.Namespace) -> int:
    facts = describe(args.name)
    if args.json:
        print(json.dumps(facts, indent=2))
        return 0
    print(f"{facts['name']}: {facts['summary']}")
    used = facts["inputs_used"]
    print(f"  family:            {facts['family']}")
    print(
        f"  bands read:        {_inputs(None if used is None else tuple(used))} (of its band set)"
    )
    print(f"  band groups:       {facts['band_groups']}")
    print(f"  trained by:        {'gradient descent' if facts['trainable'] else 'fit on train'}")
    print(f"  reference:         {facts['reference']}")
    print(f"  parameters:        {facts['parameters']:,} (default config)")
    print(f"  default config:    {json.dumps(facts['default_config'])}")
    print("  options:           " + ", ".join(f"{k}={v!r}" for k, v in facts["options"].items()))
    published = ", ".join(facts["published_weights"]) or "none (nothing trained on real data yet)"
    print(f"  published weights: {published}")
    return 0
