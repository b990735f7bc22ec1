"""Generator and discriminator builders. Each returns a named, built keras.Model."""

from __future__ import annotations

import keras
from keras import layers

from gan_mnist.layers import FastDropout, FusedBatchNormalization
from gan_mnist.spectral import conv2d, dense

IMAGE_SHAPE = (28, 28, 1)
NUM_CLASSES = 10
FEATURES = "features"  # every discriminator names its penultimate layer so (see clustering)


def _scaled(units: int, width: float) -> int:
    """A layer size scaled by the model's width multiplier (1.0 = the published architecture)."""
    if not width > 0:
        raise ValueError(f"width must be > 0, got {width!r}")
    return max(1, round(units * width))


def _batch_norm(fast: bool, **kwargs) -> layers.BatchNormalization:
    # the fused layer computes the same thing faster when training; fast=False gives Keras's own layer
    return (FusedBatchNormalization if fast else layers.BatchNormalization)(**kwargs)


def _dropout(fast: bool, rate: float):
    # same drop probability from half the random numbers; fast=False gives Keras's own layer; rate 0: no layer
    if not 0 <= rate < 1:
        raise ValueError(f"dropout must be in [0, 1), got {rate!r}")
    return (FastDropout if fast else layers.Dropout)(rate) if rate else (lambda x: x)


def build_dcgan_generator(latent_dim: int = 100, width: float = 1.0, fast_layers: bool = True) -> keras.Model:
    """DCGAN generator of the TensorFlow tutorial: z (B, latent_dim) -> images (B, 28, 28, 1) in [-1, 1].

    `width` scales every layer's filters (shape comments are for width 1); `fast_layers=False` uses
    `keras.layers.BatchNormalization` itself, as the tutorial does (same maths, slower to train).
    """
    f1, f2, f3 = (_scaled(n, width) for n in (256, 128, 64))
    z = keras.Input((latent_dim,), name="z")
    x = layers.Dense(7 * 7 * f1, use_bias=False)(z)  # 12544
    x = _batch_norm(fast_layers)(x)
    x = layers.LeakyReLU(0.3)(x)
    x = layers.Reshape((7, 7, f1))(x)  # 7x7x256
    x = layers.Conv2DTranspose(f2, 5, strides=1, padding="same", use_bias=False)(x)  # 7x7x128
    x = _batch_norm(fast_layers)(x)
    x = layers.LeakyReLU(0.3)(x)
    x = layers.Conv2DTranspose(f3, 5, strides=2, padding="same", use_bias=False)(x)  # 14x14x64
    x = _batch_norm(fast_layers)(x)
    x = layers.LeakyReLU(0.3)(x)
    # tanh matches the data scaling to [-1, 1]
    out = layers.Conv2DTranspose(1, 5, strides=2, padding="same", use_bias=False, activation="tanh")(x)  # 28x28x1
    return keras.Model(z, out, name="dcgan_generator")


def build_dcgan_discriminator(width: float = 1.0, spectral_norm: bool = False, dropout: float = 0.3,
                              fast_layers: bool = True) -> keras.Model:
    """DCGAN discriminator of the TensorFlow tutorial: images (B, 28, 28, 1) -> one real/fake logit (B, 1).

    `spectral_norm` normalises every weight layer (see `spectral`); `dropout` after each convolution (0: none);
    `fast_layers=False` uses `keras.layers.Dropout` itself, as the tutorial does (same drop rate, slower).
    """
    img = keras.Input(IMAGE_SHAPE, name="image")
    x = conv2d(_scaled(64, width), 5, spectral_norm, strides=2, padding="same")(img)  # 14x14x64
    x = layers.LeakyReLU(0.3)(x)
    x = _dropout(fast_layers, dropout)(x)
    x = conv2d(_scaled(128, width), 5, spectral_norm, strides=2, padding="same")(x)  # 7x7x128
    x = layers.LeakyReLU(0.3)(x)
    x = _dropout(fast_layers, dropout)(x)
    x = layers.Flatten(name=FEATURES)(x)  # 6272
    logit = dense(1, spectral_norm)(x)  # a logit, not a probability: the losses apply the sigmoid
    return keras.Model(img, logit, name="dcgan_discriminator")


def build_mlp_generator(latent_dim: int = 100, width: float = 1.0, fast_layers: bool = True) -> keras.Model:
    """Fully connected generator of the classic Keras GAN: z (B, latent_dim) -> images (B, 28, 28, 1) in [-1, 1]."""
    z = keras.Input((latent_dim,), name="z")
    x = z
    for units in (256, 512, 1024):  # 256 -> 512 -> 1024
        x = layers.Dense(_scaled(units, width))(x)
        x = layers.LeakyReLU(0.2)(x)
        x = _batch_norm(fast_layers, momentum=0.8)(x)
    x = layers.Dense(28 * 28, activation="tanh")(x)  # 784
    out = layers.Reshape(IMAGE_SHAPE)(x)  # 28x28x1
    return keras.Model(z, out, name="mlp_generator")


def build_mlp_discriminator(width: float = 1.0, spectral_norm: bool = False, dropout: float = 0.0) -> keras.Model:
    """Fully connected discriminator: images (B, 28, 28, 1) -> one real/fake logit (B, 1)."""
    img = keras.Input(IMAGE_SHAPE, name="image")
    x = layers.Flatten()(img)  # 784
    for units in (512, 256):  # 512 -> 256
        x = dense(_scaled(units, width), spectral_norm)(x)
        x = layers.LeakyReLU(0.2)(x)
        x = _dropout(True, dropout)(x)
    x = layers.Identity(name=FEATURES)(x)  # 256
    logit = dense(1, spectral_norm)(x)
    return keras.Model(img, logit, name="mlp_discriminator")


