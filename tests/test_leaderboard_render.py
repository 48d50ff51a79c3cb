"""Leaderboard: rendering, seeds (schema 2), rank groups, hostile text, reference checks."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import landbench
from landbench.cli import main
from landbench.evaluation import evaluate_predictions, read_predictions
from landbench.evaluation.reported import PUBLISHED_ROWS as PAPER
from landbench.leaderboard import (
    LeaderboardError,
    init_submission,
    load_reported,
    render,
    submit,
    validate_submission,
)
from landbench.leaderboard.schema import schema_problems
from tests.test_leaderboard import REPO, SYNTH, edit_meta, fill, make_submission, refused


@pytest.fixture(scope="module")
def test_split():
    return landbench.load("synth", split="test", **SYNTH)


@pytest.fixture
def good(tmp_path, test_split) -> Path:
    return make_submission(tmp_path, test_split, "good")


# --------------------------------------------------------------------------------- render


@pytest.fixture(scope="module")
def board(tmp_path_factory, test_split) -> Path:
    tmp = tmp_path_factory.mktemp("lb")
    folder = tmp / "leaderboard"
    # the paper's reported rows ship with the package: every leaderboard shows them
    for entry, kind in (("mid", "noisy"), ("zero", "empty"), ("best", "truth")):
        submit(
            make_submission(tmp, test_split, entry, kind=kind),
            folder,
            submitted_at="2026-01-02T03:04:05Z",
        )
    render(folder)
    return folder


def test_render_writes_ranked_tables(board):
    readme = (board / "README.md").read_text()
    assert readme.index("`best`") < readme.index("`mid`") < readme.index("`zero`")
    assert "| 1 | Model best (`best`) | Team A | 1.000 [" in readme
    # real datasets first (with their reported rows), synthetic data apart, at the end
    assert readme.index("## Bijie") < readme.index("## Hokkaido") < readme.index("## Synthetic")
    assert "No recomputed entry yet." in readme
    assert "Reported in publications (not recomputed, not comparable)" in readme
    assert "| 0.850 |" in readme and "| 0.79 |" in readme
    with open(board / "leaderboard.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    recomputed = [r for r in rows if r["source"] == "recomputed"]
    assert [r["entry"] for r in recomputed] == ["best", "mid", "zero"]
    assert [r["rank"] for r in recomputed] == ["1", "2", "3"]
    assert float(recomputed[0]["f1"]) == 1.0 and recomputed[0]["synthetic"] == "true"
    reported = [r for r in rows if r["source"] == "reported"]
    paper = [r for r in reported if "Lissak" in r["reported_in"]]
    assert len(paper) == 9 and all(r["f1"] == "" for r in reported)


def test_render_is_deterministic(board, tmp_path):
    first = {n: (board / n).read_bytes() for n in ("README.md", "leaderboard.csv", "index.html")}
    copy = tmp_path / "copy"
    shutil.copytree(board, copy)
    for name in first:
        (copy / name).unlink()
    render(copy)
    render(copy)
    assert {n: (copy / n).read_bytes() for n in first} == first
    render(board, check=True)


def test_render_check_fails_on_stale_output(board, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(board, copy)
    (copy / "README.md").write_text("edited by hand\n")
    (copy / "index.html").unlink()
    with pytest.raises(LeaderboardError, match="out of date") as info:
        render(copy, check=True)
    assert "README.md differs" in str(info.value) and "index.html is missing" in str(info.value)
    assert (copy / "README.md").read_text() == "edited by hand\n"  # check writes nothing
    assert main(["leaderboard", "render", "--check", "--leaderboard-dir", str(copy)]) == 2
    assert main(["leaderboard", "render", "--leaderboard-dir", str(copy)]) == 0
    assert main(["leaderboard", "render", "--check", "--leaderboard-dir", str(copy)]) == 0


def test_render_check_catches_edited_scores(board, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(board, copy)
    path = copy / "results" / "zero.json"
    record = json.loads(path.read_text())
    record["results"]["synth"]["seeds"][0]["evaluation"]["metrics"]["f1"] = 0.99
    path.write_text(json.dumps(record))
    with pytest.raises(LeaderboardError, match="figures must come from the evaluator"):
        render(copy, check=True)
    record["results"]["synth"]["seeds"][0]["evaluation"]["metrics"]["f1"] = 0.0
    path.rename(copy / "results" / "renamed.json")
    with pytest.raises(LeaderboardError, match="does not match the file name"):
        render(copy, check=True)


def test_submitter_text_is_escaped(tmp_path, test_split):
    sub = make_submission(tmp_path, test_split, "evil", team="=HYPERLINK(1) | <b>x</b>")
    edit_meta(sub, lambda m: m["model"].update(name="<script>alert(1)</script>"))
    folder = tmp_path / "board"
    submit(sub, folder)
    render(folder)
    page = (folder / "index.html").read_text()
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    assert "<b>x</b>" not in page
    readme = (folder / "README.md").read_text()
    assert "=HYPERLINK(1) \\| \\<b\\>x\\</b\\>" in readme
    with open(folder / "leaderboard.csv", newline="") as f:
        row = next(csv.DictReader(f))
    assert row["team"].startswith("'=HYPERLINK")


def test_html_is_self_contained(board):
    page = (board / "index.html").read_text()
    assert "<style>" in page and "<script>" in page
    assert "<link" not in page and " src=" not in page and "@import" not in page
    assert "url(" not in page
    assert page.count('class="entry" data-entry=') == 3
    assert 'class="sortable reported"' in page


def test_committed_leaderboard_is_valid_and_up_to_date():
    """What CI runs: every committed entry is valid and the rendered files are current."""
    render(REPO / "leaderboard", check=True)


def test_reported_rows_transcribe_the_paper():
    rows = [r for r in load_reported(REPO / "leaderboard") if r.source == PAPER]
    table1 = {(r.model.split(", ")[1], r.setting): r.value for r in rows if r.table == "Table 1"}
    assert table1[("residual U-Net RGB encoder (from scratch)", "Mixup")] == "0.850"
    assert table1[("VGG RGB encoder", "no Mixup")] == "0.738"
    table2 = [r.value for r in rows if r.table == "Table 2"]
    assert table2 == ["0.79", "0.832", "0.840"]
    assert {r.dataset for r in rows} == {"bijie", "hokkaido"}


def test_reported_rows_have_one_source():
    """The paper's values live once, as data: the evaluator's tables read the same file."""
    import inspect

    from landbench.evaluation import reported

    rows = [r for r in load_reported(REPO / "leaderboard") if r.source == reported.PUBLISHED_ROWS]
    ours = sorted((r.dataset, float(r.value)) for r in rows)
    theirs = sorted((c.dataset, c.f1) for t in reported.TABLES.values() for c in t)
    assert ours == theirs
    code = inspect.getsource(reported)
    assert not any(r.value in code for r in rows), "a reported value is written in code again"
    assert rows


def test_reported_rows_are_checked(tmp_path):
    (tmp_path / "reported").mkdir()
    (tmp_path / "reported" / "x.json").write_text(json.dumps({"schema_version": 1}))
    with pytest.raises(LeaderboardError, match="x.json"):
        render(tmp_path)


def test_schema_files_are_valid_json_schemas():
    import jsonschema

    from landbench.leaderboard.schema import SCHEMA_VERSIONS, load_schema

    for kind, versions in SCHEMA_VERSIONS.items():
        for version in versions:
            schema = load_schema(kind, version)
            jsonschema.validators.validator_for(schema).check_schema(schema)
    assert schema_problems([], "submission") == ["document must hold a JSON object, not list."]


def _per_image_schemas(node: object) -> list[object]:
    if isinstance(node, dict):
        found = [node["per_image"]] if "per_image" in node else []
        return found + [x for v in node.values() for x in _per_image_schemas(v)]
    if isinstance(node, list):
        return [x for v in node for x in _per_image_schemas(v)]
    return []


def test_per_image_fast_path_matches_the_schemas():
    """The records the fast path skips are exactly those the result schemas define."""
    from landbench.leaderboard.schema import PER_IMAGE_ITEM, SCHEMA_VERSIONS, load_schema

    for version in SCHEMA_VERSIONS["result"]:
        found = _per_image_schemas(load_schema("result", version))
        assert found, version
        for schema in found:
            assert schema == {"type": "array", "minItems": 1, "items": PER_IMAGE_ITEM}


def test_per_image_fast_path_reports_what_the_full_validation_reports(monkeypatch):
    """Bad count records deep in a result give the same messages, at the same places."""
    import landbench.leaderboard.schema as schema

    path = (
        Path(landbench.__file__).parent.parent / "leaderboard/results/synth-hokkaido-scratch.json"
    )
    doc = json.loads(path.read_text())
    assert schema_problems(doc, "result") == []
    records = doc["results"]["synth"]["seeds"][1]["evaluation"]["per_image"]
    records[5]["tp"] = -1
    records[7]["fp"] = 1.5
    del records[9]["fn"]
    records[11]["id"] = 11
    records[13]["tn"] = True
    records[15]["tp"] = 2.0  # an integer to JSON Schema: valid, though not a plain record
    fast = schema_problems(doc, "result")
    assert len(fast) == 5 and all(".per_image[" in line for line in fast)
    monkeypatch.setattr(schema, "_thin_per_image", lambda d: d)
    assert schema_problems(doc, "result") == fast


# ------------------------------------------------------------------------------ seeds (v2)


def write_seed_masks(folder: Path, ds, kinds: dict[int, str]) -> Path:
    """One seed-<N>/ folder of masks per seed: the truth, or a noisy copy (its own noise)."""
    for seed, kind in kinds.items():
        rng = np.random.default_rng(seed + 1)
        out = folder / f"seed-{seed}"
        out.mkdir(parents=True)
        for i in range(len(ds)):
            sample = ds[i]
            mask = sample["mask"].numpy().astype(np.uint8)
            if kind == "noisy":
                mask = np.where(rng.random(mask.shape) < 0.05, 1 - mask, mask).astype(np.uint8)
            Image.fromarray(mask * 255).save(out / f"{sample['id']}.png")
    return folder


@pytest.fixture
def seeded(tmp_path, test_split) -> Path:
    masks = write_seed_masks(tmp_path / "masks", test_split, {0: "truth", 1: "noisy", 2: "noisy"})
    out = init_submission(
        "synth", masks, tmp_path / "seeded", dataset_kwargs=SYNTH, seeds=[2, 0, 1]
    )
    fill(out, "seeded", model="Seeded net")
    return out


def test_several_seeds_are_scored_and_summarised(seeded, tmp_path, test_split):
    meta = json.loads((seeded / "submission.json").read_text())
    assert meta["schema_version"] == 2 and meta["seeds"] == [0, 1, 2]
    assert sorted(p.name for p in (seeded / "predictions" / "synth").iterdir()) == [
        "seed-0",
        "seed-1",
        "seed-2",
    ]
    sub = validate_submission(seeded)
    assert sorted(sub.predictions["synth"]) == [0, 1, 2]
    board = tmp_path / "board"
    record = json.loads(submit(seeded, board).read_text())
    result = record["results"]["synth"]
    f1 = [s["evaluation"]["metrics"]["f1"] for s in result["seeds"]]
    assert [s["seed"] for s in result["seeds"]] == [0, 1, 2]
    assert f1[0] == 1.0 and 0 < f1[1] < 1 and 0 < f1[2] < 1 and f1[1] != f1[2]
    for item in result["seeds"]:  # each seed is scored exactly as the evaluator scores it alone
        folder = seeded / "predictions" / "synth" / f"seed-{item['seed']}"
        direct = evaluate_predictions(read_predictions(folder, test_split), test_split).to_dict()
        assert item["evaluation"]["metrics"] == direct["metrics"]
    assert result["summary"]["f1_per_seed"] == f1
    assert result["summary"]["f1_mean"] == pytest.approx(np.mean(f1), abs=1e-12)
    assert result["summary"]["f1_std"] == pytest.approx(np.std(f1, ddof=1), abs=1e-12)
    render(board)
    readme = (board / "README.md").read_text()
    mean, std = np.mean(f1), np.std(f1, ddof=1)
    assert f"| {mean:.3f} ± {std:.3f} | {f1[0]:.3f}, {f1[1]:.3f}, {f1[2]:.3f} |" in readme
    with open(board / "leaderboard.csv", newline="") as f:
        row = next(csv.DictReader(f))
    assert row["n_seeds"] == "3" and row["seeds"] == "0, 1, 2"
    assert float(row["f1"]) == pytest.approx(mean) and float(row["f1_std"]) == pytest.approx(std)
    assert "seed 1: tp" in (board / "index.html").read_text()
    render(board, check=True)


def test_seed_folders_must_match_the_declared_seeds(seeded):
    shutil.rmtree(seeded / "predictions" / "synth" / "seed-1")
    (seeded / "predictions" / "synth" / "seed-7").mkdir()
    refused(seeded, "predictions/synth/seed-1/ is missing", "predictions/synth/seed-7: unexpected")


def test_version_1_submissions_stay_valid(good):
    assert json.loads((good / "submission.json").read_text())["schema_version"] == 1
    assert list(validate_submission(good).predictions["synth"]) == [None]


def _submission_v2_from_v1(v1: dict) -> dict:
    """What schema 2 adds to schema 1: keeps the two in step when schema 1's bounds change."""
    import copy

    v2 = copy.deepcopy(v1)
    v2["properties"]["schema_version"]["const"] = 2
    v2["required"] = [*v1["required"], "seeds"]
    for key in ("$id", "title", "description"):
        v2[key] = None
    v2["properties"]["seeds"] = v2["properties"]["reference"] = None
    return v2


