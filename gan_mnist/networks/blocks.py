"""What every network here is made of: image and label constants, the width multiplier, the normalisation and
dropout layers (fast or Keras's own), and the label-embedding wrapper of the conditional generators."""

from __future__ import annotations

import keras
from keras import layers

from gan_mnist.networks.layers import FastDropout, FusedBatchNormalization
from gan_mnist.networks.spectral import conv2d

IMAGE_SHAPE = (28, 28, 1)
NUM_CLASSES = 10
FEATURES = "features"  # every discriminator names its penultimate layer so (see clustering)
EMBED_DIM = 50  # size of the learned code a conditional generator reads for its label


def scaled(units: float, width: float) -> int:
    """A layer size scaled by the model's width multiplier (1.0 = the published architecture)."""
    if not width > 0:
        raise ValueError(f"width must be > 0, got {width!r}")
    return max(1, round(units * width))


def batch_norm(fast: bool = True, **kwargs) -> layers.BatchNormalization:
    """Batch norm; the fused layer computes the same thing faster when training, fast=False gives Keras's own."""
    return (FusedBatchNormalization if fast else layers.BatchNormalization)(**kwargs)


def dropout_layer(rate: float, fast: bool = True):
    """Dropout at `rate` (0: no layer); the fast layer draws half the random numbers for the same drop
    probability, fast=False gives Keras's own."""
    if not 0 <= rate < 1:
        raise ValueError(f"dropout must be in [0, 1), got {rate!r}")
    return (FastDropout if fast else layers.Dropout)(rate) if rate else (lambda x: x)


def dense_to_map(x, filters: int, slope: float, fast: bool = True):
    """(B, n) -> (B, 7, 7, filters): Dense without bias, batch norm, LeakyReLU(slope), reshaped to a 7x7 map."""
    x = layers.Dense(7 * 7 * filters, use_bias=False)(x)
    x = batch_norm(fast)(x)
    x = layers.LeakyReLU(slope)(x)
    return layers.Reshape((7, 7, filters))(x)


def upsample(x, filters: int, strides: int, slope: float, fast: bool = True):
    """A transposed 5x5 convolution (`strides` 2 doubles the map), batch norm, LeakyReLU(slope)."""
    x = layers.Conv2DTranspose(filters, 5, strides=strides, padding="same", use_bias=False)(x)
    x = batch_norm(fast)(x)
    return layers.LeakyReLU(slope)(x)


def conv_features(x, width: float, kernel: int, slope: float, spectral_norm: bool = False, dropout: float = 0.0,
                  fast: bool = True, growth: float = 2.0):
    """images (B, 28, 28, C) -> D's features (B, 6272) at width 1: two stride-2 convolutions of 64 and 64 * growth
    filters (times `width`; growth 2 is the published 64 -> 128), each followed by LeakyReLU(slope) and dropout
    (0: none); the layer is named FEATURES.

    The kernels are 4x4 or 5x5, not 3x3: at stride 2 a 3x3 kernel reaches alternate pixels with one tap or two,
    and a generator trained against such a D draws speckle along its strokes. Nearly all of D's cost is the
    second convolution (7x7 outputs x kernel area x both layers' channels), so `growth` buys a wider second layer
    with a narrower first at about the same cost.
    """
    if not growth > 0:
        raise ValueError(f"growth must be > 0, got {growth!r}")
    for filters in (64, 64 * growth):  # 14x14x64, then 7x7x128
        x = conv2d(scaled(filters, width), kernel, spectral_norm, strides=2, padding="same")(x)
        x = layers.LeakyReLU(slope)(x)
        x = dropout_layer(dropout, fast)(x)
    return layers.Flatten(name=FEATURES)(x)  # 6272


def label_conditioned(body: keras.Model, num_classes: int, name: str) -> keras.Model:
    """(z (B, latent_dim), label (B,) int in [0, num_classes)) -> body([z, code]): the label becomes a learned
    code (layer 'label_embedding', EMBED_DIM wide) that the sub-model `body` reads with z; blending two codes
    there draws in-between classes (see `sample.interpolate_classes`)."""
    latent_dim, embed_dim = (int(shape[-1]) for shape in (body.inputs[0].shape, body.inputs[1].shape))
    z = keras.Input((latent_dim,), name="z")
    label = keras.Input((), dtype="int32", name="label")
    code = layers.Embedding(num_classes, embed_dim, name="label_embedding")(label)  # 50 per class
    return keras.Model([z, label], body([z, code]), name=name)
