"""The F1 scores published by Lissak & Corpetti (IGARSS 2024), Tables 1 and 2, as reported.

These numbers are copied from the paper, not recomputed: landbench shows them beside its own
recomputed scores, always labelled "reported". The paper does not say how its F1 was pooled
(over all pixels of the test split, or averaged per image, and if so how tiles without landslides
were scored), which split or how many runs it used; so reported and recomputed values can be
compared in order of magnitude and ranking, not digit by digit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from landbench.core.resources import resource_path

PUBLISHED_ROWS = "lissak_corpetti_igarss2024.json"
"""The paper's printed scores as data (package data of kind ``reported``, schema
``reported-v1``): the one source of the values below and of the leaderboard's reported rows."""


def _printed(table: str) -> tuple[float, ...]:
    """The F1 values of one printed table (``"Table 1"``), in the paper's row order."""
    doc = json.loads(resource_path("reported", PUBLISHED_ROWS).read_text(encoding="utf-8"))
    return tuple(float(row["value"]) for row in doc["rows"] if row["table"] == table)


_T1, _T2 = _printed("Table 1"), _printed("Table 2")

PAPER_CITATION = (
    "C. Lissak and T. Corpetti, Fusion Network and Open Access Dataset for Landslide Detection: "
    "a Comparative Analysis on Bijie and Hokkaido Datasets, IGARSS 2024, pp. 4578-4580, "
    "doi:10.1109/IGARSS53475.2024.10641385"
)
"""Where the reported values come from."""

PAPER_DOI = "10.1109/IGARSS53475.2024.10641385"


@dataclass(frozen=True)
class ReportedCell:
    """One cell of a published table and the landbench recipe that reruns it.

    Attributes:
        table: ``"table1"`` or ``"table2"``.
        key: short unique id of the cell within its table (e.g. ``"resunet-mixup"``).
        row: the paper's row label (e.g. ``"Residual Unet"``).
        column: the paper's column label (e.g. ``"Mixup"``).
        dataset: the dataset the paper scored the cell on (``"bijie"`` or ``"hokkaido"``).
        config: stem of the training config under ``baselines/configs/`` for the real data;
            the synthetic equivalent is ``"synth-" + config``.
        f1: the F1 score printed in the paper.
        source_config: for transfer cells, the config stem whose weights are transferred.
    """

    table: str
    key: str
    row: str
    column: str
    dataset: str
    config: str
    f1: float
    source_config: str | None = None


BIJIE_SOURCE = "bijie-fusionnet-resunet-mixup"
"""The recipe whose Bijie-trained weights Table 2 transfers to Hokkaido (the paper's best)."""

TABLE1: tuple[ReportedCell, ...] = (
    ReportedCell("table1", "vgg16-nomixup", "VGG", "No Mixup", "bijie",
                 "bijie-fusionnet-vgg16-nomixup", _T1[0]),
    ReportedCell("table1", "vgg16-mixup", "VGG", "Mixup", "bijie",
                 "bijie-fusionnet-vgg16-mixup", _T1[1]),
    ReportedCell("table1", "resunet-nomixup", "Residual Unet", "No Mixup", "bijie",
                 "bijie-fusionnet-resunet-nomixup", _T1[2]),
    ReportedCell("table1", "resunet-mixup", "Residual Unet", "Mixup", "bijie",
                 "bijie-fusionnet-resunet-mixup", _T1[3]),
    ReportedCell("table1", "unet-nomixup", "Unet", "No Mixup", "bijie",
                 "bijie-fusionnet-unet-nomixup", _T1[4]),
    ReportedCell("table1", "unet-mixup", "Unet", "Mixup", "bijie",
                 "bijie-fusionnet-unet-mixup", _T1[5]),
)  # fmt: skip
"""Table 1: F1 on Bijie, fusion network with three RGB backbones, without and with Mixup."""

TABLE2: tuple[ReportedCell, ...] = (
    ReportedCell("table2", "scratch", "From scratch", "F1", "hokkaido", "hokkaido-scratch", _T2[0]),
    ReportedCell("table2", "pretrained", "Without fine tuning", "F1", "hokkaido",
                 "hokkaido-pretrained", _T2[1], BIJIE_SOURCE),
    ReportedCell("table2", "finetune", "With fine tuning", "F1", "hokkaido",
                 "hokkaido-finetune", _T2[2], BIJIE_SOURCE),
)  # fmt: skip
"""Table 2: F1 on Hokkaido for three learning strategies (transfer from Bijie)."""

TABLES: dict[str, tuple[ReportedCell, ...]] = {"table1": TABLE1, "table2": TABLE2}

TITLES: dict[str, str] = {
    "table1": "Table 1: F1 on Bijie, fusion network, three RGB backbones, without / with Mixup",
    "table2": "Table 2: F1 on Hokkaido for three learning strategies (pretrained on Bijie)",
}

NOTES: tuple[str, ...] = (
    "Reported = copied from Lissak & Corpetti (IGARSS 2024); recomputed = trained and scored by "
    "landbench with the same code for every cell.",
    "The paper does not state how its F1 was pooled (over all pixels, or averaged per image with "
    "some rule for tiles without landslides), nor its split or number of runs: reported and "
    "recomputed values are not strictly comparable.",
    "Recomputed F1 is landbench's primary metric, the landslide-class F1 pooled over all pixels "
    "of the test split; the per-image mean (tiles with empty prediction and truth scored 1) is "
    "shown because published Bijie results often use it.",
    "Recomputed values are mean ± sample std over seeds (n = number of seeds); models were "
    "selected on the validation split, the test split was used once.",
)
"""Notes printed under every reproduced table."""

SYNTH_NOTE = (
    "Recomputed on LandslideSynth (presets bijie and hokkaido), the embedded synthetic stand-in; "
    "the reported values are on the real datasets: compare rankings and gaps, not values."
)
HOKKAIDO_SPLIT_NOTE = (
    "The paper used 40 / 15 / 20 Hokkaido train / val / test images; the published data has "
    "39 / 14 / 15, landbench's split v1."
)


def reported_rows() -> list[dict[str, object]]:
    """Every reported cell as a flat dict (for leaderboards and CSV), labelled reported."""
    return [
        {
            "kind": "reported",
            "table": c.table,
            "key": c.key,
            "row": c.row,
            "column": c.column,
            "dataset": c.dataset,
            "f1": c.f1,
            "metric": "F1 (pooling not stated)",
            "source": PAPER_CITATION,
        }
        for cells in TABLES.values()
        for c in cells
    ]
