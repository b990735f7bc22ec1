"""Keras callbacks that write a run's outputs every epoch: history CSV, sample frames, checkpoints."""

from __future__ import annotations

import io
import time
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from gan_mnist.checkpoint import list_checkpoints, save_checkpoint
from gan_mnist.errors import TrainingDiverged
from gan_mnist.models import is_conditional
from gan_mnist.plotting import make_gif, plot_history, save_grid
from gan_mnist.run_directory import atomic_path, atomic_write_bytes, epoch_file, epoch_files
from gan_mnist.sample import generate_from


class SetEpoch(keras.callbacks.Callback):
    """Sets the dataset's epoch variable (see `make_dataset`) as each epoch begins, so the epoch's batch order
    follows from the epoch number, not from how many passes Keras has started (it peeks at one under a
    tf.distribute strategy)."""

    def __init__(self, variable):
        super().__init__()
        self.variable = variable

    def on_epoch_begin(self, epoch, logs=None):
        self.variable.assign(epoch)


class HistoryCSV(keras.callbacks.Callback):
    """Appends one row per epoch (1-based `epoch`, the epoch's mean metrics, `seconds`, cumulative `wall_s`).

    `seconds` and `wall_s` count training only; time spent by QualityEvery is its own column, `eval_s`. A
    self-conditioned run's clustering before the epoch (`cluster_s`, which Recluster reports) is training: counted in.
    """

    def __init__(self, path: str | Path, previous: pd.DataFrame | None = None):
        super().__init__()
        self.path = Path(path)
        self.rows = [] if previous is None else previous.to_dict("records")

    @property
    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        # training time only: the quality callback reports its own time as eval_s, left out of seconds/wall_s; the
        # clustering ran before this epoch's clock started (Recluster is listed first) and is put back in
        reported = logs or {}
        seconds = (time.perf_counter() - self._start - float(reported.get("eval_s", 0.0))
                   + float(reported.get("cluster_s", 0.0)))
        wall = (self.rows[-1]["wall_s"] if self.rows else 0.0) + seconds
        self.rows.append({"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()},
                          "seconds": seconds, "wall_s": wall})
        if logs is not None:  # for the callbacks after this one: TimeBudget, TensorBoard, a tuner's pruning
            logs.update(seconds=seconds, wall_s=wall)
        buf = io.StringIO()
        self.frame.to_csv(buf, index=False)
        atomic_write_bytes(self.path, buf.getvalue().encode())


class SampleFrames(keras.callbacks.Callback):
    """Saves frames_dir/epoch_NNNN.png: the generator's output on the same fixed noise [and labels] every epoch."""

    def __init__(self, frames_dir: str | Path, noise: np.ndarray, labels: np.ndarray | None = None,
                 ncols: int | None = None):
        super().__init__()
        self.frames_dir = Path(frames_dir)
        self.noise, self.labels, self.ncols = noise, labels, ncols

    def on_epoch_end(self, epoch, logs=None):
        images = generate_from(self.model.sampler, self.noise, self.labels)
        save_grid(images, self.frames_dir / epoch_file(epoch + 1, ".png"), title=f"epoch {epoch + 1}",
                  ncols=self.ncols)


class RunPictures(keras.callbacks.Callback):
    """After every epoch rewrites losses.png and training.gif from the history and frames so far, so that a run
    that stops (or is still going) has both pictures up to date, not only a finished one."""

    def __init__(self, history: HistoryCSV, frames_dir: str | Path, loss_plot: str | Path, gif: str | Path,
                 frame_ms: int):
        super().__init__()
        self.history, self.frames_dir, self.loss_plot, self.gif = history, Path(frames_dir), loss_plot, gif
        self.frame_ms = frame_ms

    def on_epoch_end(self, epoch, logs=None):
        write_run_pictures(self.history.frame, self.frames_dir, self.loss_plot, self.gif, self.frame_ms, epoch + 1)


def write_run_pictures(history: pd.DataFrame, frames_dir: str | Path, loss_plot: str | Path, gif: str | Path,
                       frame_ms: int, last_epoch: int | None = None) -> None:
    """losses.png from `history` and the GIF of frames_dir's epoch_NNNN.png up to `last_epoch`."""
    import matplotlib.pyplot as plt

    if not history.empty:
        plt.close(plot_history(history, loss_plot))
    frames = epoch_files(frames_dir, ".png", last_epoch)
    if frames:
        make_gif(frames, gif, frame_ms)


class TimeBudget(keras.callbacks.Callback):
    """Stops training at the first epoch end where the run's training time (`wall_s`, which HistoryCSV, listed
    before this callback, adds to the logs; resumed runs included) has reached `seconds`."""

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = seconds

    def on_epoch_end(self, epoch, logs=None):
        if (logs or {}).get("wall_s", 0.0) >= self.seconds:
            self.model.stop_training = True


