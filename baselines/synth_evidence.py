"""Evidence that LandslideSynth is a fair RGB + DEM benchmark.

On the test split of a LandslideSynth preset (default ``bijie``) this prints the pooled pixel F1
(with IoU, precision and recall) of:

(a) an RGB-only colour threshold: the best of several colour indices and thresholds, tuned on
    the train split;
(b) a DEM-only slope threshold, tuned on the train split;
(c) a small U-Net (``create_model("unet-rgb")``) trained on RGB only;
(d) the same U-Net (``create_model("unet-rgbdem")``) trained on RGB + DEM with the same budget;
(e) unless ``--quick``: the same U-Net trained on the DEM alone (RGB channels zeroed), to check
    that the DEM does not solve the task by itself either.

The U-Nets are the zoo's ``tiny`` preset (ResNet-18 encoder of depth 3, from scratch).

The models use one compact training loop (below): band statistics of the train split, Adam,
BCE + Dice loss, random flips and 90-degree rotations, the epoch with the best validation F1.

Usage::

    python baselines/synth_evidence.py            # about 3 minutes on 2 idle CPU cores
    python baselines/synth_evidence.py --quick    # about 1 minute, under-trained model rows
    python baselines/synth_evidence.py --out evidence.json
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from landbench.core.io import atomic_write_json
from landbench.datasets._terrain import slope_deg
from landbench.datasets.synthetic import LandslideSynth, get_preset
from landbench.evaluation import confusion_counts, pooled_metrics


@dataclass
class Row:
    method: str
    cue: str
    f1: float
    iou: float
    precision: float
    recall: float
    note: str = ""


def scores(pred: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """Pooled F1, IoU, precision and recall, computed by the landbench evaluator."""
    return pooled_metrics(confusion_counts(pred.astype(np.uint8), target.astype(np.uint8)))


def load_split(split: str, preset: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """All tiles of a split: images float32 ``[N, 4, H, W]`` and masks uint8 ``[N, H, W]``."""
    ds = LandslideSynth(split=split, preset=preset, seed=seed)
    images = np.stack([ds[i]["image"].numpy() for i in range(len(ds))])
    masks = np.stack([ds[i]["mask"].numpy().astype(np.uint8) for i in range(len(ds))])
    return images, masks


# ---------------------------------------------------------------------------- threshold rules
def best_threshold(values: np.ndarray, target: np.ndarray, bins: int = 256) -> tuple[float, float]:
    """The threshold ``t`` maximising pooled F1 of ``values > t`` on the given pixels.

    One histogram per class and cumulative sums from the top give every candidate's counts at
    once, so the sweep costs a single pass over the pixels.
    """
    v, y = values.ravel(), target.ravel().astype(bool)
    edges = np.quantile(v, np.linspace(0, 1, bins + 1))
    edges = np.unique(edges)
    pos, _ = np.histogram(v[y], bins=edges)
    neg, _ = np.histogram(v[~y], bins=edges)
    tp = np.cumsum(pos[::-1])[::-1]  # pixels above each lower edge
    fp = np.cumsum(neg[::-1])[::-1]
    fn = y.sum() - tp
    f1 = 2 * tp / np.maximum(2 * tp + fp + fn, 1)
    k = int(np.argmax(f1))
    return float(edges[k]), float(f1[k])


COLOUR_INDICES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    # Bare soil and rock are brighter, redder and less green than vegetation.
    "brightness": lambda x: x[:, :3].mean(1),
    "redness (R-G)/(R+G)": lambda x: (x[:, 0] - x[:, 1]) / (x[:, 0] + x[:, 1] + 1e-6),
    "non-greenness -(2G-R-B)": lambda x: -(2 * x[:, 1] - x[:, 0] - x[:, 2]),
    "soil (R+G)/2-B": lambda x: 0.5 * (x[:, 0] + x[:, 1]) - x[:, 2],
}


def colour_threshold(train, test) -> Row:
    (xtr, ytr), (xte, yte) = train, test
    best = max(
        ((name, *best_threshold(f(xtr), ytr)) for name, f in COLOUR_INDICES.items()),
        key=lambda r: r[2],
    )
    name, t, _ = best
    s = scores(COLOUR_INDICES[name](xte) > t, yte)
    return Row("colour threshold", "RGB", **s, note=f"{name} > {t:.3g}, tuned on train")


def slope_threshold(train, test, gsd: float) -> Row:
    (xtr, ytr), (xte, yte) = train, test
    slope_tr = np.stack([slope_deg(d, gsd) for d in xtr[:, 3].astype(np.float64)])
    slope_te = np.stack([slope_deg(d, gsd) for d in xte[:, 3].astype(np.float64)])
    t, _ = best_threshold(slope_tr, ytr)
    s = scores(slope_te > t, yte)
    return Row("slope threshold", "DEM", **s, note=f"slope > {t:.1f} deg, tuned on train")


# ---------------------------------------------------------------------------- small models
def augment(x: torch.Tensor, y: torch.Tensor, gen: torch.Generator):
    """Random flips and 90-degree rotations of a batch (the same for image and mask)."""
    k = int(torch.randint(0, 4, (), generator=gen))
    x, y = torch.rot90(x, k, (2, 3)), torch.rot90(y, k, (1, 2))
    if torch.rand((), generator=gen) < 0.5:
        x, y = x.flip(3), y.flip(2)
    return x, y


def predict(model, x: torch.Tensor, batch: int = 64) -> np.ndarray:
    model.eval()
    with torch.no_grad():
        out = [model(x[i : i + batch])[:, 0] > 0 for i in range(0, len(x), batch)]
    return torch.cat(out).numpy()


MODEL_SIZE = "tiny"
"""Zoo preset of the U-Nets: ResNet-18 encoder of depth 3, decoder widths 32-16-8."""


def train_model(name: str, data, epochs: int, seed: int, zero_rgb: bool = False) -> Row:
    """Train ``create_model(name, size=MODEL_SIZE)``; report test F1 at the best val epoch."""
    from landbench.models import create_model

    (xtr, ytr), (xva, yva), (xte, yte) = data
    mean = xtr.mean(axis=(0, 2, 3), dtype=np.float64)
    std = xtr.std(axis=(0, 2, 3), dtype=np.float64)
    std[std < 1e-6] = 1.0

    def tensor(x: np.ndarray) -> torch.Tensor:
        t = torch.from_numpy(((x - mean[:, None, None]) / std[:, None, None]).astype(np.float32))
        if zero_rgb:
            t[:, :3] = 0.0
        return t

    tr, va, te = tensor(xtr), tensor(xva), tensor(xte)
    ytr_t = torch.from_numpy(ytr.astype(np.float32))
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = create_model(name, size=MODEL_SIZE)
    started = time.perf_counter()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=2e-3, total_steps=epochs * -(-len(tr) // 16)
    )
    best_f1, best_state, best_epoch = -1.0, None, 0
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(tr), generator=gen)
        for i in range(0, len(tr), 16):
            idx = order[i : i + 16]
            x, y = augment(tr[idx], ytr_t[idx], gen)
            logits = model(x)[:, 0]
            prob = torch.sigmoid(logits)
            dice = 1 - (2 * (prob * y).sum() + 1) / (prob.sum() + y.sum() + 1)
            loss = F.binary_cross_entropy_with_logits(logits, y) + dice
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        f1 = scores(predict(model, va), yva)["f1"]
        if f1 > best_f1:
            best_f1, best_state, best_epoch = f1, copy.deepcopy(model.state_dict()), epoch + 1
    model.load_state_dict(best_state)
    s = scores(predict(model, te), yte)
    cue = "DEM" if zero_rgb else ("RGB" if name == "unet-rgb" else "RGB+DEM")
    note = (
        f"{name} {MODEL_SIZE}, best val F1 {best_f1:.3f} at epoch {best_epoch}/{epochs}, "
        f"{time.perf_counter() - started:.0f} s"
    )
    return Row(f"U-Net ({cue})", cue, **s, note=note)


# ---------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs, no DEM-only model")
    parser.add_argument("--preset", default="bijie")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=None, help="training epochs per model")
    parser.add_argument("--out", default=None, help="also write the table as JSON here")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    torch.set_flush_denormal(True)  # denormals can slow CPU training; results are unchanged
    epochs = args.epochs or (12 if args.quick else 40)
    started = time.perf_counter()
    preset = get_preset(args.preset)
    train, val, test = (load_split(s, preset.name, args.seed) for s in ("train", "val", "test"))
    print(
        f"LandslideSynth preset={preset.name} seed={args.seed}: train {len(train[0])}, "
        f"val {len(val[0])}, test {len(test[0])} tiles of {train[0].shape[-1]} px; "
        f"landslide pixels in test: {test[1].mean():.1%}",
        file=sys.stderr,
    )
    rows = [colour_threshold(train, test), slope_threshold(train, test, preset.gsd_m)]
    data = (train, val, test)
    rows.append(train_model("unet-rgb", data, epochs, args.seed))
    rows.append(train_model("unet-rgbdem", data, epochs, args.seed))
    if not args.quick:
        rows.append(train_model("unet-rgbdem", data, epochs, args.seed, zero_rgb=True))
    elapsed = time.perf_counter() - started

    print(f"\nPooled pixel F1 on the {preset.name} test split (seed {args.seed}):\n")
    print("| method | cue | F1 | IoU | precision | recall | note |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r.method} | {r.cue} | {r.f1:.3f} | {r.iou:.3f} | {r.precision:.3f} | "
            f"{r.recall:.3f} | {r.note} |"
        )
    print(f"\n({elapsed:.0f} s)")
    if args.out:
        record = {
            "preset": preset.name,
            "seed": args.seed,
            "epochs": epochs,
            "rows": [asdict(r) for r in rows],
        }
        atomic_write_json(args.out, record)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
