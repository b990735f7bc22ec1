"""The transposed-convolution family: the TensorFlow tutorial's DCGAN, the conditional DCGAN, and the conditional
DCGAN's networks without labels ('conv'). Each builder returns a named, built keras.Model."""

from __future__ import annotations

import keras
from keras import layers

from gan_mnist.networks.blocks import (
    EMBED_DIM,
    IMAGE_SHAPE,
    NUM_CLASSES,
    conv_features,
    dense_to_map,
    label_conditioned,
    scaled,
    upsample,
)
from gan_mnist.networks.spectral import dense


def build_dcgan_generator(latent_dim: int = 100, width: float = 1.0, fast_layers: bool = True) -> keras.Model:
    """DCGAN generator of the TensorFlow tutorial: z (B, latent_dim) -> images (B, 28, 28, 1) in [-1, 1].

    `width` scales every layer's filters (shape comments are for width 1); `fast_layers=False` uses
    `keras.layers.BatchNormalization` itself, as the tutorial does (same maths, slower to train).
    """
    f1, f2, f3 = (scaled(n, width) for n in (256, 128, 64))
    z = keras.Input((latent_dim,), name="z")
    x = dense_to_map(z, f1, 0.3, fast_layers)  # 7x7x256
    x = upsample(x, f2, 1, 0.3, fast_layers)  # 7x7x128
    x = upsample(x, f3, 2, 0.3, fast_layers)  # 14x14x64
    # tanh matches the data scaling to [-1, 1]
    out = layers.Conv2DTranspose(1, 5, strides=2, padding="same", use_bias=False, activation="tanh")(x)  # 28x28x1
    return keras.Model(z, out, name="dcgan_generator")


def build_dcgan_discriminator(width: float = 1.0, spectral_norm: bool = False, dropout: float = 0.3,
                              fast_layers: bool = True, growth: float = 2.0) -> keras.Model:
    """DCGAN discriminator of the TensorFlow tutorial: images (B, 28, 28, 1) -> one real/fake logit (B, 1).

    `spectral_norm` normalises every weight layer (see `spectral`); `dropout` after each convolution (0: none);
    `growth`: the second convolution's filters over the first's (`conv_features`); `fast_layers=False` uses
    `keras.layers.Dropout` itself, as the tutorial does (same drop rate, slower).
    """
    img = keras.Input(IMAGE_SHAPE, name="image")
    x = conv_features(img, width, 5, 0.3, spectral_norm, dropout, fast_layers, growth)  # 14x14x64 -> 7x7x128 -> 6272
    logit = dense(1, spectral_norm)(x)  # a logit, not a probability: the losses apply the sigmoid
    return keras.Model(img, logit, name="dcgan_discriminator")


def build_cgan_generator(latent_dim: int = 100, width: float = 1.0, num_classes: int = NUM_CLASSES,
                         fast_layers: bool = True) -> keras.Model:
    """Conditional generator: (z (B, latent_dim), label (B,) int in [0, num_classes)) -> images (B, 28, 28, 1) in
    [-1, 1]; num_classes=0: the same network without a label, z -> images (`build_conv_generator`).

    The label becomes a learned code that the sub-model 'cgan_generator_body' reads with z (`label_conditioned`).
    """
    z = keras.Input((latent_dim,), name="z")
    code = keras.Input((EMBED_DIM,), name="code")
    x = layers.Concatenate()([z, code]) if num_classes else z  # latent_dim + 50
    f1, f2 = scaled(128, width), scaled(64, width)
    x = dense_to_map(x, f1, 0.2, fast_layers)  # 7x7x128
    x = upsample(x, f2, 2, 0.2, fast_layers)  # 14x14x64
    out = layers.Conv2DTranspose(1, 5, strides=2, padding="same", use_bias=False, activation="tanh")(x)  # 28x28x1
    if not num_classes:
        return keras.Model(z, out, name="conv_generator")
    body = keras.Model([z, code], out, name="cgan_generator_body")
    return label_conditioned(body, num_classes, name="cgan_generator")


def build_cgan_discriminator(width: float = 1.0, spectral_norm: bool = False, dropout: float = 0.3,
                             fast_layers: bool = True, num_classes: int = NUM_CLASSES, growth: float = 2.0
                             ) -> keras.Model:
    """Conditional discriminator: (images (B, 28, 28, 1), label (B,) int in [0, num_classes)) -> one logit (B, 1);
    num_classes=0: the same network without a label, images -> logit (`build_conv_discriminator`); `growth` as in
    `conv_features`."""
    img = keras.Input(IMAGE_SHAPE, name="image")
    label = keras.Input((), dtype="int32", name="label")
    x = img
    if num_classes:
        # the label enters as an extra image channel, a learned 28x28 plane per class
        plane = layers.Embedding(num_classes, 28 * 28)(label)  # 784
        plane = layers.Reshape(IMAGE_SHAPE)(plane)  # 28x28x1
        x = layers.Concatenate()([img, plane])  # 28x28x2
    x = conv_features(x, width, 5, 0.2, spectral_norm, dropout, fast_layers, growth)  # 14x14x64 -> 7x7x128 -> 6272
    logit = dense(1, spectral_norm)(x)
    if not num_classes:
        return keras.Model(img, logit, name="conv_discriminator")
    return keras.Model([img, label], logit, name="cgan_discriminator")


def build_conv_generator(latent_dim: int = 100, width: float = 1.0) -> keras.Model:
    """The conditional DCGAN's generator without its label: z (B, latent_dim) -> images (B, 28, 28, 1) in [-1, 1]."""
    return build_cgan_generator(latent_dim, width=width, num_classes=0)


def build_conv_discriminator(width: float = 1.0, spectral_norm: bool = False, dropout: float = 0.0,
                             growth: float = 2.0) -> keras.Model:
    """The conditional DCGAN's discriminator without its label plane: images (B, 28, 28, 1) -> one logit (B, 1)."""
    return build_cgan_discriminator(width, spectral_norm, dropout, num_classes=0, growth=growth)
