"""What the networks minimise (gan_mnist.objectives): every loss, penalty and the mode-seeking term at known values,
penalties combined, top-k."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from gan_mnist import TrainConfig
from gan_mnist.objectives.mode_seeking import EPSILON, mode_seeking_loss
from gan_mnist.objectives.penalties import combined, gradient_penalty, interpolate, r1, r2
from gan_mnist.objectives.top_k import DECAY, EPOCH_IMAGES, strongest, top_k_share
from gan_mnist.recipes import LOSSES, PENALTIES, resolve
from gan_mnist.run.training import build_gan

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


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_relative_losses_ignore_a_shift_of_every_logit(name):
    # `relative` in the loss table: D's loss is unchanged when every logit moves by the same amount (so its output
    # bias gets no gradient); every other loss changes
    d = resolve(LOSSES[name].d)
    shifted = float(d(REAL + 0.7, FAKE + 0.7))
    assert (shifted == pytest.approx(float(d(REAL, FAKE)), abs=1e-6)) == LOSSES[name].relative, shifted


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
    assert (config.penalty, config.gamma, config.summary) == ("r1,r2", 0.05, "resize ns r1+r2(0.05) ema10k")
    gan = build_gan(config)
    d = lambda x: gan.discriminator(x, training=False)  # noqa: E731
    assert float(gan.penalty_fn(d, small_images[:8], small_images[8:16])) == pytest.approx(
        float(r1(d, small_images[:8], None)) + float(r2(d, None, small_images[8:16])), rel=1e-5)


def test_gradient_penalty_draws_one_weight_per_sample():
    real, fake = np.ones((64, 28, 28, 1), "float32"), np.zeros((64, 28, 28, 1), "float32")
    mixed = np.asarray(interpolate(real, fake, keras.random.SeedGenerator(0)))
    eps = mixed[:, 0, 0, 0]
    assert np.allclose(mixed, eps[:, None, None, None])  # one weight per image, the same over its pixels
    assert eps.min() >= 0 and eps.max() <= 1 and np.std(eps) > 0.2  # U[0, 1] has std 0.29; one per batch has 0


def _flat(values, shape):
    # one constant array per value: image i is values[i] everywhere, so its L1 distances are |values[i] - values[j]|
    return np.stack([np.full(shape, v, "float32") for v in values])


FAKES = _flat((0.0, 0.5, 0.2, -0.5), (28, 28, 1))
NOISES = _flat((0.0, 1.0, 0.5, 3.0), (4,))


def test_mode_seeking_at_known_values():
    # labels 0 1 0 1: the pairs that share a label are fakes (0, 2) and (1, 3)
    ratio = (0.2 / 0.5 + 1.0 / 2.0) / 2
    assert float(mode_seeking_loss(FAKES, NOISES, np.array([0, 1, 0, 1]))) == pytest.approx(
        1 / (ratio + EPSILON), rel=1e-5)
    # without labels every pair of neighbours counts: (0, 1), (1, 2), (2, 3)
    ratio = (0.5 / 1.0 + 0.3 / 0.5 + 0.7 / 2.5) / 3
    assert float(mode_seeking_loss(FAKES, NOISES)) == pytest.approx(1 / (ratio + EPSILON), rel=1e-5)
    # no two fakes share a label: nothing to compare, no term
    assert float(mode_seeking_loss(FAKES, NOISES, np.arange(4))) == 0.0
    # one image for every noise: the largest value, and finite
    assert float(mode_seeking_loss(np.zeros_like(FAKES), NOISES)) == pytest.approx(1 / EPSILON)


def test_mode_seeking_pushes_fakes_of_one_label_apart_and_leaves_the_others():
    fakes = tf.constant(FAKES)
    with tf.GradientTape() as tape:
        tape.watch(fakes)
        loss = mode_seeking_loss(fakes, NOISES, np.array([0, 1, 0, 2]))  # one pair: fakes 0 and 2
    grads = tf.convert_to_tensor(tape.gradient(loss, fakes)).numpy().sum(axis=(1, 2, 3))
    # descending the gradient moves fake 0 (0.0) down and fake 2 (0.2) up: apart; fakes 1 and 3 have no partner
    assert grads[0] > 0 > grads[2] and grads[1] == grads[3] == 0


def test_top_k_share_falls_from_every_fake_to_its_floor():
    assert float(top_k_share(0, 0.5)) == 1.0
    assert float(top_k_share(3 * EPOCH_IMAGES, 0.5)) == pytest.approx(DECAY**3)
    assert float(top_k_share(30 * EPOCH_IMAGES, 0.5)) == pytest.approx(0.5)
    assert float(top_k_share(30 * EPOCH_IMAGES, 1.0)) == 1.0


def test_strongest_keeps_the_fakes_rated_most_real_with_their_pairs():
    real = np.arange(6, dtype="float32").reshape(6, 1)
    fake = np.array([[3], [1], [5], [0], [4], [2]], "float32")
    kept_real, kept_fake = strongest(real, fake, 0.5)
    np.testing.assert_array_equal(np.asarray(kept_fake).ravel(), [3, 5, 4])  # rows 0, 2, 4
    np.testing.assert_array_equal(np.asarray(kept_real).ravel(), [0, 2, 4])
    assert np.asarray(strongest(real, fake, 0.01)[1]).ravel().tolist() == [5]  # never fewer than one


def test_strongest_ranks_within_each_label():
    # label 0 holds the three lowest-rated fakes: it keeps its best, not nothing
    real = np.arange(6, dtype="float32").reshape(6, 1)
    fake = np.array([[3], [1], [5], [0], [4], [2]], "float32")
    labels = np.array([1, 0, 1, 0, 1, 0])
    kept_real, kept_fake = strongest(real, fake, 0.5, labels)  # one of each label's three
    np.testing.assert_array_equal(np.asarray(kept_fake).ravel(), [5, 2])  # rows 2 (label 1) and 5 (label 0)
    ties = np.zeros((4, 1), "float32")
    np.testing.assert_array_equal(np.asarray(strongest(real[:4], ties, 0.5, labels[:4])[0]).ravel(), [0, 1])
