"""Loading MNIST and Fashion-MNIST: an explicit path, then an environment variable, then Keras's downloader.

A path may be Keras's `mnist.npz` layout or a directory of the original IDX files (`.gz` or not). Everything is
checked and scaled for the GAN, and `make_dataset` builds the tf.data pipeline.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import tensorflow as tf

from gan_mnist.config import DATASETS
from gan_mnist.errors import GanMnistError

ENV_VARS = {"mnist": "GAN_MNIST_DATA", "fashion_mnist": "GAN_MNIST_FASHION_DATA"}
SPLITS = ("train", "test")
PREFETCH = 2  # batches a training dataset prepares ahead of the step that takes them
_KEYS = ("x_train", "y_train", "x_test", "y_test")
IDX_NAMES = {"x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
             "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}


def _keras_load(dataset: str = "mnist") -> dict[str, np.ndarray]:
    """Keras's downloader (cached in ~/.keras/datasets); raises whatever urllib raises when offline."""
    import keras

    module = {"mnist": keras.datasets.mnist, "fashion_mnist": keras.datasets.fashion_mnist}[dataset]
    (x_train, y_train), (x_test, y_test) = module.load_data()
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def _read_npz(path: Path) -> dict[str, np.ndarray]:
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


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file of unsigned bytes (gzipped or not), e.g. train-images-idx3-ubyte.gz -> uint8 (N, 28, 28)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:
        raise GanMnistError(f"{path}: corrupt or truncated file ({e})") from e
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] != 0x08:
        raise GanMnistError(f"{path}: not an IDX file of unsigned bytes (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise GanMnistError(f"{path}: truncated IDX header")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    if len(raw) - header != math.prod(dims):
        raise GanMnistError(f"{path}: {len(raw) - header} data bytes where the header promises {math.prod(dims)} "
                            "(truncated or corrupt)")
    return np.frombuffer(raw, np.uint8, offset=header).reshape(dims)


def read_idx_dir(directory: str | os.PathLike) -> dict[str, np.ndarray]:
    """The four original IDX files in `directory` (train-/t10k- images and labels, `.gz` optional) as arrays."""
    directory = Path(directory)
    arrays = {}
    for key, name in IDX_NAMES.items():
        found = [p for p in (directory / f"{name}.gz", directory / name) if p.is_file()]
        if not found:
            raise GanMnistError(f"{directory}: no {name}[.gz]; expected the four IDX files {list(IDX_NAMES.values())}")
        arrays[key] = read_idx(found[0])
    return arrays


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


def load_dataset(
    dataset: str = "mnist", path: str | os.PathLike | None = None, split: str = "train"
) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (N, 28, 28) 0-255, labels uint8 (N,) 0-9) of 'train' or 'test'.

    Looks at `path` (an .npz in Keras's layout or a directory of IDX files), then the dataset's environment
    variable (GAN_MNIST_DATA, GAN_MNIST_FASHION_DATA), then Keras's downloader.
    """
    if dataset not in DATASETS:
        raise GanMnistError(f"unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}")
    if split not in SPLITS:
        raise GanMnistError(f"split must be one of {SPLITS}, got {split!r}")
    env = ENV_VARS[dataset]
    source = str(path)
    if path is None and os.environ.get(env):
        path, source = os.environ[env], f"{env}={os.environ[env]}"
    if path is not None:
        p = Path(path)
        if p.is_dir():
            arrays = read_idx_dir(p)
        elif p.is_file():
            arrays = _read_npz(p)
        else:
            # name what the user actually gave: the path argument (--data) or the environment variable
            fix = f"point {env} at" if source.startswith(env) else "give the path of"
            raise GanMnistError(f"{dataset} data not found: {source} ({fix} Keras's .npz or a folder of IDX files)")
    else:
        source = f"keras.datasets.{dataset}"
        try:
            arrays = _keras_load(dataset)
        except Exception as e:  # urllib/HTTP/SSL errors vary by platform; one message covers them
            raise GanMnistError(
                f"could not download {dataset} with Keras ({type(e).__name__}: {e}). Offline? Set {env} "
                "to a local .npz in Keras's layout (x_train, y_train, x_test, y_test) or a folder of IDX files."
            ) from e
    validate_mnist(arrays, source)
    return arrays[f"x_{split}"], arrays[f"y_{split}"].astype(np.uint8)


def load_mnist(path: str | os.PathLike | None = None, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """MNIST (images uint8 (N, 28, 28), labels uint8 (N,)): `path`, then $GAN_MNIST_DATA, then Keras."""
    return load_dataset("mnist", path, split)


def to_model_range(images: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) 0-255 -> float32 (N, 28, 28, 1) in [-1, 1], the generator's tanh range."""
    return (images.astype(np.float32)[..., None] - 127.5) / 127.5


def to_uint8(images: np.ndarray) -> np.ndarray:
    """float (N, 28, 28[, 1]) in [-1, 1] -> uint8 (N, 28, 28), 0 = background, 255 = ink, like MNIST."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 4:
        images = images[..., 0]
    return np.clip(np.rint((images + 1.0) * 127.5), 0, 255).astype(np.uint8)


def batch_count(n: int, batch_size: int, drop_remainder: bool = False) -> int:
    """Batches in one pass over `n` images: a ragged last one counts unless `drop_remainder`."""
    return n // batch_size if drop_remainder else -(-n // batch_size)


def make_dataset(images: np.ndarray, batch_size: int, seed: int = 0, labels: np.ndarray | tf.Variable | None = None,
                 epoch: int | tf.Variable = 0, drop_remainder: bool = False) -> tf.data.Dataset:
    """Shuffled, batched, prefetched float32 (B, 28, 28, 1) batches, or (images, int32 labels (B,)) pairs.

    `labels` may be an int32 tf.Variable (a self-conditioned run's pseudo-labels): each batch reads its value then.

    Each pass over the dataset (Keras's fit makes one per epoch) takes its 0-based epoch number from `epoch`
    and adds one to it; epoch e's order depends on (seed, e) alone. `epoch` may be an int64 tf.Variable that the
    caller sets: `train` sets it at each epoch's start, so a resumed run sees exactly the batches an
    uninterrupted run would, whatever extra passes Keras makes. The last batch may be smaller, unless
    `drop_remainder`.
    """
    n = len(images)
    x = tf.convert_to_tensor(images)
    y = labels if labels is None or isinstance(labels, tf.Variable) else tf.convert_to_tensor(labels.astype(np.int32))
    if not isinstance(epoch, tf.Variable):
        epoch = tf.Variable(epoch, dtype=tf.int64, trainable=False)

    def order(_):
        e = epoch.assign_add(1) - 1
        return tf.random.experimental.stateless_shuffle(tf.range(n), seed=tf.stack([tf.constant(seed, tf.int64), e]))

    batches = tf.data.Dataset.from_tensors(0).map(order).unbatch().batch(batch_size, drop_remainder=drop_remainder)
    ds = batches.map(lambda i: tf.gather(x, i) if y is None else (tf.gather(x, i), tf.gather(y, i)))
    # unbatch() forgets the length; Keras's progress bar wants it
    ds = ds.apply(tf.data.experimental.assert_cardinality(batch_count(n, batch_size, drop_remainder)))
    # two batches ready are all a training step needs; no autotuning, because Keras makes an iterator per epoch, and
    # dropping an autotuned one waits for its tuning thread's next wake-up (docs/results.md, Speed)
    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.prefetch(PREFETCH).with_options(options)


def load_training_images(
    path: str | os.PathLike | None = None, limit: int | None = None, dataset: str = "mnist"
) -> np.ndarray:
    """The first `limit` (or all) training images as float32 (N, 28, 28, 1) in [-1, 1]."""
    return load_training_data(path, limit, dataset)[0]


def load_training_data(
    path: str | os.PathLike | None = None, limit: int | None = None, dataset: str = "mnist"
) -> tuple[np.ndarray, np.ndarray]:
    """(images float32 (N, 28, 28, 1) in [-1, 1], labels uint8 (N,)) of the first `limit` training examples."""
    x, y = load_dataset(dataset, path, "train")
    if limit is not None:
        if limit > len(x):
            raise GanMnistError(f"limit={limit} is larger than the {len(x)} training images")
        x, y = x[:limit], y[:limit]
    return to_model_range(x), y
