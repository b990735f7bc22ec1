import math

import numpy as np
import pytest
from keras import layers

from gan_mnist import (
    build_cgan_generator,
    build_dcgan_discriminator,
    build_dcgan_generator,
    build_models,
    is_conditional,
)
from gan_mnist.losses import discriminator_loss, generator_loss


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


@pytest.mark.parametrize("model", ["dcgan", "mlp", "cgan"])
def test_every_model_maps_noise_to_images_and_images_to_logits(model):
    g, d = build_models(model, latent_dim=16)
    z = np.random.default_rng(0).normal(size=(3, 16)).astype("float32")
    labels = np.array([0, 4, 9], "int32")
    conditional = is_conditional(g)
    assert conditional == (model == "cgan")
    images = np.asarray(g([z, labels] if conditional else z))
    assert images.shape == (3, 28, 28, 1) and images.min() >= -1 and images.max() <= 1
    assert d([images, labels] if conditional else images).shape == (3, 1)
    assert g.name == f"{model}_generator" and d.name == f"{model}_discriminator"


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


def test_losses_at_zero_logits():
    zeros = np.zeros((4, 1), "float32")
    assert float(discriminator_loss(zeros, zeros)) == pytest.approx(2 * math.log(2), rel=1e-6)
    assert float(generator_loss(zeros)) == pytest.approx(math.log(2), rel=1e-6)


def test_losses_at_known_points():
    softplus = lambda t: math.log1p(math.exp(t))  # noqa: E731  -log sigmoid(x) = softplus(-x)
    real = np.array([[2.0], [-1.0]], "float32")
    fake = np.array([[0.5], [-3.0]], "float32")
    want_d = (softplus(-2) + softplus(1)) / 2 + (softplus(0.5) + softplus(-3)) / 2
    want_g = (softplus(-0.5) + softplus(3)) / 2
    assert float(discriminator_loss(real, fake)) == pytest.approx(want_d, rel=1e-5)
    assert float(generator_loss(fake)) == pytest.approx(want_g, rel=1e-5)
    # confident, correct discriminator: tiny D loss, large G loss; stable at extreme logits
    assert float(discriminator_loss(np.full((2, 1), 50.0, "float32"), np.full((2, 1), -50.0, "float32"))) < 1e-6
    assert float(generator_loss(np.full((2, 1), -50.0, "float32"))) == pytest.approx(50.0, rel=1e-4)