def test_submission_schema_2_is_schema_1_plus_seeds():
    from landbench.leaderboard.schema import load_schema

    v2 = dict(load_schema("submission", 2))
    v2["properties"] = dict(v2["properties"], seeds=None, reference=None)
    v2.update({"$id": None, "title": None, "description": None})
    assert v2 == _submission_v2_from_v1(load_schema("submission", 1))
    seeds = load_schema("submission", 2)["properties"]["seeds"]
    assert seeds["items"]["type"] == "integer" and seeds["uniqueItems"] is True


# ---------------------------------------------------------------------------- rank groups


def _entry(truth: np.ndarray, scale: float, seed: int) -> np.ndarray:
    """Per-image tp, fp, fn of a model that misses and invents up to ``scale`` of each image."""
    rng = np.random.default_rng(seed)
    miss = (truth * scale * rng.random(truth.size)).astype(np.int64)
    extra = (truth * scale * rng.random(truth.size)).astype(np.int64)
    return np.column_stack([truth - miss, extra, miss])


def test_rank_groups_are_the_paired_bootstrap_with_holm():
    from landbench.evaluation.compare import holm, paired_bootstrap
    from landbench.leaderboard.groups import rank_groups

    truth = np.random.default_rng(0).integers(20, 100, 40)
    entries = [  # the leader has two seeds; the others are close, close, and far behind
        [_entry(truth, 0.10, 1), _entry(truth, 0.10, 2)],
        [_entry(truth, 0.12, 7)],
        [_entry(truth, 0.105, 20)],
        [_entry(truth, 0.5, 6)],
    ]
    p = [paired_bootstrap(entries[0], e, n_resamples=2000).pooled.p_value for e in entries[1:]]
    adjusted = holm(p)
    # the two close entries differ at 0.05 one by one, but not after Holm's correction
    assert p[0] < 0.05 and p[1] < 0.05 and adjusted[0] > 0.05 and adjusted[1] > 0.05
    assert adjusted[2] < 0.05
    assert rank_groups(entries, n_resamples=2000) == [1, 1, 1, 2]


