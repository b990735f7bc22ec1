"""Adversarial losses on discriminator logits, as pure functions (real_logits, fake_logits) -> scalar.

Every pair takes both batches of logits (B, 1), so that losses which compare a real with a fake (relativistic)
fit the same signature as those which do not. Registered by name in `recipes.LOSSES`.
"""

from __future__ import annotations

from keras import ops


def _bce_with_logits(target: float, logits):
    # mean sigmoid cross-entropy against a constant target, stable for large |logits|
    return ops.mean(ops.binary_crossentropy(ops.full_like(logits, target), logits, from_logits=True))


def discriminator_loss(real_logits, fake_logits):
    """Non-saturating D loss: BCE(real -> 1) + BCE(fake -> 0); scalar >= 0 (2 ln 2 at zero logits)."""
    return _bce_with_logits(1.0, real_logits) + _bce_with_logits(0.0, fake_logits)


def generator_loss(real_logits, fake_logits):
    """Non-saturating G loss: BCE(fake -> 1) = -log sigmoid(D(G(z))); scalar >= 0 (ln 2 at zero). Ignores reals."""
    del real_logits
    return _bce_with_logits(1.0, fake_logits)


def hinge_d(real_logits, fake_logits):
    """Hinge D loss: E max(0, 1 - D(x)) + E max(0, 1 + D(G(z))); scalar >= 0 (2 at zero)."""
    return ops.mean(ops.relu(1.0 - real_logits)) + ops.mean(ops.relu(1.0 + fake_logits))


def hinge_g(real_logits, fake_logits):
    """Hinge G loss: -E D(G(z)); unbounded scalar (0 at zero). Ignores reals."""
    del real_logits
    return -ops.mean(fake_logits)


def lsgan_d(real_logits, fake_logits):
    """Least-squares D loss: (E (D(x) - 1)^2 + E D(G(z))^2) / 2; scalar >= 0 (1/2 at zero)."""
    return 0.5 * (ops.mean(ops.square(real_logits - 1.0)) + ops.mean(ops.square(fake_logits)))


def lsgan_g(real_logits, fake_logits):
    """Least-squares G loss: E (D(G(z)) - 1)^2 / 2; scalar >= 0 (1/2 at zero). Ignores reals."""
    del real_logits
    return 0.5 * ops.mean(ops.square(fake_logits - 1.0))


def wgan_d(real_logits, fake_logits):
    """Wasserstein critic loss: E D(G(z)) - E D(x), the negated distance estimate; unbounded (0 at zero)."""
    return ops.mean(fake_logits) - ops.mean(real_logits)


def wgan_g(real_logits, fake_logits):
    """Wasserstein G loss: -E D(G(z)); unbounded (0 at zero). Ignores reals."""
    del real_logits
    return -ops.mean(fake_logits)


def rpgan_d(real_logits, fake_logits):
    """Relativistic pairing D loss: E softplus(D(G(z_i)) - D(x_i)), pair i = row i; scalar >= 0 (ln 2 at equal)."""
    return ops.mean(ops.softplus(fake_logits - real_logits))


def rpgan_g(real_logits, fake_logits):
    """Relativistic pairing G loss: E softplus(D(x_i) - D(G(z_i))); scalar >= 0 (ln 2 at equal logits)."""
    return ops.mean(ops.softplus(real_logits - fake_logits))
