"""What a self-conditioned run's generator draws for each of its clusters, against what the cluster holds: the
digits of its training images (their true labels, which training never saw) and of N samples drawn for it, both
read by the shipped evaluator's classifier for the samples. Prints one JSON line per cluster, then the totals:
purity of the clusters and of their samples, and the digit shares the clusters hold and their samples give
(docs/results.md, "Self-conditioning: purity and cost").

    python tools/cluster_draws.py RUN_DIR [N]
"""

import json
import sys

import numpy as np

from gan_mnist.clustering import purity
from gan_mnist.evaluation.evaluator import classifier_outputs, load_evaluator
from gan_mnist.run.data import load_mnist
from gan_mnist.run.training import load_run

run, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1000
gan = load_run(run)
if gan.clusters is None:
    sys.exit(f"{run} is not a self-conditioned run")
generator = gan.ema_generator or gan.generator  # the conditional network the run ships, before its cluster sampler
labels, k = gan.clusters.labels.numpy(), gan.clusters.k
_, truth = load_mnist(None, "train")
truth = truth.astype(np.int64)  # the digit of every training image
held = np.zeros((k, 10))  # cluster x digit: training images
np.add.at(held, (labels, truth), 1)
drawn = np.zeros((k, 10))  # cluster x digit: samples, as the evaluator reads them
rng = np.random.default_rng(0)
for c in range(k):
    z = rng.standard_normal((n, gan.latent_dim)).astype(np.float32)
    images = np.asarray(generator([z, np.full(n, c, np.int32)], training=False), np.float32)
    drawn[c] = np.bincount(classifier_outputs(load_evaluator(), images)[1].argmax(1), minlength=10)
shares = held.sum(1) / held.sum()
held, drawn = held / held.sum(1, keepdims=True), drawn / n
major = held.argmax(1)
for c in np.argsort(-shares):
    print(json.dumps({"cluster": int(c), "share": round(shares[c], 4), "digit": int(major[c]),
                      "held": round(held[c, major[c]], 3), "drawn": round(drawn[c, major[c]], 3)}))
print(json.dumps({"purity held": round(purity(labels, truth), 4),
                  "purity drawn": round(float(shares @ drawn[np.arange(k), major]), 4),
                  "digits held": (shares @ held).round(4).tolist(),
                  "digits drawn": (shares @ drawn).round(4).tolist()}))
