"""Rendering reproduced tables as Markdown, CSV and LaTeX.

A reproduced table is a tidy :class:`pandas.DataFrame`, one row per cell of the paper's table,
with numeric columns (``reported_f1``, ``f1_mean``, ``f1_std``, ...) and ``attrs`` holding its
``title``, ``notes``, ``row_label`` and ``column_label``. CSV keeps the numbers; Markdown and
LaTeX show them formatted, the published values labelled "reported" and landbench's "recomputed".
Both renderers are hand-written (a few lines each) so the output is stable byte for byte and does
not depend on optional pandas extras (``tabulate``, ``jinja2``).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pandas as pd

from landbench.core.io import atomic_write_text

DISPLAY_METRICS: tuple[tuple[str, str], ...] = (
    ("f1", "F1 pooled (recomputed)"),
    ("mean_f1_empty_as_1", "Mean F1 per image, empty = 1 (recomputed)"),
    ("iou", "IoU pooled (recomputed)"),
)
"""Recomputed metrics shown in rendered tables, with their column headers."""


def format_mean_std(mean: float, std: float, n: int, digits: int = 3, show_n: bool = True) -> str:
    """``"0.812 ± 0.010"``; ``"0.812 (n=1)"`` for one seed; ``"n/a"`` when undefined.

    Args:
        mean: the mean over seeds.
        std: the sample standard deviation over seeds (NaN for one seed).
        n: the number of seeds.
        digits: decimals shown.
        show_n: append ``(n=1)`` to a single-seed value (off when a seeds column says it).
    """
    if n == 0 or mean is None or not math.isfinite(mean):
        return "n/a"
    if n < 2 or std is None or not math.isfinite(std):
        return f"{mean:.{digits}f} (n={n})" if show_n else f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def display_frame(frame: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """The table as strings, with "reported" and "recomputed" in the column headers.

    Args:
        frame: a tidy reproduced table (see the module docstring).
        digits: decimals shown.

    Returns:
        A frame of strings, in display order.
    """
    row_label = frame.attrs.get("row_label", "Row")
    column_label = frame.attrs.get("column_label")
    out = pd.DataFrame({row_label: frame["row"].astype(str)})
    if column_label:
        out[column_label] = frame["column"].astype(str)
    out["F1 (reported, paper)"] = [
        "n/a" if pd.isna(v) else f"{v:.3f}" for v in frame["reported_f1"]
    ]
    for metric, header in DISPLAY_METRICS:
        out[header] = [
            format_mean_std(m, s, int(n), digits, show_n=False)
            for m, s, n in zip(frame[f"{metric}_mean"], frame[f"{metric}_std"], frame["n_seeds"])
        ]
    out["Seeds"] = frame["n_seeds"].astype(int).astype(str)
    return out.reset_index(drop=True)


def _md_escape(text: str) -> str:
    return str(text).replace("|", "\\|")


def to_markdown(frame: pd.DataFrame, digits: int = 3) -> str:
    """GitHub-flavoured Markdown: title, table, then the notes as a list."""
    shown = display_frame(frame, digits)
    lines = []
    if frame.attrs.get("title"):
        lines += [f"**{frame.attrs['title']}**", ""]
    lines.append("| " + " | ".join(_md_escape(c) for c in shown.columns) + " |")
    lines.append("|" + "|".join("---" for _ in shown.columns) + "|")
    for _, row in shown.iterrows():
        lines.append("| " + " | ".join(_md_escape(v) for v in row) + " |")
    notes = frame.attrs.get("notes") or ()
    if notes:
        lines += ["", "Notes:", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def to_csv(frame: pd.DataFrame) -> str:
    """The tidy numeric frame as CSV (no index; NaN as empty)."""
    return frame.to_csv(index=False, float_format="%.6f", lineterminator="\n")


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def latex_escape(text: str) -> str:
    r"""Escape LaTeX special characters; ``±`` becomes ``$\pm$``."""
    out = "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))
    return out.replace("±", r"$\pm$")


def to_latex(frame: pd.DataFrame, label: str | None = None, digits: int = 3) -> str:
    r"""A ``table`` environment with a ``booktabs`` tabular, a caption and the notes below.

    Args:
        frame: a tidy reproduced table.
        label: the ``\label`` (default ``tab:<table>``).
        digits: decimals shown.
    """
    shown = display_frame(frame, digits)
    n_text = 2 if frame.attrs.get("column_label") else 1
    spec = "l" * n_text + "r" * (len(shown.columns) - n_text)
    label = label or f"tab:{frame.attrs.get('table', 'reproduced')}"
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        r"\small",
        f"\\caption{{{latex_escape(frame.attrs.get('title', 'Reproduced table'))}}}",
        f"\\label{{{label}}}",
        f"\\begin{{tabular}}{{{spec}}}",
        r"\toprule",
        " & ".join(latex_escape(c) for c in shown.columns) + r" \\",
        r"\midrule",
    ]
    for _, row in shown.iterrows():
        lines.append(" & ".join(latex_escape(v) for v in row) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    notes = frame.attrs.get("notes") or ()
    if notes:
        lines.append(r"\par\smallskip\footnotesize")
        lines += [latex_escape(n) + r"\par" for n in notes]
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def write_tables(
    frame: pd.DataFrame, out_dir: str | os.PathLike[str], stem: str
) -> dict[str, Path]:
    """Write ``<stem>.md``, ``<stem>.csv`` and ``<stem>.tex`` into ``out_dir`` atomically.

    Returns:
        Format (``"md"``, ``"csv"``, ``"tex"``) to the written path.
    """
    out_dir = Path(out_dir)
    return {
        "md": atomic_write_text(out_dir / f"{stem}.md", to_markdown(frame)),
        "csv": atomic_write_text(out_dir / f"{stem}.csv", to_csv(frame)),
        "tex": atomic_write_text(out_dir / f"{stem}.tex", to_latex(frame)),
    }
