"""``landbench check-data ROOT``: every problem of a bring-your-own-data folder, file by file."""

from __future__ import annotations

import argparse


def _check_data(args: argparse.Namespace) -> int:
    from landbench.datasets.folder import check_folder

    layout, problems = check_folder(args.root)
    print(f"{layout.root}: {len(layout.images)} image(s), dataset name {layout.name!r}")
    print(f"  bands: {', '.join(layout.bands) if layout.bands else 'unknown'}")
    source = "splits.json" if (layout.root / "splits.json").is_file() else "hash of each id"
    counts = ", ".join(f"{s} {len(ids)}" for s, ids in layout.splits.items())
    print(f"  splits ({source}): {counts}")
    if problems:
        print(f"  FAILED: {len(problems)} problem(s)")
        for problem in problems:
            print(f"  - {problem}")
        return 2
    from landbench.datasets.splits import SplitManifest

    manifest = SplitManifest(layout.name, "v1", layout.splits)
    print(f"  manifest sha256: {manifest.sha256}")
    print(f"  OK: landbench.load('folder', root={str(layout.root)!r}) reads every sample")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``check-data`` command."""
    parser = subparsers.add_parser(
        "check-data",
        help="check a folder of your own data (images/, masks/, bands.txt, splits.json)",
        description=(
            "Read every file of a bring-your-own-data folder and list every problem, each naming "
            "its file: unreadable rasters, band counts that differ from bands.txt, image/mask "
            "size mismatches, mask values other than 0/1 or 0/255, images without masks, ids in "
            "splits.json without files and files in no split. Exit 0 when the folder is fine, "
            "2 otherwise. The layout: `python -m pydoc landbench.datasets.folder`."
        ),
    )
    parser.add_argument("root", help="the folder (holding images/, masks/ and bands.txt)")
    parser.set_defaults(func=_check_data)
