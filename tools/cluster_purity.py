"""Purity and cost of the self-conditioning clusters on a trained run's discriminator (its newest checkpoint), for
variants of the clustering: as shipped, k-means on a subsample, a k-nearest-neighbour vote, more clusters, a larger
projection, features averaged over one-pixel shifts. Prints one JSON line per variant (docs/results.md).

    python tools/cluster_purity.py RUN_DIR
"""

import json
import sys
import time

import numpy as np

from gan_mnist.clustering import discriminator_features, kmeans, project, purity
from gan_mnist.run.data import load_mnist, to_model_range
from gan_mnist.run.training import load_run

K = 30  # the default's clusters


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def say(name: str, labels: np.ndarray, seconds: float, **extra) -> None:
    print(json.dumps({"variant": name, "purity": round(purity(labels, truth), 4), "seconds": round(seconds, 1),
                      **extra}), flush=True)


def nearest_centroid(x: np.ndarray, labels_of_rows: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Every row of x to the nearest centroid of the clusters `labels_of_rows` found on x[rows]."""
    centroids = np.stack([x[rows][labels_of_rows == c].mean(0) for c in range(K)])
    d2 = (x**2).sum(1)[:, None] - 2 * x @ centroids.T + (centroids**2).sum(1)[None]
    return d2.argmin(1).astype(np.int32)


def knn_vote(x: np.ndarray, labels: np.ndarray, k: int = 10, rounds: int = 2, chunk: int = 2000):
    """Each point takes the commonest label among itself and its k nearest neighbours (cosine: unit rows), `rounds`
    times. Returns (labels, the neighbours' indices (N, k))."""
    x32 = x.astype(np.float32)
    neighbours = np.empty((len(x), k), np.int64)
    for i in range(0, len(x), chunk):
        similarity = x32[i : i + chunk] @ x32.T
        similarity[np.arange(len(similarity)), np.arange(i, i + len(similarity))] = -np.inf
        neighbours[i : i + chunk] = np.argpartition(-similarity, k, axis=1)[:, :k]
    for _ in range(rounds):
        votes = np.zeros((len(x), labels.max() + 1), np.int32)
        np.add.at(votes, (np.repeat(np.arange(len(x)), k), labels[neighbours].ravel()), 1)
        votes[np.arange(len(x)), labels] += 1
        labels = votes.argmax(1).astype(np.int32)
    return labels, neighbours


discriminator = load_run(sys.argv[1]).discriminator
images, truth = load_mnist(None, "train")
images, truth = to_model_range(images), truth.astype(np.int64)

features, feature_s = timed(discriminator_features, discriminator, images)
x, pca_s = timed(project, features, seed=1)
labels, kmeans_s = timed(kmeans, x, K, seed=1)
say("as shipped", labels, feature_s + pca_s + kmeans_s, features_s=round(feature_s, 1), pca_s=round(pca_s, 1),
    kmeans_s=round(kmeans_s, 1), feature_dim=features.shape[1])

rows = np.random.default_rng(0).permutation(len(x))[:10000]
sub, sub_s = timed(lambda: nearest_centroid(x, kmeans(x[rows], K, seed=1), rows))
say("k-means on 10,000, the rest to the nearest centroid", sub, feature_s + pca_s + sub_s)

(voted, neighbours), vote_s = timed(knn_vote, x, labels)
say("as shipped + kNN vote (k=10, 2 rounds)", voted, feature_s + pca_s + kmeans_s + vote_s, vote_s=round(vote_s, 1))
print(json.dumps({"share of 10 nearest neighbours of the same digit": round(float(
    (truth[neighbours] == truth[:, None]).mean()), 4)}), flush=True)

for k in (50, 100):
    more, more_s = timed(kmeans, x, k, seed=1)
    say(f"k = {k}", more, feature_s + pca_s + more_s)

wider, wider_s = timed(lambda: kmeans(project(features, seed=1, dim=64), K, seed=1))
say("projection to 64 dimensions", wider, feature_s + wider_s)


def shift_averaged() -> np.ndarray:
    total = features.astype(np.float64)
    for shift in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        total += discriminator_features(discriminator, np.roll(images, shift, axis=(1, 2)))
    return project((total / 5).astype(np.float32), seed=1)


shifted, shifted_s = timed(shift_averaged)
averaged = kmeans(shifted, K, seed=1)
say("features averaged over four 1-pixel shifts", averaged, feature_s + shifted_s + kmeans_s)
say("shift-averaged + kNN vote", knn_vote(shifted, averaged)[0], float("nan"))
