"""The metric registry: every quality number the project reports, in one table (METRICS), and `evaluate_images`,
which computes the ones asked for.

Each entry names its function, whether it needs the requested labels, whether a higher value is better, and whether
it is measured in every panel member's feature space (`panel`). A panel metric's column is its name for the shipped
CNN and `name_member` for the others (`fd`, `fd_wide`, `fd_ae`), so the shipped evaluator's numbers keep their
names. A new metric is one entry here plus its function in metrics.py; `evaluate --metrics`, `compare`, `tune`,
`tune --confirm` and the reports read the names from here.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from gan_mnist.errors import GanMnistError
from gan_mnist.evaluation import MIN_SAMPLES
from gan_mnist.evaluation.metrics import (
    PR_K,
    PR_SAMPLES,
    class_shares,
    conditional_accuracy,
    feature_frechet_distance,
    kernel_distance,
    knn_radii,
    manifold_share,
    memorisation,
    mnist_score,
    per_digit_accuracy,
)
from gan_mnist.evaluation.reference import Reference


def _once(method: Callable) -> Callable:
    """Cache a Scoring method's result per instance and arguments (the cache dies with the instance)."""

    @functools.wraps(method)
    def cached(self, *args):
        key = (method.__name__, *args)
        if key not in self.memo:
            self.memo[key] = method(self, *args)
        return self.memo[key]

    return cached


class Scoring:
    """One set of images being scored: each member's features and every shared intermediate, computed once."""

    def __init__(self, images: np.ndarray, labels: np.ndarray | None, reference: Reference,
                 members: tuple[str, ...]):
        self.images, self.labels, self.reference, self.members = images, labels, reference, members
        self.n, self.memo = len(images), {}

    @_once
    def features(self, member: str) -> np.ndarray:
        """The images' features float64 (N, F) in `member`'s space."""
        return self.reference.features(member, self.images)

    @_once
    def probs(self) -> np.ndarray:
        """The shipped CNN's class probabilities (N, 10)."""
        from gan_mnist.evaluation.evaluator import classifier_outputs, load_evaluator

        return classifier_outputs(load_evaluator(), self.images)[1]

    @_once
    def fd(self, member: str) -> float:
        return feature_frechet_distance(self.features(member), self.reference.test_features(member))

    @_once
    def precision_recall(self, member: str) -> tuple[float, float]:
        """Precision and recall of min(N, PR_SAMPLES) images against as many test digits (they depend on the
        count: compare them at equal counts)."""
        m = min(self.n, PR_SAMPLES)
        fake, real = self.features(member)[:m], self.reference.test_features(member)[:m]
        return (manifold_share(fake, real, self.reference.real_radii(member, m)),
                manifold_share(real, fake, knn_radii(fake, PR_K)))

    @_once
    def digit_accuracy(self) -> np.ndarray:
        return per_digit_accuracy(self.probs(), self.labels)

    @_once
    def memorisation(self) -> dict[str, float]:
        """Nearest-training-image distances of the first 1,000 images against those of 1,000 test digits."""
        return memorisation(self.images[:1000], self.reference.train_subset, self.reference.test_nn_distance(1000))


@dataclasses.dataclass(frozen=True)
class Metric:
    """One reported number: what it means, its function (scoring, member) -> float, and how to read it."""

    about: str
    compute: Callable[[Scoring, str], float]
    higher_is_better: bool
    labels: bool = False  # needs the requested labels (conditional generators, labelled samples)
    panel: bool = False  # measured in every panel member's space, else in the shipped CNN's only
    group: str = "quality"  # "memorisation": a check apart, skipped when training and tuning


