"""The resize-convolution family: resize + convolution generators, plain and projection discriminators.

Resize-then-convolve upsampling (Odena et al. 2016) avoids the checkerboard artefacts of strided transposed
convolutions. The generators train it as one all the same (`layers.ResizeConv2D`): a stride-2 transposed convolution
whose 4x4 kernel is tied to the 3x3 one computes exactly the resize-convolution, at 16/36 of its multiplications;
the tie, not the operation, keeps the artefacts away. The discriminators have neither batch norm nor dropout: a
gradient penalty is a per-image quantity, and batch norm would couple the images of a batch. Each builder returns a
named, built keras.Model.
"""

from __future__ import annotations

import keras
from keras import layers

from gan_mnist.networks.blocks import (
    EMBED_DIM,
    IMAGE_SHAPE,
    NUM_CLASSES,
    batch_norm,
    conv_features,
    dense_to_map,
    label_conditioned,
    scaled,
)
from gan_mnist.networks.layers import ResizeConv2D
from gan_mnist.networks.spectral import dense


def _resize_body(x, width: float):
    """(B, n) code -> images (B, 28, 28, 1) in [-1, 1] by two nearest-neighbour doublings, each then convolved."""
    f1, f2, f3 = (scaled(n, width) for n in (128, 64, 32))
    x = dense_to_map(x, f1, 0.2)  # 7x7x128
    x = ResizeConv2D(f2, use_bias=False)(x)  # 14x14x64: nearest-neighbour 2x upsampling, then a 3x3 convolution
    x = batch_norm()(x)
    x = layers.LeakyReLU(0.2)(x)
    x = ResizeConv2D(f3, use_bias=False)(x)  # 28x28x32
    x = batch_norm()(x)
    x = layers.LeakyReLU(0.2)(x)
    return layers.Conv2D(1, 3, padding="same", activation="tanh")(x)  # 28x28x1


def build_resize_generator(latent_dim: int = 100, width: float = 1.0) -> keras.Model:
    """Resize-conv generator: z (B, latent_dim) -> images (B, 28, 28, 1) in [-1, 1]; 0.35M weights at width 0.5."""
    z = keras.Input((latent_dim,), name="z")
    return keras.Model(z, _resize_body(z, width), name="resize_generator")


def build_plain_discriminator(width: float = 1.0, spectral_norm: bool = False, dropout: float = 0.0,
                              growth: float = 2.0) -> keras.Model:
    """Discriminator for gradient penalties: images (B, 28, 28, 1) -> one logit (B, 1); 37k weights at width 0.5
    (`growth` as in `conv_features`)."""
    img = keras.Input(IMAGE_SHAPE, name="image")
    logit = dense(1, spectral_norm)(conv_features(img, width, 4, 0.2, spectral_norm, dropout, growth=growth))
    return keras.Model(img, logit, name="plain_discriminator")


def build_resize_cgan_generator(latent_dim: int = 100, width: float = 1.0, num_classes: int = NUM_CLASSES
                                ) -> keras.Model:
    """Conditional resize-conv generator: (z (B, latent_dim), label (B,) int in [0, num_classes)) -> images
    (B, 28, 28, 1).

    As `build_cgan_generator`, the label becomes a learned code read with z by the sub-model
    'resize_cgan_generator_body' (`label_conditioned`), so `sample.interpolate_classes` works on it too.
    """
    z = keras.Input((latent_dim,), name="z")
    code = keras.Input((EMBED_DIM,), name="code")
    body = keras.Model([z, code], _resize_body(layers.Concatenate()([z, code]), width),  # latent_dim + 50
                       name="resize_cgan_generator_body")
    return label_conditioned(body, num_classes, name="resize_cgan_generator")


def build_projection_discriminator(width: float = 1.0, spectral_norm: bool = False, dropout: float = 0.0,
                                   num_classes: int = NUM_CLASSES, growth: float = 2.0) -> keras.Model:
    """Projection discriminator (Miyato & Koyama 2018): (images (B, 28, 28, 1), label (B,)) -> logit (B, 1).

    logit = psi(h) + <embed(y), h> with h = phi(x) the image's features: the label enters as an inner product
    with the features, not as an input channel, which is the form a conditional log-density ratio takes. `growth`
    as in `conv_features`.
    """
    img = keras.Input(IMAGE_SHAPE, name="image")
    label = keras.Input((), dtype="int32", name="label")
    h = conv_features(img, width, 4, 0.2, spectral_norm, dropout, growth=growth)  # 6272 at width 1, growth 2
    unconditional = dense(1, spectral_norm)(h)  # psi(h)
    class_vector = layers.Embedding(num_classes, h.shape[-1], name="class_projection")(label)  # 6272 per digit
    projection = layers.Dot(axes=1, name="project")([h, class_vector])  # (B, 1)
    return keras.Model([img, label], layers.Add()([unconditional, projection]), name="projection_discriminator")
