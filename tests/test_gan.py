"""The training step (gan_mnist.gan): both networks move, short batches, noise from the seed, the lazy penalty, the
mode-seeking term, top-k."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from gan_mnist import TrainConfig
from gan_mnist.objectives.losses import discriminator_loss
from gan_mnist.objectives.penalties import r1
from gan_mnist.recipes import LOSSES
from gan_mnist.run.data import make_dataset
from gan_mnist.run.training import build_gan


def _weights(model):
    return [w.numpy().copy() for w in model.trainable_weights]


def _changed(before, model):
    return [not np.allclose(a, b.numpy()) for a, b in zip(before, model.trainable_weights, strict=True)]


@pytest.mark.parametrize("model", ["dcgan", "mlp", "cgan"])
def test_fit_updates_both_networks(small_images, small_labels, model):
    # under Keras 3 the `discriminator.trainable = False` pattern leaves D untrained; ours must move both
    config = TrainConfig(model=model, batch_size=32)
    gan = build_gan(config)
    g0, d0 = _weights(gan.generator), _weights(gan.discriminator)
    labels = small_labels[:96] if gan.conditional else None
    history = gan.fit(make_dataset(small_images[:96], 32, labels=labels), epochs=1, verbose=0, shuffle=False)
    assert all(_changed(g0, gan.generator)), "every generator weight should move"
    moved = _changed(d0, gan.discriminator)
    if LOSSES[config.loss].relative:  # (cgan's rpgan) D's loss sees only D(x) - D(G(z)): the logit's bias cancels
        assert all(moved[:-1]) and not moved[-1], "every discriminator weight but the logit's bias should move"
    else:
        assert all(moved), "every discriminator weight should move"
    penalty = {"d_penalty"} if gan.penalty_fn else set()  # the default recipe has one (lazy R1)
    assert set(history.history) == {"d_loss", "g_loss", "d_real_acc", "d_fake_acc"} | penalty
    assert int(gan.g_optimizer.iterations) == 3 and int(gan.d_optimizer.iterations) == 3
    # accuracies are shares of the 96 images seen (weighted by images, not a mean of per-batch means)
    for key in ("d_real_acc", "d_fake_acc"):
        assert history.history[key][0] * 96 == pytest.approx(round(history.history[key][0] * 96), abs=1e-3)


def test_short_last_batch_meets_as_many_fakes(small_images):
    seen = []

    def recording_loss(real_logits, fake_logits):
        seen.append((int(real_logits.shape[0]), int(fake_logits.shape[0])))
        return discriminator_loss(real_logits, fake_logits)

    gan = build_gan(TrainConfig(model="mlp", batch_size=8))
    gan.compile(d_optimizer=keras.optimizers.Adam(1e-4), g_optimizer=keras.optimizers.Adam(1e-4),
                d_loss_fn=recording_loss)
    gan.train_step(tf.constant(small_images[:5]))  # eager call: shapes are concrete
    assert seen == [(5, 5)]


def test_discriminator_learns_to_separate_real_from_fake(small_images):
    # a few steps with a learning discriminator: its loss on this data must drop below chance (2 ln 2)
    gan = build_gan(TrainConfig(model="mlp", batch_size=64, d_learning_rate=1e-3))
    history = gan.fit(make_dataset(small_images, 64), epochs=3, verbose=0, shuffle=False)
    assert history.history["d_loss"][-1] < 2 * np.log(2)
    assert history.history["d_real_acc"][-1] > 0.9


def test_noise_comes_from_the_seed(small_images):
    a = build_gan(TrainConfig(model="mlp", seed=3))
    b = build_gan(TrainConfig(model="mlp", seed=3))
    for gan in (a, b):
        gan.fit(make_dataset(small_images[:64], 32, seed=3), epochs=1, verbose=0, shuffle=False)
    np.testing.assert_allclose(a.generator.trainable_weights[0].numpy(), b.generator.trainable_weights[0].numpy(),
                               rtol=1e-5, atol=1e-6)


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


def test_top_k_drops_fakes_from_the_generator_step_once_the_share_falls(small_images, small_labels):
    # two steps from one seed: the first keeps every fake (the share starts at 1), so both runs take the same step;
    # the second keeps 31 of 32, so the generators part while the share is logged
    histories, gans = [], []
    for share in (1.0, 0.5):
        gan = build_gan(TrainConfig(model="cgan", batch_size=32, top_k=share))
        data = make_dataset(small_images[:64], 32, labels=small_labels[:64])
        histories.append(gan.fit(data.take(1), epochs=1, verbose=0, shuffle=False).history)
        gans.append(gan)
    plain, top = gans
    assert "g_top_k" not in histories[0] and histories[1]["g_top_k"][0] == 1.0
    for a, b in zip(plain.generator.trainable_weights, top.generator.trainable_weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    second = [g.fit(make_dataset(small_images[32:64], 32, labels=small_labels[32:64]), epochs=1, verbose=0,
                    shuffle=False).history for g in gans]
    assert 0.99 < second[1]["g_top_k"][0] < 1.0
    assert any(not np.array_equal(a.numpy(), b.numpy())
               for a, b in zip(plain.generator.trainable_weights, top.generator.trainable_weights, strict=True))


def test_mode_seeking_changes_the_generator_step_only(small_images, small_labels):
    # one step from the same seed with and without the term: D's update is the same, G's is not, the term is logged
    histories, gans = [], []
    for weight in (0.0, 0.5):
        gan = build_gan(TrainConfig(model="cgan", batch_size=32, mode_seeking=weight))
        histories.append(gan.fit(make_dataset(small_images[:32], 32, labels=small_labels[:32]), epochs=1, verbose=0,
                                 shuffle=False).history)
        gans.append(gan)
    plain, seeking = gans
    for a, b in zip(plain.discriminator.trainable_weights, seeking.discriminator.trainable_weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert any(not np.array_equal(a.numpy(), b.numpy())
               for a, b in zip(plain.generator.trainable_weights, seeking.generator.trainable_weights, strict=True))
    assert "g_mode_seeking" not in histories[0] and histories[1]["g_mode_seeking"][0] > 0
    assert histories[1]["g_loss"][0] == pytest.approx(
        histories[0]["g_loss"][0] + 0.5 * histories[1]["g_mode_seeking"][0], rel=1e-5)
