"""Quality signals computed with a small MNIST classifier: Fréchet distance of its features, class histogram."""

from __future__ import annotations

import keras
import numpy as np
from keras import layers


def build_classifier(feature_dim: int = 64) -> keras.Model:
    """Small CNN: images (B, 28, 28, 1) in [-1, 1] -> 10 logits; its layer 'features' (B, feature_dim) feeds FD."""
    img = keras.Input((28, 28, 1), name="image")
    x = layers.Conv2D(32, 3, activation="relu")(img)  # 26x26x32
    x = layers.MaxPooling2D()(x)  # 13x13x32
    x = layers.Conv2D(64, 3, activation="relu")(x)  # 11x11x64
    x = layers.MaxPooling2D()(x)  # 5x5x64
    x = layers.Flatten()(x)  # 1600
    x = layers.Dense(feature_dim, activation="relu", name="features")(x)
    logits = layers.Dense(10, name="logits")(x)
    return keras.Model(img, logits, name="mnist_classifier")


def train_classifier(images: np.ndarray, labels: np.ndarray, epochs: int = 1, seed: int = 0) -> keras.Model:
    """Fit `build_classifier()` on images (N, 28, 28, 1) in [-1, 1] with labels (N,) 0-9."""
    keras.utils.set_random_seed(seed)
    model = build_classifier()
    model.compile(keras.optimizers.Adam(1e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(images, labels, batch_size=128, epochs=epochs, verbose=0)
    return model


def classifier_outputs(classifier: keras.Model, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(features (N, F), class probabilities (N, 10)) of images (N, 28, 28, 1) in [-1, 1]."""
    both = keras.Model(classifier.input, [classifier.get_layer("features").output, classifier.output])
    # plain calls in chunks: predict() would retrace a tf.function for every new wrapper model
    chunks = [both(images[i : i + 1000], training=False) for i in range(0, len(images), 1000)]
    features = np.concatenate([np.asarray(f) for f, _ in chunks]).astype(np.float64)
    probs = np.concatenate([np.asarray(keras.ops.softmax(logits)) for _, logits in chunks])
    return features, probs


def _sqrtm_trace_product(s1: np.ndarray, s2: np.ndarray) -> float:
    # tr sqrt(s1 s2) = tr sqrt(A s2 A) with A = sqrt(s1): symmetric PSD, so eigh is exact and stable
    w, v = np.linalg.eigh(s1)
    a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    m = np.linalg.eigvalsh(a @ s2 @ a)
    return float(np.sqrt(np.clip(m, 0, None)).sum())


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2): |mu1-mu2|^2 + tr(s1 + s2 - 2 sqrt(s1 s2)) >= 0."""
    diff = np.asarray(mu1, np.float64) - np.asarray(mu2, np.float64)
    covmean_trace = _sqrtm_trace_product(np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64))
    return max(float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * covmean_trace), 0.0)


def feature_frechet_distance(features1: np.ndarray, features2: np.ndarray) -> float:
    """Fréchet distance between the Gaussians fitted to two feature sets (N1, F) and (N2, F)."""
    return frechet_distance(features1.mean(0), np.cov(features1, rowvar=False),
                            features2.mean(0), np.cov(features2, rowvar=False))