def test_rank_groups_separate_only_what_the_images_separate():
    from landbench.leaderboard.groups import rank_groups

    rng = np.random.default_rng(0)
    truth = np.column_stack([rng.integers(50, 100, 60), np.zeros(60), np.zeros(60)])
    almost = truth.copy()
    almost[0] = [truth[0, 0] - 1, 1, 1]  # one pixel wrong on one image: not significant
    poor = np.column_stack([truth[:, 0] // 2, truth[:, 0] // 2, truth[:, 0] // 2])
    worse = np.column_stack([truth[:, 0] // 4, truth[:, 0], truth[:, 0]])
    entries = [[truth.astype(np.int64)], [almost.astype(np.int64)], [poor], [worse]]
    assert rank_groups(entries) == [1, 1, 2, 3]
    assert rank_groups([[truth], [truth[:10]]]) == [None, None]  # not the same images


def test_rank_group_is_shown(board):
    readme = (board / "README.md").read_text()
    assert "| # | Group | Model |" in readme
    assert "| 1 | 1 | Model best (`best`) |" in readme
    with open(board / "leaderboard.csv", newline="") as f:
        groups = {r["entry"]: r["group"] for r in csv.DictReader(f) if r["entry"]}
    # 7 test tiles cannot separate much (unit tests above pin the rule); groups are numbered
    assert groups["best"] == "1" and all(g.isdigit() for g in groups.values())


# ------------------------------------------------------------------ hostile text, bad entries


def test_markdown_links_and_text_are_escaped():
    from landbench.leaderboard.page_markdown import md_link, md_text

    assert md_link("paper", "https://example.org/a_(b)") == (
        "[paper](<https://example.org/a_%28b%29>)"
    )
    for url in ('https://x.org/"><script>alert(1)</script>', "javascript:x", "https://", "x y"):
        text = md_link("paper", url)
        assert text == "paper", text  # not a link: plain, escaped text
    assert md_link("a|b", "https://x.org/a|b") == "[a\\|b](<https://x.org/a%7Cb>)"
    assert md_link("paper", None) == ""
    assert md_text("a|b\nc `d` [e](f) <g>") == "a\\|b c \\`d\\` \\[e\\](f) \\<g\\>"


def test_csv_cells_never_start_a_formula():
    from landbench.leaderboard.page_csv import csv_text

    for cell in ("=1+2", "+1", "-1", "@SUM(A1)", "\t=1"):
        assert csv_text(cell).startswith("'"), cell
    assert csv_text("MIT") == "MIT"


def test_huge_counts_format_without_floats():
    from landbench.leaderboard.table import fmt_count

    assert fmt_count(31_040_000) == "31.0M" and fmt_count(850) == "850"
    assert fmt_count(1_950_000) == "2.0M" and fmt_count(12_345) == "12.3K"
    assert fmt_count(10**400).endswith("B")  # no OverflowError


def test_one_bad_entry_does_not_break_render(board, tmp_path, caplog):
    copy = tmp_path / "copy"
    shutil.copytree(board, copy)
    path = copy / "results" / "zero.json"
    record = json.loads(path.read_text())
    record["submission"]["model"]["parameter_count"] = int("9" * 400)
    path.write_text(json.dumps(record))
    with caplog.at_level("WARNING"):
        render(copy)
    assert "zero.json" in caplog.text
    readme = (copy / "README.md").read_text()
    assert "`best`" in readme and "`mid`" in readme and "(`zero`)" not in readme
    assert "## Entries left out" in readme and "zero.json" in readme
    assert "zero.json" in (copy / "index.html").read_text()
    with pytest.raises(LeaderboardError, match="parameter_count"):
        render(copy, check=True)  # what CI runs refuses it
    assert main(["leaderboard", "render", "--leaderboard-dir", str(copy)]) == 0


def test_duplicate_predictions_are_flagged(good, tmp_path, test_split, caplog):
    board = tmp_path / "board"
    submit(good, board)
    copy = make_submission(tmp_path, test_split, "copycat", team="Team B")
    with caplog.at_level("WARNING"):
        record = json.loads(submit(copy, board).read_text())
    (line,) = record["warnings"]
    assert "duplicate predictions" in line and "'good' (synth)" in line
    assert line in caplog.text
    render(board, check=False)
    assert "duplicate predictions" in (board / "index.html").read_text()


# --------------------------------------------------------------- leaderboard check (issue 14)


def _git(cwd: Path, *args: str) -> str:
    import subprocess

    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _reference_result(folder: Path, name: str, commit: str, config: dict | None) -> None:
    results = folder / "results"
    results.mkdir(parents=True, exist_ok=True)
    submission = {"entry": name}
    if config is not None:
        submission["reference"] = {"recipe": "synth-bijie-unet-rgb", "config": config}
    record = {"entry": name, "provenance": {"commit": commit}, "submission": submission}
    (results / f"{name}.json").write_text(json.dumps(record))


def test_check_refuses_results_not_tied_to_code_and_recipe(tmp_path, capsys):
    import yaml

    from landbench.core.resources import resource_path

    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "f.txt").write_text("x")
    _git(repo, "add", "f.txt")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@e.org", "commit", "-qm", "c")
    head = _git(repo, "rev-parse", "HEAD")
    recipe = yaml.safe_load(resource_path("recipes", "synth-bijie-unet-rgb.yaml").read_text())
    board = repo / "leaderboard"
    _reference_result(board, "ok", head, dict(recipe, seed=1))  # another seed is fine
    assert main(["leaderboard", "check", "--leaderboard-dir", str(board)]) == 0
    assert "1 reference result(s)" in capsys.readouterr().out
    changed = json.loads(json.dumps(recipe))
    changed["optim"]["lr"] = 123.0
    _reference_result(board, "recipe-changed", head, changed)
    _reference_result(board, "foreign-commit", "0" * 40, recipe)
    _reference_result(board, "version-not-commit", "0.1.0", recipe)
    _reference_result(board, "no-config", head, None)
    assert main(["leaderboard", "check", "--leaderboard-dir", str(board)]) == 2
    err = capsys.readouterr().err
    assert "recipe-changed.json: config.optim.lr is 123.0" in err
    assert f"foreign-commit.json: records commit {'0' * 40}, which is not in this repository" in err
    assert "version-not-commit.json: records no 40-hex code commit" in err
    assert "no-config.json: records no recipe and config" in err
    assert "ok.json" not in err


def test_check_outside_a_checkout_says_it_cannot(tmp_path, capsys):
    board = tmp_path / "leaderboard"
    board.mkdir()
    assert main(["leaderboard", "check", "--leaderboard-dir", str(board)]) == 2
    err = capsys.readouterr().err
    assert "not inside a git checkout" in err and "Traceback" not in err


def test_committed_reference_results_are_tied_to_this_repository():
    """Every committed reference result names a commit of this history and its shipped recipe
    (a change to a recipe or model without regenerated results fails here)."""
    from landbench.leaderboard.audit import check_leaderboard

    check_leaderboard(REPO / "leaderboard")


def test_cli_init_with_seeds(tmp_path, test_split, capsys):
    masks = write_seed_masks(tmp_path / "masks", test_split, {0: "truth", 3: "noisy"})
    args = ["leaderboard", "init", "--dataset", "synth", "--predictions", str(masks)]
    sizes = ["--set", "size=32", "--set", "n=40"]
    assert main([*args, "--out", str(tmp_path / "bad"), *sizes, "--seeds", "0,x"]) == 2
    assert "--seeds expects" in capsys.readouterr().err and not (tmp_path / "bad").exists()
    assert main([*args, "--out", str(tmp_path / "sub"), *sizes, "--seeds", "3,0"]) == 0
    fill(tmp_path / "sub", "cli-seeds")
    assert main(["leaderboard", "validate", str(tmp_path / "sub")]) == 0
    assert "for each of seeds [0, 3]" in capsys.readouterr().out
    board = tmp_path / "board"
    assert (
        main(
            ["leaderboard", "submit", str(tmp_path / "sub"), "--leaderboard-dir", str(board), "-q"]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "synth seed 0: pooled F1 1.0000" in out and "pooled F1 over 2 seeds" in out
