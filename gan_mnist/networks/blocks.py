"""What every network here is made of: image and label constants, the width multiplier, the normalisation and
dropout layers (fast or Keras's own), and the label-embedding wrapper of the conditional generators."""

from __future__ import annotations

import keras
from keras import layers

from gan_mnist.networks.layers import FastDropout, FusedBatchNormalization

IMAGE_SHAPE = (28, 28, 1)
NUM_CLASSES = 10
FEATURES = "features"  # every discriminator names its penultimate layer so (see clustering)
EMBED_DIM = 50  # size of the learned code a conditional generator reads for its label


def scaled(units: int, width: float) -> int:
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


def label_conditioned(body: keras.Model, num_classes: int, name: str) -> keras.Model:
    """(z (B, latent_dim), label (B,) int in [0, num_classes)) -> body([z, code]): the label becomes a learned
    code (layer 'label_embedding', EMBED_DIM wide) that the sub-model `body` reads with z; blending two codes
    there draws in-between classes (see `sample.interpolate_classes`)."""
    latent_dim, embed_dim = (int(shape[-1]) for shape in (body.inputs[0].shape, body.inputs[1].shape))
    z = keras.Input((latent_dim,), name="z")
    label = keras.Input((), dtype="int32", name="label")
    code = layers.Embedding(num_classes, embed_dim, name="label_embedding")(label)  # 50 per class
    return keras.Model([z, label], body([z, code]), name=name)