def build_cgan_generator(latent_dim: int = 100, embed_dim: int = 50, width: float = 1.0,
                         fast_layers: bool = True, num_classes: int = NUM_CLASSES) -> keras.Model:
    """Conditional generator: (z (B, latent_dim), label (B,) int in [0, num_classes)) -> images (B, 28, 28, 1) in
    [-1, 1]; num_classes=0: the same network without a label, z -> images (`build_conv_generator`).

    The label becomes a learned code (layer 'label_embedding') that a sub-model 'cgan_generator_body' reads
    with z; blending two codes there draws in-between classes (see `sample.interpolate_classes`).
    """
    z = keras.Input((latent_dim,), name="z")
    code = keras.Input((embed_dim,), name="code")
    x = layers.Concatenate()([z, code]) if num_classes else z  # latent_dim + 50
    f1, f2 = _scaled(128, width), _scaled(64, width)
    x = layers.Dense(7 * 7 * f1, use_bias=False)(x)  # 6272
    x = _batch_norm(fast_layers)(x)
    x = layers.LeakyReLU(0.2)(x)
    x = layers.Reshape((7, 7, f1))(x)  # 7x7x128
    x = layers.Conv2DTranspose(f2, 5, strides=2, padding="same", use_bias=False)(x)  # 14x14x64
    x = _batch_norm(fast_layers)(x)
    x = layers.LeakyReLU(0.2)(x)
    out = layers.Conv2DTranspose(1, 5, strides=2, padding="same", use_bias=False, activation="tanh")(x)  # 28x28x1
    if not num_classes:
        return keras.Model(z, out, name="conv_generator")
    body = keras.Model([z, code], out, name="cgan_generator_body")

    z_in = keras.Input((latent_dim,), name="z")
    label = keras.Input((), dtype="int32", name="label")
    label_code = layers.Embedding(num_classes, embed_dim, name="label_embedding")(label)  # 50 per class
    return keras.Model([z_in, label], body([z_in, label_code]), name="cgan_generator")


def build_cgan_discriminator(width: float = 1.0, spectral_norm: bool = False, dropout: float = 0.3,
                             fast_layers: bool = True, num_classes: int = NUM_CLASSES) -> keras.Model:
    """Conditional discriminator: (images (B, 28, 28, 1), label (B,) int in [0, num_classes)) -> one logit (B, 1);
    num_classes=0: the same network without a label, images -> logit (`build_conv_discriminator`)."""
    img = keras.Input(IMAGE_SHAPE, name="image")
    label = keras.Input((), dtype="int32", name="label")
    x = img
    if num_classes:
        # the label enters as an extra image channel, a learned 28x28 plane per class
        plane = layers.Embedding(num_classes, 28 * 28)(label)  # 784
        plane = layers.Reshape(IMAGE_SHAPE)(plane)  # 28x28x1
        x = layers.Concatenate()([img, plane])  # 28x28x2
    x = conv2d(_scaled(64, width), 5, spectral_norm, strides=2, padding="same")(x)  # 14x14x64
    x = layers.LeakyReLU(0.2)(x)
    x = _dropout(fast_layers, dropout)(x)
    x = conv2d(_scaled(128, width), 5, spectral_norm, strides=2, padding="same")(x)  # 7x7x128
    x = layers.LeakyReLU(0.2)(x)
    x = _dropout(fast_layers, dropout)(x)
    x = layers.Flatten(name=FEATURES)(x)  # 6272
    logit = dense(1, spectral_norm)(x)
    if not num_classes:
        return keras.Model(img, logit, name="conv_discriminator")
    return keras.Model([img, label], logit, name="cgan_discriminator")


def build_conv_generator(latent_dim: int = 100, width: float = 1.0) -> keras.Model:
    """The conditional DCGAN's generator without its label: z (B, latent_dim) -> images (B, 28, 28, 1) in [-1, 1]."""
    return build_cgan_generator(latent_dim, width=width, num_classes=0)


def build_conv_discriminator(width: float = 1.0, spectral_norm: bool = False, dropout: float = 0.0) -> keras.Model:
    """The conditional DCGAN's discriminator without its label plane: images (B, 28, 28, 1) -> one logit (B, 1)."""
    return build_cgan_discriminator(width, spectral_norm, dropout, num_classes=0)


def is_conditional(generator: keras.Model) -> bool:
    """True for generators that take (z, label) rather than z alone."""
    return len(generator.inputs) == 2


def build_models(model: str, latent_dim: int = 100, width: float = 1.0, spectral_norm: bool = False,
                 d_scale: float = 1.0, dropout: float | None = None, num_classes: int = NUM_CLASSES
                 ) -> tuple[keras.Model, keras.Model]:
    """(generator, discriminator) of an architecture in `recipes.ARCHITECTURES`; `width` scales both networks'
    layer sizes and `d_scale` the discriminator's again; `spectral_norm` normalises the discriminator's weight
    layers; `dropout` in the discriminator (None: its builder's default); a conditional pair takes labels in
    [0, num_classes)."""
    from gan_mnist.recipes import ARCHITECTURES, resolve

    if model not in ARCHITECTURES:
        raise ValueError(f"unknown model {model!r}; choose one of {sorted(ARCHITECTURES)}")
    arch = ARCHITECTURES[model]
    classes = {"num_classes": num_classes} if arch.conditional else {}
    return (resolve(arch.generator)(latent_dim, width=width, **classes),
            resolve(arch.discriminator)(width=width * d_scale, spectral_norm=spectral_norm,
                                        **({} if dropout is None else {"dropout": dropout}), **classes))
