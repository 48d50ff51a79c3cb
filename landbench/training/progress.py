"""What ``landbench train`` shows: one progress bar per run, each epoch's and the run's result.

In a terminal a run shows one bar that fits one line (``NAME 45%|####  | epoch 5/10 loss 0.41
val_f1 0.62``); where stderr is not a terminal (a log file, CI) it writes one line per epoch
instead of bar refreshes. Lightning's banners (accelerator, model summary, tips and adverts) and
known third-party warnings are silenced unless ``verbose`` is asked for.
"""

from __future__ import annotations

import contextlib
import logging
import math
import sys
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import lightning as L
from lightning.pytorch.callbacks.progress.progress_bar import ProgressBar
from tqdm.auto import tqdm

from landbench.training.recording import format_row

#: Loggers through which Lightning prints its rank-zero banners ("GPU available: ...", "💡 Tip",
#: litlogger / litmodels adverts, "`Trainer.fit` stopped: ...", the model summary).
LIGHTNING_LOGGERS: tuple[str, ...] = ("lightning", "lightning.pytorch", "lightning.fabric")

#: Third-party warnings that say nothing a landbench user can act on, each with why it is safe.
QUIET_WARNINGS: tuple[tuple[str, str], ...] = (
    # Data loading runs in the main process by default (data.num_workers: 0): on the small
    # tiles of the benchmark, worker processes cost more than they save.
    (r".*does not have many workers.*", "num_workers"),
    # The training set is small on purpose (quick recipes); logging every n steps is moot.
    (r".*The number of training batches .* is smaller than the logging interval.*", "log"),
    # Validation batches hold a list of ids; Lightning is told the batch size explicitly.
    (r".*Trying to infer the `batch_size`.*", "batch_size"),
    # Resuming writes into the run's own checkpoints/ folder, which holds last.ckpt by design.
    (r".*Checkpoint directory .* exists and is not empty.*", "resume"),
    # Lightning 2.6 still builds torch's LeafSpec, deprecated in torch 2.14 (FutureWarning from
    # lightning/pytorch/utilities/_pytree.py); nothing a landbench user can change.
    (r".*isinstance\(treespec, LeafSpec\)` is deprecated.*", "lightning-torch"),
)


@contextlib.contextmanager
def quiet_libraries(verbose: bool = False) -> Iterator[None]:
    """Silence Lightning's info banners and known third-party warnings inside the block.

    Args:
        verbose: leave everything as it is (``landbench -v train``).
    """
    if verbose:
        yield
        return
    loggers = [logging.getLogger(name) for name in LIGHTNING_LOGGERS]
    levels = [lg.level for lg in loggers]
    with warnings.catch_warnings():
        for pattern, _why in QUIET_WARNINGS:
            warnings.filterwarnings("ignore", message=pattern)
        for lg in loggers:
            lg.setLevel(logging.WARNING)
        try:
            yield
        finally:
            for lg, level in zip(loggers, levels):
                lg.setLevel(level)


def is_terminal(stream: Any = None) -> bool:
    """Whether ``stream`` (default stderr, where bars go) is an interactive terminal."""
    stream = sys.stderr if stream is None else stream
    return bool(getattr(stream, "isatty", lambda: False)())


def logged_epoch(epoch: int, max_epochs: int | None) -> bool:
    """Whether a log (no terminal) shows ``epoch`` (0-based): the first, the last, each quarter."""
    if max_epochs is None or max_epochs <= 5:
        return True
    step = math.ceil(max_epochs / 4)
    return epoch == 0 or epoch == max_epochs - 1 or (epoch + 1) % step == 0


class RunProgress(ProgressBar):
    """One progress bar over a whole training run, in one terminal line.

    Args:
        name: shown at the left of the bar (the run's name).
        bar: show the bar (``trainer.progress_bar``); it is shown in a terminal only.
        verbose: also print a line per epoch in a terminal.

    Without a terminal (a log file) there is no bar: the run prints its first, last and every
    quarter's epoch as a line (at most five lines a run), or every epoch with ``verbose``.
    """

    def __init__(self, name: str, bar: bool = True, verbose: bool = False) -> None:
        super().__init__()
        self.name = name
        self.show_bar = bar and is_terminal()
        self.verbose = verbose
        self._bar: Any = None
        self._postfix: dict[str, str] = {}
        self._max_epochs: int | None = None

    def disable(self) -> None:  # noqa: D102 - Lightning's hook (non-zero ranks)
        self.show_bar = False

    def enable(self) -> None:  # noqa: D102
        pass

    @property
    def active(self) -> bool:
        """Whether a bar is on screen (then epochs are not printed as lines)."""
        return self._bar is not None

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Open the bar (terminal, rank zero), continuing where a resumed run stopped."""
        self._max_epochs = trainer.max_epochs if trainer.max_epochs > 0 else None
        if not self.show_bar or not trainer.is_global_zero:
            return
        per_epoch = self.total_train_batches
        total = per_epoch * trainer.max_epochs if per_epoch != float("inf") else None
        if trainer.max_steps and trainer.max_steps > 0 and total is not None:
            total = min(total, trainer.max_steps * trainer.accumulate_grad_batches)
        self._bar = tqdm(
            total=total,
            initial=int(trainer.current_epoch * per_epoch) if total else 0,
            desc=self.name,
            dynamic_ncols=True,
            leave=False,
            file=sys.stderr,
            unit="batch",
            bar_format="{desc} {percentage:3.0f}%|{bar}| {postfix} [{elapsed}<{remaining}]",
        )

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        """Advance the bar; show the epoch and the batch loss."""
        if self._bar is None:
            return
        self._bar.update(1)
        self._postfix["epoch"] = f"{trainer.current_epoch + 1}/{trainer.max_epochs}"
        loss = outputs.get("loss") if isinstance(outputs, Mapping) else outputs
        if loss is not None:
            self._postfix["loss"] = f"{float(loss):.3f}"
        self._bar.set_postfix_str(self._format(), refresh=False)

    def report(self, row: Mapping[str, Any]) -> None:
        """Show an epoch's row: in the bar in a terminal, as a line otherwise (or verbose)."""
        if self._bar is not None:
            if row.get("val_f1") is not None:
                self._postfix["val_f1"] = f"{row['val_f1']:.3f}"
            self._bar.set_postfix_str(self._format())
            if self.verbose:
                self._bar.write(format_row(row))
        elif self.verbose or logged_epoch(int(row.get("epoch", 0)), self._max_epochs):
            print(format_row(row), flush=True)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Close the bar."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        """Close the bar so an error message starts on a clean line."""
        self.on_train_end(trainer, pl_module)

    def print(self, *args: Any, **kwargs: Any) -> None:
        """Print above the bar (``LightningModule.print``)."""
        if self._bar is not None:
            self._bar.write(" ".join(str(a) for a in args))
        else:
            print(*args, **kwargs)

    def _format(self) -> str:
        return " ".join(f"{k} {v}" for k, v in self._postfix.items())
