"""The rendered leaderboard page in a real headless browser: rows, sorting, entry details.

Chromium is driven from Python only: the page is loaded from a file with a small script
appended that clicks column headers and writes the resulting row orders (and the page's and the
table box's widths at a 1400 px viewport) into the DOM, which ``chromium --headless --dump-dom``
prints. Where no Chromium is installed the tests are skipped, saying why, except on CI
(``CI=true``), where they fail: CI's ``.ci/run`` installs the Debian ``chromium`` package, and a
page that no browser has tested must not pass CI.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import landbench
from landbench.leaderboard import init_submission, load_reported, render, submit

pytestmark = pytest.mark.browser

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

# Appended to a copy of the page: click headers, record the order of entries after each click.
PROBE = """
<script>
(function () {
  var table = document.querySelector("table.recomputed");
  function order() {
    return Array.prototype.map.call(table.tBodies, function (b) {
      return b.getAttribute("data-entry");
    });
  }
  function click(label) {
    var th = Array.prototype.find.call(table.tHead.rows[0].cells, function (cell) {
      return cell.textContent.trim() === label;
    });
    th.querySelector("button").click();
    return {order: order(), sort: th.getAttribute("aria-sort")};
  }
  var out = {initial: order()};
  out.model1 = click("Model");
  out.model2 = click("Model");
  out.params = click("Params");
  out.f1_first = click("F1");
  out.f1_second = click("F1");
  var toggle = table.tBodies[0].querySelector("button.toggle");
  var detail = document.getElementById(toggle.getAttribute("aria-controls"));
  out.detail_hidden_before = detail.hidden;
  toggle.click();
  out.detail_hidden_after = detail.hidden;
  out.detail_text = detail.textContent;
  out.tables = document.querySelectorAll("table").length;
  out.recomputed_tables = document.querySelectorAll("table.recomputed").length;
  var root = document.documentElement, box = table.parentElement;
  out.box_class = box.className;
  out.page = {scroll: root.scrollWidth, client: root.clientWidth, viewport: window.innerWidth};
  out.box = {scroll: box.scrollWidth, client: box.clientWidth};
  var pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>
"""


VIEWPORT = (1400, 900)
"""Window size of the headless browser, in CSS pixels (the width issue 13 names)."""

# A model name long enough that the table is wider than a 1400 px page (cells do not wrap).
LONG_NAME = ("Zeta net, a fusion network with a deliberately long descriptive name " * 2)[:118]


def find_browser() -> str | None:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def require_browser() -> str:
    """A headless Chromium; skip without one, but fail on CI (``CI=true``)."""
    browser = find_browser()
    if browser is None:
        why = (
            "no headless Chromium found (looked for " + ", ".join(BROWSERS) + "); install the "
            "Debian package with `apt-get install -y chromium` (.ci/run does this)."
        )
        if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
            pytest.fail("CI=true: " + why)
        pytest.skip(why)
    return browser


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    """A leaderboard of three synthetic entries, rendered."""
    tmp = tmp_path_factory.mktemp("browser")
    kwargs = {"size": 32, "n": 40}
    ds = landbench.load("synth", split="test", **kwargs)
    board = tmp / "leaderboard"
    # entry -> (prediction, model name, parameter count): orders by F1, name and size all differ
    entries = {
        "best": ("truth", LONG_NAME.strip(), 9_000_000),
        "mid": ("noisy", "Alpha net", 800_000),
        "zero": ("empty", "Mu net", 50_000_000),
    }
    rng = np.random.default_rng(0)
    for entry, (kind, model, params) in entries.items():
        masks = tmp / f"masks-{entry}"
        masks.mkdir()
        for i in range(len(ds)):
            sample = ds[i]
            mask = sample["mask"].numpy().astype(np.uint8)
            if kind == "empty":
                mask[:] = 0
            elif kind == "noisy":
                mask = np.where(rng.random(mask.shape) < 0.05, 1 - mask, mask).astype(np.uint8)
            Image.fromarray(mask * 255).save(masks / f"{sample['id']}.png")
        sub = init_submission("synth", masks, tmp / f"sub-{entry}", dataset_kwargs=kwargs)
        meta = json.loads((sub / "submission.json").read_text())
        meta.update(
            entry=entry,
            team=f"Team {entry}",
            contact="someone@example.org",
            paper_url="https://example.org/paper",
            license="MIT",
            code={"url": "https://example.org/code", "commit": "0123abcd"},
        )
        meta["model"].update(name=model, parameter_count=params)
        meta["datasets"]["synth"].update(
            inputs=["R", "G", "B", "DEM"],
            training_data="synth train split v1",
            external_data=False,
            pretrained_weights="none",
        )
        (sub / "submission.json").write_text(json.dumps(meta))
        submit(sub, board, submitted_at="2026-01-02T03:04:05Z")
    render(board)
    return board / "index.html"


def run_probe(browser: str, page: Path, tmp_path: Path) -> dict:
    probe = tmp_path / "probe.html"
    probe.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    cmd = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--no-first-run",
        "--hide-scrollbars",
        f"--window-size={VIEWPORT[0]},{VIEWPORT[1]}",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--dump-dom",
        probe.as_uri(),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    match = re.search(r'<pre id="probe">(.*?)</pre>', done.stdout, re.S)
    assert match, f"the probe did not run; chromium said:\n{done.stderr[-3000:]}"
    return json.loads(html.unescape(match.group(1)))


@pytest.fixture(scope="module")
def probe(request, tmp_path_factory) -> dict:
    """What the page does in a real browser (clicks, details, widths)."""
    browser = require_browser()  # before building the page: skip (or fail) at once
    page = request.getfixturevalue("page")
    return run_probe(browser, page, tmp_path_factory.mktemp("probe"))


def test_page_sorts_and_expands_in_a_real_browser(probe, page):
    out = probe
    assert out["initial"] == ["best", "mid", "zero"]  # pooled F1, best first
    assert out["model1"] == {"order": ["mid", "zero", "best"], "sort": "ascending"}
    assert out["model2"] == {"order": ["best", "zero", "mid"], "sort": "descending"}
    assert out["params"] == {"order": ["mid", "best", "zero"], "sort": "ascending"}  # numeric
    assert out["f1_first"] == {"order": ["best", "mid", "zero"], "sort": "descending"}
    assert out["f1_second"] == {"order": ["zero", "mid", "best"], "sort": "ascending"}
    assert out["detail_hidden_before"] is True and out["detail_hidden_after"] is False
    assert "someone@example.org" in out["detail_text"]
    assert "Predictions sha256" in out["detail_text"]
    # one recomputed (synthetic) table; the reported rows (the paper's Bijie and Hokkaido
    # tables, ...) ship with landbench, so every leaderboard shows them, in tables of their own
    reported_datasets = {r.dataset for r in load_reported(page.parent)}
    assert out["recomputed_tables"] == 1
    assert out["tables"] == 1 + len(reported_datasets) >= 3


def test_wide_table_scrolls_in_its_box_not_the_page(probe):
    """At a 1400 px viewport the page never scrolls sideways; the wide table scrolls in its box."""
    out = probe
    assert out["page"]["viewport"] == VIEWPORT[0]
    assert out["box_class"] == "table-wrap"
    assert out["box"]["scroll"] > out["box"]["client"] > 0, out  # the table is wider than its box
    assert out["page"]["scroll"] <= out["page"]["client"], out  # ... and the page is not


def test_page_needs_no_network(page):
    text = page.read_text()
    # every http(s) URL is an <a href> link the reader may follow; nothing is fetched to render
    for url in re.findall(r"https?://[^\s\"'<>]+", text):
        assert f'href="{url}"' in text, url
    assert not re.search(r"<(link|img|iframe|object|embed)\b", text)
    assert not re.search(r"<script\b[^>]*\bsrc=", text)
