import json

import numpy as np
import pytest

from gan_mnist.errors import GanMnistError
from gan_mnist.evaluation.evaluator import CARD, classifier_outputs, load_evaluator
from gan_mnist.evaluation.metrics import (
    class_shares,
    conditional_accuracy,
    feature_frechet_distance,
    frechet_distance,
    kernel_distance,
    knn_radii,
    manifold_share,
    memorisation,
    mnist_score,
    nearest_distances,
    nearest_neighbours,
    per_digit_accuracy,
    precision_recall,
)
from gan_mnist.evaluation.panel import MEMBERS
from gan_mnist.evaluation.reference import Reference
from gan_mnist.evaluation.registry import (
    DURING_TRAINING,
    HOLD,
    METRICS,
    NOISE_Z,
    OBJECTIVE,
    SEARCH_METRICS,
    applicable,
    baseline_of,
    beats,
    column,
    columns,
    evaluate_images,
    higher_is_better,
    parse_metrics,
    pool_draws,
)
from gan_mnist.run.data import load_mnist, to_model_range


def test_frechet_distance_known_answers():
    mu, sigma = np.array([1.0, 2.0]), np.diag([1.0, 4.0])
    assert frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-9)
    # diagonal covariances: |mu1 - mu2|^2 + sum (sqrt(a) - sqrt(b))^2
    got = frechet_distance(np.zeros(2), np.diag([1.0, 4.0]), np.array([3.0, 4.0]), np.diag([9.0, 1.0]))
    assert got == pytest.approx(25.0 + (1 - 3) ** 2 + (2 - 1) ** 2)
    # a rotation of the same Gaussian shape: non-commuting covariances, answer from the 1-D case along each axis
    r = np.array([[np.cos(0.3), -np.sin(0.3)], [np.sin(0.3), np.cos(0.3)]])
    s = np.diag([4.0, 1.0])
    assert frechet_distance(np.zeros(2), r @ s @ r.T, np.zeros(2), r @ s @ r.T) == pytest.approx(0.0, abs=1e-9)


def test_feature_frechet_distance_orders_shifts():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(4000, 3)), rng.normal(size=(4000, 3))
    near, far = feature_frechet_distance(a, b), feature_frechet_distance(a, b + 2.0)
    assert near < 0.05 and far == pytest.approx(12.0, rel=0.1)


def test_kernel_distance_known_answer_and_unbiasedness():
    # 1-D, k(a, b) = (ab + 1)^3: within-set pairs (0,1) and (0,2) give 1 each, cross pairs 1, 1, 1, 27 -> 1 + 1 - 15
    assert kernel_distance([[0.0], [1.0]], [[0.0], [2.0]], subsets=1, subset_size=2) == pytest.approx(-13.0)
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((400, 8)), rng.standard_normal((400, 8))
    same = kernel_distance(a, b, subsets=20, subset_size=200)
    shifted = kernel_distance(a, b + 0.5, subsets=20, subset_size=200)
    assert abs(same) < 0.1 and shifted > 1.0  # about 0 for one distribution (either sign), clearly positive apart
    assert kernel_distance(a, b + 1.0, subsets=20, subset_size=200) > shifted
    with pytest.raises(GanMnistError, match="at least 2 rows"):
        kernel_distance(a[:1], b)


