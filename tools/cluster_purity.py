"""Purity and cost of the self-conditioning clusters on a trained run's discriminator (its newest checkpoint): the
clustering as shipped, timed part by part, against variants (k-means on every image's features with no graph,
fewer or more diffusion steps, more anchors) and on seeds 1-3. Prints one JSON line per variant
(docs/results.md, "Self-conditioning clusters").

    python tools/cluster_purity.py RUN_DIR
"""

import json
import sys
import time

import numpy as np

from gan_mnist.clustering import (
    ANCHORS,
    DiscriminatorFeatures,
    Spread,
    diffuse,
    feature_graph,
    kmeans,
    project,
    purity,
)
from gan_mnist.config import TrainConfig
from gan_mnist.run.data import load_mnist, to_model_range
from gan_mnist.run.training import load_run

K = TrainConfig().clusters  # the default's
SEEDS = (1, 2, 3)


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def say(name: str, purities: list[float], **extra) -> None:
    print(json.dumps({"variant": name, "purity": [round(p, 4) for p in purities],
                      "mean": round(float(np.mean(purities)), 4), **extra}), flush=True)


discriminator = load_run(sys.argv[1]).discriminator
features = DiscriminatorFeatures(discriminator)  # compiled once, as a run's clusterings share it
images, truth = load_mnist(None, "train")
images, truth = to_model_range(images), truth.astype(np.int64)
features.projected(images[:10_000], 0)  # traced before anything is timed, as in a run after its first clustering


def clustered(count: int):
    """clustering.cluster_images part by part with `count` anchors, on seeds 1-3: (spread, x, graph, smooth)."""
    spread, spread_s = timed(Spread, images, 1, count)
    x, project_s = timed(features.projected, images[spread.rows], 1)  # the forward pass and the projection
    graph, graph_s = timed(feature_graph, x)
    smooth, diffuse_s = timed(diffuse, x, graph)
    purities = []
    for seed in SEEDS:
        labels, kmeans_s = timed(kmeans, smooth, K, seed)
        purities.append(purity(spread.labels(labels, K), truth))
    name = "as shipped" if count == ANCHORS else f"{count:,} anchors"
    say(name, purities, anchors=len(spread.rows), once_per_run_s=round(spread_s, 1),
        per_clustering_s=round(project_s + graph_s + diffuse_s + kmeans_s, 1),
        features_and_project_s=round(project_s, 1), graph_s=round(graph_s, 1),
        diffuse_s=round(diffuse_s, 1), kmeans_s=round(kmeans_s, 1))
    return spread, x, graph, smooth


for count in sorted({ANCHORS, 10_000, 20_000} - {ANCHORS}):
    clustered(count)
spread, x, graph, smooth = clustered(ANCHORS)
print(json.dumps({"share of an anchor's graph neighbours of its digit": round(float(
    (truth[spread.rows][graph] == truth[spread.rows][:, None]).mean()), 4)}), flush=True)
say("anchors alone, before the spread", [purity(kmeans(smooth, K, s), truth[spread.rows]) for s in SEEDS])

for steps in (0, 20, 80):
    say(f"{steps} diffusion steps", [purity(spread.labels(kmeans(diffuse(x, graph, steps), K, s), K), truth)
                                     for s in SEEDS])

everything, all_s = timed(features, images)
projected, project_s = timed(project, everything, 1)  # one projection, as one clustering would compute it
whole, kmeans_s = timed(kmeans, projected, K, SEEDS[0])
say("k-means on every image's features, no graph", [purity(whole, truth)] + [
    purity(kmeans(projected, K, s), truth) for s in SEEDS[1:]],
    seconds=round(all_s + project_s + kmeans_s, 1))