METRICS: dict[str, Metric] = {
    "fd": Metric("Fréchet distance to the test digits' features (>= 0)", lambda s, m: s.fd(m), False, panel=True),
    "fd_ratio": Metric("FD / the member's real floor at the same count (1 = as close as real digits)",
                       lambda s, m: s.fd(m) / s.reference.floor_fd(m, s.n), False, panel=True),
    "kid": Metric("kernel distance (unbiased squared MMD, cubic kernel; about 0 for real digits)",
                  lambda s, m: kernel_distance(s.features(m), s.reference.test_features(m),
                                               memo=s.reference.kernel_memo(m)), False, panel=True),
    "precision": Metric("share of the images inside the real digits' k-NN manifold (look real, in [0, 1])",
                        lambda s, m: s.precision_recall(m)[0], True, panel=True),
    "recall": Metric("share of the real digits inside the images' k-NN manifold (diversity, in [0, 1])",
                     lambda s, m: s.precision_recall(m)[1], True, panel=True),
    "worst_fd_ratio": Metric("the largest fd_ratio over the panel members scored (tune's objective)",
                             lambda s, m: max(s.fd(k) / s.reference.floor_fd(k, s.n) for k in s.members), False),
    "mnist_score": Metric("exp(E KL(p(y|x) || p(y))) of the shipped CNN: 1 to 10",
                          lambda s, m: mnist_score(s.probs()), True),
    "min_class_share": Metric("share of the rarest digit, as the shipped CNN classifies them (ideal 0.1)",
                              lambda s, m: float(class_shares(s.probs()).min()), True),
    "max_class_share": Metric("share of the commonest digit (ideal 0.1)",
                              lambda s, m: float(class_shares(s.probs()).max()), False),
    "conditional_accuracy": Metric("share classified as the digit asked for", lambda s, m: conditional_accuracy(
        s.probs(), s.labels), True, labels=True),
    "min_digit_accuracy": Metric("conditional accuracy of the worst digit",
                                 lambda s, m: float(np.nanmin(s.digit_accuracy())), True, labels=True),
    "nn_train_distance": Metric("mean pixel distance of an image to its nearest training digit",
                                lambda s, m: s.memorisation()["nn_train_distance"], True, group="memorisation"),
    "test_nn_train_distance": Metric("the same for real test digits (what unseen digits score)",
                                     lambda s, m: s.memorisation()["test_nn_train_distance"], True,
                                     group="memorisation"),
    "nn_ratio": Metric("nn_train_distance / test_nn_train_distance (well below 1: copying)",
                       lambda s, m: s.memorisation()["nn_ratio"], True, group="memorisation"),
}


OBJECTIVE = "worst_fd_ratio"  # what `tune` minimises: a recipe is only as good as its worst yardstick (docs/panel.md)
# what each trial and each confirmed seed records: the objective and every member's FD / floor, FD, KID, precision,
# recall; the shipped CNN's MNIST score and rarest digit
SEARCH_METRICS = (OBJECTIVE, "fd_ratio", "fd", "kid", "precision", "recall", "mnist_score", "min_class_share")
DURING_TRAINING = ("fd", "fd_ratio", "precision", "recall", "mnist_score", "min_class_share", "max_class_share",
                   "conditional_accuracy", "min_digit_accuracy")  # eval_every's, with the shipped CNN only: cheap
HOLD = 0.02  # the most precision or recall may drop, on any member, for a recipe to count as better
# scores pooled over draws (`pool_draws`) count as lower only when the gap exceeds NOISE_Z standard errors of the
# difference of the means, so that a gap one draw's noise could make is not a win (docs/panel.md, "Sample noise")
NOISE_Z = 2.0


def pool_draws(results: list[dict]) -> dict:
    """Scores of several draws of samples (dicts of columns, as `evaluate_images` returns) as one: each float's mean,
    each list's mean per entry (None where a draw has None), and for more than one draw `draws` and each float's
    standard deviation over draws as `column_sd`."""
    if not results:
        raise GanMnistError("no draws to pool")
    pooled: dict = {}
    for key, first in results[0].items():
        values = [r[key] for r in results]
        if isinstance(first, list):  # per digit
            pooled[key] = [None if None in entry else float(np.mean(entry)) for entry in zip(*values, strict=True)]
        else:  # a float score is averaged; the sample count (an int) is the same in every draw
            pooled[key] = float(np.mean(values)) if isinstance(first, float) else first
    if len(results) > 1:
        pooled["draws"] = len(results)
        pooled.update({f"{key}_sd": float(np.std([r[key] for r in results], ddof=1))
                       for key, first in results[0].items() if isinstance(first, float)})
    return pooled


def _standard_error(scores: dict, col: str) -> float:
    """The standard error of a pooled score's mean (0 for one draw, whose spread is not known)."""
    return scores.get(f"{col}_sd", 0.0) / np.sqrt(scores.get("draws", 1))


def beats(a: dict, b: dict, members: Iterable[str] | None = None) -> tuple[bool, list[str]]:
    """Whether scores `a` beat scores `b` (dicts of columns) on the panel: a lower fd_ratio on every member (for
    pooled draws, lower by more than NOISE_Z standard errors of the difference), and precision and recall each no
    more than HOLD below b's on every member. Returns (verdict, the reasons it fails)."""
    from gan_mnist.evaluation.panel import MEMBERS

    reasons = []
    for member in MEMBERS if members is None else members:
        ratio = column("fd_ratio", member)
        margin = NOISE_Z * float(np.hypot(_standard_error(a, ratio), _standard_error(b, ratio)))
        if not a[ratio] < b[ratio] - margin:
            reasons.append(f"{ratio} {a[ratio]:.3g} is not below {b[ratio]:.3g}"
                           + (f" by more than the noise ({margin:.2g})" if margin else ""))
        for name in ("precision", "recall"):
            col = column(name, member)
            if a[col] < b[col] - HOLD:
                reasons.append(f"{col} {a[col]:.3f} drops more than {HOLD} below {b[col]:.3f}")
    return not reasons, reasons