class StopOnNonFinite(keras.callbacks.Callback):
    """Raises TrainingDiverged as soon as a loss is NaN or infinite, before any end-of-epoch save.

    Raising (rather than setting stop_training) keeps the epoch's callbacks from writing frames, history and a
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
        bad = {k: v for k, v in losses.items() if not np.isfinite(v)}
        if bad:
            kept = list_checkpoints(self.checkpoint_dir)
            where = f"the last good checkpoint is kept: {kept[-1]}" if kept else "no checkpoint had been written yet"
            losses = ", ".join(f"{k}={v}" for k, v in bad.items())
            raise TrainingDiverged(f"training diverged at epoch {self.epoch + 1}, step {batch + 1}: {losses}; "
                                   f"{where} (try lower learning rates)")


class CheckpointEvery(keras.callbacks.Callback):
    """Every `every` epochs (and after the last) saves the full training state and generator.keras."""

    def __init__(self, checkpoint_dir: str | Path, generator_path: str | Path, every: int, last_epoch: int):
        super().__init__()
        self.checkpoint_dir = Path(checkpoint_dir)
        self.generator_path = Path(generator_path)
        self.every = every
        self.last_epoch = last_epoch

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        if done % self.every and done != self.last_epoch:
            return
        save_generator(self.model.sampler, self.generator_path)
        # the checkpoint is written last: its existence promises that frames and history reach this epoch
        save_checkpoint(self.model, self.checkpoint_dir, done)


class QualityEvery(keras.callbacks.Callback):
    """Every `every` epochs (and after the last) adds the quality metrics of `n` fresh samples to the epoch's logs.

    Listed before HistoryCSV, so the metrics land in the history table beside the losses.
    """

    def __init__(self, every: int, last_epoch: int, n: int = 2000, seed: int = 12345, data_path=None):
        super().__init__()
        self.every, self.last_epoch, self.n, self.seed, self.data_path = every, last_epoch, n, seed, data_path

    def on_epoch_end(self, epoch, logs=None):
        from gan_mnist.evaluation.metrics import Reference, evaluate_images
        from gan_mnist.sample import all_digit_labels, generate

        done = epoch + 1
        if logs is None or (done % self.every and done != self.last_epoch):
            return
        start = time.perf_counter()
        sampler = self.model.sampler
        labels = all_digit_labels(self.n) if is_conditional(sampler) else None
        images = generate(sampler, self.n, seed=self.seed, labels=labels)
        metrics = evaluate_images(images, labels, reference=Reference(self.data_path), with_memorisation=False)
        logs.update({k: v for k, v in metrics.items() if k != "n"}, eval_s=time.perf_counter() - start)


class KeepBest(keras.callbacks.Callback):
    """At every epoch QualityEvery evaluated, keeps the sampler as `path` (best.keras) when its FD is the lowest so
    far, and adds `best_fd` and `best_epoch` to the logs. Listed after QualityEvery (which adds `fd`) and before
    HistoryCSV (which records them). `best` = (fd, epoch) of a resumed run's history so far."""

    def __init__(self, path: str | Path, best: tuple[float, int] | None = None):
        super().__init__()
        self.path = Path(path)
        self.best_fd, self.best_epoch = best if best is not None else (float("inf"), 0)

    def on_epoch_end(self, epoch, logs=None):
        if logs is None or "fd" not in logs:
            return
        if logs["fd"] < self.best_fd:  # a tie keeps the earlier epoch
            self.best_fd, self.best_epoch = float(logs["fd"]), epoch + 1
            save_generator(self.model.sampler, self.path)
        logs.update(best_fd=self.best_fd, best_epoch=self.best_epoch)


class GeneratorSnapshots(keras.callbacks.Callback):
    """Every `every` epochs keeps a copy of the generator as directory/epoch_NNNN.keras."""

    def __init__(self, directory: str | Path, every: int):
        super().__init__()
        self.directory = Path(directory)
        self.every = every

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0:
            self.directory.mkdir(parents=True, exist_ok=True)
            save_generator(self.model.sampler, self.directory / epoch_file(epoch + 1, ".keras"))


def save_generator(generator: keras.Model, path: str | Path) -> Path:
    """Save the generator as .keras atomically (Keras insists on the suffix; the temporary name keeps it), with
    Keras's own layers only (export.portable_copy): the file loads where gan_mnist is not installed."""
    from gan_mnist.export import portable_copy

    path = Path(path)
    with atomic_path(path) as tmp:
        portable_copy(generator).save(tmp)
    return path
