"""``landbench hub build | validate | push``: package datasets for the Hugging Face Hub."""

from __future__ import annotations

import argparse

from landbench.cli.options import parse_set_options


def _build(args: argparse.Namespace) -> int:
    from landbench.hub.build import build

    record = build(
        args.dataset,
        args.out,
        root=args.root,
        dataset_kwargs=parse_set_options(args.set),
        allow_incomplete=args.allow_incomplete,
        overwrite=args.overwrite,
        card_template=args.card_template,
        max_shard_bytes=int(args.max_shard_mb * 2**20),
        rows_per_group=args.rows_per_group,
        progress=True,
    )
    counts = ", ".join(f"{s} {i['num_examples']}" for s, i in record["splits"].items())
    print(f"Built {record['dataset']} in {args.out}: {counts}")
    print(f"manifest sha256 {record['manifest_sha256']} (split {record['split_version']})")
    if not record["complete"]:
        print(f"partial copy: {record['num_incomplete_problems']} problem(s), see the card")
    print(f"Next: landbench hub validate {args.out}")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from landbench.hub.validate import validate

    report = validate(
        args.folder, raw_root=args.raw_root, cache_dir=args.cache_dir, compare_raw=not args.no_raw
    )
    print(report.summary())
    return 0


def _push(args: argparse.Namespace) -> int:
    from landbench.hub.push import push

    entry = push(
        args.folder,
        args.repo,
        args.tag,
        i_have_permission=args.i_have_permission,
        token=args.token,
        private=True if args.private else None,
        commit_message=args.message,
        cache_dir=args.cache_dir,
    )
    print(f"Pushed {entry['dataset']} to {entry['repo_id']} as commit {entry['commit_sha']}")
    print(f"tag {entry['tag']}: {entry['commit_url'] or ''}")
    print(
        f"Cite: {entry['repo_id']}@{entry['commit_sha']} (split {entry['split_version']}, "
        f"manifest sha256 {entry['manifest_sha256']})"
    )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``hub`` command group."""
    hub = subparsers.add_parser(
        "hub", help="build, validate and publish Hugging Face dataset repositories"
    )
    sub = hub.add_subparsers(dest="hub_command", metavar="ACTION", required=True)

    p = sub.add_parser("build", help="write Parquet shards, card and checksums for one dataset")
    p.add_argument("--dataset", required=True, help="dataset name (bijie, hokkaido, synth)")
    p.add_argument("--root", help="raw dataset folder (omit for synth)")
    p.add_argument("--out", required=True, help="output folder (must not exist)")
    p.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="dataset option, repeatable (e.g. --set preset=hokkaido --set n=80)",
    )
    p.add_argument(
        "--allow-incomplete",
        action="store_true",
        help="build from a raw folder that differs from the official release (card says so)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace OUT once the build is done")
    p.add_argument("--card-template", help="card template instead of datasets_cards/NAME.md")
    p.add_argument(
        "--max-shard-mb", type=float, default=500.0, help="start a new shard after this many MiB"
    )
    p.add_argument("--rows-per-group", type=int, default=64, help="rows per Parquet row group")
    p.set_defaults(func=_build)

    p = sub.add_parser("validate", help="check a build offline (card, checksums, every sample)")
    p.add_argument("folder", help="build or snapshot folder")
    p.add_argument("--raw-root", help="raw folder to compare with (default: the recorded one)")
    p.add_argument("--cache-dir", help="datasets cache folder (default: HF_DATASETS_CACHE)")
    p.add_argument("--no-raw", action="store_true", help="skip the sample-by-sample comparison")
    p.set_defaults(func=_validate)

    p = sub.add_parser("push", help="publish a build as one tagged commit")
    p.add_argument("folder", help="build folder")
    p.add_argument("--repo", required=True, help="dataset repository, ORG/NAME")
    p.add_argument("--tag", required=True, help="tag to create on the commit, e.g. v1")
    p.add_argument(
        "--i-have-permission",
        action="store_true",
        help="state that you may redistribute data whose licence is unknown (recorded)",
    )
    p.add_argument("--private", action="store_true", help="create the repository private")
    p.add_argument("--token", help="Hub token (default: the logged-in one)")
    p.add_argument("--message", help="commit title")
    p.add_argument("--cache-dir", help="datasets cache for the offline validation")
    p.set_defaults(func=_push)
