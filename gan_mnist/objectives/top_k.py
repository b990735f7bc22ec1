"""Top-k generator updates (Sinha et al. 2020): the generator learns only from the fakes its discriminator rates
most real.

Early in a run every fake counts; the share kept then falls geometrically with the images seen, to a floor. A fake
that D already rates as fake is one G has placed away from the data: its gradient pulls it towards wherever D's
boundary happens to be, not towards the digits, and the paper finds that leaving those gradients out raises sample
quality. The share starts at 1 because an untrained D's ratings say nothing.
"""

from __future__ import annotations

from keras import ops

# the share kept falls by DECAY per EPOCH_IMAGES images seen (an MNIST epoch), from 1 down to the floor
DECAY = 0.9
EPOCH_IMAGES = 60_000


def top_k_share(images_seen, floor: float):
    """The share of fakes G learns from after `images_seen` images: max(floor, DECAY ** epochs), in [floor, 1]."""
    epochs = ops.cast(images_seen, "float32") / EPOCH_IMAGES
    return ops.maximum(floor, ops.power(DECAY, epochs))


def strongest(real_logits, fake_logits, share, labels=None):
    """(real_logits, fake_logits) (B, 1) reduced to the rows whose fakes D rates most real, in row order: of every
    label's n fakes (labels (B,); without them the batch is one label) the max(1, floor(share x n)) rated highest.
    A real logit stays paired with its row's fake (rpgan pairs them).

    Ranking within each label matters to a conditional generator: across the batch, a label whose fakes D rates low
    would lose all of its rows and its generator would never learn that label (a self-conditioned run's hardest
    clusters stayed noise).
    """
    fake = ops.reshape(fake_logits, (-1,))
    count = ops.shape(fake)[0]
    row = ops.arange(count)
    if labels is None:
        same = ops.ones((count, count), "bool")
    else:
        labels = ops.reshape(labels, (-1,))
        same = ops.equal(labels[:, None], labels[None, :])
    # [i, j]: D rates fake j above fake i (a tie goes to the earlier row)
    ahead = ops.logical_or(fake[None, :] > fake[:, None],
                           ops.logical_and(fake[None, :] == fake[:, None], row[None, :] < row[:, None]))
    rank = ops.sum(ops.cast(ops.logical_and(same, ahead), "int32"), axis=1)  # (B,): 0 for each label's best
    size = ops.sum(ops.cast(same, "float32"), axis=1)  # (B,): the row's label's fakes
    kept = ops.maximum(1, ops.cast(share * size, "int32"))
    rows = ops.nonzero(rank < kept)[0]
    return ops.take(real_logits, rows, axis=0), ops.take(fake_logits, rows, axis=0)
