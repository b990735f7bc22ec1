"""The panel of yardsticks: feature extractors of different kinds, each trained by this project and shipped, so that
a recipe is judged in more than one feature space (one FD in one space can be fooled: docs/panel.md).

Members (MEMBERS): `cnn`, the shipped classifier (evaluator.py); `wide`, a wider classifier trained on shifted,
rotated and rescaled digits, so that its features ignore what those change; `ae`, the encoder of an autoencoder
trained without labels, whose features keep what a classifier throws away (stroke width, slant, style). Each has
a layer named "features" (B, F) that the metrics read, and weights in assets/evaluator_<name>.npz.

The table imports no TensorFlow (the CLI's --help lists the members); each function imports Keras when called.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gan_mnist.errors import GanMnistError
from gan_mnist.evaluation import ASSETS, CNN_WEIGHTS

if TYPE_CHECKING:
    import keras



def build_cnn() -> keras.Model:
    """The shipped classifier (evaluator.build_classifier)."""
    from gan_mnist.evaluation.evaluator import build_classifier

    return build_classifier()


def train_cnn(images: np.ndarray, labels: np.ndarray, epochs: int = 10, seed: int = 0,
              verbose: int | str = 0) -> keras.Model:
    """Fit the shipped classifier (evaluator.train_classifier)."""
    from gan_mnist.evaluation.evaluator import train_classifier

    return train_classifier(images, labels, epochs=epochs, seed=seed, verbose=verbose)


def build_wide_classifier(feature_dim: int = 128) -> keras.Model:
    """Wider CNN with augmentation layers (active in training only): images (B, 28, 28, 1) in [-1, 1] -> 10 logits;
    layer 'features' (B, feature_dim)."""
    import keras
    from keras import layers

    img = keras.Input((28, 28, 1), name="image")
    x = layers.RandomTranslation(0.1, 0.1, fill_value=-1.0)(img)  # digits shifted by up to 3 pixels
    x = layers.RandomRotation(0.04, fill_value=-1.0)(x)  # up to ~15 degrees
    x = layers.RandomZoom(0.1, fill_value=-1.0)(x)  # 10 % larger or smaller
    for filters in (64, 128):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)  # 28x28x64, then 14x14x128
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D()(x)  # 14x14x64, then 7x7x128
    x = layers.GlobalAveragePooling2D()(x)  # 128
    x = layers.Dense(feature_dim, activation="relu", name="features")(x)  # 128
    logits = layers.Dense(10, name="logits")(x)
    return keras.Model(img, logits, name="wide_classifier")


def train_wide(images: np.ndarray, labels: np.ndarray, epochs: int = 5, seed: int = 0,
               verbose: int | str = 0) -> keras.Model:
    """Fit `build_wide_classifier()` on images (N, 28, 28, 1) in [-1, 1] with labels (N,) 0-9."""
    from gan_mnist.evaluation.evaluator import fit_classifier

    return fit_classifier(build_wide_classifier, images, labels, epochs, seed, verbose)


def build_autoencoder(feature_dim: int = 64) -> keras.Model:
    """Convolutional autoencoder: images (B, 28, 28, 1) in [-1, 1] -> reconstructions in [-1, 1]; its bottleneck,
    layer 'features' (B, feature_dim), is the member's feature space."""
    import keras
    from keras import layers

    img = keras.Input((28, 28, 1), name="image")
    x = layers.Conv2D(32, 4, strides=2, padding="same", activation="relu")(img)  # 14x14x32
    x = layers.Conv2D(64, 4, strides=2, padding="same", activation="relu")(x)  # 7x7x64
    x = layers.Flatten()(x)  # 3136
    code = layers.Dense(feature_dim, name="features")(x)  # 64, linear: a code, not a class score
    x = layers.Dense(7 * 7 * 64, activation="relu")(code)
    x = layers.Reshape((7, 7, 64))(x)  # 7x7x64
    x = layers.Conv2DTranspose(32, 4, strides=2, padding="same", activation="relu")(x)  # 14x14x32
    out = layers.Conv2DTranspose(1, 4, strides=2, padding="same", activation="tanh")(x)  # 28x28x1
    return keras.Model(img, out, name="autoencoder")


