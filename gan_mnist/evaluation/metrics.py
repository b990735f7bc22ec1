"""Quality metrics of generated digits, measured with the shipped evaluator CNN (see evaluator.py).

Pure functions on arrays, plus `evaluate_images`, which computes them all against MNIST's test split:
- fd: Fréchet distance between evaluator features of samples and of real test digits (lower is better, >= 0);
- mnist_score: exp(E KL(p(y|x) || p(y))), the Inception-score analogue (1 to 10, higher is better);
- coverage: share of samples the evaluator puts in each digit class (ideal 0.1 each);
- conditional_accuracy: share classified as the requested label (conditional models);
- memorisation: mean distance from samples to their nearest training image, against the same for test images.
"""

from __future__ import annotations

import os

import numpy as np

from gan_mnist.errors import GanMnistError
from gan_mnist.evaluation import MIN_SAMPLES
from gan_mnist.evaluation.evaluator import classifier_outputs, load_evaluator


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
    """Fréchet distance between the Gaussians fitted to two feature sets (N1, F) and (N2, F).

    Means and covariances in float64 (np.cov subtracts the mean first, so no |x|^2 - |mean|^2 cancellation).
    """
    f1, f2 = np.asarray(features1, np.float64), np.asarray(features2, np.float64)
    return frechet_distance(f1.mean(0), np.cov(f1, rowvar=False), f2.mean(0), np.cov(f2, rowvar=False))


def mnist_score(probs: np.ndarray) -> float:
    """exp(mean KL(p(y|x) || p(y))) of class probabilities (N, 10): 1 (useless) to 10 (confident and diverse)."""
    p = np.clip(np.asarray(probs, np.float64), 1e-12, 1.0)
    marginal = p.mean(0, keepdims=True)
    return float(np.exp(np.mean(np.sum(p * (np.log(p) - np.log(marginal)), axis=1))))


def class_shares(probs: np.ndarray) -> np.ndarray:
    """Share of samples whose most likely class is each digit: float (10,), sums to 1."""
    return np.bincount(np.asarray(probs).argmax(1), minlength=10) / len(probs)


def conditional_accuracy(probs: np.ndarray, labels: np.ndarray) -> float:
    """Share of samples (N, 10 probabilities) classified as their requested label (N,) — in [0, 1]."""
    return float(np.mean(np.asarray(probs).argmax(1) == np.asarray(labels)))


def nearest_neighbours(queries: np.ndarray, reference: np.ndarray, chunk: int = 1000
                       ) -> tuple[np.ndarray, np.ndarray]:
    """(Euclidean distance (N,), index (N,)) of each query image's nearest reference image (pixels in [-1, 1]).

    The search expands |q - r|^2 = |q|^2 - 2 q.r + |r|^2 (one matrix product) in float64: in float32 those terms,
    each up to 784, cancel for near-identical images and leave an error of ~1e-2 that depends on the BLAS kernel.
    The reported distance is then recomputed directly from the pixel differences to the neighbour found.
    """
    q = np.asarray(queries, np.float64).reshape(len(queries), -1)
    r = np.asarray(reference, np.float64).reshape(len(reference), -1)
    r_sq = np.einsum("ij,ij->i", r, r)
    idx = np.empty(len(q), np.int64)
    for i in range(0, len(q), chunk):
        block = q[i : i + chunk]
        d2 = np.einsum("ij,ij->i", block, block)[:, None] - 2.0 * block @ r.T + r_sq[None, :]
        idx[i : i + chunk] = d2.argmin(1)
    diff = q - r[idx]
    return np.sqrt(np.einsum("ij,ij->i", diff, diff)), idx


def nearest_distances(queries: np.ndarray, reference: np.ndarray, chunk: int = 1000) -> np.ndarray:
    """Euclidean distance (N,) from each query image to its nearest reference image (pixels in [-1, 1])."""
    return nearest_neighbours(queries, reference, chunk)[0]


def memorisation(samples: np.ndarray, train: np.ndarray, test: np.ndarray) -> dict[str, float]:
    """Nearest-training-image distance of samples vs of real test images; a ratio well below 1 means copying."""
    sample_nn = float(nearest_distances(samples, train).mean())
    test_nn = float(nearest_distances(test, train).mean())
    return {"nn_train_distance": sample_nn, "test_nn_train_distance": test_nn, "nn_ratio": sample_nn / test_nn}


class Reference:
    """Real MNIST data and evaluator outputs that every evaluation compares against (built once, then reused)."""

    _cache: dict = {}

    def __init__(self, data_path: str | os.PathLike | None = None, n_train: int = 20000, n_test: int = 2000):
        from gan_mnist.data import load_mnist, to_model_range

        key = (str(data_path), n_train, n_test)
        if key not in Reference._cache:
            x_test, _ = load_mnist(data_path, "test")
            x_train, _ = load_mnist(data_path, "train")
            test = to_model_range(x_test)
            features = classifier_outputs(load_evaluator(), test)[0]
            Reference._cache[key] = (features, to_model_range(x_train[:n_train]), test[:n_test])
        self.test_features, self.train_subset, self.test_subset = Reference._cache[key]


def evaluate_images(images: np.ndarray, labels: np.ndarray | None = None, reference: Reference | None = None,
                    with_memorisation: bool = True) -> dict[str, float]:
    """All metrics of images (N >= MIN_SAMPLES, 28, 28, 1) in [-1, 1] [requested labels int (N,), digits 0-9]
    against MNIST's test split."""
    if len(images) < MIN_SAMPLES:
        raise GanMnistError(f"the metrics need at least {MIN_SAMPLES} images, got {len(images)}")
    if not np.isfinite(images).all():
        raise GanMnistError("images hold NaN or infinite pixels")
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape != (len(images),) or not np.issubdtype(labels.dtype, np.integer):
            raise GanMnistError(f"labels must be integers, one per image ({len(images)}), got {labels.dtype} "
                                f"{labels.shape}")
        if labels.min() < 0 or labels.max() > 9:
            raise GanMnistError(f"labels must be digits 0-9, got values from {labels.min()} to {labels.max()}")
    reference = reference or Reference()
    features, probs = classifier_outputs(load_evaluator(), images)
    shares = class_shares(probs)
    result = {
        "n": int(len(images)),
        "fd": feature_frechet_distance(features, reference.test_features),
        "mnist_score": mnist_score(probs),
        "min_class_share": float(shares.min()),
        "max_class_share": float(shares.max()),
    }
    if labels is not None:
        result["conditional_accuracy"] = conditional_accuracy(probs, labels)
    if with_memorisation:
        result.update(memorisation(images[:1000], reference.train_subset, reference.test_subset[:1000]))
    return result