@pytest.mark.parametrize("n1, n2", [(300, 300), (100, 300), (300, 80), (60, 60)])  # neither, one, the other, both whole
def test_kernel_distance_equals_the_mean_over_its_subsets_when_a_set_is_taken_whole(n1, n2):
    # a set no larger than the subset size is drawn whole every time, so its within-set sum (or, both whole, the
    # whole MMD) is computed once: the result must equal the plain mean over the same random subsets
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((n1, 5)), rng.standard_normal((n2, 5)) + 0.3
    m, draws = min(100, n1, n2), np.random.default_rng(7)

    def mmd2(x, y):  # unbiased MMD^2, kernel (x.y / F + 1)^3, straight from the kernel matrices
        kxx, kyy, kxy = ((p @ q.T / 5 + 1) ** 3 for p, q in ((x, x), (y, y), (x, y)))
        return ((kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1)) - 2 * kxy.mean())

    expected = np.mean([mmd2(a[draws.choice(n1, m, replace=False)], b[draws.choice(n2, m, replace=False)])
                        for _ in range(10)])
    assert kernel_distance(a, b, subsets=10, subset_size=100, seed=7) == pytest.approx(expected, rel=1e-12)
    # a memo kept for b serves later calls of the same sizes and seed, and only those
    memo = {}
    for _ in range(2):
        assert kernel_distance(a, b, subsets=10, subset_size=100, seed=7, memo=memo) == pytest.approx(expected,
                                                                                                     rel=1e-12)
    assert len(memo) == 1
    assert kernel_distance(a, b, subsets=10, subset_size=100, seed=8, memo=memo) == pytest.approx(
        kernel_distance(a, b, subsets=10, subset_size=100, seed=8), rel=1e-12)
    assert len(memo) == 2


def test_mnist_score_extremes():
    one_hot = np.eye(10)[np.arange(1000) % 10]
    assert mnist_score(one_hot) == pytest.approx(10.0, rel=1e-6)  # confident and every class equally often
    assert mnist_score(np.eye(10)[np.zeros(100, int)]) == pytest.approx(1.0)  # one class only
    assert mnist_score(np.full((100, 10), 0.1)) == pytest.approx(1.0)  # never confident


def test_per_digit_accuracy_at_known_values():
    probs = np.eye(10)[[0, 0, 1, 1, 1, 3]]  # predicted: 0 0 1 1 1 3
    accuracy = per_digit_accuracy(probs, np.array([0, 5, 1, 1, 2, 3]))
    np.testing.assert_array_equal(accuracy[[0, 1, 2, 3, 5]], [1.0, 1.0, 0.0, 1.0, 0.0])
    assert np.isnan(accuracy[[4, 6, 7, 8, 9]]).all()  # never asked for


def test_knn_radii_and_precision_recall_at_known_values():
    real = np.array([[float(i), 0.0] for i in range(10)])  # a row of points 1 apart
    np.testing.assert_array_equal(knn_radii(real, k=1), np.ones(10))
    np.testing.assert_array_equal(knn_radii(real, k=2), [2.0, *[1.0] * 8, 2.0])
    fake = np.array([[0.5, 0.0], [4.0, 1.0], [20.0, 0.0], [4.0, 1.5]])
    # in the real balls (radius 1): (0.5, 0) and (4, 1) (exactly on the boundary); not (20, 0), (4, 1.5)
    assert manifold_share(fake, real, knn_radii(real, 1)) == 0.5
    # fake radii (k=1): 3.5 + small, 1 / 0.5 between the close pair, 16 for the far one: every real is covered
    assert precision_recall(fake, real, k=1) == (0.5, 1.0)
    # near-identical points: the expanded |a|^2 - 2a.b + |b|^2 may round below 0; it is clipped, never a NaN radius
    twins = np.full((3, 64), 1e3) + np.array([[0.0], [1e-9], [2e-9]])
    radii = knn_radii(twins, k=1)
    assert np.isfinite(radii).all() and (radii >= 0).all() and radii.max() < 1e-3


def test_class_shares_and_conditional_accuracy():
    probs = np.eye(10)[[0, 0, 1, 3]]
    np.testing.assert_allclose(class_shares(probs), [0.5, 0.25, 0, 0.25, 0, 0, 0, 0, 0, 0])
    assert conditional_accuracy(probs, np.array([0, 1, 1, 3])) == 0.75


