"""The GAN as a keras.Model: `compile(d_optimizer, g_optimizer)` then `fit()` on a dataset of real images."""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from gan_mnist.losses import discriminator_loss, generator_loss
from gan_mnist.models import is_conditional


class GAN(keras.Model):
    """Trains `generator` (z -> image) against `discriminator` (image -> logit), one update of each per batch.

    Both networks are updated from the same forward pass, as in the TensorFlow DCGAN tutorial; each has
    its own optimizer, so neither is ever frozen by a `trainable` flag. A conditional pair (generator takes
    (z, label), discriminator (image, label)) trains on (images, labels) batches.
    """

    def __init__(self, generator: keras.Model, discriminator: keras.Model, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.conditional = is_conditional(generator)
        self.latent_dim = int(generator.inputs[0].shape[-1])
        # noise is drawn from a seeded, checkpointable generator, not from global state
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.trackers = {
            name: keras.metrics.Mean(name=name) for name in ("d_loss", "g_loss", "d_real_acc", "d_fake_acc")
        }
        # both networks arrive built; without this, fit() under a tf.distribute strategy would try to build the
        # GAN by calling it on a batch of real images, which are not generator input
        self.built = True

    def compile(self, d_optimizer, g_optimizer, d_loss_fn=discriminator_loss, g_loss_fn=generator_loss, **kwargs):
        """Set one optimizer per network and the two loss functions (logits -> scalar)."""
        super().compile(**kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.d_loss_fn = d_loss_fn
        self.g_loss_fn = g_loss_fn

    @property
    def metrics(self):
        # listed here so fit() resets them every epoch
        return list(self.trackers.values())

    def call(self, inputs, training: bool = False):
        """Generate images (B, 28, 28, 1) in [-1, 1] from noise (B, latent_dim), or [noise, labels (B,)]."""
        return self.generator(inputs, training=training)

    def build_optimizers(self) -> None:
        """Create both optimizers' slot variables now (restoring a checkpoint needs them to exist)."""
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)

    def _replica_share(self, batch_size):
        """(noise (B, latent_dim), this replica's share of the global batch). One device: (its noise, 1.0).

        Under a tf.distribute strategy every replica draws the whole global batch's noise from the same seed
        and keeps its own rows, so N replicas use exactly the noise one device would (drawing per replica from
        the shared seed would give every replica the same noise).
        """
        context = tf.distribute.get_replica_context()
        if context is None or context.num_replicas_in_sync == 1:
            return keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator), 1.0
        sizes = context.all_gather(tf.reshape(batch_size, (1,)), axis=0)  # (replicas,): the split may be uneven
        start, total = tf.reduce_sum(sizes[: context.replica_id_in_sync_group]), tf.reduce_sum(sizes)
        z = keras.random.normal((total, self.latent_dim), seed=self.seed_generator)[start : start + batch_size]
        return z, tf.cast(batch_size, "float32") / tf.cast(total, "float32")

    def train_step(self, data):
        real_images, labels = data if self.conditional else (data, None)
        # the batch size comes from the data, so a short last batch meets as many fakes as it has reals
        batch_size = ops.shape(real_images)[0]
        z, share = self._replica_share(batch_size)
        # a conditional GAN gives each fake the label of a real image in the batch: the data's class mix
        with_labels = (lambda x: [x, labels]) if self.conditional else (lambda x: x)
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake_images = self.generator(with_labels(z), training=True)
            real_logits = self.discriminator(with_labels(real_images), training=True)
            fake_logits = self.discriminator(with_labels(fake_images), training=True)
            # under mixed precision the logits are bfloat16: take the losses in float32
            real_logits, fake_logits = ops.cast(real_logits, "float32"), ops.cast(fake_logits, "float32")
            g_loss = self.g_loss_fn(fake_logits)
            d_loss = self.d_loss_fn(real_logits, fake_logits)
            # replicas' gradients are summed: weighting each replica's batch mean by its share of the global
            # batch makes the sum the gradient of the global batch mean, as on one device
            g_scaled, d_scaled = g_loss * share, d_loss * share
        g_vars = self.generator.trainable_variables
        d_vars = self.discriminator.trainable_variables
        self.g_optimizer.apply_gradients(zip(g_tape.gradient(g_scaled, g_vars), g_vars, strict=True))
        self.d_optimizer.apply_gradients(zip(d_tape.gradient(d_scaled, d_vars), d_vars, strict=True))

        values = {
            "d_loss": d_loss,
            "g_loss": g_loss,
            "d_real_acc": ops.mean(ops.cast(real_logits > 0, "float32")),
            "d_fake_acc": ops.mean(ops.cast(fake_logits < 0, "float32")),
        }
        for name, value in values.items():
            # weighted by images, so the epoch means are per-image means however batches are split
            self.trackers[name].update_state(value, sample_weight=batch_size)
        return {name: tracker.result() for name, tracker in self.trackers.items()}
