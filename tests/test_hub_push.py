"""Hub publishing with a fake client, and resolving revisions of local snapshots."""

from __future__ import annotations

import hashlib
import json
import shutil
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import landbench
from landbench.cli import main
from landbench.core.errors import ConfigError, LandbenchError
from landbench.datasets.base import DatasetCountWarning
from landbench.datasets.hub_errors import (
    HubConnectionError,
    PermissionRequiredError,
    RevisionNotFoundError,
)
from landbench.datasets.hub_format import PUSH_RECORD_FILE
from landbench.hub.build import build
from landbench.hub.push import push

BIJIE_FAKE = Path(__file__).parent / "data" / "bijie"
SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(autouse=True)
def _hf_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets.config

    cache = tmp_path_factory.getbasetemp() / "hf-datasets-cache"
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", cache)


class FakeHfApi:
    """Records every call; behaves like ``huggingface_hub.HfApi`` for the calls push makes."""

    def __init__(self, tags: tuple[str, ...] = (), fail: dict[str, Exception] | None = None):
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.tags = list(tags)
        self.fail = fail or {}
        self.committed: dict[str, str] = {}

    def _call(self, name: str, **kwargs: Any) -> None:
        self.calls.append((name, kwargs))
        if name in self.fail:
            raise self.fail[name]

    def create_repo(self, repo_id: str, **kwargs: Any) -> str:
        self._call("create_repo", repo_id=repo_id, **kwargs)
        return f"https://huggingface.co/datasets/{repo_id}"

    def list_repo_refs(self, repo_id: str, **kwargs: Any) -> Any:
        self._call("list_repo_refs", repo_id=repo_id, **kwargs)
        return SimpleNamespace(tags=[SimpleNamespace(name=t) for t in self.tags], branches=[])

    def create_commit(self, repo_id: str, operations: list[Any], **kwargs: Any) -> Any:
        self._call("create_commit", repo_id=repo_id, **kwargs)
        for op in operations:
            data = Path(op.path_or_fileobj).read_bytes()
            self.committed[op.path_in_repo] = hashlib.sha256(data).hexdigest()
        url = f"https://huggingface.co/datasets/{repo_id}/commit/{SHA}"
        return SimpleNamespace(oid=SHA, commit_url=url)

    def create_tag(self, repo_id: str, **kwargs: Any) -> None:
        self._call("create_tag", repo_id=repo_id, **kwargs)
        self.tags.append(kwargs["tag"])


@pytest.fixture(scope="module")
def synth_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "build"
    build("synth", out, dataset_kwargs={"n": 10, "size": 16})
    return out


@pytest.fixture
def synth_copy(synth_build: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(synth_build, copy)
    return copy


def test_push_makes_one_commit_and_a_tag(synth_copy: Path, tmp_path: Path) -> None:
    client = FakeHfApi()
    entry = push(synth_copy, "org/landbench-synth", "v1", client=client, cache_dir=tmp_path)
    assert [c[0] for c in client.calls] == [
        "create_repo",
        "list_repo_refs",
        "create_commit",
        "create_tag",
    ]
    assert client.calls[0][1]["repo_type"] == "dataset"
    assert client.calls[2][1]["repo_type"] == "dataset"
    assert client.calls[3][1]["revision"] == SHA and client.calls[3][1]["tag"] == "v1"
    sums = dict(
        reversed(line.split("  ")) for line in (synth_copy / "SHA256SUMS").read_text().splitlines()
    )
    assert set(client.committed) == {"README.md", "SHA256SUMS", *sums}
    for path, digest in sums.items():
        assert client.committed[path] == digest
    assert "landbench_source.json" not in client.committed  # local paths stay local
    assert entry["commit_sha"] == SHA and entry["tag"] == "v1"
    pushes = json.loads((synth_copy / PUSH_RECORD_FILE).read_text())["pushes"]
    assert pushes[-1]["commit_sha"] == SHA and pushes[-1]["license"] == "mit"


def test_push_cli_prints_the_commit(synth_copy: Path, monkeypatch, capsys) -> None:
    client = FakeHfApi()
    monkeypatch.setattr("huggingface_hub.HfApi", lambda token=None: client)
    assert main(["hub", "push", str(synth_copy), "--repo", "org/s", "--tag", "v2"]) == 0
    out = capsys.readouterr().out
    assert f"org/s@{SHA}" in out and "manifest sha256" in out


def test_unknown_licence_needs_permission(tmp_path: Path) -> None:
    out = tmp_path / "bijie"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatasetCountWarning)
        build("bijie", out, root=BIJIE_FAKE, allow_incomplete=True)
    client = FakeHfApi()
    with pytest.raises(PermissionRequiredError, match="--i-have-permission"):
        push(out, "org/bijie", "v1", client=client, cache_dir=tmp_path / "c")
    assert client.calls == [] and not (out / PUSH_RECORD_FILE).exists()
    entry = push(
        out, "org/bijie", "v1", client=client, i_have_permission=True, cache_dir=tmp_path / "c"
    )
    assert entry["permission_stated"] is True


