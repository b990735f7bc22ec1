"""Shared fixtures. Tests read MNIST from $GAN_MNIST_DATA (CI: ../shared/data/mnist.npz) and never download."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
_DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist.npz"
if not os.environ.get("GAN_MNIST_DATA") and _DEFAULT_DATA.is_file():
    os.environ["GAN_MNIST_DATA"] = str(_DEFAULT_DATA)


@pytest.fixture(scope="session")
def mnist_path() -> Path:
    path = os.environ.get("GAN_MNIST_DATA")
    if not path or not Path(path).is_file():
        pytest.fail("set GAN_MNIST_DATA to Keras's mnist.npz (CI uses ../shared/data/mnist.npz)")
    return Path(path)


@pytest.fixture(scope="session")
def small_images(mnist_path) -> np.ndarray:
    """The first 256 real training images, float32 (256, 28, 28, 1) in [-1, 1]."""
    from gan_mnist.data import load_training_images

    return load_training_images(mnist_path, limit=256)


@pytest.fixture(scope="session")
def small_labels(mnist_path) -> np.ndarray:
    """Labels uint8 (256,) of `small_images`."""
    from gan_mnist.data import load_training_data

    return load_training_data(mnist_path, limit=256)[1]


def write_fake_mnist(path: Path, **overrides) -> Path:
    """A tiny npz in Keras's layout; `overrides` replace or (with None) drop arrays."""
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, 20).astype(np.uint8),
        "x_test": rng.integers(0, 256, (10, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, 10).astype(np.uint8),
    }
    for key, value in overrides.items():
        if value is None:
            arrays.pop(key)
        else:
            arrays[key] = value
    np.savez(path, **arrays)
    return path
