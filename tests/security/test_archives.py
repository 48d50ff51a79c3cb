"""Hostile archives and Hub folders, the cases that already passed, pinned so none comes back.

Zip slip, absolute paths, symbolic links, special files, duplicate names and
zip bombs (a forged header included) are refused before a byte is unpacked; a tampered Hub shard
is refused by ``hub validate`` and by loading. Each through the CLI: exit 2, one message, nothing
written next to the submission or left in the temporary folder.
"""

from __future__ import annotations

import stat
import tempfile
import zipfile
from pathlib import Path

import pytest

from landbench.cli import main
from tests.security.conftest import assert_refused


def zip_of(folder: Path, path: Path, extra=()) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                zf.write(file, file.relative_to(folder).as_posix())
        for info, data in extra:
            zf.writestr(info, data)
    return path


def special(name: str, kind: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (kind | 0o777) << 16
    return info


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where archives are unpacked: must stay empty."""
    folder = tmp_path / "scratch"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.mark.parametrize(
    ("member", "needle"),
    [
        ("../evil.png", "contains '..'"),
        ("predictions/../../evil.png", "contains '..'"),
        ("/tmp/evil.png", "absolute path"),
        ("C:/evil.png", "absolute path"),
        ("predictions\\..\\evil.png", "backslash"),
        (special("predictions/synth/link.png", stat.S_IFLNK), "symbolic link"),
        (special("predictions/synth/fifo.png", stat.S_IFIFO), "special file"),
    ],
    ids=["slip", "nested-slip", "absolute", "drive", "backslash", "symlink", "fifo"],
)
def test_unsafe_members_are_refused_before_unpacking(
    capsys, submission, tmp_path, scratch, member, needle
):
    archive = zip_of(submission, tmp_path / "bad.zip", [(member, b"x")])
    assert_refused(
        capsys, ["leaderboard", "validate", str(archive)], needle, "bad.zip", watch=[tmp_path]
    )
    assert not (tmp_path.parent / "evil.png").exists()
    assert list(scratch.iterdir()) == []


def test_zip_bomb_is_refused_from_its_headers(capsys, submission, tmp_path, scratch):
    archive = zip_of(submission, tmp_path / "bomb.zip", [("README.md", b"\0" * 1_100_000_000)])
    assert archive.stat().st_size < 2_000_000
    assert_refused(
        capsys,
        ["leaderboard", "validate", str(archive)],
        "MAX_UNCOMPRESSED_BYTES",
        watch=[tmp_path],
    )
    assert list(scratch.iterdir()) == []


def test_forged_header_bomb_is_stopped_while_inflating(submission, tmp_path, scratch):
    """A header claiming 10 bytes for 50 MB of content: counted while inflating, then refused."""
    from landbench.leaderboard.archive import extract_zip
    from landbench.leaderboard.errors import ArchiveError

    archive = zip_of(submission, tmp_path / "forged.zip", [("README.md", b"\0" * 50_000_000)])
    data = bytearray(archive.read_bytes())
    header = data.rfind(b"README.md") - 46  # its entry in the central directory, read first
    assert data[header : header + 4] == b"PK\x01\x02"
    data[header + 24 : header + 28] = (10).to_bytes(4, "little")  # uncompressed size
    archive.write_bytes(bytes(data))
    dest = scratch / "x"
    dest.mkdir()
    with pytest.raises(ArchiveError):
        extract_zip(archive, dest, max_bytes=1_000_000)


def test_duplicate_members_are_refused(capsys, submission, tmp_path, synth_test):
    name = f"predictions/synth/{synth_test.ids[0]}.png"
    data = (submission / name).read_bytes()
    with pytest.warns(UserWarning, match="Duplicate name"):
        archive = zip_of(submission, tmp_path / "dup.zip", [(name, data)])
    assert_refused(capsys, ["leaderboard", "validate", str(archive)], "more than once")


def test_symlink_in_a_folder_submission(capsys, submission):
    (submission / "predictions" / "synth" / "link.png").symlink_to("/etc/passwd")
    assert_refused(
        capsys, ["leaderboard", "validate", str(submission)], "symbolic link", watch=[submission]
    )


def test_not_a_zip(capsys, tmp_path):
    (tmp_path / "x.zip").write_bytes(b"PK\x03\x04garbage")
    assert_refused(capsys, ["leaderboard", "validate", str(tmp_path / "x.zip")], "x.zip")


@pytest.fixture(scope="module")
def synth_hub(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("hub") / "build"
    assert main(["hub", "build", "--dataset", "synth", "--set", "n=20", "--set", "size=32",
                 "--out", str(out)]) == 0  # fmt: skip
    return out


def test_tampered_hub_shard_is_refused(capsys, synth_hub, tmp_path):
    import shutil

    copy = Path(shutil.copytree(synth_hub, tmp_path / "copy"))
    shard = sorted((copy / "data").glob("test-*.parquet"))[0]
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF
    shard.write_bytes(bytes(data))
    assert_refused(capsys, ["hub", "validate", str(copy), "--no-raw"], shard.name, watch=[copy])
