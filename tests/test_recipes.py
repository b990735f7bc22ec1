"""Recipes: losses and penalties at known values, spectral norm, EMA, and every table entry training a few steps."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from gan_mnist import TrainConfig, build_gan, build_models, is_conditional, make_dataset
from gan_mnist.ema import ema_beta, make_ema_copy, update_ema
from gan_mnist.errors import GanMnistError
from gan_mnist.penalties import combined, gradient_penalty, interpolate, r1, r2
from gan_mnist.recipes import ARCHITECTURES, LOSSES, PENALTIES, penalty_names, resolve
from gan_mnist.spectral import SpectralConv2D, SpectralDense

REAL = np.array([[2.0], [-1.0], [0.5]], "float32")
FAKE = np.array([[-3.0], [0.0], [1.5]], "float32")


def _softplus(x):
    return np.log1p(np.exp(x))


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


# (d loss, g loss) at REAL / FAKE, written out by hand from each loss's formula
EXPECTED = {
    "ns": (np.mean(-np.log(_sigmoid(REAL))) + np.mean(-np.log(1 - _sigmoid(FAKE))), np.mean(-np.log(_sigmoid(FAKE)))),
    "hinge": ((0 + 2 + 0.5) / 3 + (0 + 1 + 2.5) / 3, -np.mean(FAKE)),
    "lsgan": (0.5 * (np.mean((REAL - 1) ** 2) + np.mean(FAKE**2)), 0.5 * np.mean((FAKE - 1) ** 2)),
    "wgan": (np.mean(FAKE) - np.mean(REAL), -np.mean(FAKE)),
    "rpgan": (np.mean(_softplus(FAKE - REAL)), np.mean(_softplus(REAL - FAKE))),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_every_loss_at_known_logits(name):
    assert name in EXPECTED, f"add the known values of the new loss {name!r} to EXPECTED"
    loss = LOSSES[name]
    want_d, want_g = EXPECTED[name]
    assert float(resolve(loss.d)(REAL, FAKE)) == pytest.approx(want_d, rel=1e-5)
    assert float(resolve(loss.g)(REAL, FAKE)) == pytest.approx(want_g, rel=1e-5)


def test_values_at_zero_logits_quoted_in_the_docstrings():
    zeros = np.zeros((4, 1), "float32")
    at_zero = {name: (float(resolve(loss.d)(zeros, zeros)), float(resolve(loss.g)(zeros, zeros)))
               for name, loss in LOSSES.items()}
    assert at_zero["ns"] == pytest.approx((2 * math.log(2), math.log(2)))
    assert at_zero["hinge"] == pytest.approx((2.0, 0.0)) and at_zero["lsgan"] == pytest.approx((0.5, 0.5))
    assert at_zero["rpgan"] == pytest.approx((math.log(2), math.log(2)))
    # stable at extreme logits: a confident, correct D has a tiny NS loss and G a large one, without overflow
    big = np.full((2, 1), 50.0, "float32")
    assert float(resolve(LOSSES["ns"].d)(big, -big)) < 1e-6
    assert float(resolve(LOSSES["ns"].g)(big, -big)) == pytest.approx(50.0, rel=1e-4)
    assert float(resolve(LOSSES["rpgan"].g)(big, -big)) == pytest.approx(100.0, rel=1e-4)


def _linear_critic(w, b=0.3):
    # D(x) = <w, x> + b per image: grad_x D = w everywhere, |grad D|^2 = |w|^2
    w = tf.constant(w.reshape(1, 28, 28, 1), "float32")
    return lambda x: tf.reduce_sum(x * w, axis=(1, 2, 3))[:, None] + b


def test_penalties_on_a_linear_critic_match_the_closed_form():
    rng = np.random.default_rng(0)
    w = rng.normal(size=784).astype("float32") * 0.1
    real, fake = rng.uniform(-1, 1, (2, 6, 28, 28, 1)).astype("float32")
    norm2 = float(np.sum(w.astype(np.float64) ** 2))
    critic = _linear_critic(w)
    assert float(r1(critic, real, fake)) == pytest.approx(0.5 * norm2, rel=1e-5)
    assert float(r2(critic, real, fake)) == pytest.approx(0.5 * norm2, rel=1e-5)
    seed = keras.random.SeedGenerator(1)
    assert float(gradient_penalty(critic, real, fake, seed)) == pytest.approx((math.sqrt(norm2) - 1) ** 2, rel=1e-5)
    assert set(PENALTIES) == {"r1", "r2", "gp"}, "a new penalty needs its closed-form check here"


def test_penalties_combine_as_their_sum_with_one_weight(small_images):
    # D(x) = sum(x^2) / 2: R1 + R2 = (E|x_real|^2 + E|x_fake|^2) / 2
    critic = lambda x: 0.5 * tf.reduce_sum(x**2, axis=(1, 2, 3))[:, None]  # noqa: E731
    real, fake = np.full((3, 28, 28, 1), 0.5, "float32"), np.full((3, 28, 28, 1), 0.1, "float32")
    assert float(combined([r1, r2])(critic, real, fake)) == pytest.approx(0.5 * 784 * (0.25 + 0.01), rel=1e-5)
    assert combined([r1]) is r1
    # the config names them together, shares one weight (their common default) and the GAN sums them
    config = TrainConfig(model="resize", penalty="r1, r2", penalty_every=1, width=0.25, batch_size=8)
    assert (config.penalty, config.gamma, config.recipe) == ("r1,r2", 0.05, "resize ns r1+r2(0.05) ema10k")
    gan = build_gan(config)
    d = lambda x: gan.discriminator(x, training=False)  # noqa: E731
    assert float(gan.penalty_fn(d, small_images[:8], small_images[8:16])) == pytest.approx(
        float(r1(d, small_images[:8], None)) + float(r2(d, None, small_images[8:16])), rel=1e-5)


def test_r1_sees_reals_r2_sees_fakes():
    # D(x) = sum(x^2) / 2: grad = x, so R1 = E|x_real|^2 / 2 and R2 = E|x_fake|^2 / 2
    critic = lambda x: 0.5 * tf.reduce_sum(x**2, axis=(1, 2, 3))[:, None]  # noqa: E731
    real, fake = np.full((3, 28, 28, 1), 0.5, "float32"), np.full((3, 28, 28, 1), 0.1, "float32")
    assert float(r1(critic, real, fake)) == pytest.approx(0.5 * 784 * 0.25, rel=1e-5)
    assert float(r2(critic, real, fake)) == pytest.approx(0.5 * 784 * 0.01, rel=1e-5)


def test_gradient_penalty_draws_one_weight_per_sample():
    real, fake = np.ones((64, 28, 28, 1), "float32"), np.zeros((64, 28, 28, 1), "float32")
    mixed = np.asarray(interpolate(real, fake, keras.random.SeedGenerator(0)))
    eps = mixed[:, 0, 0, 0]
    assert np.allclose(mixed, eps[:, None, None, None])  # one weight per image, the same over its pixels
    assert eps.min() >= 0 and eps.max() <= 1 and np.std(eps) > 0.2  # U[0, 1] has std 0.29; one per batch has 0


def _top_singular_value(matrix):
    return float(np.linalg.svd(matrix.astype(np.float64), compute_uv=False)[0])


def _with_spectral_gap(shape, seed=0):
    """A kernel of `shape` whose matrix view has singular values 4, 2, 1, ...: power iteration converges fast."""
    rng = np.random.default_rng(seed)
    rows, cols = int(np.prod(shape[:-1])), shape[-1]
    u, _ = np.linalg.qr(rng.normal(size=(rows, rows)))
    v, _ = np.linalg.qr(rng.normal(size=(cols, cols)))
    values = 4.0 / 2.0 ** np.arange(min(rows, cols))
    return (u[:, : len(values)] * values @ v[: len(values)]).reshape(shape).astype("float32")


def test_spectral_dense_divides_by_the_top_singular_value_and_keeps_its_kernel():
    layer = SpectralDense(5)
    x = np.random.default_rng(0).normal(size=(4, 7)).astype("float32")
    layer(x)
    layer.kernel.assign(_with_spectral_gap((7, 5)))
    kernel = np.asarray(layer.kernel).copy()
    for _ in range(30):  # power iterations converge
        layer(x, training=True)
    np.testing.assert_array_equal(np.asarray(layer.kernel), kernel)  # W stays the trained variable
    sigma = _top_singular_value(kernel)
    want = x @ (kernel / sigma) + np.asarray(layer.bias)
    np.testing.assert_allclose(np.asarray(layer(x, training=False)), want, rtol=1e-4, atol=1e-5)
    assert _top_singular_value(np.asarray(layer.normalized_kernel(False))) == pytest.approx(1.0, rel=1e-4)
    u = np.asarray(layer.sn_u).copy()
    layer(x, training=False)
    np.testing.assert_array_equal(np.asarray(layer.sn_u), u)  # inference does not iterate


def test_spectral_norm_gradient_flows_through_sigma():
    # d(W/sigma)/dW has a term from sigma(W); dropping it (as writing W/sigma into the kernel does) changes it
    layer = SpectralDense(3, use_bias=False)
    x = tf.constant(np.random.default_rng(1).normal(size=(8, 4)), "float32")
    layer(x)
    layer.kernel.assign(_with_spectral_gap((4, 3), seed=1))
    for _ in range(30):
        layer(x, training=True)
    with tf.GradientTape() as tape:
        out = tf.reduce_sum(layer(x, training=False) ** 2)
    grad = np.asarray(tape.gradient(out, layer.kernel))
    w = np.asarray(layer.kernel)
    sigma = _top_singular_value(w)
    without_sigma_term = 2 * x.numpy().T @ (x.numpy() @ (w / sigma)) / sigma
    assert not np.allclose(grad, without_sigma_term, rtol=1e-3)
    # the full derivative: numerically, by finite differences of the loss in W
    eps, i, j = 1e-3, 1, 2
    def loss_at(w_):  # noqa: E306
        return float(np.sum((x.numpy() @ (w_ / _top_singular_value(w_))) ** 2))
    bumped = w.copy().astype(np.float64)
    bumped[i, j] += eps
    assert grad[i, j] == pytest.approx((loss_at(bumped) - loss_at(w.astype(np.float64))) / eps, rel=2e-2)


def test_spectral_conv_views_the_kernel_as_a_matrix():
    layer = SpectralConv2D(4, 3, padding="same")
    x = np.random.default_rng(0).normal(size=(2, 6, 6, 2)).astype("float32")
    layer(x)
    layer.kernel.assign(_with_spectral_gap((3, 3, 2, 4)))
    for _ in range(30):
        layer(x, training=True)
    kernel = np.asarray(layer.normalized_kernel(False))
    assert _top_singular_value(kernel.reshape(-1, 4)) == pytest.approx(1.0, rel=1e-4)


def test_ema_decay_and_ramp_up():
    # without ramp-up, a half-life of one batch halves the old weights' share every step
    assert float(ema_beta(100, 64, 64.0, None)) == pytest.approx(0.5)
    assert float(ema_beta(100, 64, 6400.0, None)) == pytest.approx(0.5 ** 0.01)
    # with it, the half-life is at most rampup x images seen: step 10 of 64 images -> 32 images -> beta 0.25
    assert float(ema_beta(10, 64, 6400.0, 0.05)) == pytest.approx(0.25)
    assert float(ema_beta(10_000, 64, 6400.0, 0.05)) == pytest.approx(0.5 ** 0.01)


def test_update_ema_averages_weights_and_copies_statistics():
    build = lambda: keras.Sequential([keras.Input((3,)), keras.layers.Dense(2), keras.layers.BatchNormalization()])  # noqa: E731
    model = build()
    ema = make_ema_copy(model, build)
    old = [np.asarray(v).copy() for v in ema.weights]
    for v in model.weights:
        v.assign(np.asarray(v) + 1.0)
    update_ema(ema, model, 0.75)
    for e, w, before in zip(ema.weights, model.weights, old, strict=True):
        want = 0.75 * before + 0.25 * np.asarray(w) if w.trainable else np.asarray(w)
        np.testing.assert_allclose(np.asarray(e), want, rtol=1e-6, err_msg=e.path)
    assert not ema.trainable_weights  # never touched by an optimizer


def _recipes_covering_every_entry():
    """Few enough configs that every architecture, loss and penalty appears in at least one, and spectral norm,
    lazy penalties, n_critic > 1, bfloat16 and EMA each at least once. Grows with the tables by itself."""
    archs, losses, penalties = list(ARCHITECTURES), list(LOSSES), [None, *PENALTIES, "r1,r2"]
    configs = []
    for i in range(max(len(archs), len(losses), len(penalties))):
        loss, penalty = losses[i % len(losses)], penalties[i % len(penalties)]
        spectral = i % 2 == 1 or (LOSSES[loss].lipschitz and "gp" not in penalty_names(penalty))
        configs.append(TrainConfig(model=archs[i % len(archs)], loss=loss, penalty=penalty, spectral_norm=spectral,
                                   penalty_every=2 if penalty and i % 3 == 0 else 1, n_critic=2 if i % 4 == 3 else 1,
                                   mixed_precision=i % 3 == 2, ema_kimg=0.1 if i % 2 == 0 else 0.0,
                                   batch_size=32, width=0.25, latent_dim=16, seed=i))
    return configs


@pytest.mark.parametrize("config", _recipes_covering_every_entry(), ids=lambda c: c.recipe.replace(" ", "-"))
def test_every_recipe_trains_both_networks(config, small_images, small_labels):
    gan = build_gan(config)
    kernels = lambda m: [w for w in m.trainable_weights if len(w.shape) >= 2]  # noqa: E731
    g0, d0 = ([np.asarray(w).copy() for w in kernels(m)] for m in (gan.generator, gan.discriminator))
    s0 = [np.asarray(w).copy() for w in gan.ema_generator.weights] if config.ema_kimg else []
    # conditional networks train on labels, or (self-conditioned, here without a clustering) on stand-ins for clusters
    labels = small_labels[:128] % (config.clusters or 10) if ARCHITECTURES[config.model].conditional else None
    history = gan.fit(make_dataset(small_images[:128], 32, labels=labels), epochs=1, verbose=0, shuffle=False)
    # every kernel moves (biases may not: hinge, WGAN and RpGAN do not depend on a constant shift of D's output)
    assert all(not np.allclose(a, b) for a, b in zip(g0, kernels(gan.generator), strict=True))
    assert all(not np.allclose(a, b) for a, b in zip(d0, kernels(gan.discriminator), strict=True))
    # 4 batches: n_critic discriminator steps and one generator step each
    assert int(gan.d_optimizer.iterations) == 4 * config.n_critic and int(gan.g_optimizer.iterations) == 4
    if config.ema_kimg:  # the EMA generator follows the trained one, and is the one drawn from
        assert gan.sampler is gan.ema_generator or config.clusters  # (self-conditioned: through cluster_sampler)
        assert all(not np.allclose(a, np.asarray(b)) for a, b in zip(s0, gan.ema_generator.weights, strict=True))
    assert all(np.isfinite(v[0]) for v in history.history.values()), history.history
    assert ("d_penalty" in history.history) == (config.penalty is not None)
    assert is_conditional(gan.generator) == ARCHITECTURES[config.model].conditional


def test_lazy_penalty_is_applied_every_k_steps_and_weighted_k():
    critic_calls = []

    def counting_r1(critic, real, fake, seed=None):
        critic_calls.append(1)
        return r1(critic, real, fake, seed)

    config = TrainConfig(model="resize", penalty="r1", gamma=1.0, penalty_every=3, width=0.25, batch_size=8)
    gan = build_gan(config)
    gan.penalty_fn = counting_r1
    real = tf.constant(np.random.default_rng(0).uniform(-1, 1, (8, 28, 28, 1)), "float32")
    first = float(r1(lambda x: gan.discriminator(x, training=False), real, real))
    seen = []
    for _ in range(4):  # eager steps; the tracker is reset so each value is that step's
        gan.trackers["d_penalty"].reset_state()
        seen.append(float(gan.train_step(real)["d_penalty"]))
    # the penalty runs on critic steps 0 and 3 only, and where it runs it carries k = 3 times its value
    assert len(critic_calls) == 2 and [v > 0 for v in seen] == [True, False, False, True]
    assert seen[0] == pytest.approx(3 * first, rel=1e-4)


@pytest.mark.parametrize("changes, message", [
    ({"loss": "wgan"}, "needs a Lipschitz critic"),
    ({"penalty": None, "gamma": 5.0}, "gamma weighs the gradient penalty"),
    ({"penalty": "r1", "gamma": 0.0}, "gamma must be > 0"),
    ({"n_critic": 3, "batch_size": 64}, "must split into n_critic=3"),
    ({"n_critic": 0}, "n_critic must be a positive integer"),
    ({"loss": "nope"}, "unknown loss"),
    ({"penalty": "r3"}, "unknown penalty"),
    ({"penalty": "r1,r3"}, "unknown penalty"),
    ({"penalty": "r1,r1"}, "names a penalty twice"),
    ({"penalty": "r1,gp"}, r"different default weights \(r1 0.05, gp 10\)"),
    ({"ema_kimg": -1.0}, "ema_kimg must be >= 0"),
    ({"beta_2": 1.0}, "beta_2 must be in"),
    ({"clusters": 10}, "clusters \\(self-conditioning\\) needs a conditional model"),
    ({"model": "cgan", "clusters": 1}, "clusters must be 0 \\(off\\) or 2-1000, got 1"),
    ({"model": "self_cgan", "clusters": 0}, "model 'self_cgan' is self-conditioned: clusters must be 2 or more"),
    ({"model": "cgan", "clusters": 50, "limit": 20}, "clusters must be 0 \\(off\\) or 2-20, got 50"),
    ({"model": "cgan", "clusters": 10, "recluster_every": 0}, "recluster_every must be a positive integer"),
    ({"d_dropout": 1.0}, "d_dropout must be in \\[0, 1\\)"),
    ({"d_scale": 0.0}, "d_scale must be > 0"),
])
def test_unsupported_recipes_are_refused_clearly(changes, message):
    with pytest.raises(GanMnistError, match=message):
        TrainConfig(**changes)


def test_every_architecture_builds_named_models_with_the_stated_shapes():
    for name, arch in ARCHITECTURES.items():
        g, d = build_models(name, latent_dim=16, width=0.5)
        assert g.name.endswith("generator") and d.name.endswith("discriminator")
        z = np.random.default_rng(0).normal(size=(3, 16)).astype("float32")
        labels = np.array([0, 4, 9], "int32")
        images = np.asarray(g([z, labels] if arch.conditional else z))
        assert images.shape == (3, 28, 28, 1) and images.min() >= -1 and images.max() <= 1
        assert d([images, labels] if arch.conditional else images).shape == (3, 1)


def test_projection_discriminator_adds_an_inner_product_with_the_class_embedding():
    _, d = build_models("resize_proj", width=0.25)
    images = np.random.default_rng(0).uniform(-1, 1, (2, 28, 28, 1)).astype("float32")
    a = np.asarray(d([images, np.array([3, 3], "int32")]))
    embedding = d.get_layer("class_projection")
    table = np.asarray(embedding.embeddings)
    table[5] = table[3] + 1.0  # class 5's vector = class 3's + 1 in every feature: logit rises by sum(h)
    embedding.embeddings.assign(table)
    b = np.asarray(d([images, np.array([5, 5], "int32")]))
    features = keras.Model(d.inputs[0], d.get_layer("project").input[0])(images)
    np.testing.assert_allclose(b - a, np.sum(np.asarray(features), axis=1, keepdims=True), rtol=1e-4, atol=1e-4)


def test_discriminator_scale_and_dropout_follow_the_config():
    plain = build_gan(TrainConfig(model="conv", width=0.5, d_scale=1.0)).discriminator
    wide = build_gan(TrainConfig(model="conv", width=0.5, d_scale=2.0)).discriminator
    assert wide.get_layer(index=1).filters == 2 * plain.get_layer(index=1).filters  # 64 vs 32 filters
    dropouts = lambda d: [la.rate for la in d.layers if "dropout" in type(la).__name__.lower()]  # noqa: E731
    assert dropouts(plain) == [] and dropouts(build_gan(TrainConfig(model="cgan")).discriminator) == [0.3, 0.3]
    assert dropouts(build_gan(TrainConfig(model="cgan", d_dropout=0.0)).discriminator) == []
    # resize's discriminator is sized to its generator by default, no longer a tenth of it
    g, d = (m.count_params() for m in build_models("resize", width=0.5, d_scale=TrainConfig(model="resize").d_scale))
    assert 0.5 < d / g < 2, (g, d)


def test_conv_is_the_conditional_dcgan_without_labels():
    g, d = build_models("conv")
    cg, cd = build_models("cgan")
    assert not is_conditional(g) and len(d.inputs) == 1
    # the same networks less the label's embedding (G) and label plane (D)
    assert cg.count_params() - g.count_params() == 10 * 50 + 50 * 6272
    assert cd.count_params() - d.count_params() == 10 * 784 + 25 * 64


def test_resize_generator_upsamples_without_transposed_convolutions():
    g, _ = build_models("resize")
    kinds = {type(la).__name__ for la in g.layers}
    assert "UpSampling2D" in kinds and "Conv2DTranspose" not in kinds
    assert g.count_params() < 1_000_000


def test_the_ema_does_not_change_what_is_trained(small_images):
    # so an EMA run's raw generator is the same recipe's no-EMA run (the leaderboard's "(raw)" rows rely on it)
    runs = []
    for ema_kimg in (0.0, 1.0):
        gan = build_gan(TrainConfig(model="mlp", ema_kimg=ema_kimg, batch_size=32, width=0.25, seed=2))
        gan.fit(make_dataset(small_images[:96], 32, seed=2), epochs=1, verbose=0, shuffle=False)
        runs.append([np.asarray(w) for w in gan.generator.weights + gan.discriminator.weights])
    for a, b in zip(*runs, strict=True):
        np.testing.assert_array_equal(a, b)
