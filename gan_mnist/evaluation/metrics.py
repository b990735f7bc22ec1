"""Quality metrics of generated digits: pure functions on arrays (the registry, registry.py, applies them to the
panel's feature spaces and names their columns):
- fd: Fréchet distance between features of samples and of real test digits (lower is better, >= 0);
- kid: kernel distance, the unbiased squared MMD of the same features (about 0 for real digits);
- mnist_score: exp(E KL(p(y|x) || p(y))), the Inception-score analogue (1 to 10, higher is better);
- coverage: share of samples the evaluator puts in each digit class (ideal 0.1 each);
- conditional_accuracy: share classified as the requested label (conditional models), and per digit;
- precision / recall (Kynkäänniemi et al. 2019): share of samples inside the real digits' manifold (sharp, real
  looking) and share of real digits inside the samples' manifold (diversity: mode dropping lowers it), manifolds
  being unions of k-nearest-neighbour balls in feature space;
- memorisation: mean distance from samples to their nearest training image, against the same for test images.
"""

from __future__ import annotations

import numpy as np

from gan_mnist.errors import GanMnistError


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


def per_digit_accuracy(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """conditional_accuracy of each requested digit 0-9: float (10,) in [0, 1], NaN for a digit never asked for."""
    predicted, labels = np.asarray(probs).argmax(1), np.asarray(labels)
    return np.array([np.mean(predicted[labels == d] == d) if np.any(labels == d) else np.nan for d in range(10)])


KID_SUBSETS, KID_SUBSET_SIZE = 100, 1000  # Bińkowski et al. 2018 average 100 subsets of 1,000


def kernel_distance(features1: np.ndarray, features2: np.ndarray, subsets: int = KID_SUBSETS,
                    subset_size: int = KID_SUBSET_SIZE, seed: int = 0, memo: dict | None = None) -> float:
    """Kernel distance (KID, Bińkowski et al. 2018) between feature sets (N1, F) and (N2, F): the unbiased squared
    MMD with the kernel (x.y / F + 1)^3, averaged over `subsets` random subsets of min(subset_size, N1, N2) rows
    of each. Unbiased at any sample count, unlike FD: about 0 for two samples of one distribution (it can be
    slightly negative), larger as they differ. Float64 throughout. `memo`: a dict the caller keeps for one
    features2 (the real digits'): the within-subset sums of features2 are kept there for later calls with the same
    sizes and seed, which draw the same subsets."""
    f1, f2 = np.asarray(features1, np.float64), np.asarray(features2, np.float64)
    m = min(subset_size, len(f1), len(f2))
    if m < 2:
        raise GanMnistError(f"the kernel distance needs at least 2 rows in each set, got {len(f1)} and {len(f2)}")
    rng = np.random.default_rng(seed)
    # a set of m rows is drawn whole in every subset, only reordered; with both sets whole every subset gives the
    # same MMD (up to summation order), so one is computed
    whole1, whole2 = len(f1) == m, len(f2) == m
    rounds = 1 if whole1 and whole2 else subsets
    draws = [(rng.choice(len(f1), m, replace=False), rng.choice(len(f2), m, replace=False)) for _ in range(rounds)]
    key = (len(f1), len(f2), m, rounds, seed)
    within2 = None if memo is None else memo.get(key)
    if within2 is None:
        within2 = _within_sums(f2, [y for _, y in draws], whole2)
        if memo is not None:
            memo[key] = within2
    within = _within_sums(f1, [x for x, _ in draws], whole1) + within2
    return float(np.mean(within / (m * (m - 1)) - 2.0 * _cross_sums(f1, f2, draws, whole1, whole2) / (m * m)))


def _within_sums(f: np.ndarray, subsets: list[np.ndarray], whole: bool) -> np.ndarray:
    """The kernel sum within each subset of f's rows (diagonal left out): (len(subsets),); a whole set's once."""
    if whole:  # every subset is the set reordered: one sum
        return np.full(len(subsets), _kernel_sum(f, f, True))
    return np.array([_kernel_sum(f[rows], f[rows], True) for rows in subsets])


def _cross_sums(f1: np.ndarray, f2: np.ndarray, draws: list[tuple[np.ndarray, np.ndarray]], whole1: bool,
                whole2: bool) -> np.ndarray:
    """The kernel sum between the two subsets of each draw: (len(draws),). Where one set is whole, each row drawn
    from the other has one sum against all of it, computed once, and a subset's sum adds up its rows' (work of
    m x the rows drawn, not m x m per subset)."""
    if not (whole1 or whole2):
        return np.array([_kernel_sum(f1[x], f2[y], False) for x, y in draws])
    whole, other, side = (f1, f2, 1) if whole1 else (f2, f1, 0)
    drawn = np.unique(np.concatenate([d[side] for d in draws]))
    per_row = np.zeros(len(other))
    per_row[drawn] = _kernel_row_sums(other[drawn], whole)
    return np.array([per_row[d[side]].sum() for d in draws])


def _kernel_row_sums(a: np.ndarray, b: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """Sum of the cubic kernel of each row of a (N, F) with every row of b (m, F): (N,), in chunks of a's rows."""
    return np.concatenate([_cubic_kernel(a[i : i + chunk], b).sum(1) for i in range(0, len(a), chunk)])


def _kernel_sum(a: np.ndarray, b: np.ndarray, without_diagonal: bool) -> float:
    """Sum of the cubic kernel (a_i.b_j / F + 1)^3 over all pairs of rows of a (m, F) and b (m, F), the diagonal
    (a row with itself) left out if `without_diagonal`."""
    cube = _cubic_kernel(a, b)
    return float(cube.sum() - (np.trace(cube) if without_diagonal else 0.0))


def _cubic_kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The kernel matrix (a_i.b_j / F + 1)^3 of rows a (N, F) and b (M, F): (N, M)."""
    k = a @ b.T
    k /= a.shape[1]
    k += 1.0
    cube = k * k
    cube *= k  # in place: the N x M elementwise work, not the product, is most of the time
    return cube


PR_K, PR_SAMPLES = 3, 10_000  # the paper's k; precision/recall compare at most this many samples and test digits


def _squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """|a_i - b_j|^2 (len(a), len(b)) in float64, where the expansion |a|^2 - 2 a.b + |b|^2 does not cancel away
    the distance between near-identical points; clipped at 0."""
    d2 = np.einsum("ij,ij->i", a, a)[:, None] - 2.0 * a @ b.T + np.einsum("ij,ij->i", b, b)[None, :]
    return np.maximum(d2, 0.0)


def knn_radii(features: np.ndarray, k: int = 3, chunk: int = 1000) -> np.ndarray:
    """Distance (N,) from each point of features (N, F) to its k-th nearest other point (float64)."""
    f = np.asarray(features, np.float64)
    if not 0 < k < len(f):
        raise ValueError(f"k must be in 1..{len(f) - 1} for {len(f)} points, got {k}")
    radii = np.empty(len(f))
    for i in range(0, len(f), chunk):
        d2 = _squared_distances(f[i : i + chunk], f)
        # each point's distance to itself is the 0th smallest: the k-th other point is the (k+1)-th smallest
        radii[i : i + chunk] = np.sqrt(np.partition(d2, k, axis=1)[:, k])
    return radii


def manifold_share(queries: np.ndarray, support: np.ndarray, radii: np.ndarray, chunk: int = 1000) -> float:
    """Share of queries (N, F) inside at least one ball (support point (M, F), radius (M,)): in [0, 1]."""
    q, s = np.asarray(queries, np.float64), np.asarray(support, np.float64)
    inside = 0
    for i in range(0, len(q), chunk):
        inside += int(np.any(_squared_distances(q[i : i + chunk], s) <= (radii**2)[None, :], axis=1).sum())
    return inside / len(q)


def precision_recall(fake: np.ndarray, real: np.ndarray, k: int = 3,
                     real_radii: np.ndarray | None = None) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) of fake features (N, F) against real ones (M, F):
    precision = share of fakes in the real manifold, recall = share of reals in the fake manifold, each in [0, 1].
    Both depend on the set sizes: compare them at equal N and M. `real_radii`: knn_radii(real, k), if known."""
    real_radii = knn_radii(real, k) if real_radii is None else real_radii
    return manifold_share(fake, real, real_radii), manifold_share(real, fake, knn_radii(fake, k))


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


def memorisation(samples: np.ndarray, train: np.ndarray, test_nn: float) -> dict[str, float]:
    """Nearest-training-image distance of samples against `test_nn`, real test images' own (nearest_distances(test,
    train).mean()); a ratio well below 1 means copying."""
    sample_nn = float(nearest_distances(samples, train).mean())
    return {"nn_train_distance": sample_nn, "test_nn_train_distance": test_nn, "nn_ratio": sample_nn / test_nn}
