"""The recipe tables (gan_mnist.recipes): every entry names code that exists, and every one trains a few steps and
moves both networks."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from gan_mnist import TrainConfig
from gan_mnist.networks import is_conditional
from gan_mnist.objectives.penalties import r1, r2
from gan_mnist.recipes import ARCHITECTURES, LOSSES, PENALTIES, penalty_names, resolve
from gan_mnist.run.data import make_dataset
from gan_mnist.run.training import build_gan
from tests.conftest import runs_here


def test_r1_sees_reals_r2_sees_fakes():
    # D(x) = sum(x^2) / 2: grad = x, so R1 = E|x_real|^2 / 2 and R2 = E|x_fake|^2 / 2
    critic = lambda x: 0.5 * tf.reduce_sum(x**2, axis=(1, 2, 3))[:, None]  # noqa: E731
    real, fake = np.full((3, 28, 28, 1), 0.5, "float32"), np.full((3, 28, 28, 1), 0.1, "float32")
    assert float(r1(critic, real, fake)) == pytest.approx(0.5 * 784 * 0.25, rel=1e-5)
    assert float(r2(critic, real, fake)) == pytest.approx(0.5 * 784 * 0.01, rel=1e-5)


@pytest.mark.parametrize("change, message", [
    ({"defaults": {"loss": "ns"}}, "defaults set exactly"),
    ({"penalty_every": 16, "defaults": {**ARCHITECTURES["dcgan"].defaults, "penalty": "gp"}}, "may run lazily"),
    ({"penalty_every": 16, "defaults": {**ARCHITECTURES["dcgan"].defaults, "penalty": "none"}}, "may run lazily"),
    ({"conditional": True, "search": {}}, "self-conditions"),
])
def test_an_architecture_row_that_contradicts_the_tables_is_refused(change, message):
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(ARCHITECTURES["conv"], **change)


def _recipes_covering_every_entry():
    """Few enough configs that every architecture, loss and penalty appears in at least one, and spectral norm,
    lazy penalties, n_critic > 1, float16, bfloat16 (where this machine trains in it) and EMA each at least once.
    Grows with the tables by itself."""
    archs, losses, penalties = list(ARCHITECTURES), list(LOSSES), [None, *PENALTIES, "r1,r2"]
    configs = []
    for i in range(max(len(archs), len(losses), len(penalties))):
        loss, penalty = losses[i % len(losses)], penalties[i % len(penalties)]
        spectral = i % 2 == 1 or (LOSSES[loss].lipschitz and "gp" not in penalty_names(penalty))
        configs.append(TrainConfig(model=archs[i % len(archs)], loss=loss, penalty=penalty, spectral_norm=spectral,
                                   penalty_every=2 if penalty and i % 3 == 0 else 1, n_critic=2 if i % 4 == 3 else 1,
                                   mixed_precision=("off", "fp16", "bf16" if runs_here("bf16") else "off")[i % 3],
                                   ema_kimg=0.1 if i % 2 == 0 else 0.0,
                                   batch_size=32, width=0.25, latent_dim=16, seed=i))
    return configs


@pytest.mark.parametrize("config", _recipes_covering_every_entry(), ids=lambda c: c.summary.replace(" ", "-"))
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
    assert ("d_penalty" in history.history) == (config.penalty != "none")
    assert is_conditional(gan.generator) == ARCHITECTURES[config.model].conditional


@pytest.mark.parametrize("path", [*(p for a in ARCHITECTURES.values() for p in (a.generator, a.discriminator)),
                                  *(p for loss in LOSSES.values() for p in (loss.d, loss.g)),
                                  *(p.fn for p in PENALTIES.values())])
def test_every_table_entry_names_a_function(path):
    assert callable(resolve(path)), path