def test_nearest_distances_match_brute_force():
    rng = np.random.default_rng(0)
    q, r = rng.normal(size=(7, 28, 28, 1)), rng.normal(size=(30, 28, 28, 1))
    brute = np.sqrt(((q.reshape(7, 1, -1) - r.reshape(1, 30, -1)) ** 2).sum(-1)).min(1)
    np.testing.assert_allclose(nearest_distances(q, r, chunk=3), brute, rtol=1e-4)


def test_nearest_neighbours_are_exact_for_near_copies(small_images):
    # near-identical images are where |q|^2 - 2q.r + |r|^2 in float32 cancels (an error of ~1e-2 that depends on
    # the BLAS kernel); the distances must come out as the true ones, computed here pixel by pixel in float64
    reference = small_images[:200]
    shift = np.zeros_like(reference[:50])
    shift[:, 14, 14, 0] = 1e-3  # one pixel moved by 1e-3: the true distance is exactly that
    queries = reference[:50] + shift
    distance, index = nearest_neighbours(queries, reference)
    assert index.tolist() == list(range(50))
    true = np.sqrt(((queries.astype(np.float64) - reference[:50].astype(np.float64)) ** 2).sum((1, 2, 3)))
    np.testing.assert_allclose(distance, true, rtol=1e-6)
    assert np.all(nearest_neighbours(reference[:50], reference)[0] == 0.0)  # a copy is at distance 0, exactly


def test_memorisation_flags_copies(small_images):
    train, test = small_images[:200], small_images[200:]
    test_nn = float(nearest_distances(test, train).mean())
    copied = memorisation(train[:50], train, test_nn)
    assert copied["nn_train_distance"] == 0.0 and copied["nn_ratio"] == 0.0
    fresh = memorisation(test, train, test_nn)
    assert fresh["nn_ratio"] == pytest.approx(1.0) and fresh["test_nn_train_distance"] == test_nn


def test_shipped_evaluator_reads_mnist_at_99_percent(mnist_path):
    x, y = load_mnist(mnist_path, "test")
    accuracy = float(np.mean(classifier_outputs(load_evaluator(), to_model_range(x))[1].argmax(1) == y))
    card = json.loads(CARD.read_text())
    assert accuracy >= 0.99
    assert accuracy == pytest.approx(card["test_accuracy"], abs=1e-3)  # the card tells the truth about the weights


@pytest.fixture(scope="module")
def real_digits(mnist_path):
    x, y = load_mnist(mnist_path, "train")
    return to_model_range(x[30000:32000]), y[30000:32000]


def _blur(images):
    padded = np.pad(images, ((0, 0), (2, 2), (2, 2), (0, 0)), mode="edge")
    return sum(padded[:, i : i + 28, j : j + 28] for i in range(5) for j in range(5)) / 25.0


@pytest.mark.slow
def test_metrics_order_real_blurred_noise(real_digits, mnist_path):
    images, labels = real_digits
    reference = Reference(mnist_path)
    noise = np.random.default_rng(0).uniform(-1, 1, images.shape).astype("float32")
    real, blurred, rand = (evaluate_images(x, labels, reference, with_memorisation=False, members=("cnn",))
                           for x in (images, _blur(images), noise))
    assert real["fd"] < blurred["fd"] < rand["fd"]
    assert real["fd"] < 5.0 and rand["fd"] > 50.0
    assert real["mnist_score"] > blurred["mnist_score"] > rand["mnist_score"]
    assert real["conditional_accuracy"] > 0.98 and real["min_class_share"] > 0.07


