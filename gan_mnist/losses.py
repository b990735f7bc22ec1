"""The non-saturating GAN loss (Goodfellow et al. 2014) on discriminator logits, as pure functions."""

from __future__ import annotations

from keras import ops


def _bce_with_logits(target: float, logits):
    # mean sigmoid cross-entropy against a constant target, stable for large |logits|
    return ops.mean(ops.binary_crossentropy(ops.full_like(logits, target), logits, from_logits=True))


def discriminator_loss(real_logits, fake_logits):
    """D's loss: BCE(real -> 1) + BCE(fake -> 0); logits of any shape, returns a scalar >= 0 (2 ln 2 at zero)."""
    return _bce_with_logits(1.0, real_logits) + _bce_with_logits(0.0, fake_logits)


def generator_loss(fake_logits):
    """G's non-saturating loss: BCE(fake -> 1), i.e. -log sigmoid(D(G(z))); scalar >= 0 (ln 2 at zero)."""
    return _bce_with_logits(1.0, fake_logits)
