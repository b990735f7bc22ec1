"""The real digits every evaluation compares against, in each panel member's feature space, built once per process
(and their features kept on disk between processes: feature_cache.py).

- test digits: all 10,000 of MNIST's test split (the distribution samples are compared with);
- floor digits: training digits 20,000 onwards, scored exactly like samples at the same count. What they score is
  the member's floor: the FD, KID, precision and recall of real digits that were never in the test split. FD and
  precision/recall depend on the sample count, so each floor is measured at the count being scored;
- the memorisation check's training subset (the first 20,000) and test subset (the first 2,000).
"""

from __future__ import annotations

import os

import numpy as np

from gan_mnist.evaluation.feature_cache import cached_features
from gan_mnist.evaluation.metrics import PR_K, PR_SAMPLES, feature_frechet_distance, knn_radii

FLOOR_START = 20_000  # the floor digits start here: after the memorisation check's training subset
FLOOR_MAX = 40_000  # training digits 20,000-59,999: a floor for at most this many samples


class Reference:
    """Real MNIST digits and their features per panel member, computed when first asked for and then reused."""

    _cache: dict = {}

    def __init__(self, data_path: str | os.PathLike | None = None, n_train: int = 20000, n_test: int = 2000):
        from gan_mnist.run.data import load_mnist, to_model_range

        key = (str(data_path), n_train, n_test)
        if key not in Reference._cache:
            x_test, _ = load_mnist(data_path, "test")
            x_train, y_train = load_mnist(data_path, "train")
            test = to_model_range(x_test)
            Reference._cache[key] = {"test": test, "train": x_train, "train_labels": y_train,
                                     "train_subset": to_model_range(x_train[:n_train]), "test_subset": test[:n_test],
                                     "features": {}, "radii": {}, "floor_fd": {}, "floor": {}, "kernel": {},
                                     "test_nn": {}}
        self._state = Reference._cache[key]
        self.train_subset, self.test_subset = self._state["train_subset"], self._state["test_subset"]

    def test_features(self, member: str = "cnn") -> np.ndarray:
        """Features float64 (10000, F) of the test digits in `member`'s space."""
        return self._real_features("test", member, self._state["test"])

    def kernel_memo(self, member: str) -> dict:
        """The dict metrics.kernel_distance keeps the test digits' within-subset sums in, for `member`'s space."""
        return self._state["kernel"].setdefault(member, {})

    def test_nn_distance(self, n: int) -> float:
        """Mean pixel distance from the first n memorisation test digits to their nearest digit of the training
        subset: what unseen digits score in the memorisation check (computed once per n)."""
        from gan_mnist.evaluation.metrics import nearest_distances

        if n not in self._state["test_nn"]:
            self._state["test_nn"][n] = float(nearest_distances(self.test_subset[:n], self.train_subset).mean())
        return self._state["test_nn"][n]

    def floor_digits(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(images float32 (m, 28, 28, 1) in [-1, 1], labels (m,)): m = min(n, FLOOR_MAX) real training digits
        from 20,000 on, never in the test split, to be scored like n samples. The same arrays on every call."""
        from gan_mnist.run.data import to_model_range

        m = min(n, FLOOR_MAX)
        if m not in self._state["floor"]:
            self._state["floor"][m] = (to_model_range(self._state["train"][FLOOR_START : FLOOR_START + m]),
                                       self._state["train_labels"][FLOOR_START : FLOOR_START + m])
        return self._state["floor"][m]

    def features(self, member: str, images: np.ndarray) -> np.ndarray:
        """Features float64 (N, F) of images in `member`'s space; those of the floor digits (the very arrays of
        `floor_digits`) are computed once, for both the floor FD and `compare`'s row of real digits."""
        from gan_mnist.evaluation.panel import load_member, member_features

        floor = next((m for m, (digits, _) in self._state["floor"].items() if images is digits), None)
        if floor is None:
            return member_features(load_member(member), images)
        return self._real_features(floor, member, images)

    def _real_features(self, key, member: str, images: np.ndarray) -> np.ndarray:
        """Features float64 (N, F) of real digits `images`, kept under `key` in this process and on disk between
        processes (feature_cache.py)."""
        from gan_mnist.evaluation.panel import load_member, member_features

        if (key, member) not in self._state["features"]:
            self._state["features"][(key, member)] = cached_features(member, load_member(member), images,
                                                                     member_features)
        return self._state["features"][(key, member)]

    def floor_fd(self, member: str, n: int) -> float:
        """FD of n floor digits (at most FLOOR_MAX) against the test digits in `member`'s space: the FD real
        digits score at that count (> 0: two finite samples of one distribution differ)."""
        key = (member, min(n, FLOOR_MAX))
        if key not in self._state["floor_fd"]:
            real = self.features(member, self.floor_digits(n)[0])
            self._state["floor_fd"][key] = feature_frechet_distance(real, self.test_features(member))
        return self._state["floor_fd"][key]

    def real_radii(self, member: str, m: int) -> np.ndarray:
        """k-NN radii (k = PR_K) of the first m test-digit features in `member`'s space (m <= PR_SAMPLES): the real
        manifold that precision is measured in."""
        if (member, m) not in self._state["radii"]:
            self._state["radii"][(member, m)] = knn_radii(self.test_features(member)[: min(m, PR_SAMPLES)], PR_K)
        return self._state["radii"][(member, m)]