def test_precision_and_recall_tell_blur_from_mode_dropping(real_digits, mnist_path):
    images, labels = real_digits
    reference = Reference(mnist_path)
    x, y = load_mnist(mnist_path, "train")
    ones = to_model_range(x[30000:][y[30000:] == 1][: len(images)])  # 2,000 real ones: nine digits dropped
    noise = np.random.default_rng(0).uniform(-1, 1, images.shape).astype("float32")
    real, blurred, dropped, rand = (evaluate_images(x, reference=reference, metrics=("precision", "recall"),
                                                    members=("cnn",)) for x in (images, _blur(images), ones, noise))
    # measured at 2,000 samples: real 0.88 / 0.84; blurred 0.29 / 0.00; ones only 0.92 / 0.10; noise 0.06 / 0.00
    assert real["precision"] > 0.7 and real["recall"] > 0.7
    assert dropped["precision"] > 0.8 and dropped["recall"] < 0.2  # real-looking, but most of MNIST is missed
    assert blurred["precision"] < real["precision"] - 0.2 and blurred["recall"] < real["recall"] - 0.2
    assert rand["precision"] < 0.2 and rand["recall"] < 0.05
    # the floor digits at the same size score what real digits score
    floor = evaluate_images(reference.floor_digits(2000)[0], reference=reference, metrics=("precision", "recall"),
                            members=("cnn",))
    assert (floor["precision"], floor["recall"]) == pytest.approx((real["precision"], real["recall"]), abs=0.05)


@pytest.mark.slow
def test_evaluate_images_reports_every_metric_of_the_registry_on_every_member(real_digits, mnist_path):
    images, labels = real_digits
    result = evaluate_images(images[:1000], labels[:1000], Reference(mnist_path), per_digit=True)
    assert set(result) == {"n", *columns(), "digit_accuracy", "class_share"}
    assert {"fd", "fd_wide", "fd_ae", "kid_ae", "precision_wide", "recall_ae", "worst_fd_ratio"} <= set(result)
    assert len(result["digit_accuracy"]) == len(result["class_share"]) == 10
    assert result["min_digit_accuracy"] == min(result["digit_accuracy"]) > 0.9
    assert sum(result["class_share"]) == pytest.approx(1.0)
    assert 0.8 < result["nn_ratio"] < 1.25  # real unseen digits are as far from the training set as test digits
    # real digits sit at their floor in every space: FD / floor about 1, KID about 0 against FD's scale
    for member in MEMBERS:
        assert 0.7 < result[column("fd_ratio", member)] < 1.4, member
        assert abs(result[column("kid", member)]) < 0.5 * result[column("fd", member)], member
    assert result["worst_fd_ratio"] == max(result[column("fd_ratio", m)] for m in MEMBERS)


def test_evaluate_images_computes_only_the_metrics_and_members_asked_for(real_digits, mnist_path):
    images, labels = real_digits
    result = evaluate_images(images[:200], labels[:200], Reference(mnist_path), metrics=("fd", "mnist_score"),
                             members=("cnn", "ae"))
    assert list(result) == ["n", "fd", "fd_ae", "mnist_score"]
    assert columns(("precision", "nn_ratio"), ("wide",)) == ["precision_wide", "nn_ratio"]
    assert applicable(METRICS, labelled=False) == [n for n in METRICS if not METRICS[n].labels
                                                    and METRICS[n].group != "memorisation"]


@pytest.mark.parametrize("call, message", [
    (dict(metrics=("conditional_accuracy",)), "conditional_accuracy need the requested labels"),
    (dict(members=("vit",)), "unknown panel member 'vit'"),
    (dict(members=()), r"unknown panel member \(none given\)"),
])
def test_a_metric_or_member_that_cannot_be_computed_is_one_clear_error(real_digits, mnist_path, call, message):
    with pytest.raises(GanMnistError, match=message):
        evaluate_images(real_digits[0][:100], reference=Reference(mnist_path), **call)


def test_parse_metrics_checks_every_name():
    assert parse_metrics("fd, kid") == ("fd", "kid")
    with pytest.raises(GanMnistError, match="unknown metric 'fid'; choose from fd, fd_ratio"):
        parse_metrics("fd,fid")
    with pytest.raises(GanMnistError, match=r"\(none given\)"):
        parse_metrics(" , ")