def test_existing_tag_and_bad_names_commit_nothing(synth_copy: Path, tmp_path: Path) -> None:
    client = FakeHfApi(tags=("v1",))
    with pytest.raises(ConfigError, match="already exists"):
        push(synth_copy, "org/s", "v1", client=client, cache_dir=tmp_path)
    assert "create_commit" not in [c[0] for c in client.calls]
    with pytest.raises(ConfigError, match="ORG/NAME|Invalid repository"):
        push(synth_copy, "no-owner", "v1", client=client)
    with pytest.raises(ConfigError, match="tag"):
        push(synth_copy, "org/s", "bad tag", client=client)


def test_tampered_build_is_not_pushed(synth_copy: Path) -> None:
    shard = next((synth_copy / "data").glob("test-*.parquet"))
    shard.write_bytes(shard.read_bytes() + b"x")
    client = FakeHfApi()
    with pytest.raises(LandbenchError, match="sha256"):
        push(synth_copy, "org/s", "v1", client=client)
    assert client.calls == []


class ConnectError(Exception):
    """Named like httpx's transport error, which huggingface_hub lets through."""


def test_connection_failures_are_clear(synth_copy: Path, tmp_path: Path) -> None:
    client = FakeHfApi(fail={"create_repo": ConnectError("[Errno -2] Name or service not known")})
    with pytest.raises(HubConnectionError, match="unreachable.*nothing was published"):
        push(synth_copy, "org/s", "v1", client=client, cache_dir=tmp_path)
    # A failed tag keeps the commit's SHA on record and says how to finish.
    client = FakeHfApi(fail={"create_tag": ConnectionError("reset")})
    with pytest.raises(LandbenchError, match=f"committed as {SHA}"):
        push(synth_copy, "org/s", "v1", client=client, cache_dir=tmp_path)
    pushes = json.loads((synth_copy / PUSH_RECORD_FILE).read_text())["pushes"]
    assert pushes[-1]["commit_sha"] == SHA and pushes[-1]["tag"] is None


def test_real_client_offline_refusal(
    synth_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(HubConnectionError, match="HF_HUB_OFFLINE"):
        push(synth_copy, "org/s", "v1", token="hf_fake", cache_dir=tmp_path)
    code = main(["hub", "push", str(synth_copy), "--repo", "org/s", "--tag", "v1",
                 "--token", "hf_fake"])  # fmt: skip
    assert code == 2 and not (synth_copy / PUSH_RECORD_FILE).exists()


# --- revisions of local snapshots -------------------------------------------------------------


def test_revision_resolves_pushed_tag_and_commit(synth_copy: Path, tmp_path: Path) -> None:
    with pytest.raises(RevisionNotFoundError, match="never pushed"):
        landbench.load("synth", source="hub", root=str(synth_copy), revision="v1")
    push(synth_copy, "org/s", "v1", client=FakeHfApi(), cache_dir=tmp_path)
    for revision in ("v1", SHA, SHA[:10], None):
        ds = landbench.load("synth", split="test", source="hub", root=str(synth_copy),
                            revision=revision)  # fmt: skip
        assert len(ds) == 2
    with pytest.raises(RevisionNotFoundError, match="'v9' is not in the local snapshot"):
        landbench.load("synth", source="hub", root=str(synth_copy), revision="v9")


def test_revision_in_hugging_face_cache_layout(synth_build: Path, tmp_path: Path) -> None:
    repo = tmp_path / "hub" / "datasets--org--landbench-synth"
    snapshot = repo / "snapshots" / SHA
    shutil.copytree(synth_build, snapshot)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(SHA)
    (repo / "refs" / "v1").write_text(SHA)
    for revision in (None, "main", "v1", SHA):
        ds = landbench.load("synth", split="val", source="hub", root=str(repo), revision=revision)
        assert Path(ds.root) == snapshot and len(ds) == 1
    with pytest.raises(RevisionNotFoundError, match=r"'v2'.*refs: \['main', 'v1'\]"):
        landbench.load("synth", source="hub", root=str(repo), revision="v2")
    with pytest.raises(RevisionNotFoundError):
        landbench.load("synth", source="hub", root=str(repo), revision="f" * 40)


def test_repo_id_download_offline_is_clear(monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(LandbenchError, match="org/nothing-cached"):
        landbench.load("synth", source="hub", repo_id="org/nothing-cached")
