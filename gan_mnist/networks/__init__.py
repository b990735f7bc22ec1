"""The generator/discriminator pairs: one module per family (mlp, dcgan, resize), the blocks they share, and
`build_models`, which builds the pair an architecture of `recipes.ARCHITECTURES` names."""

from __future__ import annotations

import keras

from gan_mnist.networks.blocks import FEATURES, IMAGE_SHAPE, NUM_CLASSES
from gan_mnist.networks.dcgan import (
    build_cgan_discriminator,
    build_cgan_generator,
    build_conv_discriminator,
    build_conv_generator,
    build_dcgan_discriminator,
    build_dcgan_generator,
)
from gan_mnist.networks.mlp import build_mlp_discriminator, build_mlp_generator
from gan_mnist.networks.resize import (
    build_plain_discriminator,
    build_projection_discriminator,
    build_resize_cgan_generator,
    build_resize_generator,
)

__all__ = ["FEATURES", "IMAGE_SHAPE", "NUM_CLASSES", "build_cgan_discriminator", "build_cgan_generator",
           "build_conv_discriminator", "build_conv_generator", "build_dcgan_discriminator", "build_dcgan_generator",
           "build_mlp_discriminator", "build_mlp_generator", "build_models", "build_plain_discriminator",
           "build_projection_discriminator", "build_resize_cgan_generator", "build_resize_generator",
           "is_conditional"]


def is_conditional(generator: keras.Model) -> bool:
    """True for generators that take (z, label) rather than z alone."""
    return len(generator.inputs) == 2


def build_models(model: str, latent_dim: int = 100, width: float = 1.0, spectral_norm: bool = False,
                 d_scale: float = 1.0, dropout: float | None = None, num_classes: int = NUM_CLASSES,
                 d_growth: float | None = None) -> tuple[keras.Model, keras.Model]:
    """(generator, discriminator) of an architecture in `recipes.ARCHITECTURES`; `width` scales both networks'
    layer sizes and `d_scale` the discriminator's again; `spectral_norm` normalises the discriminator's weight
    layers; `dropout` in the discriminator and `d_growth`, its second layer's size over its first's (None: its
    builder's defaults); a conditional pair takes labels in [0, num_classes)."""
    from gan_mnist.recipes import ARCHITECTURES, resolve

    if model not in ARCHITECTURES:
        raise ValueError(f"unknown model {model!r}; choose one of {sorted(ARCHITECTURES)}")
    arch = ARCHITECTURES[model]
    classes = {"num_classes": num_classes} if arch.conditional else {}
    return (resolve(arch.generator)(latent_dim, width=width, **classes),
            resolve(arch.discriminator)(width=width * d_scale, spectral_norm=spectral_norm,
                                        **({} if dropout is None else {"dropout": dropout}),
                                        **({} if d_growth is None else {"growth": d_growth}), **classes))
