"""The live view of a run in a notebook: one display, redrawn in place after every epoch (and, if asked, every N
steps): the grid the fixed noise draws now, the loss and FD curves so far, epoch / elapsed / time left.

It uses IPython's display handles, which Jupyter and Colab both update in place; in a terminal there is no kernel
and nothing is drawn. `train(..., live=None)` turns it on by itself only in a notebook kernel that is not under
pytest (nbval re-runs the notebooks there: it stays silent unless a notebook asks with live=True).
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable

import numpy as np
import pandas as pd


def notebook_display() -> Callable | None:
    """IPython's `display` when this process is a notebook kernel (Jupyter, Colab), else None."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    if shell is None or not hasattr(shell, "kernel"):
        return None
    from IPython.display import display

    return display


def wanted(live: bool | None) -> bool:
    """Whether a run shows the live view: `live` if given; by default only in a notebook kernel outside pytest."""
    if live is not None:
        return live
    return notebook_display() is not None and "PYTEST_CURRENT_TEST" not in os.environ


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else \
        f"{seconds // 60}:{seconds % 60:02d}"


class LiveView:
    """Draws the run's state as one PNG and shows it in one display that each update replaces.

    `display` is IPython's (the default: `notebook_display()`) or anything called like it, `display(obj,
    display_id=True) -> handle` with `handle.update(obj)`. `epochs`: the run's last epoch, for the time left.
    """

    def __init__(self, epochs: int, display: Callable | None = None):
        self.epochs = epochs
        self.display = display or notebook_display()
        self.handle = None
        self.updates = 0
        self._start = time.monotonic()
        self._first_epoch: int | None = None

    def update(self, history: pd.DataFrame, grid: np.ndarray, epoch: int, step: str = "") -> None:
        """Redraw: `history` (the run's rows so far), `grid` uint8 (H, W[, 3]) the fixed noise's samples now,
        `epoch` 1-based (the last one finished, or the one running when `step` says where in it)."""
        if self.display is None:
            return
        from IPython.display import Image

        if self._first_epoch is None:
            self._first_epoch = epoch - (0 if step else 1)  # a resumed run: time left counts from where it began
        png = self.render(history, grid, epoch, step)
        if self.handle is None:
            self.handle = self.display(Image(data=png), display_id=True)
        else:
            self.handle.update(Image(data=png))
        self.updates += 1

    def status(self, epoch: int, step: str = "") -> str:
        """'epoch 5/20 · 1:02 elapsed · about 3:06 left' (time left from the mean epoch so far)."""
        elapsed = time.monotonic() - self._start
        done = epoch - (self._first_epoch or 0) - (1 if step else 0)
        text = f"epoch {epoch}/{self.epochs}{f' {step}' if step else ''} · {_clock(elapsed)} elapsed"
        if done > 0 and epoch < self.epochs:
            text += f" · about {_clock(elapsed / done * (self.epochs - epoch + (1 if step else 0)))} left"
        return text

    def render(self, history: pd.DataFrame, grid: np.ndarray, epoch: int, step: str = "") -> bytes:
        """The view as PNG bytes: samples | losses | FD (or D's accuracy before any FD), under a status line."""
        from matplotlib.figure import Figure  # not pyplot: no backend, nothing left for the notebook to show

        fig = Figure(figsize=(12, 4.2))
        axes = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1.4, 1, 1]})
        axes[0].imshow(grid, cmap="gray" if grid.ndim == 2 else None)
        axes[0].set_title("fixed noise, now")
        axes[0].axis("off")
        for col, label in (("d_loss", "D"), ("g_loss", "G")):
            if col in history:
                axes[1].plot(history["epoch"], history[col], marker="o", ms=2, label=label)
        axes[1].set(xlabel="epoch", title="losses")
        quality = history.dropna(subset=["fd"]) if "fd" in history else history.iloc[:0]
        if len(quality):
            axes[2].plot(quality["epoch"], quality["fd"], marker="o", ms=3, color="C2")
            axes[2].set(xlabel="epoch", ylabel="FD (lower is better)", title="Fréchet distance", yscale="log")
        else:
            for col, label in (("d_real_acc", "on real"), ("d_fake_acc", "on fake")):
                if col in history:
                    axes[2].plot(history["epoch"], history[col], marker="o", ms=2, label=label)
            axes[2].set(xlabel="epoch", title="D's accuracy (no FD: eval_every off)", ylim=(0, 1.02))
        for ax in axes[1:]:
            ax.grid(alpha=0.3)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=8)
        fig.suptitle(self.status(epoch, step), fontsize=10)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=72)
        return buf.getvalue()
