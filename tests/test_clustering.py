"""Self-conditioning: k-means and purity at known values, clusterings that repeat per seed and keep their
identities, the unconditional sampler of a conditional generator, and a short self-conditioned run whose
discriminator's clusters agree with the true digits well above chance."""

import keras
import numpy as np
import pandas as pd
import pytest

from gan_mnist import TrainConfig, clustering, load_generator, train
from gan_mnist.clustering import (
    FEATURES,
    DiscriminatorFeatures,
    Spread,
    cluster_images,
    cluster_sampler,
    commonest,
    diffuse,
    feature_graph,
    kmeans,
    nearest,
    project,
    purity,
)
from gan_mnist.evaluation.report import compare_runs
from gan_mnist.networks import build_models, is_conditional


def blobs(seed=0, n=60):
    """Three tight 2-D blobs of n points around (0, 0), (10, 0), (0, 10): float64 (3n, 2), true blob (3n,)."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    truth = np.repeat(np.arange(3), n)
    return centres[truth] + rng.normal(scale=0.5, size=(3 * n, 2)), truth


def test_kmeans_finds_separated_blobs_and_repeats_per_seed():
    x, truth = blobs()
    labels = kmeans(x, 3, seed=1)
    assert labels.dtype == np.int32 and sorted(set(labels)) == [0, 1, 2]
    assert purity(labels, truth) == 1.0
    np.testing.assert_array_equal(labels, kmeans(x, 3, seed=1))


def test_kmeans_started_from_labels_keeps_each_clusters_identity():
    x, truth = blobs()
    previous = (truth + 1) % 3  # some numbering of the same three groups
    moved = x + np.random.default_rng(5).normal(scale=0.2, size=x.shape)  # the features drift a little
    np.testing.assert_array_equal(kmeans(moved, 3, seed=7, init_labels=previous), previous)


def test_kmeans_never_leaves_a_cluster_empty():
    x = np.concatenate([np.zeros((50, 2)), np.ones((50, 2))])  # two distinct points, asked for four clusters
    labels = kmeans(x, 4, seed=0)
    assert sorted(set(labels)) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="k must be in"):
        kmeans(x, 0, seed=0)


def test_purity_at_known_values():
    truth = np.repeat(np.arange(10), 10)
    assert purity(truth, truth) == 1.0
    assert purity(np.zeros(100, np.int64), truth) == pytest.approx(0.1)  # one cluster: the largest class's share
    # two clusters, {0..4} and {5..9}: each cluster's best class is 10 of its 50
    assert purity((truth >= 5).astype(np.int64), truth) == pytest.approx(0.2)
    assert purity(np.array([0, 0, 1, 1]), np.array([3, 3, 3, 7])) == pytest.approx(0.75)


def test_projection_keeps_the_principal_directions_in_unit_rows():
    rng = np.random.default_rng(0)
    # 300 features that vary along two directions only (plus a little noise): two components hold them
    directions = rng.normal(size=(2, 300))
    features = (rng.normal(size=(50, 2)) @ directions + 0.01 * rng.normal(size=(50, 300))).astype(np.float32)
    a = project(features, 1, dim=2)
    assert a.shape == (50, 2) and a.dtype == np.float64
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0)
    np.testing.assert_array_equal(a, project(features, 1, dim=2))
    # fewer rows than PCA_ROWS: the components are those of all rows, so a is the centred features' coordinates
    # along the two generating directions (up to each component's sign), scaled to unit rows
    centred = features.astype(np.float64) - features.mean(0)
    basis, _ = np.linalg.qr(directions.T)  # (300, 2): an orthonormal basis of the two directions
    expected = centred @ basis
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    # the same plane, so the same angles between rows (a rotation or reflection of the plane changes none)
    np.testing.assert_allclose(a @ a.T, expected @ expected.T, atol=1e-3)


def test_one_pass_of_the_discriminator_projects_as_all_its_features_do(small_images, monkeypatch):
    monkeypatch.setattr(clustering, "PCA_ROWS", 100)  # the other 156 images are projected in the graph
    monkeypatch.setattr(clustering, "FEATURE_BATCH", 64)  # several calls, the last one short
    _, d = build_models("resize_proj", width=0.25, num_classes=10)
    features = DiscriminatorFeatures(d)
    everything = features(small_images)
    eager = keras.Model(d.inputs, d.get_layer(FEATURES).output)([small_images, np.zeros(256, np.int32)])
    assert everything.shape == (256, np.prod(eager.shape[1:])) and everything.dtype == np.float32
    np.testing.assert_allclose(everything, np.reshape(eager, (256, -1)), rtol=1e-5, atol=1e-6)
    x = features.projected(small_images, seed=2, dim=4)
    assert x.shape == (256, 4) and x.dtype == np.float64
    np.testing.assert_allclose(x, project(everything, 2, dim=4), atol=1e-5)


def test_clustering_real_digits_repeats_per_seed(small_images):
    _, d = build_models("cgan", width=0.25, num_classes=10)
    first = cluster_images(d, small_images, 10, seed=3)
    np.testing.assert_array_equal(first, cluster_images(d, small_images, 10, seed=3))
    assert not np.array_equal(first, cluster_images(d, small_images, 10, seed=4))


@pytest.mark.parametrize("model", ["cgan", "resize_proj"])
def test_cluster_sampler_draws_clusters_in_their_shares_through_the_conditional_generator(model):
    keras.utils.set_random_seed(0)
    generator, _ = build_models(model, latent_dim=8, width=0.25, num_classes=3)
    shares = np.array([0.6, 0.3, 0.1])
    sampler = cluster_sampler(generator, shares)
    assert not is_conditional(sampler) and sampler.inputs[0].shape[-1] == 9
    noise = np.random.default_rng(1).normal(size=(4000, 9)).astype(np.float32)
    # the last coordinate picks by inverse CDF: boundaries at the standard normal's 60 % and 90 % quantiles
    picks = np.searchsorted([0.2533471, 1.2815516], noise[:, 8])
    np.testing.assert_allclose(np.bincount(picks) / len(picks), shares, atol=0.03)
    drawn = np.asarray(sampler(noise[:64], training=False))
    direct = np.asarray(generator([noise[:64, :8], picks[:64].astype(np.int32)], training=False))
    np.testing.assert_allclose(drawn, direct, atol=1e-5)
    with pytest.raises(ValueError, match="2 cluster shares for a generator of 3 classes"):
        cluster_sampler(generator, np.array([0.5, 0.5]))


@pytest.mark.slow
def test_a_self_conditioned_run_clusters_digits_well_above_chance_and_draws_unconditionally(tmp_path, mnist_path):
    config = TrainConfig(model="cgan", clusters=10, recluster_every=2, epochs=4, limit=1024, batch_size=64,
                         width=0.5, grid_size=3, seed=1)
    result = train(config, tmp_path / "run", data_path=mnist_path, verbose=0)
    history = pd.read_csv(tmp_path / "run" / "history.csv")
    # clustered before epochs 1 and 3: the purity is recorded in those rows only
    assert history["cluster_purity"].notna().tolist() == [True, False, True, False]
    # the run's bookkeeping starts an epoch's clock before it clusters: budgets and tune's trials see that time
    clustered = history.dropna(subset=["cluster_s"])
    assert len(clustered) == 2 and (clustered["seconds"] > clustered["cluster_s"]).all()
    np.testing.assert_allclose(history["wall_s"], history["seconds"].cumsum())
    truth = np.load(mnist_path)["y_train"][:1024].astype(np.int64)
    chance = np.mean([purity(np.random.default_rng(s).integers(0, 10, 1024), truth) for s in range(20)])
    labels = result.gan.clusters.labels.numpy()
    assert purity(labels, truth) == history["cluster_purity"].iloc[2]
    assert purity(labels, truth) > 2 * chance, (purity(labels, truth), chance)  # chance is about 0.15 here
    assert len(set(labels)) == 10
    # the shipped generator draws unconditionally, clusters in their data shares
    generator = load_generator(tmp_path / "run")
    assert not is_conditional(generator) and generator.inputs[0].shape[-1] == config.latent_dim + 1
    np.testing.assert_array_equal(generator(np.zeros((2, 101), np.float32)).shape, (2, 28, 28, 1))
    # compare scores the EMA generator and (--raw) the raw one, both drawn through their clusters
    table = compare_runs([tmp_path / "run"], n=300, data_path=mnist_path, raw=True)
    assert len(table) == 3 and table["clusters"].iloc[:2].tolist() == [10, 10]
    assert table["fd"].iloc[:2].notna().all() and table["conditional_accuracy"].iloc[:2].isna().all()


def test_nearest_finds_the_closest_rows_nearest_first_and_can_skip_each_row_itself():
    points = np.array([[0.0], [1.0], [3.0], [7.0]])
    np.testing.assert_array_equal(nearest(np.array([[0.9], [6.0]]), points, 2), [[1, 0], [3, 2]])
    np.testing.assert_array_equal(nearest(points, points, 1, exclude_self=True), [[1], [0], [1], [2]])
    # near-identical rows far from the origin keep their order (float64: float32 would cancel them to ties)
    far = np.array([[1e4], [1e4 + 1e-3], [1e4 + 3e-3]])
    np.testing.assert_array_equal(nearest(far[2:], far, 3), [[2, 1, 0]])
    # duplicates tie with the row itself, and three of them put two others before it: ties go to the lower index
    twins = np.array([[0.0], [0.0], [0.0], [5.0]])
    np.testing.assert_array_equal(nearest(twins, twins, 2, exclude_self=True), [[1, 2], [0, 2], [0, 1], [0, 1]])
    # a row's result does not depend on the chunk it was computed in
    rows = np.random.default_rng(0).normal(size=(50, 3))
    np.testing.assert_array_equal(nearest(rows, rows, 4, True, chunk=7), nearest(rows, rows, 4, True, chunk=50))


def test_nearest_is_exact_beyond_its_float32_shortlist():
    # more points than the shortlist's blocks cover, far from the origin: float32 closeness alone would tie them all
    line = 1e4 + 1e-2 * np.arange(3000.0)[:, None]
    np.testing.assert_array_equal(nearest(np.array([[1e4], [1e4 + 15.004]]), line, 3), [[0, 1, 2], [1500, 1501, 1499]])
    rng = np.random.default_rng(1)
    points, queries = rng.normal(size=(3000, 8)), rng.normal(size=(40, 8))
    d2 = ((queries[:, None] - points[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(nearest(queries, points, 5), np.argsort(d2, 1)[:, :5])
    with pytest.raises(ValueError, match="the 3 nearest of 3 points other than each row itself"):
        nearest(points[:3], points[:3], 3, exclude_self=True)


def test_the_feature_graph_links_each_row_to_its_nearest_others():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 32))
    x /= np.linalg.norm(x, axis=1, keepdims=True)  # unit rows, as `project` makes them
    graph = feature_graph(x)
    assert graph.shape == (300, 10) and not (graph == np.arange(300)[:, None]).any()
    d2 = ((x[:, None] - x[None]) ** 2).sum(-1) + np.diag(np.full(300, np.inf))
    np.testing.assert_array_equal(np.sort(graph, 1), np.sort(np.argsort(d2, 1)[:, :10], 1))
    assert feature_graph(x[:4]).shape == (4, 3)  # fewer rows than neighbours: every other row


def test_diffusion_pulls_each_densely_linked_group_together_and_keeps_unit_rows():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 5))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    # two groups of four, each row linked to the other three of its group: no link between the groups
    graph = np.array([[j for j in range(4 * (i // 4), 4 * (i // 4) + 4) if j != i] for i in range(8)])
    smooth = diffuse(x, graph, steps=40)
    np.testing.assert_allclose(np.linalg.norm(smooth, axis=1), 1.0)
    np.testing.assert_allclose(smooth[:4], np.repeat(smooth[:1], 4, 0), atol=1e-9)  # one point per group
    np.testing.assert_allclose(smooth[4:], np.repeat(smooth[4:5], 4, 0), atol=1e-9)
    assert abs(smooth[0] @ smooth[4]) < 0.999  # and the two groups stay apart
    np.testing.assert_array_equal(diffuse(x, graph, steps=0), x)


def test_commonest_label_among_neighbours_at_known_values():
    labels = np.array([0, 1, 1, 2])
    neighbours = np.array([[0, 1, 2], [3, 3, 0], [0, 3, 1]])  # votes {0, 1, 1}, {2, 2, 0}, {0, 2, 1}: a tie
    np.testing.assert_array_equal(commonest(labels, neighbours, 3), [1, 2, 0])


def test_images_that_are_not_anchors_take_their_nearest_anchors_cluster():
    rng = np.random.default_rng(0)
    kinds = rng.integers(0, 3, 600)
    # three kinds of image (a bright stripe in rows 0-8, 9-17 or 18-27) under a little noise
    images = 0.05 * rng.normal(size=(600, 28, 28, 1)).astype(np.float32)
    for kind in range(3):
        images[kinds == kind, 9 * kind : 9 * kind + 9] += 1.0
    spread = Spread(images, seed=0, count=90)
    assert len(spread.rows) == 90 and np.all(np.diff(spread.rows) > 0) and spread.neighbours.shape == (510, 10)
    anchor_labels = (kinds[spread.rows] + 1) % 3  # the anchors clustered by kind, under another numbering
    labels = spread.labels(anchor_labels, 3)
    np.testing.assert_array_equal(labels, (kinds + 1) % 3)
    np.testing.assert_array_equal(labels[spread.rows], anchor_labels)
    # a few images: all of them are anchors, and keep their own clusters
    whole = Spread(images[:50], seed=0)
    np.testing.assert_array_equal(whole.rows, np.arange(50))
    np.testing.assert_array_equal(whole.labels(kinds[:50], 3), kinds[:50])