def baseline_of(runs: Iterable[str | os.PathLike], against: str | os.PathLike | None) -> str | None:
    """The row name of run `against` in a comparison of `runs` (as `compare` names rows: str(Path)), None without
    one; an error if it is not among them."""
    if against is None:
        return None
    for run in runs:
        if Path(run).resolve() == Path(against).resolve():
            return str(Path(run))
    raise GanMnistError(f"--against {against} is not one of the runs compared; list it among them")


def column(name: str, member: str) -> str:
    """A metric's column for one member: `fd` for the shipped CNN, `fd_wide` for member 'wide'."""
    return name if member == "cnn" else f"{name}_{member}"


def columns(names: Iterable[str] | None = None, members: Iterable[str] | None = None) -> list[str]:
    """The columns metrics `names` (default: all) produce for `members` (default: the whole panel), in table
    order."""
    from gan_mnist.evaluation.panel import MEMBERS

    members = tuple(MEMBERS if members is None else members)
    out = []
    for name in METRICS if names is None else names:
        out += [column(name, k) for k in members] if METRICS[name].panel else [name]
    return out


def parse_metrics(text: str) -> tuple[str, ...]:
    """'fd,precision' -> ('fd', 'precision'): registry names, each checked, in the order given."""
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in METRICS]
    if unknown or not names:
        raise GanMnistError(f"unknown metric {', '.join(map(repr, unknown)) or '(none given)'}; "
                            f"choose from {', '.join(METRICS)}")
    return names


def higher_is_better(col: str) -> bool:
    """Direction of a column (a metric's name, or name_member)."""
    name = col if col in METRICS else col.rsplit("_", 1)[0]
    return METRICS[name].higher_is_better


def applicable(names: Iterable[str], labelled: bool, with_memorisation: bool = False) -> list[str]:
    """Those of `names` that can be computed: the ones needing labels only when `labelled`, the memorisation
    check only `with_memorisation`."""
    return [name for name in names if (labelled or not METRICS[name].labels)
            and (with_memorisation or METRICS[name].group != "memorisation")]


def _check(images: np.ndarray, labels: np.ndarray | None) -> np.ndarray | None:
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
    return labels


def evaluate_images(images: np.ndarray, labels: np.ndarray | None = None, reference: Reference | None = None,
                    with_memorisation: bool = True, per_digit: bool = False, metrics: Iterable[str] | None = None,
                    members: Iterable[str] | None = None) -> dict:
    """Metrics of images (N >= MIN_SAMPLES, 28, 28, 1) in [-1, 1] [requested labels int (N,), digits 0-9] against
    MNIST's test split: {"n": N, column: value}, the columns of `metrics` (default: every registry entry that
    applies — those needing labels only with labels, memorisation only `with_memorisation`) for `members` (default:
    the whole panel). `per_digit` adds lists of 10: `class_share` and, with labels, `digit_accuracy` (None for a
    digit not asked for)."""
    from gan_mnist.evaluation.panel import MEMBERS

    labels = _check(images, labels)
    members = tuple(MEMBERS if members is None else members)
    unknown = [m for m in members if m not in MEMBERS]
    if unknown or not members:
        raise GanMnistError(f"unknown panel member {', '.join(map(repr, unknown)) or '(none given)'}; "
                            f"choose from {', '.join(MEMBERS)}")
    if metrics is None:
        metrics = applicable(METRICS, labels is not None, with_memorisation)
    else:
        metrics = list(metrics)
        needing = [name for name in metrics if METRICS[name].labels]
        if labels is None and needing:
            raise GanMnistError(f"{', '.join(needing)} need the requested labels: a conditional generator, or "
                                f"samples saved with `labels`")
    scoring = Scoring(images, labels, reference or Reference(), members)
    result: dict = {"n": int(len(images))}
    for name in metrics:
        metric = METRICS[name]
        for member in members if metric.panel else ("cnn",):
            result[column(name, member) if metric.panel else name] = float(metric.compute(scoring, member))
    if per_digit:
        if labels is not None:
            result["digit_accuracy"] = [None if np.isnan(a) else float(a) for a in scoring.digit_accuracy()]
        result["class_share"] = [float(v) for v in class_shares(scoring.probs())]
    return result
