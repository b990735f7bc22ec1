"""The fast layers compute what Keras's own layers compute: same outputs, statistics, gradients and drop rate."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers

from gan_mnist import build_models
from gan_mnist.layers import FastDropout, FusedBatchNormalization


@pytest.mark.parametrize("shape", [(64, 300), (32, 7, 7, 16)], ids=["dense", "conv"])
def test_fused_batch_norm_matches_keras(shape):
    x = tf.constant(np.random.default_rng(0).normal(2.0, 3.0, shape).astype("float32"))
    keras_bn, fused_bn = layers.BatchNormalization(momentum=0.8), FusedBatchNormalization(momentum=0.8)
    for layer in (keras_bn, fused_bn):
        layer.build(shape)
        layer.gamma.assign(np.linspace(0.5, 2.0, shape[-1]))
        layer.beta.assign(np.linspace(-1.0, 1.0, shape[-1]))
    grads = []
    for layer in (keras_bn, fused_bn):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(layer(x, training=True) * x)  # a loss whose gradient is not trivially zero
        grads.append(tape.gradient(loss, [x, layer.gamma, layer.beta]))
    np.testing.assert_allclose(fused_bn(x, training=True), keras_bn(x, training=True), atol=1e-5)
    # the moving statistics follow Keras's (biased) batch variance, not the kernel's unbiased one
    np.testing.assert_allclose(fused_bn.moving_mean, keras_bn.moving_mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fused_bn.moving_variance, keras_bn.moving_variance, rtol=1e-5)
    assert not np.allclose(keras_bn.moving_variance, 1.0), "the statistics must have moved"
    for keras_grad, fused_grad in zip(*grads, strict=True):
        np.testing.assert_allclose(fused_grad, keras_grad, rtol=1e-4, atol=1e-4 * float(tf.reduce_max(keras_grad)))
    # inference uses the moving statistics, exactly as Keras does
    np.testing.assert_allclose(fused_bn(x, training=False), keras_bn(x, training=False), atol=1e-5)


def test_fused_batch_norm_in_bfloat16():
    x = tf.constant(np.random.default_rng(1).normal(0.0, 1.0, (16, 7, 7, 8)).astype("float32"))
    layer = FusedBatchNormalization(dtype="mixed_bfloat16")
    y = layer(x, training=True)
    assert y.dtype == tf.bfloat16
    # normalised per channel: mean 0, std 1, to bfloat16 precision
    np.testing.assert_allclose(tf.reduce_mean(tf.cast(y, "float32"), axis=(0, 1, 2)), 0.0, atol=0.02)
    np.testing.assert_allclose(tf.math.reduce_std(tf.cast(y, "float32"), axis=(0, 1, 2)), 1.0, atol=0.02)


def test_fast_dropout_rate_scale_and_inference():
    layer = FastDropout(0.3, seed=1)
    x = tf.ones((64, 14, 14, 64))
    y = layer(x, training=True).numpy()
    dropped = (y == 0).mean()
    # 802,816 units: the drop share's standard error is 0.0005
    assert abs(dropped - 0.3) < 0.003, dropped
    np.testing.assert_allclose(np.unique(y), [0.0, 1 / 0.7], rtol=1e-6)  # kept units are scaled by 1/(1-rate)
    assert not np.array_equal(y, layer(x, training=True).numpy()), "each call draws a new mask"
    np.testing.assert_array_equal(layer(x, training=False), x)
    odd = FastDropout(0.5, seed=2)(tf.ones((3, 5)), training=True)  # an odd number of units
    assert odd.shape == (3, 5)


def test_fast_dropout_gradient_follows_the_mask():
    layer = FastDropout(0.3, seed=3)
    x = tf.random.normal((8, 100))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=True)
        total = tf.reduce_sum(y)
    grad = tape.gradient(total, x).numpy()
    kept = y.numpy() != 0
    np.testing.assert_allclose(grad[kept], 1 / 0.7, rtol=1e-6)
    np.testing.assert_array_equal(grad[~kept], 0.0)


def test_models_use_fast_layers_unless_asked_not_to(tmp_path):
    generator, discriminator = build_models("dcgan")
    kinds = {type(layer) for layer in generator.layers + discriminator.layers}
    assert FusedBatchNormalization in kinds and FastDropout in kinds
    from gan_mnist.models import build_dcgan_discriminator, build_dcgan_generator

    plain = {type(layer) for layer in build_dcgan_generator(fast_layers=False).layers
             + build_dcgan_discriminator(fast_layers=False).layers}
    assert layers.BatchNormalization in plain and layers.Dropout in plain
    assert not plain & {FusedBatchNormalization, FastDropout}
    # the custom layers survive a .keras round trip
    generator.save(tmp_path / "g.keras")
    loaded = keras.models.load_model(tmp_path / "g.keras")
    assert any(isinstance(layer, FusedBatchNormalization) for layer in loaded.layers)
    z = np.random.default_rng(0).normal(size=(4, 100)).astype("float32")
    np.testing.assert_allclose(loaded(z), generator(z), atol=1e-6)
