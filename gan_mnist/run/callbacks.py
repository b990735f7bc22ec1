"""A run's bookkeeping around its epochs: `EpochBook`, the one Keras callback that owns it, takes every step in the
order written in its two methods, so no correctness depends on where a callback sits in a list. Each epoch becomes
an `EpochRecord` (a row of history.csv), which the book also hands to the callbacks after it (tune's pruning, a
user's) in `logs`. `StopOnNonFinite` guards the batches.

The steps an epoch end takes: measure quality (when due) and keep the best generator, append the history row,
draw the frame, redraw losses.png and training.gif, keep a generator snapshot (when due), write generator.keras and
the checkpoint (last of the files: its existence promises that everything before it reaches this epoch), log to
TensorBoard, redraw the notebook's live view (when shown), stop when the time budget is spent.
"""

from __future__ import annotations

import dataclasses
import io
import time
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import pandas as pd
from PIL import Image

from gan_mnist.errors import TrainingDiverged
from gan_mnist.networks import is_conditional
from gan_mnist.plotting import image_grid, make_gif, plot_history, save_grid
from gan_mnist.run.checkpoint import list_checkpoints, save_checkpoint
from gan_mnist.run.directory import (
    BEST,
    CHECKPOINTS,
    FRAMES,
    GENERATOR,
    GIF,
    HISTORY,
    LOSS_PLOT,
    SNAPSHOTS,
    TENSORBOARD,
    atomic_path,
    atomic_write_bytes,
    epoch_file,
    epoch_files,
    real_folder,
)
from gan_mnist.run.live import LiveView
from gan_mnist.run.tensorboard_logs import TensorBoardLog
from gan_mnist.sample import generate_from


@dataclasses.dataclass
class EpochRecord:
    """One epoch as the run records it: `row()` is its line of history.csv."""

    epoch: int  # 1-based
    losses: dict[str, float] = dataclasses.field(default_factory=dict)  # fit()'s epoch means (d_loss, g_loss, ...)
    seconds: float = 0.0  # training time: the epoch's steps and the clustering before them, nothing written after
    wall_s: float = 0.0  # training time of the run so far (a resumed run's earlier epochs included)
    clustering: dict[str, float] = dataclasses.field(default_factory=dict)  # cluster_s, cluster_purity when clustered
    quality: dict[str, float] = dataclasses.field(default_factory=dict)  # evaluator metrics, eval_s, best_fd/epoch

    def row(self) -> dict[str, float]:
        return {"epoch": self.epoch, **self.losses, **self.clustering, **self.quality, "seconds": self.seconds,
                "wall_s": self.wall_s}


@dataclasses.dataclass
class Outputs:
    """What a run writes around its epochs, and how often (from its TrainConfig)."""

    out: Path  # the run directory
    last_epoch: int  # the run's `epochs`: the last epoch always evaluates and checkpoints
    frame_noise: np.ndarray  # (K, latent_dim) fixed noise of the frames
    frame_labels: np.ndarray | None  # (K,) their labels (conditional runs)
    frame_columns: int
    gif_frame_ms: int
    checkpoint_every: int
    save_every: int | None = None  # generators/epoch_NNNN.keras every k epochs
    eval_every: int | None = None  # quality metrics every k epochs (and best.keras)
    eval_samples: int = 2000
    budget_s: float | None = None  # stop at the first epoch end past this much training time
    data_path: str | Path | None = None  # MNIST, for the evaluator's reference statistics

    def due(self, every: int | None, epoch: int) -> bool:
        """Whether a step run every `every` epochs (None: never) is due at 1-based `epoch` (the last one always)."""
        return bool(every) and (epoch % every == 0 or epoch == self.last_epoch)