def test_every_metric_has_a_direction_and_every_column_reads_it():
    assert all(isinstance(m.higher_is_better, bool) and m.about for m in METRICS.values())
    assert not higher_is_better("fd_ratio_wide") and higher_is_better("recall_ae") and higher_is_better("nn_ratio")
    assert OBJECTIVE in METRICS and set(SEARCH_METRICS) <= set(METRICS) and set(DURING_TRAINING) <= set(METRICS)


def test_beats_needs_every_member_better_with_precision_and_recall_held():
    base = {c: 1.0 for c in columns(("fd_ratio",))} | {c: 0.8 for c in columns(("precision", "recall"))}
    better = {**base, **{c: 0.9 for c in columns(("fd_ratio",))}}
    assert beats(better, base) == (True, [])
    one_worse = {**better, "fd_ratio_ae": 1.0}  # a tie is not a win
    assert beats(one_worse, base)[0] is False and "fd_ratio_ae 1 is not below 1" in beats(one_worse, base)[1][0]
    assert beats({**better, "recall_wide": 0.8 - HOLD + 1e-9}, base)[0]  # within the hold
    verdict, reasons = beats({**better, "precision": 0.77}, base)
    assert not verdict and reasons == ["precision 0.770 drops more than 0.02 below 0.800"]


def test_pooled_draws_are_means_with_their_spread():
    draws = [{"n": 500, "fd_ratio": 2.0, "precision": 0.7, "class_share": [0.5, 0.5], "digit_accuracy": [1.0, None]},
             {"n": 500, "fd_ratio": 4.0, "precision": 0.8, "class_share": [0.4, 0.6], "digit_accuracy": [0.5, None]}]
    pooled = pool_draws(draws)
    assert pooled["n"] == 500 and pooled["draws"] == 2
    assert pooled["fd_ratio"] == pytest.approx(3.0) and pooled["fd_ratio_sd"] == pytest.approx(2**0.5)
    assert pooled["precision_sd"] == pytest.approx(0.05 * 2**0.5)
    assert pooled["class_share"] == pytest.approx([0.45, 0.55]) and pooled["digit_accuracy"] == [0.75, None]
    assert pool_draws(draws[:1]) == draws[0]  # one draw: its scores, no spread
    with pytest.raises(GanMnistError, match="no draws"):
        pool_draws([])


def test_beats_on_pooled_draws_needs_a_gap_beyond_their_noise():
    base = {c: 1.0 for c in columns(("fd_ratio",))} | {c: 0.8 for c in columns(("precision", "recall"))}
    better = {**base, **{c: 0.9 for c in columns(("fd_ratio",))}}
    # 4 draws each with sd 0.05: standard error of the difference 0.05 / 2 * sqrt(2) = 0.035, margin 0.071 < 0.1
    spread = {"draws": 4, **{f"{c}_sd": 0.05 for c in columns(("fd_ratio",))}}
    assert beats({**better, **spread}, {**base, **spread}) == (True, [])
    noisy = {"draws": 4, **{f"{c}_sd": 0.1 for c in columns(("fd_ratio",))}}  # margin 0.141 > 0.1
    verdict, reasons = beats({**better, **noisy}, {**base, **noisy})
    assert not verdict and len(reasons) == len(MEMBERS)
    assert reasons[0] == f"fd_ratio 0.9 is not below 1 by more than the noise ({NOISE_Z * 0.1 / 2 * 2**0.5:.2g})"


def test_baseline_of_finds_a_run_however_its_path_is_spelled_and_refuses_one_not_compared(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runs = ["runs/a", "runs/b"]
    assert baseline_of(runs, None) is None
    assert baseline_of(runs, "./runs/b") == "runs/b"  # the row's name, as compare names it
    assert baseline_of(runs, tmp_path / "runs" / "a") == "runs/a"
    with pytest.raises(GanMnistError, match="--against runs/c is not one of the runs compared"):
        baseline_of(runs, "runs/c")
