"""Publish a validated build to the Hugging Face Hub as one atomic, tagged commit.

``landbench hub push OUT --repo ORG/NAME --tag v1`` validates ``OUT`` offline, refuses data
whose licence is unknown unless the user states they hold permission, then calls
``HfApi.create_repo(repo_type="dataset")``, one ``create_commit`` with every file of the build
(the Hub shows all or nothing), and ``create_tag`` on that commit. The commit SHA to cite is
printed and appended to ``OUT/landbench_push.json``, which also lets
``landbench.load(..., source="hub", root=OUT, revision=<tag or sha>)`` resolve the revision
locally.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path
from typing import Any

from landbench._version import __version__
from landbench.core.errors import ConfigError, LandbenchError
from landbench.core.io import atomic_write_json
from landbench.datasets.hub_errors import (
    HubConnectionError,
    PermissionRequiredError,
    is_connection_error,
)
from landbench.datasets.hub_format import (
    CARD_FILE,
    CHECKSUM_FILE,
    PUSH_RECORD_FILE,
    RECORD_FILE,
    read_checksums,
    read_pushes,
    read_record,
)
from landbench.hub import cards


def push(
    folder: str | os.PathLike[str],
    repo_id: str,
    tag: str,
    *,
    i_have_permission: bool = False,
    client: Any = None,
    token: str | None = None,
    private: bool | None = None,
    commit_message: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Validate and publish a build folder as one tagged commit of a Hub dataset repository.

    Args:
        folder: a folder made by :func:`landbench.hub.build.build`.
        repo_id: ``"ORG/NAME"`` of the dataset repository (created if missing).
        tag: the tag to create on the commit (e.g. ``"v1"``); must not exist yet.
        i_have_permission: the user states they hold permission to redistribute data whose
            licence is unknown (``other``); recorded with the push.
        client: an object with ``HfApi``'s ``create_repo``, ``list_repo_refs``,
            ``create_commit`` and ``create_tag`` (default: ``huggingface_hub.HfApi(token)``).
        token: Hub token for the default client (default: the logged-in token).
        private: create the repository private (None: the Hub's default).
        commit_message: the commit's title.
        cache_dir: ``datasets`` cache for the offline validation.

    Returns:
        The push record entry: ``repo_id``, ``tag``, ``commit_sha``, ``commit_url``, ...

    Raises:
        ConfigError: on a malformed ``repo_id`` or ``tag``, or a tag that already exists.
        PermissionRequiredError: if the licence is unknown and ``i_have_permission`` is False.
        HubConnectionError: if the Hub cannot be reached (nothing was published).
        LandbenchError: if the Hub refuses a call (message says which and why).
    """
    from huggingface_hub import CommitOperationAdd

    from landbench.hub.validate import validate

    folder = Path(folder).expanduser().resolve()
    _check_repo_id(repo_id)
    if not tag or any(c.isspace() for c in tag) or tag.startswith("-"):
        raise ConfigError(f"Tag {tag!r} is not a valid git tag name (e.g. 'v1').")
    pushes = read_pushes(folder)  # fail on an unreadable history before publishing anything
    validate(folder, cache_dir=cache_dir, compare_raw=False)
    card = cards.read_card(folder)
    record = read_record(folder)
    if cards.license_is_unknown(card.data) and not i_have_permission:
        raise PermissionRequiredError(
            f"The card {folder / CARD_FILE} declares licence {card.data.license!r} "
            f"({card.data.get('license_name') or 'no name'}, "
            f"{card.data.get('license_link') or 'no link'}): "
            f"the terms of {record['dataset']!r} are unknown, so landbench does not publish it. "
            "If you hold the data owners' permission to redistribute it, pass "
            "--i-have-permission (the statement is recorded with the push)."
        )
    files = [CARD_FILE, CHECKSUM_FILE, RECORD_FILE, *sorted(read_checksums(folder))]
    files = list(dict.fromkeys(files))  # the record is also in SHA256SUMS
    operations = [
        CommitOperationAdd(path_in_repo=f, path_or_fileobj=str(folder / f)) for f in files
    ]
    message = commit_message or (
        f"landbench {record['dataset']} split {record['split_version']} "
        f"(manifest {record['manifest_sha256'][:12]})"
    )
    description = (
        f"Built by landbench {record['landbench_version']}; manifest sha256 "
        f"{record['manifest_sha256']}; {record['num_examples']} samples."
    )
    if client is None:
        from huggingface_hub import HfApi

        client = HfApi(token=token)
    _hub_call(
        "create the repository",
        repo_id,
        lambda: client.create_repo(repo_id, repo_type="dataset", exist_ok=True, private=private),
    )
    refs = _hub_call(
        "list the tags", repo_id, lambda: client.list_repo_refs(repo_id, repo_type="dataset")
    )
    if tag in {t.name for t in getattr(refs, "tags", []) or []}:
        raise ConfigError(
            f"Tag {tag!r} already exists in {repo_id}; tags are citable and never moved: choose "
            "a new tag. Nothing was committed."
        )
    info = _hub_call(
        "commit the files",
        repo_id,
        lambda: client.create_commit(
            repo_id,
            operations,
            commit_message=message,
            commit_description=description,
            repo_type="dataset",
        ),
    )
    entry = {
        "repo_id": repo_id,
        "tag": None,
        "commit_sha": info.oid,
        "commit_url": getattr(info, "commit_url", None),
        "dataset": record["dataset"],
        "split_version": record["split_version"],
        "manifest_sha256": record["manifest_sha256"],
        "files": files,
        "permission_stated": bool(i_have_permission),
        "license": card.data.license,
        "landbench_version": __version__,
        "pushed_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    try:
        _hub_call(
            "tag the commit",
            repo_id,
            lambda: client.create_tag(
                repo_id,
                tag=tag,
                revision=info.oid,
                tag_message=message,
                repo_type="dataset",
            ),
        )
    except LandbenchError as err:
        _record(folder, pushes, entry)  # the commit exists: keep its SHA even though tagging failed
        raise LandbenchError(
            f"{err} The files were committed as {info.oid}; tag that commit later with "
            f"HfApi().create_tag({repo_id!r}, tag={tag!r}, revision={info.oid!r}, "
            "repo_type='dataset')."
        ) from None
    entry["tag"] = tag
    _record(folder, pushes, entry)
    return entry


def _check_repo_id(repo_id: str) -> None:
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(repo_id)
    except HFValidationError as err:
        raise ConfigError(f"Invalid repository id {repo_id!r}: {err}") from None
    if repo_id.count("/") != 1:
        raise ConfigError(f"Repository id {repo_id!r} must be 'ORG/NAME' (owner and name).")


def _hub_call(action: str, repo_id: str, call: Any) -> Any:
    """Run one Hub call, turning the client's failures into clear landbench errors."""
    try:
        return call()
    except LandbenchError:
        raise
    except Exception as err:
        if is_connection_error(err):
            raise HubConnectionError(
                f"Could not {action} for {repo_id}: the Hugging Face Hub is unreachable ({err}). "
                "Check the network, unset HF_HUB_OFFLINE if it is set, and run the push again; "
                "nothing was published by this step."
            ) from None
        status = getattr(getattr(err, "response", None), "status_code", None)
        hint = {
            401: "log in with `hf auth login` or pass a token with write access",
            403: "your token lacks write access to this organisation or repository",
            404: "check the repository id",
            409: "it conflicts with what the repository already holds",
        }.get(status, "see the message")
        raise LandbenchError(
            f"The Hub refused to {action} for {repo_id} (HTTP {status}): {err}; {hint}."
        ) from None


def _record(folder: Path, pushes: list[dict[str, Any]], entry: dict[str, Any]) -> None:
    """Append ``entry`` to the push history ``folder/landbench_push.json`` (atomically)."""
    atomic_write_json(folder / PUSH_RECORD_FILE, {"pushes": [*pushes, entry]})
