"""The classic Keras GAN's fully connected pair: the cheapest per image, 1.5 M + 0.5 M weights at width 1."""

from __future__ import annotations

import keras
from keras import layers

from gan_mnist.networks.blocks import FEATURES, IMAGE_SHAPE, batch_norm, dropout_layer, scaled
from gan_mnist.networks.spectral import dense


def build_mlp_generator(latent_dim: int = 100, width: float = 1.0, fast_layers: bool = True) -> keras.Model:
    """Fully connected generator of the classic Keras GAN: z (B, latent_dim) -> images (B, 28, 28, 1) in [-1, 1]."""
    z = keras.Input((latent_dim,), name="z")
    x = z
    for units in (256, 512, 1024):  # 256 -> 512 -> 1024
        x = layers.Dense(scaled(units, width))(x)
        x = layers.LeakyReLU(0.2)(x)
        x = batch_norm(fast_layers, momentum=0.8)(x)
    x = layers.Dense(28 * 28, activation="tanh")(x)  # 784
    out = layers.Reshape(IMAGE_SHAPE)(x)  # 28x28x1
    return keras.Model(z, out, name="mlp_generator")


def build_mlp_discriminator(width: float = 1.0, spectral_norm: bool = False, dropout: float = 0.0,
                            growth: float = 0.5) -> keras.Model:
    """Fully connected discriminator: images (B, 28, 28, 1) -> one real/fake logit (B, 1); `growth`: the second
    layer's units over the first's (0.5: the published 512 -> 256)."""
    if not growth > 0:
        raise ValueError(f"growth must be > 0, got {growth!r}")
    img = keras.Input(IMAGE_SHAPE, name="image")
    x = layers.Flatten()(img)  # 784
    for units in (512, 512 * growth):  # 512 -> 256
        x = dense(scaled(units, width), spectral_norm)(x)
        x = layers.LeakyReLU(0.2)(x)
        x = dropout_layer(dropout)(x)
    x = layers.Identity(name=FEATURES)(x)  # 256
    logit = dense(1, spectral_norm)(x)
    return keras.Model(img, logit, name="mlp_discriminator")
