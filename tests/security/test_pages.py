"""Hostile text that passes validation cannot break or inject into the rendered pages.

Issue 16 items 3 and 4: a schema-valid entry with the largest allowed parameter count and text
full of Markdown, HTML and CSV syntax is submitted and rendered; every page keeps its structure
and shows the text inert. (Escaping is the renderer's; this suite pins it from the outside.)
"""

from __future__ import annotations

import csv
import io
import re

from landbench.cli import main
from tests.security.conftest import edit_metadata

HOSTILE = '<script>alert(1)</script> | `x` [y](javascript:alert(2)) **z**\n=HYPERLINK("h")'


def test_hostile_text_and_bound_numbers_render_inert(tmp_path, submission, capsys):
    def change(meta):
        meta["team"] = HOSTILE
        meta["model"]["name"] = "| a | b | c |"
        meta["model"]["parameter_count"] = 10**13  # the documented bound
        meta["license"] = "=1+1"

    edit_metadata(submission, change)
    board = tmp_path / "board"
    argv = ["leaderboard", "submit", str(submission), "--leaderboard-dir", str(board), "-q"]
    assert main(argv) == 0, capsys.readouterr().err
    assert main(["leaderboard", "render", "--leaderboard-dir", str(board)]) == 0
    html = (board / "index.html").read_text()
    assert "<script>alert(1)" not in html and 'href="javascript:' not in html  # inert text
    readme = (board / "README.md").read_text()
    assert "<script>" not in readme
    tables: list[list[int]] = [[]]
    for line in readme.splitlines():  # consecutive table lines form one table
        if line.startswith("|"):
            tables[-1].append(len(re.findall(r"(?<!\\)\|", line)))
        elif tables[-1]:
            tables.append([])
    assert any(tables) and "alert(1)" in readme  # shown, as inert text
    for cells in filter(None, tables):
        assert len(set(cells)) == 1, (cells, readme)  # no row has more cells than its header
    text = (board / "leaderboard.csv").read_text()
    records = list(csv.reader(io.StringIO(text)))
    assert len({len(r) for r in records}) == 1  # every row has the header's columns
    for record in records:
        for cell in record:
            assert (
                not cell.startswith(("=", "+", "-", "@"))
                or cell.lstrip("-").replace(".", "").isdigit()
            ), cell
