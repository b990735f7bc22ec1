"""Real digits' features on disk, so that a new process does not recompute them.

Every `evaluate`, `compare`, notebook kernel or `tune` worker scores samples against the same real digits: the
10,000 test digits and the floor digits, in each panel member's feature space. The `wide` member alone takes
about 14 s of one CPU core for 10,000 digits (146 MFLOP a digit), and a new process paid that every time. Those
features are a fixed function of the member's weights and the digits, so they are kept in a cache folder, one
file per (member, digits), named by a digest of both: a retrained member, other digits or another architecture
name other files, and a stale file is never read. One process computes a missing file while the others that need
it wait for it (a lock on the folder): several `tune` workers started together pay for it once.

The folder: $GAN_MNIST_CACHE, else $XDG_CACHE_HOME/gan_mnist, else ~/.cache/gan_mnist; GAN_MNIST_CACHE=off turns
the cache off. Files are written atomically (a reader sees a whole file or none); a folder that cannot be written
leaves the cache off for that call, and an unreadable file is recomputed. The features are stored as the float32
the networks compute and read back as the same float64 values: a cached evaluation equals an uncached one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

OFF = "off"


def cache_folder() -> Path | None:
    """The folder the features are kept in, or None when GAN_MNIST_CACHE=off."""
    chosen = os.environ.get("GAN_MNIST_CACHE")
    if chosen is not None:
        return None if chosen.strip().lower() in (OFF, "") else Path(chosen).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "gan_mnist"


def digest(model, images: np.ndarray) -> str:
    """24 hex digits that change with the layers up to the model's 'features', their weights, or the images
    (N, 28, 28, 1); the same in every process (layer names, which Keras numbers per process, are left out, and so
    are the layers after 'features', which a loaded member leaves at their random start)."""
    from gan_mnist.evaluation.panel import feature_model

    part = feature_model(model)
    h = hashlib.sha256(" ".join(type(layer).__name__ for layer in part.layers).encode())
    for weights in part.get_weights():
        h.update(str(weights.shape).encode() + np.ascontiguousarray(weights).tobytes())
    h.update(str(images.shape).encode() + np.ascontiguousarray(images, np.float32).tobytes())
    return h.hexdigest()[:24]


def cached_features(member: str, model, images: np.ndarray,
                    compute: Callable[[object, np.ndarray], np.ndarray]) -> np.ndarray:
    """compute(model, images) -> float64 (N, F), read from the cache folder when an earlier process stored it."""
    folder = cache_folder()
    if folder is None:
        return compute(model, images)
    path = folder / f"features_{member}_{digest(model, images)}.npy"
    stored = _load(path, len(images))
    if stored is not None:
        return stored
    with _one_at_a_time(folder):
        stored = _load(path, len(images))  # another process may have stored it while this one waited
        if stored is not None:
            return stored
        features = compute(model, images)
        _store(path, features)
    return features


def _load(path: Path, n: int) -> np.ndarray | None:
    try:
        stored = np.load(path)
    except (OSError, ValueError):  # not there yet, or unreadable: computed and stored again
        return None
    return stored.astype(np.float64) if stored.shape[0] == n else None


@contextlib.contextmanager
def _one_at_a_time(folder: Path) -> Iterator[None]:
    """The cache folder's lock for the block, waited for (run.directory.holding); none where the folder cannot be
    made: then each process computes its own."""
    from gan_mnist.run.directory import holding

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        yield
        return
    with holding(folder, wait=True):
        yield


def _store(path: Path, features: np.ndarray) -> None:
    from gan_mnist.run.directory import atomic_path

    as_computed = features.astype(np.float32)
    if not np.array_equal(as_computed.astype(np.float64), features):
        return  # not the float32 a network computes: kept only in memory
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.save(f, as_computed)
    except OSError:  # a read-only or full disk: the cache stays off, the evaluation goes on
        pass
