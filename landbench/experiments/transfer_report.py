"""Rendering the transfer matrix: Markdown, CSV, LaTeX and a two-panel heatmap.

Both panels are source x target matrices of pooled test F1: the left one holds zero-shot cells,
the right one fine-tuned cells; the diagonal of both is the in-domain scratch run. A dagger marks
a pair whose masks share a landslide event (not independent).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from landbench.core.io import atomic_write_text
from landbench.evaluation.tables import format_mean_std, latex_escape, to_csv

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from landbench.experiments.transfer import Domain, TransferMatrix

DAGGER = "†"

PANELS: tuple[tuple[str, str], ...] = (("zero-shot", "Zero-shot"), ("finetune", "Fine-tuned"))
"""Off-diagonal strategy of each panel, and its heading."""


def panel_heading(strategy: str, normalization: str) -> str:
    """``"Zero-shot (source statistics)"`` / ``"Fine-tuned (equal budget)"``."""
    if strategy == "zero-shot":
        return f"Zero-shot ({normalization} statistics)"
    return "Fine-tuned (equal budget)"


def matrix_title(domains: Sequence[Domain], bands: Sequence[str], seeds: int, synthetic: bool):
    """The table title: domains, bands and seeds."""
    kind = "LandslideSynth presets" if synthetic else "real datasets"
    return (
        f"Cross-dataset transfer: pooled test F1 on the target ({kind}; bands "
        f"{', '.join(bands)}; mean ± std over {seeds} seed{'s' if seeds != 1 else ''})"
    )


def _range(values: Sequence[int]) -> str:
    if not len(values):
        return "none"
    low, high = int(min(values)), int(max(values))
    return str(low) if low == high else f"{low}-{high}"


def matrix_notes(
    domains: Sequence[Domain],
    bands: Sequence[str],
    seeds: int,
    budget: Any,
    runs: pd.DataFrame,
    normalization: str,
) -> list[str]:
    """The notes under the table: cell content, bands, budget, normalisation, dependence.

    Args:
        domains: the domains in matrix order.
        bands: the shared bands.
        seeds: seeds per cell.
        budget: the resolved training config of a cell (its trainer, optim and data sections).
        runs: the per-run frame (``strategy``, ``optimizer_steps``).
        normalization: whose statistics the zero-shot cells used.
    """
    trainer, optim, data = budget.trainer, budget.optim, budget.data

    def steps(kind: str) -> str:
        if runs.empty:
            return "none"
        return _range(runs.loc[runs["strategy"] == kind, "optimizer_steps"].tolist())

    limit = (
        f"trainer.max_steps={trainer.max_steps} optimiser steps (trainer.max_epochs="
        f"{trainer.max_epochs} an upper bound)"
        if trainer.max_steps is not None
        else f"trainer.max_epochs={trainer.max_epochs} epochs"
    )
    if trainer.limit_train_batches is not None:
        limit += f", limit_train_batches={trainer.limit_train_batches}"
    notes = [
        f"Cell: pooled F1 of the landslide class on the target's test split, mean ± std over "
        f"{seeds} seed{'s' if seeds != 1 else ''} (0..{seeds - 1}; a cell's source and target "
        "runs share the seed), then [mean of the per-seed 95% bootstrap interval bounds]. "
        "Rows: the source trained on; columns: the target tested on.",
        "Diagonal (bold): in-domain scratch, the same run in both panels; it is the source "
        "model of its row.",
        f"Bands: every model reads {', '.join(bands)}, the bands all domains share (dataset "
        "option bands; Sentinel-2 B4, B3, B2 are R, G, B).",
        f"Equal budgets: scratch and fine-tune each run {limit}, batch {data.batch_size} of "
        f"{data.patch_size} px patches, lr {optim.lr:g} with the {optim.scheduler} schedule to "
        f"{optim.min_lr:g}, no early stopping; fine-tune starts from the source's selected "
        "weights with transfer.lr_scale 1.0 and no frozen epochs. Optimiser steps run: scratch "
        f"{steps('scratch')}, fine-tune {steps('finetune')}. Checkpoints are selected on the "
        "target's validation split.",
        f"Zero-shot: the source's weights on the target unchanged, normalised with the "
        f"{normalization.upper()}'s train statistics (transfer.normalization: {normalization}); "
        "fine-tune normalises with the target's. "
        f"data.dem_relative: {str(data.dem_relative).lower()}.",
    ]
    pairs = []
    for i, s in enumerate(domains):
        for t in domains[i + 1 :]:
            common = [e for e in s.events if e in t.events]
            if common:
                pairs.append(f"{s.name} and {t.name} ({', '.join(common)})")
    if pairs:
        note = (
            f"{DAGGER} not independent: the masks of {'; '.join(pairs)} map the same landslide "
            "event, so transfer between them is partly in-domain."
        )
        if any(d.analogue for d in domains):
            note += (
                " The synthetic presets stand in for the real datasets as analogues: the dagger "
                "marks the real pair's overlap; the generated tiles share nothing."
            )
        notes.append(note)
    if any(d.analogue for d in domains):
        notes.append(
            "Synthetic data (LandslideSynth presets shaped like the real datasets), not "
            "observations: these numbers say nothing about the real datasets."
        )
    return notes


def _cell_frame(matrix: TransferMatrix, strategy: str) -> pd.DataFrame:
    """Rows of one panel: the off-diagonal ``strategy`` cells plus the diagonal scratch."""
    frame = matrix.frame
    keep = (frame["strategy"] == strategy) | (frame["in_domain"])
    return frame[keep]


def cell_text(row: pd.Series, digits: int = 3, interval: bool = True) -> str:
    """``"0.812 ± 0.010 [0.780, 0.840]"`` with a dagger for a dependent pair."""
    text = format_mean_std(row["f1_mean"], row["f1_std"], int(row["n_seeds"]), digits, False)
    if interval and math.isfinite(row["f1_ci_low"]) and math.isfinite(row["f1_ci_high"]):
        text += f" [{row['f1_ci_low']:.{digits}f}, {row['f1_ci_high']:.{digits}f}]"
    return text + (DAGGER if row["dependent"] else "")


def panel_rows(matrix: TransferMatrix, strategy: str, digits: int = 3) -> list[list[str]]:
    """One panel as text: a row per source, a column per target (diagonal cells marked ``*``)."""
    cells = _cell_frame(matrix, strategy).set_index(["source", "target"])
    rows = []
    for s in matrix.domains:
        row = [s.name]
        for t in matrix.domains:
            text = cell_text(cells.loc[(s.name, t.name)], digits)
            row.append(f"*{text}" if s is t else text)
        rows.append(row)
    return rows


def matrix_markdown(matrix: TransferMatrix, digits: int = 3) -> str:
    """Both panels as GitHub Markdown tables, with the title and the notes."""
    normalization = _zero_shot_normalization(matrix)
    lines = [f"**{matrix.title}**", ""]
    header = ["source \\ target", *(d.name for d in matrix.domains)]
    for strategy, _ in PANELS:
        lines += [f"*{panel_heading(strategy, normalization)}*", ""]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "|".join("---" for _ in header) + "|")
        for row in panel_rows(matrix, strategy, digits):
            shown = [f"**{c[1:]}**" if c.startswith("*") else c for c in row]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in shown) + " |")
        lines.append("")
    lines += ["Notes:", ""] + [f"- {n}" for n in matrix.notes]
    return "\n".join(lines) + "\n"


def matrix_latex(matrix: TransferMatrix, digits: int = 3) -> str:
    """A ``table`` with both panels in one booktabs tabular, the notes below."""
    normalization = _zero_shot_normalization(matrix)
    n = len(matrix.domains)
    names = [latex_escape(d.name) for d in matrix.domains]
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        r"\small",
        f"\\caption{{{latex_escape(matrix.title)}}}",
        r"\label{tab:transfer}",
        f"\\begin{{tabular}}{{l{'r' * n}}}",
        r"\toprule",
        " & ".join(["source \\textbackslash{} target", *names]) + r" \\",
    ]
    for strategy, _ in PANELS:
        heading = latex_escape(panel_heading(strategy, normalization))
        lines += [r"\midrule", f"\\multicolumn{{{n + 1}}}{{l}}{{\\emph{{{heading}}}}} \\\\"]
        for row in panel_rows(matrix, strategy, digits):
            shown = [
                f"\\textbf{{{latex_escape(c[1:])}}}" if c.startswith("*") else latex_escape(c)
                for c in row
            ]
            lines.append(" & ".join(shown).replace(DAGGER, r"$^\dagger$") + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\par\smallskip\footnotesize"]
    lines += [latex_escape(note).replace(DAGGER, r"$^\dagger$") + r"\par" for note in matrix.notes]
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def _zero_shot_normalization(matrix: TransferMatrix) -> str:
    values = matrix.frame.loc[matrix.frame["strategy"] == "zero-shot", "normalization"]
    return str(values.iloc[0]) if len(values) else "source"


def plot_transfer_heatmap(matrix: TransferMatrix) -> Figure:
    """Two heatmaps of mean pooled F1 (zero-shot, fine-tuned), rows source, columns target.

    Each cell is annotated with mean ± std over seeds (a dagger for a dependent pair); the
    diagonal (in-domain scratch) is outlined.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)  # headless unless the user chose a backend
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    names = [d.name for d in matrix.domains]
    n = len(names)
    normalization = _zero_shot_normalization(matrix)
    side = 1.3 * n + 1.5
    fig, axes = plt.subplots(1, 2, figsize=(2 * side + 1.0, side), constrained_layout=True)
    image = None
    for ax, (strategy, _) in zip(axes, PANELS, strict=True):
        cells = _cell_frame(matrix, strategy).set_index(["source", "target"])
        values = np.full((n, n), np.nan)
        for i, s in enumerate(names):
            for j, t in enumerate(names):
                row = cells.loc[(s, t)]
                values[i, j] = row["f1_mean"]
                mean_text = "n/a" if not math.isfinite(row["f1_mean"]) else f"{row['f1_mean']:.2f}"
                std = row["f1_std"]
                text = mean_text + (f"\n±{std:.2f}" if math.isfinite(std) else "")
                text += DAGGER if row["dependent"] else ""
                shade = row["f1_mean"] if math.isfinite(row["f1_mean"]) else 0.0
                ax.text(
                    j, i, text, ha="center", va="center", fontsize=9,
                    color="black" if shade > 0.6 else "white",
                )  # fmt: skip
        image = ax.imshow(values, vmin=0.0, vmax=1.0, cmap="viridis")
        for k in range(n):
            ax.add_patch(Rectangle((k - 0.5, k - 0.5), 1, 1, fill=False, lw=2, ec="white"))
        ax.set_xticks(range(n), names, rotation=30, ha="right")
        ax.set_yticks(range(n), names)
        ax.set_xlabel("test on (target)")
        ax.set_ylabel("train on (source)")
        ax.set_title(panel_heading(strategy, normalization), fontsize=10)
    if image is not None:
        fig.colorbar(image, ax=list(axes), shrink=0.8, label="pooled test F1")
    title = "Cross-dataset transfer (diagonal: in-domain scratch)"
    if matrix.frame["dependent"].any():
        title += f"; {DAGGER} the pair shares a landslide event"
    fig.suptitle(title, fontsize=11)
    return fig


def write_matrix_files(
    matrix: TransferMatrix, out_dir: str | os.PathLike[str], figures: bool = True
) -> dict[str, Path]:
    """Write ``transfer.md|.csv|.tex``, ``transfer-runs.csv`` and ``transfer.png`` atomically.

    Returns:
        Kind (``md``, ``csv``, ``tex``, ``runs``, ``figure``) to the written path.
    """
    from landbench.evaluation.figures import save_figure

    out = Path(out_dir)
    paths = {
        "md": atomic_write_text(out / "transfer.md", matrix_markdown(matrix)),
        "csv": atomic_write_text(out / "transfer.csv", to_csv(matrix.frame)),
        "tex": atomic_write_text(out / "transfer.tex", matrix_latex(matrix)),
        "runs": atomic_write_text(out / "transfer-runs.csv", to_csv(matrix.runs)),
    }
    if figures:
        paths["figure"] = save_figure(plot_transfer_heatmap(matrix), out / "transfer.png")
    return paths
