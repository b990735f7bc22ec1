"""Mode seeking (MSGAN, Mao et al. 2019): a generator loss term against drawing one image for many noises."""

from __future__ import annotations

from keras import ops

# keeps the term finite when a generator draws one image for every noise
EPSILON = 1e-5


def mode_seeking_loss(fake, z, labels=None):
    """1 / (mean |G(z1) - G(z2)| / mean |z1 - z2| + 1e-5), a scalar in (0, 1e5], averaged over neighbouring pairs of
    fakes (B, 28, 28, 1) drawn from noises z (B, latent_dim) with one label (B,) (without labels: every pair of
    neighbours); 0 when no two fakes share a label.

    The ratio is large where nearby noises draw different images, so minimising its inverse spreads each label's
    draws over more of its images: a self-conditioned generator then draws a cluster's minority digits too, not only
    its majority's. Sorting by label makes neighbours share one wherever a label has two draws, so the batch (and
    its class mix) is left as it is.
    """
    x, z = ops.cast(fake, "float32"), ops.cast(z, "float32")
    if labels is None:
        same = ops.ones((ops.shape(x)[0] - 1,), "float32")
    else:
        order = ops.argsort(labels)
        x, z, labels = ops.take(x, order, axis=0), ops.take(z, order, axis=0), ops.take(labels, order, axis=0)
        same = ops.cast(ops.equal(labels[1:], labels[:-1]), "float32")
    images_apart = ops.mean(ops.abs(x[1:] - x[:-1]), axis=(1, 2, 3))  # (B - 1,)
    noise_apart = ops.mean(ops.abs(z[1:] - z[:-1]), axis=1)  # (B - 1,)
    pairs = ops.sum(same)
    ratio = ops.sum(same * images_apart / noise_apart) / ops.maximum(pairs, 1.0)
    return ops.where(pairs > 0, 1.0 / (ratio + EPSILON), 0.0)
