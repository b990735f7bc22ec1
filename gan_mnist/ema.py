"""An exponential moving average (EMA) of the generator's weights: the generator a run shows and ships.

The raw generator chases a moving discriminator and jitters from step to step; the average of its recent
weights draws cleaner digits (Karras et al. 2018; Yazici et al. 2019). The half-life is counted in images, with
StyleGAN2-ADA's ramp-up: early on it is at most `rampup` x the images seen so far, so short runs average over a
window that fits them instead of over their random start.
"""

from __future__ import annotations

import keras
from keras import ops


def ema_beta(step, batch_size, half_life_images: float, rampup: float):
    """Decay per step (scalar in [0, 1)): 0.5 ** (batch / h), h = min(half_life, rampup * step * batch_size);
    rampup 0: h = half_life."""
    images = ops.cast(step, "float32") * batch_size
    half = ops.convert_to_tensor(float(half_life_images))
    if rampup:  # 0: no ramp-up
        half = ops.minimum(half, rampup * images)
    return ops.power(0.5, batch_size / ops.maximum(half, 1e-8))


def update_ema(ema: keras.Model, model: keras.Model, beta) -> None:
    """ema <- beta * ema + (1 - beta) * model for trained weights; other weights (batch-norm statistics) copied."""
    for e, w in zip(ema.weights, model.weights, strict=True):
        value = ops.cast(w, e.dtype)
        e.assign(beta * e + (1.0 - beta) * value if w.trainable else value)


def make_ema_copy(model: keras.Model, build) -> keras.Model:
    """A frozen twin of `model` built by `build()` (same architecture), starting from `model`'s weights."""
    ema = build()
    ema.set_weights(model.get_weights())
    ema.trainable = False  # updated by update_ema, never by an optimizer
    return ema
