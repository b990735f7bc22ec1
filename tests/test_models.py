import numpy as np
import pytest
from keras import layers

from gan_mnist import (
    build_cgan_generator,
    build_dcgan_discriminator,
    build_dcgan_generator,
    build_models,
)


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
