"""Gradient penalties on the discriminator, as functions (critic, real, fake, seed) -> scalar (before gamma).

`critic` maps images (B, 28, 28, 1) to logits (B, 1) (the label, for a conditional discriminator, is already
bound). Each returns the batch mean of a function of |grad_x critic(x)|, the squared L2 norm over all pixels.
Registered by name, with their default weight gamma, in `recipes.PENALTIES`; the GAN multiplies by gamma.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops


def input_gradient_norms_squared(critic, images):
    """|grad_x critic(x)|^2 per image (B,), differentiable (for the critic's update) and in float32."""
    images = ops.cast(images, "float32")
    with tf.GradientTape() as tape:
        tape.watch(images)
        # each image's logit depends on that image alone, so the gradient of the sum is the per-image gradient
        total = ops.sum(ops.cast(critic(images), "float32"))
    grads = tape.gradient(total, images)
    return ops.sum(ops.square(grads), axis=(1, 2, 3))


def r1(critic, real, fake, seed=None):
    """R1 (Mescheder et al. 2018): E |grad D(x)|^2 / 2 on real images, zero-centred; scalar >= 0."""
    del fake, seed
    return 0.5 * ops.mean(input_gradient_norms_squared(critic, real))


def r2(critic, real, fake, seed=None):
    """R2 (R3GAN, 2024): E |grad D(G(z))|^2 / 2 on generated images, zero-centred; scalar >= 0."""
    del real, seed
    return 0.5 * ops.mean(input_gradient_norms_squared(critic, ops.stop_gradient(fake)))


def interpolate(real, fake, seed=None):
    """x_hat = e x + (1 - e) G(z) (B, 28, 28, 1), with e ~ U[0, 1] drawn per sample, not one e for the batch."""
    real = ops.cast(real, "float32")
    eps = keras.random.uniform((ops.shape(real)[0], 1, 1, 1), seed=seed)
    return eps * real + (1.0 - eps) * ops.cast(ops.stop_gradient(fake), "float32")


def gradient_penalty(critic, real, fake, seed=None):
    """WGAN-GP (Gulrajani et al. 2017): E (|grad D(x_hat)| - 1)^2 on per-sample interpolates; scalar >= 0."""
    mixed = interpolate(real, fake, seed)
    # sqrt has an infinite slope at 0: a tiny floor keeps the gradient finite where D is flat
    norms = ops.sqrt(input_gradient_norms_squared(critic, mixed) + 1e-12)
    return ops.mean(ops.square(norms - 1.0))


def combined(penalties: list) -> object:
    """One penalty function (critic, real, fake, seed) -> scalar that is the sum of `penalties` (R3GAN: R1 + R2);
    a single penalty is returned as it is."""
    if len(penalties) == 1:
        return penalties[0]

    def total(critic, real, fake, seed=None):
        return sum(penalty(critic, real, fake, seed) for penalty in penalties)

    return total
