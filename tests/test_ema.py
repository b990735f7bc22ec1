"""The generator weight average (gan_mnist.ema): decay and ramp-up, the average itself, and that it changes
nothing that is trained."""


import keras
import numpy as np
import pytest

from gan_mnist import TrainConfig
from gan_mnist.ema import ema_beta, make_ema_copy, update_ema
from gan_mnist.run.data import make_dataset
from gan_mnist.run.training import build_gan


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


def test_the_ema_does_not_change_what_is_trained(small_images):
    # so an EMA run's raw generator is the same recipe's no-EMA run (the leaderboard's "(raw)" rows rely on it)
    runs = []
    for ema_kimg in (0.0, 1.0):
        gan = build_gan(TrainConfig(model="mlp", ema_kimg=ema_kimg, batch_size=32, width=0.25, seed=2))
        gan.fit(make_dataset(small_images[:96], 32, seed=2), epochs=1, verbose=0, shuffle=False)
        runs.append([np.asarray(w) for w in gan.generator.weights + gan.discriminator.weights])
    for a, b in zip(*runs, strict=True):
        np.testing.assert_array_equal(a, b)
