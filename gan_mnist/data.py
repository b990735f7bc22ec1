"""MNIST loading: an explicit file, then $GAN_MNIST_DATA, then Keras's own downloader; plus the tf.data pipeline."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
import tensorflow as tf

from gan_mnist.errors import GanMnistError

ENV_VAR = "GAN_MNIST_DATA"
SPLITS = ("train", "test")
_KEYS = ("x_train", "y_train", "x_test", "y_test")


def _keras_load() -> dict[str, np.ndarray]:
    """Keras's downloader (cached in ~/.keras/datasets); raises whatever urllib raises when offline."""
    import keras

    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise GanMnistError(f"MNIST file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in _KEYS if k not in f.files]
            if missing:
                raise GanMnistError(f"{path}: missing arrays {missing}; expected Keras's layout {list(_KEYS)}")
            return {k: f[k] for k in _KEYS}
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        if isinstance(e, GanMnistError):
            raise
        raise GanMnistError(f"{path}: not a readable .npz file ({e})") from e


def validate_mnist(arrays: dict[str, np.ndarray], source: str = "data") -> None:
    """Check Keras's layout: x_* uint8 (N, 28, 28), y_* integer (N,) in 0..9, N > 0."""
    for split in SPLITS:
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim != 3 or x.shape[1:] != (28, 28):
            raise GanMnistError(f"{source}: x_{split} must have shape (N, 28, 28), got {x.shape}")
        if x.dtype != np.uint8:
            raise GanMnistError(f"{source}: x_{split} must be uint8 (0-255), got {x.dtype}")
        if x.shape[0] == 0:
            raise GanMnistError(f"{source}: x_{split} is empty")
        if y.shape != (x.shape[0],):
            raise GanMnistError(f"{source}: y_{split} must have shape ({x.shape[0]},), got {y.shape}")
        if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() > 9:
            raise GanMnistError(f"{source}: y_{split} must hold integer labels 0-9")


def load_mnist(path: str | os.PathLike | None = None, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Return (images uint8 (N, 28, 28) 0-255, labels uint8 (N,) 0-9) for 'train' or 'test'.

    Looks at `path`, then $GAN_MNIST_DATA, then Keras's downloader.
    """
    if split not in SPLITS:
        raise GanMnistError(f"split must be one of {SPLITS}, got {split!r}")
    if path is not None:
        source = str(path)
        arrays = _read_npz(Path(path))
    elif os.environ.get(ENV_VAR):
        source = f"{ENV_VAR}={os.environ[ENV_VAR]}"
        if not Path(os.environ[ENV_VAR]).is_file():
            raise GanMnistError(f"{source}: no such file (point {ENV_VAR} at a mnist.npz in Keras's layout)")
        arrays = _read_npz(Path(os.environ[ENV_VAR]))
    else:
        source = "keras.datasets.mnist"
        try:
            arrays = _keras_load()
        except Exception as e:  # urllib/HTTP/SSL errors vary by platform; one message covers them
            raise GanMnistError(
                f"could not download MNIST with Keras ({type(e).__name__}: {e}). Offline? Set {ENV_VAR} "
                "to a local mnist.npz in Keras's layout (x_train, y_train, x_test, y_test)."
            ) from e
    validate_mnist(arrays, source)
    return arrays[f"x_{split}"], arrays[f"y_{split}"].astype(np.uint8)


def to_model_range(images: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) 0-255 -> float32 (N, 28, 28, 1) in [-1, 1], the generator's tanh range."""
    return (images.astype(np.float32)[..., None] - 127.5) / 127.5


def to_uint8(images: np.ndarray) -> np.ndarray:
    """float (N, 28, 28[, 1]) in [-1, 1] -> uint8 (N, 28, 28), 0 = background, 255 = ink, like MNIST."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 4:
        images = images[..., 0]
    return np.clip(np.rint((images + 1.0) * 127.5), 0, 255).astype(np.uint8)


def make_dataset(images: np.ndarray, batch_size: int, seed: int = 0) -> tf.data.Dataset:
    """Shuffled, batched, prefetched dataset of float32 (B, 28, 28, 1) batches; the last batch may be smaller."""
    ds = tf.data.Dataset.from_tensor_slices(images)
    ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def load_training_images(path: str | os.PathLike | None = None, limit: int | None = None) -> np.ndarray:
    """The first `limit` (or all) training images as float32 (N, 28, 28, 1) in [-1, 1]."""
    x, _ = load_mnist(path, "train")
    if limit is not None:
        if limit > len(x):
            raise GanMnistError(f"limit={limit} is larger than the {len(x)} training images")
        x = x[:limit]
    return to_model_range(x)
