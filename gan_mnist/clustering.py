"""Self-conditioning (Liu et al., CVPR 2020): a conditional GAN trained on clusters of its own discriminator's
features instead of labels, so an unconditional run gets the conditional one's head start on finding the modes.

A clustering (at the start, then every few epochs as the discriminator learns) reads the discriminator's
penultimate features — never the shipped evaluators', which are the yardstick — of a fixed subsample of
ANCHORS training images, smooths them over their nearest-neighbour graph (`diffuse`: neighbours in these
features are the same digit far more often than k-means' clusters are pure) and runs k-means on the result,
starting from the previous clustering's centroids so that a cluster keeps its identity. Every other image takes
the commonest cluster of its nearest anchors in pixel space, a graph computed once per run (`Spread`): the
discriminator's forward pass, most of a clustering's cost, runs on the anchors alone. The pseudo-labels live in
a variable that the dataset reads and the checkpoint saves, and a clustering depends only on (seed, epoch) and
the networks' weights, so a resumed run clusters exactly as an uninterrupted one. A self-conditioned generator
is drawn unconditionally by `cluster_sampler`, clusters in their data proportions. Measurements of each choice:
docs/results.md ("Self-conditioning clusters"), by tools/cluster_purity.py.
"""

from __future__ import annotations

import time

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from gan_mnist.limits import CLUSTER_ANCHORS, CLUSTER_NEIGHBOURS

FEATURES = "features"  # the layer each discriminator builder names: its penultimate features
PROJECTION_DIM = 32  # k-means runs on this many principal components of the features
PCA_ROWS = 5000  # rows the components are fitted on
FEATURE_BATCH = 1000  # images per call of the discriminator, and rows per chunk of the projection
ANCHORS = CLUSTER_ANCHORS  # images whose features are clustered; the others follow their nearest anchors
GRAPH_NEIGHBOURS = CLUSTER_NEIGHBOURS  # each anchor's neighbours in the feature graph that `diffuse` averages over
DIFFUSION_STEPS = 40
PIXEL_DIM = 50  # principal components of the pixels that `Spread` finds an image's nearest anchors in
SPREAD_NEIGHBOURS = 10  # the nearest anchors whose commonest cluster an image takes
_ITERATIONS = 30
SHORTLIST_MARGIN = 20  # `nearest` ranks in float64 the k + this many nearest in float32


class Clusters:
    """The pseudo-labels int32 (N,) in [0, k) of the N training images, in a variable of any length."""

    def __init__(self, k: int, seed: int = 0):
        self.k, self.seed = k, seed
        self.labels = tf.Variable(np.zeros(0, np.int32), shape=tf.TensorShape([None]), trainable=False,
                                  name="cluster_labels")

    def shares(self) -> np.ndarray:
        """Each cluster's share of the training images: float64 (k,), summing to 1 (uniform before clustering)."""
        labels = self.labels.numpy()
        if not len(labels):
            return np.full(self.k, 1.0 / self.k)
        return np.bincount(labels, minlength=self.k) / len(labels)

    def sampler(self, generator: keras.Model) -> keras.Model:
        """The unconditional model of a generator conditioned on these clusters: it draws them in their current
        shares (`cluster_sampler`)."""
        return cluster_sampler(generator, self.shares())


class DiscriminatorFeatures:
    """The discriminator's `features` layer as compiled functions: images (N, 28, 28, 1) in [-1, 1] -> float32
    (N, F) (a call), or their principal components (`projected`), inference mode, FEATURE_BATCH images at a time.

    Compiled once and kept for a run's clusterings (the weights are read at each call): run eagerly, the same
    forward pass took about twice as long, and tracing it again at every clustering costs seconds. A discriminator
    that also takes a label is given label 0 for all: a fixed function of the image.
    """

    def __init__(self, discriminator: keras.Model):
        extractor = keras.Model(discriminator.inputs, discriminator.get_layer(FEATURES).output)
        conditional = len(discriminator.inputs) == 2
        self.discriminator, self.size = discriminator, int(np.prod(extractor.output.shape[1:]))

        def features(x):
            n = tf.shape(x)[0]
            out = extractor([x, tf.zeros((n,), tf.int32)] if conditional else x, training=False)
            return tf.reshape(tf.cast(out, tf.float32), (n, -1))

        self._features = tf.function(features, reduce_retracing=True)
        # centred and projected in the graph: a batch's (B, F) features never reach numpy
        self._projected = tf.function(lambda x, mean, components: tf.matmul(features(x) - mean, components),
                                      reduce_retracing=True)

    def __call__(self, images: np.ndarray) -> np.ndarray:
        out = np.empty((len(images), self.size), np.float32)
        for i in range(0, len(images), FEATURE_BATCH):
            out[i : i + FEATURE_BATCH] = self._features(np.asarray(images[i : i + FEATURE_BATCH], np.float32))
        return out

    def projected(self, images: np.ndarray, seed: int, dim: int = PROJECTION_DIM) -> np.ndarray:
        """float64 (N, dim) unit rows: `project` of the images' features, in one pass of the discriminator that
        keeps only the PCA_ROWS rows the components are fitted on."""
        return _projection(len(images), seed, dim, lambda rows: self(images[rows]),
                           lambda rows, mean, components: self._projected(images[rows], mean, components).numpy())


