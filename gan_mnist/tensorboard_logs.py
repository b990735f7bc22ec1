"""TensorBoard logs of a run (DIR/tensorboard): Keras's callback for the scalars, the epoch's sample grid as an image.

Open them with `tensorboard --logdir DIR/tensorboard` (or `%tensorboard --logdir ...` in a notebook). Steps are
0-based epochs, as Keras writes them: step 0 is the end of epoch 1.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from gan_mnist.run_directory import TB_SAMPLES, TB_SCALARS, epoch_file


class FramesToTensorBoard(keras.callbacks.Callback):
    """Writes the epoch's frame (frames_dir/epoch_NNNN.png, written by SampleFrames before this callback) as the
    image `samples` of run log_dir/samples, so TensorBoard's Images tab shows the digits emerge."""

    def __init__(self, log_dir: str | Path, frames_dir: str | Path):
        super().__init__()
        self.log_dir, self.frames_dir = Path(log_dir), Path(frames_dir)
        self._writer = None

    def on_epoch_end(self, epoch, logs=None):
        frame = self.frames_dir / epoch_file(epoch + 1, ".png")
        if not frame.exists():
            return
        if self._writer is None:  # created on first use: a finished run resumed with nothing to do writes nothing
            self._writer = tf.summary.create_file_writer(str(self.log_dir / TB_SAMPLES))
        image = tf.io.decode_png(tf.io.read_file(str(frame)), channels=3)  # (H, W, 3) uint8
        with self._writer.as_default():
            tf.summary.image("samples", image[None], step=epoch)
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class _Scalars(keras.callbacks.TensorBoard):
    """Keras's callback, logging both networks' learning rates instead of the unused optimizer `compile` made."""

    def _collect_learning_rate(self, logs):  # Keras's hook (3.x); a rename would only bring back `learning_rate`
        logs = dict(logs or {})
        for name in ("g_optimizer", "d_optimizer"):
            optimizer = getattr(self.model, name, None)
            if optimizer is not None:
                logs[f"{name[0]}_learning_rate"] = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        return logs


def tensorboard_callbacks(log_dir: str | Path, frames_dir: str | Path) -> list[keras.callbacks.Callback]:
    """Keras's TensorBoard callback (every scalar in the epoch's logs: losses, D accuracies, fd and mnist_score when
    evaluated, seconds and wall_s) and the sample grid as an image. List them after the callbacks that fill the logs."""
    scalars = _Scalars(log_dir=str(log_dir), write_graph=False, profile_batch=0,
                                          update_freq="epoch")
    return [scalars, FramesToTensorBoard(log_dir, frames_dir)]


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