class EpochBook(keras.callbacks.Callback):
    """Owns a run's epochs: at each start sets the dataset's epoch (`epoch_variable`, so batch order follows from
    the epoch number) and re-clusters when self-conditioned (`recluster(discriminator, epoch) -> dict`); at each end
    takes the steps of the module docstring in that order. `previous`: a resumed run's history so far; `live`: a
    notebook view redrawn after each epoch and, with `live_every`, every that many steps."""

    def __init__(self, outputs: Outputs, epoch_variable, previous: pd.DataFrame | None = None,
                 recluster: Callable[[keras.Model, int], dict] | None = None, live: LiveView | None = None,
                 live_every: int | None = None):
        super().__init__()
        self.outputs, self.epoch_variable, self.recluster = outputs, epoch_variable, recluster
        self.live, self.live_every = live, live_every  # the notebook's view, and its steps between epoch ends
        self._live_step = 0
        self.rows = [] if previous is None else previous.to_dict("records")
        self.best = _best_so_far(previous)
        self.tensorboard = TensorBoardLog(outputs.out / TENSORBOARD)
        self.record: EpochRecord | None = None

    @property
    def history(self) -> pd.DataFrame:
        """history.csv as a table: one row per epoch recorded so far."""
        return pd.DataFrame(self.rows)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_variable.assign(epoch)
        self._start = time.perf_counter()  # the clustering below is training time
        self.record = EpochRecord(epoch + 1)
        self._live_step = 0
        if self.recluster is not None:
            self.record.clustering = self.recluster(self.model.discriminator, epoch)

    def on_epoch_end(self, epoch, logs=None):
        record, o = self.record, self.outputs
        record.seconds = time.perf_counter() - self._start
        record.wall_s = (self.rows[-1]["wall_s"] if self.rows else 0.0) + record.seconds
        record.losses = {k: float(v) for k, v in (logs or {}).items()}
        sampler = self.model.sampler
        if o.due(o.eval_every, record.epoch):
            record.quality = self._quality(sampler, record.epoch)
        self.rows.append(record.row())
        _write_csv(self.history, o.out / HISTORY)
        frame = real_folder(o.out / FRAMES) / epoch_file(record.epoch, ".png")
        save_grid(generate_from(sampler, o.frame_noise, o.frame_labels), frame, title=f"epoch {record.epoch}",
                  ncols=o.frame_columns)
        write_run_pictures(self.history, o.out / FRAMES, o.out / LOSS_PLOT, o.out / GIF, o.gif_frame_ms,
                           record.epoch)
        if o.save_every and record.epoch % o.save_every == 0:
            save_generator(sampler, real_folder(o.out / SNAPSHOTS) / epoch_file(record.epoch, ".keras"))
        if o.due(o.checkpoint_every, record.epoch):
            save_generator(sampler, o.out / GENERATOR)
            save_checkpoint(self.model, o.out / CHECKPOINTS, record.epoch)
        self.tensorboard.write(record, frame, _learning_rates(self.model))
        if self.live is not None:
            self.live.update(self.history, np.asarray(Image.open(frame)), record.epoch)
        if o.budget_s is not None and record.wall_s >= o.budget_s:
            self.model.stop_training = True
        if logs is not None:  # for the callbacks after this one: tune's pruning, a user's
            logs.update(record.row())

    def on_train_batch_end(self, batch, logs=None):
        if self.live is None or not self.live_every or (batch + 1) // self.live_every <= self._live_step:
            return  # (batch: the last step of a compiled call, so steps_per_execution > 1 may skip a few)
        self._live_step = (batch + 1) // self.live_every
        o = self.outputs
        grid = image_grid(generate_from(self.model.sampler, o.frame_noise, o.frame_labels), ncols=o.frame_columns)
        self.live.update(self.history, grid, self.record.epoch, step=f"step {batch + 1}")

    def on_train_end(self, logs=None):
        self.tensorboard.close()

    def _quality(self, sampler: keras.Model, epoch: int) -> dict[str, float]:
        """The evaluator's metrics of fresh samples (seeded: every epoch draws the same noise), eval_s, and the
        best FD so far with its epoch, keeping that epoch's sampler as best.keras when it is a new best."""
        from gan_mnist.evaluation.registry import DURING_TRAINING, Reference, applicable, evaluate_images
        from gan_mnist.sample import all_digit_labels, generate

        start = time.perf_counter()
        o = self.outputs
        labels = all_digit_labels(o.eval_samples) if is_conditional(sampler) else None
        images = generate(sampler, o.eval_samples, seed=QUALITY_SEED, labels=labels)
        # the shipped CNN's metrics only: the whole panel is for finished runs (evaluate, compare, tune's objective)
        metrics = evaluate_images(images, labels, reference=Reference(o.data_path), members=("cnn",),
                                  metrics=applicable(DURING_TRAINING, labels is not None))
        quality = {k: v for k, v in metrics.items() if k != "n"}
        quality["eval_s"] = time.perf_counter() - start
        if quality["fd"] < self.best[0]:  # a tie keeps the earlier epoch
            self.best = (float(quality["fd"]), epoch)
            save_generator(sampler, o.out / BEST)
        quality.update(best_fd=self.best[0], best_epoch=self.best[1])
        return quality