def train_autoencoder(images: np.ndarray, labels: np.ndarray | None = None, epochs: int = 10, seed: int = 0,
                      verbose: int | str = 0) -> keras.Model:
    """Fit `build_autoencoder()` to reconstruct images (N, 28, 28, 1) in [-1, 1]; `labels` are not used."""
    import keras

    keras.utils.set_random_seed(seed)
    model = build_autoencoder()
    model.compile(keras.optimizers.Adam(1e-3), "mse")
    model.fit(images, images, batch_size=128, epochs=epochs, verbose=verbose)
    return model


@dataclasses.dataclass(frozen=True)
class Member:
    """One yardstick: what it is, how it is built and trained, and whether training it needs labels."""

    about: str
    build: Callable[[], keras.Model]
    train: Callable[..., keras.Model]  # (images, labels, epochs, seed, verbose) -> model
    epochs: int  # the shipped weights' training length
    labels: bool  # trained with digit labels

    def weights(self, name: str) -> Path:
        """Where its shipped weights live (the cnn's keep their first name)."""
        return CNN_WEIGHTS if name == "cnn" else ASSETS / f"evaluator_{name}.npz"


MEMBERS = {
    "cnn": Member("the shipped classifier: 2 conv layers, 64 features", build_cnn, train_cnn, 10, True),
    "wide": Member("a wider classifier trained on shifted, rotated, rescaled digits: 128 features",
                   build_wide_classifier, train_wide, 5, True),
    "ae": Member("an autoencoder's encoder, trained without labels: 64 features", build_autoencoder,
                 train_autoencoder, 10, False),
}


def feature_model(model: keras.Model) -> keras.Model:
    """The part of a member that the panel reads: its input up to layer 'features' (B, F), sharing the weights."""
    import keras

    return keras.Model(model.input, model.get_layer("features").output, name=f"{model.name}_features")


def save_member(model: keras.Model, path: str | Path) -> None:
    """A member's feature part as plain arrays in layer order (small, readable without Keras): a classifier's
    last layer and an autoencoder's decoder are left out, the panel never reads them."""
    np.savez(path, **{f"w{i:02d}": w for i, w in enumerate(feature_model(model).get_weights())})


@functools.lru_cache(maxsize=4)
def load_member(name: str) -> keras.Model:
    """Member `name` with its shipped weights (its feature part, or all of it), loaded once per process."""
    if name not in MEMBERS:
        raise GanMnistError(f"unknown panel member {name!r}; choose one of {', '.join(MEMBERS)}")
    if name == "cnn":  # the shipped evaluator itself, one copy in memory for `evaluate` and the panel
        from gan_mnist.evaluation.evaluator import load_evaluator

        return load_evaluator()
    path = MEMBERS[name].weights(name)
    if not path.is_file():
        raise GanMnistError(f"weights of panel member {name!r} not found: {path} "
                            f"(python -m gan_mnist train-evaluator --member {name} makes them)")
    model = MEMBERS[name].build()
    with np.load(path) as f:
        weights = [f[f"w{i:02d}"] for i in range(len(f.files))]
    part = model if len(weights) == len(model.weights) else feature_model(model)
    part.set_weights(weights)  # a count that fits neither is Keras's clear error
    return model


def member_features(model: keras.Model, images: np.ndarray) -> np.ndarray:
    """Features float64 (N, F) of images (N, 28, 28, 1) in [-1, 1] at the member's layer 'features'."""
    features = feature_model(model)
    chunks = [features(images[i : i + 1000], training=False) for i in range(0, len(images), 1000)]
    return np.concatenate([np.asarray(c) for c in chunks]).astype(np.float64)
