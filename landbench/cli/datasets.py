"""``landbench datasets list|info|verify|download|import|export`` and ``landbench cite``."""

from __future__ import annotations

import argparse
import inspect


def _real_dataset(name: str, action: str) -> type:
    """The dataset class of ``name``, refusing datasets that are not read from files."""
    from landbench.core.errors import ConfigError
    from landbench.datasets.base import RealLandslideDataset
    from landbench.datasets.registry import dataset_class

    cls = dataset_class(name)
    if not issubclass(cls, RealLandslideDataset):
        raise ConfigError(
            f"{name} is generated in memory and has no files to {action}; "
            f"use `landbench datasets export {name} --to DIR` to write it to disk."
        )
    return cls


def _list(args: argparse.Namespace) -> int:
    from landbench.datasets.registry import list_datasets

    for name in list_datasets():
        print(name)
    return 0


def _info(args: argparse.Namespace) -> int:
    from landbench.datasets.base import RealLandslideDataset
    from landbench.datasets.registry import dataset_class

    cls = dataset_class(args.name)
    doc = inspect.getdoc(cls) or ""
    print(f"{args.name}: {doc.splitlines()[0] if doc else cls.__name__}")
    print(f"  class: {cls.__module__}.{cls.__name__}")
    print(f"  bands: {', '.join(cls.all_bands)}  (RGB: {', '.join(cls.rgb_bands)})")
    print(f"  DEM: {cls.dem_units}")
    print(f"  split version: {cls.split_version}")
    counts = getattr(cls, "official_counts", None)
    if counts:
        print("  official counts: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    fractions = getattr(cls, "fractions", None)
    if fractions:
        print(
            f"  split {cls.split_version}: per-id hash, stratified by class, "
            + "/".join(f"{round(v * 100)}" for v in fractions.values())
            + " "
            + "/".join(fractions)
        )
    elif counts and set(counts) == {"train", "val", "test"}:
        print(f"  split {cls.split_version}: the dataset authors' partition")
    if issubclass(cls, RealLandslideDataset):
        print(f"  source: {cls.homepage}")
        print(f"  layout: <root>/{cls.directory}/  (see `python -m pydoc {cls.__module__}`)")
        where = f"from {cls.url}" if cls.url else "not possible (no direct URL)"
        print(f"  download=True: {where}")
        print(f"  how to get it: {cls.how_to_get('<root>')}")
        print(f"  licence: {cls.license}")
    print(f"  cite: landbench cite {args.name} --root <root>")
    return 0


def _verify(args: argparse.Namespace) -> int:
    cls = _real_dataset(args.name, "verify")
    report = cls.verify(args.root)
    print(report.format())
    return 0 if report.ok else 1


def _download(args: argparse.Namespace) -> int:
    import warnings

    cls = _real_dataset(args.name, "download")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the count warning is reported by `verify`
        ds = cls(root=args.root, download=True, checksum=True)
    print(f"{args.name} is ready in {ds.root / cls.directory}")
    print(f"  split v1 manifest sha256: {ds.manifest.sha256}")
    print(f"  check it with: landbench datasets verify {args.name} --root {args.root}")
    return 0


def _import(args: argparse.Namespace) -> int:
    cls = _real_dataset(args.name, "import")
    dest = cls.import_files(args.source, args.root)
    print(f"imported {args.source} into {dest}")
    print(f"  check it with: landbench datasets verify {args.name} --root {args.root}")
    return 0


def _parse_size(text: str) -> int | tuple[int, int]:
    parts = text.lower().split("x")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be N or HxW in pixels, got {text!r}") from None
    if len(values) == 1:
        return values[0]
    if len(values) == 2:
        return values[0], values[1]
    raise argparse.ArgumentTypeError(f"size must be N or HxW in pixels, got {text!r}")


def _export(args: argparse.Namespace) -> int:
    from landbench.core.errors import ConfigError
    from landbench.datasets.registry import dataset_class
    from landbench.datasets.synth_export import export_bijie_layout

    if not dataset_class(args.name).synthetic:
        raise ConfigError(f"{args.name} is read from files; only generated datasets export.")
    root = export_bijie_layout(
        args.to, preset=args.preset, seed=args.seed, n=args.n, size=args.size
    )
    print(f"wrote a LandslideSynth dataset in the Bijie layout to {root}")
    print(f"  load it with: landbench.datasets.Bijie(root={str(root)!r})")
    return 0


def _cite(args: argparse.Namespace) -> int:
    from landbench.datasets.citation import cite

    print(cite(args.name, args.root), end="")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``datasets`` command group and the ``cite`` command."""
    datasets = subparsers.add_parser("datasets", help="list, inspect, verify and fetch datasets")
    sub = datasets.add_subparsers(dest="datasets_command", metavar="ACTION", required=True)

    p = sub.add_parser("list", help="list dataset names")
    p.set_defaults(func=_list)

    p = sub.add_parser("info", help="describe a dataset: source, counts, split, layout")
    p.add_argument("name", help="dataset name (see `landbench datasets list`)")
    p.set_defaults(func=_info)

    p = sub.add_parser(
        "verify",
        help="check a dataset folder against the official release (exit 1 on any problem)",
    )
    p.add_argument("name", help="bijie or hokkaido")
    p.add_argument("--root", required=True, help="folder that holds the dataset's folder")
    p.set_defaults(func=_verify)

    p = sub.add_parser("download", help="download and extract a dataset, or say where to get it")
    p.add_argument("name", help="bijie or hokkaido")
    p.add_argument("--root", required=True, help="folder to put the dataset in")
    p.set_defaults(func=_download)

    p = sub.add_parser(
        "import", help="place upstream files in landbench's canonical layout (e.g. hokkaido)"
    )
    p.add_argument("name", help="dataset to import (one whose archive needs an import step)")
    p.add_argument(
        "--from", dest="source", required=True, help="the extracted upstream download folder"
    )
    p.add_argument("--root", required=True, help="landbench data root; ROOT/Hokkaido is created")
    p.set_defaults(func=_import)

    p = sub.add_parser("export", help="write a generated dataset to disk in the Bijie layout")
    p.add_argument("name", help="generated dataset to export (synth)")
    p.add_argument("--to", required=True, help="folder to hold Bijie-landslide-dataset/")
    p.add_argument("--preset", default="bijie", help="LandslideSynth preset (default: bijie)")
    p.add_argument("--seed", type=int, default=0, help="dataset seed (default: 0)")
    p.add_argument("--n", type=int, default=None, help="number of tiles (default: the preset's)")
    p.add_argument("--size", type=_parse_size, default=None, help="tile side N or HxW in pixels")
    p.set_defaults(func=_export)

    p = subparsers.add_parser(
        "cite", help="print BibTeX for a dataset, landbench, and the split manifest hash"
    )
    p.add_argument("name", help="dataset name")
    p.add_argument("--root", default=None, help="dataset root whose split manifest to cite")
    p.set_defaults(func=_cite)
