"""Drawing samples from a generator: fixed noise for frames, seeded batches, and .npz export like MNIST."""

from __future__ import annotations

import os
from pathlib import Path

import keras
import numpy as np

from gan_mnist.data import to_uint8
from gan_mnist.errors import GanMnistError


def fixed_noise(n: int, latent_dim: int, seed: int = 0) -> np.ndarray:
    """Standard-normal noise float32 (n, latent_dim), the same for the same seed on every machine."""
    return np.random.default_rng(seed).standard_normal((n, latent_dim)).astype(np.float32)


def generate(generator: keras.Model, n: int, seed: int = 0, batch_size: int = 1000) -> np.ndarray:
    """n images float32 (n, 28, 28, 1) in [-1, 1] from seeded noise, generated in inference mode."""
    if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
        raise GanMnistError(f"number of samples must be a positive integer, got {n!r}")
    z = fixed_noise(n, int(generator.input_shape[-1]), seed)
    chunks = [generator(z[i : i + batch_size], training=False) for i in range(0, n, batch_size)]
    return np.concatenate([np.asarray(c) for c in chunks])


def load_generator(path: str | os.PathLike) -> keras.Model:
    """Load a generator saved as .keras, with one clear error for a missing or unreadable file."""
    path = Path(path)
    if not path.is_file():
        raise GanMnistError(f"generator file not found: {path}")
    if path.suffix != ".keras":
        raise GanMnistError(f"generator file must be a .keras file, got {path.name}")
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as e:  # Keras raises many types for a damaged zip/config; the user needs one message
        raise GanMnistError(f"could not load generator {path}: {type(e).__name__}: {e}") from e


def save_samples(generator: keras.Model, n: int, path: str | os.PathLike, seed: int = 0) -> Path:
    """Write n samples to an .npz whose `images` is uint8 (n, 28, 28), 0 = background, 255 = ink."""
    images = to_uint8(generate(generator, n, seed))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, images=images)
    return path