def project(features: np.ndarray, seed: int, dim: int = PROJECTION_DIM) -> np.ndarray:
    """float64 (N, dim): the features' (N, F) top `dim` principal components, each row then scaled to unit length.

    The components come from a randomized SVD (Halko et al. 2011; two power iterations, a seeded test matrix) of
    at most PCA_ROWS rows drawn with `seed`, centred on their mean: seconds where a full SVD of 5,000 x 6,272
    features took minutes. All in float32 (sums of F products, not differences of near-equal numbers): in float64
    the fit took twice as long, to the same subspace, and a float64 copy of 20,000 x 12,544 features cost as much
    as the discriminator's pass.
    Unit rows make k-means cluster directions (the features' pattern), not magnitudes (a digit's amount of ink).
    Measured on a self-conditioned discriminator after 8 epochs, 10,000 digits, k = 20: purity 0.75 this way,
    0.66 after a random projection.
    """
    return _projection(len(features), seed, dim, lambda rows: features[rows],
                       lambda rows, mean, components: (features[rows] - mean) @ components)


def _projection(n: int, seed: int, dim: int, features_of, projected_of) -> np.ndarray:
    """`project` of n rows read through `features_of(rows)` -> float32 (R, F) for the PCA sample and
    `projected_of(rows, mean, components)` -> (R, dim) for the others, FEATURE_BATCH rows at a time."""
    rng = np.random.default_rng([seed, 1])
    order = rng.permutation(n)
    fitted, others = np.sort(order[:PCA_ROWS]), np.sort(order[PCA_ROWS:])
    sample = features_of(fitted)
    mean = sample.mean(0, dtype=np.float64).astype(np.float32)
    centred = sample - mean
    basis = centred @ rng.standard_normal((centred.shape[1], dim + 10), np.float32)  # the top components' range
    for _ in range(2):  # power iterations sharpen it
        basis, _ = np.linalg.qr(basis)
        basis = centred @ (centred.T @ basis)
    basis, _ = np.linalg.qr(basis)
    _, _, components = np.linalg.svd(basis.T @ centred, full_matrices=False)  # (dim + 10, F), small
    components = components[:dim].T  # (F, dim)
    x = np.empty((n, dim))
    x[fitted] = centred @ components
    for i in range(0, len(others), FEATURE_BATCH):
        rows = others[i : i + FEATURE_BATCH]
        x[rows] = projected_of(rows, mean, components)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _sq_distances(x: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    # float64: the |x|^2 - 2x.c + |c|^2 form cancels for near-identical points in float32
    return (x**2).sum(1)[:, None] - 2 * x @ centroids.T + (centroids**2).sum(1)[None, :]


def _plus_plus(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding (Arthur & Vassilvitskii 2007): k rows of x, each drawn in proportion to D(x)^2."""
    centroids = [x[rng.integers(len(x))]]
    d2 = _sq_distances(x, centroids[0][None])[:, 0]
    for _ in range(1, k):
        p = np.maximum(d2, 0)
        centroids.append(x[rng.choice(len(x), p=p / p.sum())] if p.sum() > 0 else x[rng.integers(len(x))])
        d2 = np.minimum(d2, _sq_distances(x, centroids[-1][None])[:, 0])
    return np.stack(centroids)


def kmeans(x: np.ndarray, k: int, seed: int, init_labels: np.ndarray | None = None,
           iterations: int = _ITERATIONS) -> np.ndarray:
    """Lloyd's k-means on x (N, D), in float64: labels int32 (N,) in [0, k).

    Starts from the centroids of `init_labels` (a previous clustering: cluster identities carry over) or from
    k-means++ seeded by `seed`; a cluster left empty restarts at the point farthest from its centroid.
    """
    if not 1 <= k <= len(x):
        raise ValueError(f"k must be in [1, {len(x)}], got {k}")
    x = np.asarray(x, np.float64)  # the distances cancel in float32 (`_sq_distances`)
    rng = np.random.default_rng(seed)
    if init_labels is None or len(init_labels) != len(x):
        centroids = _plus_plus(x, k, rng)
    else:
        centroids = np.stack([x[init_labels == c].mean(0) if (init_labels == c).any() else x[rng.integers(len(x))]
                              for c in range(k)])
    labels = np.full(len(x), -1, np.int32)
    for _ in range(iterations):
        d2 = _sq_distances(x, centroids)
        new = d2.argmin(1).astype(np.int32)
        served = d2[np.arange(len(x)), new]  # each point's distance to its centroid
        for c in np.setdiff1d(np.arange(k), new):  # an empty cluster takes the worst-served point not yet moved
            far = int(served.argmax())
            new[far], served[far] = c, -np.inf
        if np.array_equal(new, labels):
            break
        labels = new
        centroids = np.stack([x[labels == c].mean(0) for c in range(k)])
    return labels


def purity(labels: np.ndarray, truth: np.ndarray) -> float:
    """Share of points whose cluster's most common true class is their own class, in [0, 1] (1: clusters within
    classes; a random split of ten balanced classes scores about 0.1 + its noise)."""
    table = np.zeros((labels.max() + 1, truth.max() + 1), np.int64)
    np.add.at(table, (labels, truth), 1)
    return float(table.max(1).sum() / len(labels))


def anchor_rows(n: int, seed: int, count: int = ANCHORS) -> np.ndarray:
    """The rows of n images whose features a clustering reads: int64 (min(n, count),), sorted, drawn with seed."""
    return np.sort(np.random.default_rng([seed, 2]).permutation(n)[:count])


def nearest(queries: np.ndarray, points: np.ndarray, k: int, exclude_self: bool = False,
            chunk: int = 1000) -> np.ndarray:
    """The k nearest rows of points (P, D) to each query (Q, D), in Euclidean distance: int64 (Q, k), nearest first,
    ties to the lower index.

    exclude_self: the queries are the points themselves and a row is not its own neighbour. Neighbours are ranked
    by the closeness 2q.p - |p|^2 (|q|^2 ranks nothing) in float64, as it cancels in float32 for near-identical
    rows. A float64 closeness of every pair costs a (chunk, P) matrix through memory and a top-k over it, so every
    pair is scored in float32 only (`_Shortlist`), and its k + SHORTLIST_MARGIN closest are ranked in float64:
    float32's rounding reorders only rows within about 1e-7 of the data's spread of each other, so the true k
    are in the shortlist unless more than SHORTLIST_MARGIN rows are that close to them. A row's own index is
    dropped from its k + 1 nearest (or the last of them, where ties put k others first).
    """
    queries, points = np.asarray(queries, np.float64), np.asarray(points, np.float64)
    take = k + 1 if exclude_self else k
    if k < 0 or take > len(points):
        raise ValueError(f"cannot find the {k} nearest of {len(points)} points"
                         + (" other than each row itself" if exclude_self else ""))
    norms = (points**2).sum(1)
    shortlist = _Shortlist(points, min(take + SHORTLIST_MARGIN, len(points)))
    out = []
    for i in range(0, len(queries), chunk):
        q = queries[i : i + chunk]
        short = np.sort(shortlist(q), axis=1)  # (n, m) ascending indices: a stable sort then breaks ties low
        closeness = np.einsum("nd,nmd->nm", 2 * q, points[short]) - norms[short]
        found = np.take_along_axis(short, np.argsort(-closeness, axis=1, kind="stable")[:, :take], axis=1)
        if exclude_self:
            other = found != np.arange(i, i + len(found))[:, None]
            other[other.all(1), -1] = False
            found = found[other].reshape(len(found), k)
        out.append(found)
    return np.concatenate(out) if out else np.zeros((0, k), np.int64)


class _Shortlist:
    """Each query's m closest points by float32 closeness, in TensorFlow (its kernels use every core), unordered.

    The points are centred first (distances do not change, float32's cancellation shrinks) and given a last
    column |p|^2, so one matmul of [2q, -1] makes the closeness. Its top m are found a block of BLOCK columns at
    a time: the blocks holding the m best values are among the m blocks of highest maximum, so the top-k runs on
    those m x BLOCK columns; over all P columns it takes twice as long as the matmul.
    """

    BLOCK = 32

    def __init__(self, points: np.ndarray, m: int):
        self.mean, self.m = points.mean(0), m
        centred = points - self.mean
        self.blocks = -(-len(points) // self.BLOCK)
        table = np.zeros((self.blocks * self.BLOCK, points.shape[1] + 1), np.float32)
        table[: len(points), :-1] = centred
        table[: len(points), -1] = (centred**2).sum(1)
        table[len(points) :, -1] = np.finfo(np.float32).max  # padding rows: never close
        self.table = tf.constant(table)

    def __call__(self, queries: np.ndarray) -> np.ndarray:
        """int64 (n, m): indices of each query's m closest points."""
        n = len(queries)
        q = np.concatenate([2 * (queries - self.mean), -np.ones((n, 1))], axis=1).astype(np.float32)
        closeness = tf.reshape(tf.matmul(q, self.table, transpose_b=True), (n, self.blocks, self.BLOCK))
        best = tf.math.top_k(tf.reduce_max(closeness, axis=2), min(self.m, self.blocks)).indices  # (n, mb)
        columns = tf.reshape(best[:, :, None] * self.BLOCK + tf.range(self.BLOCK), (n, -1))  # (n, mb * BLOCK)
        values = tf.reshape(tf.gather(closeness, best, batch_dims=1), (n, -1))
        top = tf.math.top_k(values, self.m).indices
        return tf.gather(columns, top, batch_dims=1).numpy().astype(np.int64)


def feature_graph(x: np.ndarray) -> np.ndarray:
    """Each unit row's GRAPH_NEIGHBOURS nearest other rows of x (N, D): int64 (N, min(GRAPH_NEIGHBOURS, N - 1))."""
    return nearest(x, x, min(GRAPH_NEIGHBOURS, len(x) - 1), exclude_self=True)


def diffuse(x: np.ndarray, graph: np.ndarray, steps: int = DIFFUSION_STEPS) -> np.ndarray:
    """x (N, D) in unit rows smoothed over its neighbour graph int (N, G): each step moves every row half-way to
    its neighbours' mean, then back to unit length. (N, D) of x's dtype, unit rows.

    A few dozen steps are a low-pass filter on the graph (the idea of spectral clustering): rows of one densely
    linked region converge while the sparse links between regions move them little, so k-means afterwards
    separates what the graph separates, not just what is far apart.
    """
    for _ in range(steps):
        mean = x[graph[:, 0]]  # x[graph].mean(1), summed a neighbour at a time: no (N, G, D) array
        for column in graph.T[1:]:
            mean += x[column]
        mean /= graph.shape[1]
        x = 0.5 * x + 0.5 * mean
        x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return x


def commonest(labels: np.ndarray, neighbours: np.ndarray, k: int) -> np.ndarray:
    """Each row's commonest label among labels[neighbours] (Q, S), ties to the lowest: int32 (Q,) in [0, k)."""
    votes = np.zeros((len(neighbours), k), np.int32)
    np.add.at(votes, (np.repeat(np.arange(len(neighbours)), neighbours.shape[1]), labels[neighbours].ravel()), 1)
    return votes.argmax(1).astype(np.int32)


class Spread:
    """The anchors of n images and, for every other image, its SPREAD_NEIGHBOURS nearest anchors in pixel space
    (PIXEL_DIM principal components): fixed for a run, so computed once and reused by every clustering."""

    def __init__(self, images: np.ndarray, seed: int, count: int = ANCHORS):
        self.rows = anchor_rows(len(images), seed, count)
        self.n = len(images)
        self.others = np.setdiff1d(np.arange(self.n), self.rows)  # sorted: the images that follow their anchors
        self.neighbours = np.zeros((0, SPREAD_NEIGHBOURS), np.int64)  # (n - anchors, S) indices into rows
        if len(self.others):
            pixels = images.reshape(len(images), -1).astype(np.float32)
            mean = pixels[self.rows].mean(0)
            _, _, components = np.linalg.svd(pixels[self.rows[:PCA_ROWS]] - mean, full_matrices=False)
            x = (pixels - mean) @ components[:PIXEL_DIM].T
            self.neighbours = nearest(x[self.others], x[self.rows], min(SPREAD_NEIGHBOURS, len(self.rows)))

    def labels(self, anchor_labels: np.ndarray, k: int) -> np.ndarray:
        """Every image's cluster int32 (n,): an anchor keeps its own, the others take their anchors' commonest."""
        labels = np.zeros(self.n, np.int32)
        labels[self.rows] = anchor_labels
        labels[self.others] = commonest(anchor_labels, self.neighbours, k)
        return labels


def cluster_images(discriminator: keras.Model, images: np.ndarray, k: int, seed: int,
                   previous: np.ndarray | None = None, spread: Spread | None = None,
                   features: DiscriminatorFeatures | None = None) -> np.ndarray:
    """Pseudo-labels int32 (N,) in [0, k) of images (N, 28, 28, 1) from the discriminator's features of their
    anchors (`spread`, built here when not given), each anchor's features diffused over its neighbours; `features`:
    the discriminator's compiled features (`DiscriminatorFeatures`), built here when not given."""
    spread = spread or Spread(images, seed)
    features = features or DiscriminatorFeatures(discriminator)
    x = features.projected(images[spread.rows], seed)
    x = diffuse(x, feature_graph(x))
    start = previous[spread.rows] if previous is not None and len(previous) == len(images) else None
    return spread.labels(kmeans(x, k, seed, init_labels=start), k)


class Recluster:
    """Called at the start of every epoch (by the run's EpochBook): at every `every`-th (the first included) clusters
    `images` on the discriminator's features into `clusters.labels`, which the dataset reads, and returns the seconds
    it took as `cluster_s` and the purity against `truth` (when given) as `cluster_purity` (else returns {})."""

    def __init__(self, clusters: Clusters, images: np.ndarray, every: int, truth: np.ndarray | None = None):
        self.clusters, self.images, self.every, self.truth = clusters, images, every, truth
        self.spread = None  # built at the first clustering, as training time: the anchors' pixel graph
        self.features = None  # the discriminator's features, compiled at the first clustering and kept

    def __call__(self, discriminator: keras.Model, epoch: int) -> dict[str, float]:
        if epoch % self.every:
            return {}
        start = time.perf_counter()
        previous = self.clusters.labels.numpy()
        self.spread = self.spread or Spread(self.images, self.clusters.seed)
        if self.features is None or self.features.discriminator is not discriminator:
            self.features = DiscriminatorFeatures(discriminator)
        labels = cluster_images(discriminator, self.images, self.clusters.k, seed=self.clusters.seed * 100_003 + epoch,
                                previous=previous if len(previous) else None, spread=self.spread,
                                features=self.features)
        self.clusters.labels.assign(labels)
        record = {"cluster_s": time.perf_counter() - start}
        if self.truth is not None:
            record["cluster_purity"] = purity(labels, np.asarray(self.truth, np.int64))
        return record


def cluster_sampler(generator: keras.Model, shares: np.ndarray) -> keras.Model:
    """An unconditional generator made of a conditional one: noise (B, latent_dim + 1) -> images (B, 28, 28, 1).

    The last noise coordinate picks the cluster by inverse CDF, so clusters come in proportions `shares` (k,);
    the others are the generator's noise. Built from Keras's own layers only (the pick is a steep clipped ramp
    per cluster boundary, the label code a Dense of the embedding's steps), so the saved file loads anywhere.
    `generator` needs the 'label_embedding' layer and the '<name>_body' sub-model of the conditional builders.
    """
    from statistics import NormalDist

    embedding = generator.get_layer("label_embedding").get_weights()[0].astype(np.float64)  # (k, embed)
    body = next(layer for layer in generator.layers if layer.name.endswith("_body"))
    k, latent_dim = len(embedding), int(generator.inputs[0].shape[-1])
    if len(shares) != k:
        raise ValueError(f"{len(shares)} cluster shares for a generator of {k} classes")
    quantiles = np.clip(np.cumsum(shares)[:-1], 1e-12, 1 - 1e-12)
    cuts = np.array([NormalDist().inv_cdf(q) for q in quantiles])  # (k - 1,) cluster boundaries on N(0, 1)
    steep = 1e6  # the ramp from one cluster to the next is 1e-6 wide: a pick is whole but for p ~ 1e-6

    noise = keras.Input((latent_dim + 1,), name="z")
    column = layers.Reshape((latent_dim + 1, 1))(noise)
    z = layers.Reshape((latent_dim,))(layers.Cropping1D((0, 1))(column))  # the generator's noise (B, latent_dim)
    u = layers.Reshape((1,))(layers.Cropping1D((latent_dim, 0))(column))  # the picking coordinate (B, 1)
    above = layers.Dense(k - 1, trainable=False, dtype="float32", name="cluster_cuts")
    passed = layers.ReLU(max_value=1.0)(above(u))  # (B, k-1): 1 where u is past boundary j
    to_code = layers.Dense(embedding.shape[1], trainable=False, dtype="float32", name="cluster_code")
    code = to_code(passed)  # embedding[0] + sum over passed boundaries of the step to the next cluster's code
    above.set_weights([np.full((1, k - 1), steep, np.float32), (-steep * cuts).astype(np.float32)])
    to_code.set_weights([np.diff(embedding, axis=0).astype(np.float32), embedding[0].astype(np.float32)])
    return keras.Model(noise, body([z, code]), name=f"{generator.name}_clusters")
