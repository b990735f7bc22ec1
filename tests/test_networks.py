"""The generator/discriminator pairs (gan_mnist.networks): shapes and ranges, the tutorial's architecture, labels,
width and D's scale and dropout, the fast layers against Keras's own, spectral normalisation against an SVD."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers

from gan_mnist import TrainConfig
from gan_mnist.errors import GanMnistError
from gan_mnist.networks import (
    FEATURES,
    build_cgan_generator,
    build_dcgan_discriminator,
    build_dcgan_generator,
    build_models,
    is_conditional,
)
from gan_mnist.networks.layers import FastDropout, FusedBatchNormalization, ResizeConv2D, transposed_kernel
from gan_mnist.networks.spectral import SpectralConv2D, SpectralDense
from gan_mnist.recipes import ARCHITECTURES
from gan_mnist.run.training import build_gan
from tests.conftest import runs_here


def test_generator_shapes_and_range():
    g = build_dcgan_generator(latent_dim=100)
    out = np.asarray(g(np.random.default_rng(0).normal(size=(3, 100)).astype("float32") * 10))
    assert g.name == "dcgan_generator" and out.shape == (3, 28, 28, 1)
    assert out.min() >= -1.0 and out.max() <= 1.0


def test_discriminator_gives_one_logit_per_image():
    d = build_dcgan_discriminator()
    assert d.name == "dcgan_discriminator"
    assert d(np.zeros((5, 28, 28, 1), "float32")).shape == (5, 1)


def test_architecture_matches_the_tensorflow_tutorial():
    # the tutorial's model.summary() totals: 2,330,944 (generator) and 212,865 (discriminator)
    g, d = build_models("dcgan", latent_dim=100)
    assert g.count_params() == 2_330_944
    assert d.count_params() == 212_865
    convt = [(lyr.filters, lyr.kernel_size, lyr.strides) for lyr in g.layers if isinstance(lyr, layers.Conv2DTranspose)]
    assert convt == [(128, (5, 5), (1, 1)), (64, (5, 5), (2, 2)), (1, (5, 5), (2, 2))]
    assert [lyr.rate for lyr in d.layers if isinstance(lyr, layers.Dropout)] == [0.3, 0.3]


def test_cgan_output_depends_on_the_label():
    g = build_cgan_generator(latent_dim=8)
    z = np.ones((2, 8), "float32")
    a, b = np.asarray(g([z, np.array([1, 1], "int32")])), np.asarray(g([z, np.array([1, 2], "int32")]))
    np.testing.assert_allclose(a[0], b[0], atol=1e-6)
    assert not np.allclose(a[1], b[1])


def test_mlp_layer_sizes():
    g, d = build_models("mlp")
    dense = lambda m: [lyr.units for lyr in m.layers if isinstance(lyr, layers.Dense)]  # noqa: E731
    assert dense(g) == [256, 512, 1024, 784] and dense(d) == [512, 256, 1]


def test_latent_size_is_configurable():
    g, _ = build_models("dcgan", latent_dim=16)
    assert g.input_shape == (None, 16)
    with pytest.raises(ValueError, match="unknown model"):
        build_models("nope")


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
    from gan_mnist.networks import build_dcgan_discriminator, build_dcgan_generator

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
    assert dropouts(plain) == [] and dropouts(build_gan(TrainConfig(model="dcgan")).discriminator) == [0.3, 0.3]
    assert dropouts(build_gan(TrainConfig(model="cgan", d_dropout=0.0)).discriminator) == []
    # resize's discriminator is sized to its generator by default, not a tenth of it
    g, d = (m.count_params() for m in build_models("resize", width=0.5, d_scale=TrainConfig(model="resize").d_scale))
    assert 0.5 < d / g < 2, (g, d)


def test_d_growth_sets_the_second_layer_against_the_first():
    # the published layouts: convolutions double (64 -> 128 at width 1), the MLP halves (512 -> 256)
    for model, k in (("dcgan", 5), ("resize", 4)):
        d = build_models(model)[1]
        kernels = [tuple(w.shape) for w in d.weights if w.path.endswith("kernel")]
        assert kernels[:2] == [(k, k, 1, 64), (k, k, 64, 128)], kernels
        assert d.get_layer(FEATURES).output.shape[-1] == 7 * 7 * 128
    mlp = [tuple(w.shape) for w in build_models("mlp")[1].weights if w.path.endswith("kernel")]
    assert mlp[:2] == [(784, 512), (512, 256)]
    # growth 4 at half D width: 32 -> 128, as wide a second layer as growth 2 at full width
    d = build_gan(TrainConfig(model="resize", width=0.5, d_scale=1.0, d_growth=4.0)).discriminator
    assert [w.shape[-1] for w in d.weights if w.path.endswith("kernel")] == [32, 128, 1]
    mlp = build_gan(TrainConfig(model="mlp", d_growth=1.0)).discriminator
    assert [w.shape[-1] for w in mlp.weights if w.path.endswith("kernel")] == [512, 512, 1]
    for model in ("resize", "mlp"):
        with pytest.raises(ValueError, match="growth must be > 0"):
            build_models(model, d_growth=0.0)
    with pytest.raises(GanMnistError, match="d_growth must be > 0"):
        TrainConfig(d_growth=-2.0)


def test_conv_is_the_conditional_dcgan_without_labels():
    g, d = build_models("conv")
    cg, cd = build_models("cgan")
    assert not is_conditional(g) and len(d.inputs) == 1
    # the same networks less the label's embedding (G) and label plane (D)
    assert cg.count_params() - g.count_params() == 10 * 50 + 50 * 6272
    assert cd.count_params() - d.count_params() == 10 * 784 + 25 * 64


def test_resize_generator_upsamples_by_resize_convolutions_with_3x3_kernels():
    g, _ = build_models("resize")
    upsampling = [la for la in g.layers if isinstance(la, ResizeConv2D)]
    assert [tuple(la.kernel.shape) for la in upsampling] == [(3, 3, 128, 64), (3, 3, 64, 32)]
    assert not any(isinstance(la, layers.Conv2DTranspose) for la in g.layers)  # no free 4x4 kernel anywhere
    assert g.count_params() < 1_000_000


def test_transposed_kernel_adds_the_taps_that_fall_on_one_input_pixel():
    # a kernel whose taps are 1, 10, 100 down the rows and 1, 2, 4 across: each sum is visible
    kernel = (np.array([1.0, 10.0, 100.0])[:, None] * np.array([1.0, 2.0, 4.0])[None, :]).reshape(3, 3, 1, 1)
    taps = np.asarray(transposed_kernel(tf.constant(kernel, "float32")))
    assert taps.shape == (4, 4, 1, 1)
    rows, cols = np.array([100.0, 110.0, 11.0, 1.0]), np.array([4.0, 6.0, 3.0, 1.0])  # [k2, k1+k2, k0+k1, k0]
    np.testing.assert_array_equal(taps[:, :, 0, 0], np.outer(rows, cols))
    assert taps.sum() == 4 * kernel.sum()  # each 3x3 tap lies in two of the four rows and two of the four columns


# (where this machine cannot train in bfloat16, its fallback bfloat16 convolutions differ from each other by up to
# 0.03: beyond the bar, and never what a run uses)
@pytest.mark.parametrize("policy", ["float32", pytest.param("mixed_bfloat16", marks=pytest.mark.skipif(
    not runs_here("bf16"), reason="no bfloat16 training here"))])
def test_resize_conv_is_upsampling_then_a_3x3_convolution(policy):
    keras.config.set_dtype_policy(policy)
    try:
        rng = np.random.default_rng(0)
        x = tf.constant(rng.normal(size=(4, 7, 7, 16)).astype("float32"))
        fast = ResizeConv2D(8, activation="tanh", bias_initializer="random_normal")
        conv = layers.Conv2D(8, 3, padding="same", activation="tanh")
        fast.build(x.shape)
        conv.build((4, 14, 14, 16))
        conv.set_weights(fast.get_weights())  # the same 3x3 kernel and bias
        outputs, grads = [], []
        for forward, variables in ((fast, fast.trainable_variables),
                                   (lambda t: conv(layers.UpSampling2D(2)(t)), conv.trainable_variables)):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = tf.cast(forward(x), "float32")
                loss = tf.reduce_sum(y * tf.sin(y))  # a loss whose gradient differs per pixel
            outputs.append(y)
            grads.append(tape.gradient(loss, [x, *variables]))
    finally:
        keras.config.set_dtype_policy("float32")
    assert outputs[0].shape == (4, 14, 14, 8)
    tolerance = 1e-5 if policy == "float32" else 2e-2  # the kernels sum in another order; bfloat16 has 8 bits
    np.testing.assert_allclose(outputs[0], outputs[1], atol=tolerance)
    for fast_grad, keras_grad in zip(*grads, strict=True):
        scale = float(tf.reduce_max(tf.abs(keras_grad)))
        np.testing.assert_allclose(tf.cast(fast_grad, "float32"), tf.cast(keras_grad, "float32"),
                                   atol=tolerance * scale * 5)


@pytest.mark.parametrize("options", [{"kernel_size": 5}, {"strides": 2}, {"padding": "valid"},
                                     {"dilation_rate": 2}], ids=["kernel", "strides", "padding", "dilation"])
def test_resize_conv_refuses_what_it_does_not_compute(options):
    with pytest.raises(ValueError, match="3x3, stride-1, 'same'"):
        ResizeConv2D(8, **options)


def test_width_scales_every_layer_but_not_the_image():
    full_g, full_d = build_models("dcgan")
    half_g, half_d = build_models("dcgan", width=0.5)
    assert half_g.layers[1].units == 7 * 7 * 128 and full_g.layers[1].units == 7 * 7 * 256
    assert half_g.output_shape == full_g.output_shape == (None, 28, 28, 1)
    assert half_d.output_shape == (None, 1)
    # a conv kernel scales with in x out filters (a quarter at half width), the dense layer from z only halves
    kernels = {tuple(w.shape) for w in half_g.weights if w.path.endswith("kernel")}
    assert {(100, 7 * 7 * 128), (5, 5, 64, 128), (5, 5, 32, 64), (5, 5, 1, 32)} == kernels
    assert 0.2 < half_d.count_params() / full_d.count_params() < 0.35
    for model in ("mlp", "cgan"):
        assert build_models(model, width=0.5)[0].count_params() < build_models(model)[0].count_params()
    with pytest.raises(ValueError, match="width must be > 0"):
        build_models("dcgan", width=0)
    with pytest.raises(GanMnistError, match="width must be > 0"):
        TrainConfig(width=-1.0)
