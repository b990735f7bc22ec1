"""Generator and discriminator builders. Each returns a named, built keras.Model."""

from __future__ import annotations

import keras
from keras import layers

IMAGE_SHAPE = (28, 28, 1)


def build_dcgan_generator(latent_dim: int = 100) -> keras.Model:
    """DCGAN generator of the TensorFlow tutorial: z (B, latent_dim) -> images (B, 28, 28, 1) in [-1, 1]."""
    z = keras.Input((latent_dim,), name="z")
    x = layers.Dense(7 * 7 * 256, use_bias=False)(z)  # 12544
    x = layers.BatchNormalization()(x)
    x = layers.LeakyReLU(0.3)(x)
    x = layers.Reshape((7, 7, 256))(x)  # 7x7x256
    x = layers.Conv2DTranspose(128, 5, strides=1, padding="same", use_bias=False)(x)  # 7x7x128
    x = layers.BatchNormalization()(x)
    x = layers.LeakyReLU(0.3)(x)
    x = layers.Conv2DTranspose(64, 5, strides=2, padding="same", use_bias=False)(x)  # 14x14x64
    x = layers.BatchNormalization()(x)
    x = layers.LeakyReLU(0.3)(x)
    # tanh matches the data scaling to [-1, 1]
    out = layers.Conv2DTranspose(1, 5, strides=2, padding="same", use_bias=False, activation="tanh")(x)  # 28x28x1
    return keras.Model(z, out, name="dcgan_generator")


def build_dcgan_discriminator() -> keras.Model:
    """DCGAN discriminator of the TensorFlow tutorial: images (B, 28, 28, 1) -> one real/fake logit (B, 1)."""
    img = keras.Input(IMAGE_SHAPE, name="image")
    x = layers.Conv2D(64, 5, strides=2, padding="same")(img)  # 14x14x64
    x = layers.LeakyReLU(0.3)(x)
    x = layers.Dropout(0.3)(x)
    x = layers.Conv2D(128, 5, strides=2, padding="same")(x)  # 7x7x128
    x = layers.LeakyReLU(0.3)(x)
    x = layers.Dropout(0.3)(x)
    x = layers.Flatten()(x)  # 6272
    logit = layers.Dense(1)(x)  # a logit, not a probability: the losses apply the sigmoid
    return keras.Model(img, logit, name="dcgan_discriminator")


BUILDERS = {"dcgan": (build_dcgan_generator, build_dcgan_discriminator)}


def build_models(model: str, latent_dim: int = 100) -> tuple[keras.Model, keras.Model]:
    """(generator, discriminator) for a model name in BUILDERS."""
    if model not in BUILDERS:
        raise ValueError(f"unknown model {model!r}; choose one of {sorted(BUILDERS)}")
    make_g, make_d = BUILDERS[model]
    return make_g(latent_dim), make_d()
