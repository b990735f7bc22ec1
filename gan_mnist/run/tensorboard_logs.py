"""TensorBoard logs of a run (DIR/tensorboard): the epoch's scalars, and its sample grid as an image.

Open them with `tensorboard --logdir DIR/tensorboard` (or `%tensorboard --logdir ...` in a notebook). Steps are
0-based epochs, as Keras writes them: step 0 is the end of epoch 1.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import tensorflow as tf

from gan_mnist.run.directory import TB_SAMPLES, TB_SCALARS


class TensorBoardLog:
    """Writes each epoch's record to log_dir: every number of its history row (losses, D accuracies, fd and the other
    metrics when evaluated, seconds, wall_s) and both learning rates as scalars `epoch_NAME` of run `train` (the
    names Keras's own callback uses), and the epoch's frame as the image `samples` of run `samples`, so
    TensorBoard's Images tab shows the digits emerge. Writers open on first use: a finished run resumed with
    nothing to do writes nothing."""

    def __init__(self, log_dir: str | Path):
        self.log_dir = Path(log_dir)
        self._writers: dict[str, tf.summary.SummaryWriter] = {}

    def _writer(self, run: str):
        if run not in self._writers:
            self._writers[run] = tf.summary.create_file_writer(str(self.log_dir / run))
        return self._writers[run]

    def write(self, record, frame: Path | None = None, extra: dict[str, float] | None = None) -> None:
        """`record`: a callbacks.EpochRecord; `frame`: its PNG; `extra`: more scalars (learning rates)."""
        step = record.epoch - 1  # 0-based, as Keras writes epochs
        with self._writer(TB_SCALARS).as_default():
            for name, value in {**record.row(), **(extra or {})}.items():
                if name != "epoch":
                    tf.summary.scalar(f"epoch_{name}", float(value), step=step)
        self._writers[TB_SCALARS].flush()
        if frame is not None and frame.exists():
            image = tf.io.decode_png(tf.io.read_file(str(frame)), channels=3)  # (H, W, 3) uint8
            with self._writer(TB_SAMPLES).as_default():
                tf.summary.image("samples", image[None], step=step)
            self._writers[TB_SAMPLES].flush()

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()


def read_tensorboard(log_dir: str | Path) -> tuple[pd.DataFrame, dict[int, np.ndarray]]:
    """(scalars: one row per epoch (1-based `epoch`), one column per tag without Keras's `epoch_` prefix;
    images: epoch -> the sample grid (H, W, 3) uint8), read back from the event files with TensorBoard's reader."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    log_dir = Path(log_dir)
    rows: dict[int, dict] = {}
    scalars = EventAccumulator(str(log_dir / TB_SCALARS), size_guidance={"tensors": 0}).Reload()
    for tag in scalars.Tags()["tensors"]:  # TF2 summaries are stored as tensors
        for event in scalars.Tensors(tag):
            value = float(tf.make_ndarray(event.tensor_proto))
            rows.setdefault(event.step + 1, {})[tag.removeprefix("epoch_")] = value
    images = {}
    if (log_dir / TB_SAMPLES).exists():
        samples = EventAccumulator(str(log_dir / TB_SAMPLES), size_guidance={"tensors": 0}).Reload()
        for event in samples.Tensors("samples") if "samples" in samples.Tags()["tensors"] else []:
            # an image summary tensor is [width, height, png bytes...]
            images[event.step + 1] = tf.io.decode_png(tf.make_ndarray(event.tensor_proto)[2]).numpy()
    table = pd.DataFrame([{"epoch": epoch, **values} for epoch, values in sorted(rows.items())])
    return table, images

