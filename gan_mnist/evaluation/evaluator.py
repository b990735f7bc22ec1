"""The evaluator: a small CNN trained by this project on MNIST's training split, shipped with the package.

Every quality number (Fréchet distance, MNIST score, coverage, conditional accuracy) is measured with the same
weights, so numbers from different users and runs are comparable. `python -m gan_mnist train-evaluator` retrains
it and rewrites the weights and the card (test accuracy and real-data reference values).
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
from keras import layers

from gan_mnist.errors import GanMnistError
from gan_mnist.evaluation import ASSETS
from gan_mnist.evaluation import CNN_WEIGHTS as WEIGHTS

CARD = ASSETS / "evaluator.json"


def build_classifier(feature_dim: int = 64) -> keras.Model:
    """Small CNN: images (B, 28, 28, 1) in [-1, 1] -> 10 logits; layer 'features' (B, feature_dim) feeds FD."""
    img = keras.Input((28, 28, 1), name="image")
    x = layers.Conv2D(32, 3, activation="relu")(img)  # 26x26x32
    x = layers.MaxPooling2D()(x)  # 13x13x32
    x = layers.Conv2D(64, 3, activation="relu")(x)  # 11x11x64
    x = layers.MaxPooling2D()(x)  # 5x5x64
    x = layers.Flatten()(x)  # 1600
    x = layers.Dropout(0.25)(x)  # regularises the 100k-weight dense layer that dominates the model
    x = layers.Dense(feature_dim, activation="relu", name="features")(x)  # 64
    logits = layers.Dense(10, name="logits")(x)
    return keras.Model(img, logits, name="mnist_classifier")


def train_classifier(images: np.ndarray, labels: np.ndarray, epochs: int = 1, seed: int = 0,
                     verbose: int | str = 0) -> keras.Model:
    """Fit `build_classifier()` on images (N, 28, 28, 1) in [-1, 1] with labels (N,) 0-9."""
    return fit_classifier(build_classifier, images, labels, epochs, seed, verbose)


def fit_classifier(build: Callable[[], keras.Model], images: np.ndarray, labels: np.ndarray, epochs: int,
                   seed: int = 0, verbose: int | str = 0) -> keras.Model:
    """`build()` (B, 28, 28, 1) in [-1, 1] -> 10 logits, seeded, fitted on images with labels (N,) 0-9 (Adam 1e-3,
    batch 128, cross-entropy): how every classifier of the panel is trained."""
    keras.utils.set_random_seed(seed)
    model = build()
    model.compile(keras.optimizers.Adam(1e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(images, labels, batch_size=128, epochs=epochs, verbose=verbose)
    return model


def classifier_outputs(classifier: keras.Model, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(features float64 (N, F), class probabilities (N, 10)) of images (N, 28, 28, 1) in [-1, 1]."""
    both = keras.Model(classifier.input, [classifier.get_layer("features").output, classifier.output])
    # plain calls in chunks: predict() would retrace a tf.function for every new wrapper model
    chunks = [both(images[i : i + 1000], training=False) for i in range(0, len(images), 1000)]
    features = np.concatenate([np.asarray(f) for f, _ in chunks]).astype(np.float64)
    probs = np.concatenate([np.asarray(keras.ops.softmax(logits)) for _, logits in chunks])
    return features, probs


@functools.lru_cache(maxsize=2)
def load_evaluator(path: str | os.PathLike = WEIGHTS) -> keras.Model:
    """The shipped evaluator (or weights at `path`), loaded once per process."""
    path = Path(path)
    if not path.is_file():
        raise GanMnistError(f"evaluator weights not found: {path} (python -m gan_mnist train-evaluator makes them)")
    model = build_classifier()
    with np.load(path) as f:
        model.set_weights([f[f"w{i:02d}"] for i in range(len(f.files))])
    return model


def evaluator_card(path: str | os.PathLike = CARD) -> dict:
    """The shipped evaluator's record: test accuracy, training command, real-data reference metrics."""
    return json.loads(Path(path).read_text())