QUALITY_SEED = 12345  # the noise of every in-training evaluation


def _best_so_far(history: pd.DataFrame | None) -> tuple[float, int]:
    """(lowest fd, its epoch) in a resumed run's history; (inf, 0) when none was measured."""
    if history is None or "fd" not in history or history["fd"].isna().all():
        return float("inf"), 0
    best = history.loc[history["fd"].idxmin()]
    return float(best["fd"]), int(best["epoch"])


def _learning_rates(gan: keras.Model) -> dict[str, float]:
    return {f"{name[0]}_learning_rate": float(keras.ops.convert_to_numpy(getattr(gan, name).learning_rate))
            for name in ("g_optimizer", "d_optimizer") if getattr(gan, name, None) is not None}


def _write_csv(table: pd.DataFrame, path: Path) -> None:
    buf = io.StringIO()
    table.to_csv(buf, index=False)
    atomic_write_bytes(path, buf.getvalue().encode())


def write_run_pictures(history: pd.DataFrame, frames_dir: str | Path, loss_plot: str | Path, gif: str | Path,
                       frame_ms: int, last_epoch: int | None = None) -> None:
    """losses.png from `history` and the GIF of frames_dir's epoch_NNNN.png up to `last_epoch`."""
    import matplotlib.pyplot as plt

    if not history.empty:
        plt.close(plot_history(history, loss_plot))
    frames = epoch_files(frames_dir, ".png", last_epoch)
    if frames:
        make_gif(frames, gif, frame_ms)


class StopOnNonFinite(keras.callbacks.Callback):
    """Raises TrainingDiverged as soon as a loss is NaN or infinite, before any end-of-epoch save.

    Raising (rather than setting stop_training) keeps the epoch's bookkeeping from writing frames, history and a
    checkpoint of broken weights: the last good checkpoint stays the newest. `checkpoint_dir` is named in the message.
    """

    def __init__(self, checkpoint_dir: str | Path):
        super().__init__()
        self.checkpoint_dir = Path(checkpoint_dir)
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        # the logged losses are running means over the epoch, so one non-finite step keeps them non-finite
        losses = {k: float(v) for k, v in (logs or {}).items() if k in ("d_loss", "g_loss")}
        bad = [f"{k}={v}" for k, v in losses.items() if not np.isfinite(v)]
        # float16 loss scaling skips a step whose gradients overflow and halves the scale: expected now and then,
        # and the weights stay finite; gradients that overflow even unscaled (scale < 1) are a diverged run
        scales = {name: float(opt.dynamic_scale) for name, opt in _loss_scaled_optimizers(self.model)}
        bad += [f"{name}_loss scale {scale:g} (gradients overflow float16 even unscaled)"
                for name, scale in scales.items() if not scale >= MIN_LOSS_SCALE]
        if bad:
            kept = list_checkpoints(self.checkpoint_dir)
            where = f"the newest checkpoint is kept: {kept[-1]}" if kept else "no checkpoint had been written yet"
            raise TrainingDiverged(f"training diverged at epoch {self.epoch + 1}, step {batch + 1}: {', '.join(bad)}; "
                                   f"{where} (try lower learning rates)")


MIN_LOSS_SCALE = 1.0  # below it, float16 gradients overflow without any scaling


def _loss_scaled_optimizers(model) -> list[tuple[str, keras.optimizers.LossScaleOptimizer]]:
    """(name, optimizer) of the model's loss-scaling optimizers (a float16 GAN's two; none otherwise)."""
    return [(name[0], opt) for name in ("g_optimizer", "d_optimizer")
            if isinstance(opt := getattr(model, name, None), keras.optimizers.LossScaleOptimizer) and opt.built]


def save_generator(generator: keras.Model, path: str | Path) -> Path:
    """Save the generator as .keras atomically (Keras insists on the suffix; the temporary name keeps it), with
    Keras's own layers only (export.portable_copy): the file loads where gan_mnist is not installed."""
    from gan_mnist.run.export import portable_copy

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        portable_copy(generator).save(tmp)
    return path
